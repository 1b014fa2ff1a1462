package poller

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sethvargo/go-envconfig"

	"github.com/mendflow/mendflow/internal/config"
	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/mend"
)

// defaults is the configuration with every documented default.
func defaults(t *testing.T) Config {
	t.Helper()
	var c Config
	if err := config.Load(context.Background(), envconfig.MapLookuper(nil), &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestWait(t *testing.T) {
	t.Parallel()
	base := Config{FirstInterval: 2 * time.Second, MaxInterval: 2 * time.Minute, Multiplier: 2, Jitter: 0.1}
	triple := base
	triple.Multiplier = 3
	tests := []struct {
		name string
		cfg  Config
		age  time.Duration
		rnd  float64
		want time.Duration
	}{
		{"just handed over: wait for the first poll", base, 0, 0.5, 2 * time.Second},
		{"part of the first interval gone", base, 500 * time.Millisecond, 0, 1500 * time.Millisecond},
		{"first poll: wait as long again", base, 2 * time.Second, 0.5, 2 * time.Second},
		{"doubling", base, 10 * time.Second, 0.5, 10 * time.Second},
		{"capped", base, 10 * time.Minute, 0.5, 2 * time.Minute},
		{"shortest jitter", base, 10 * time.Second, 0, 9 * time.Second},
		{"longer jitter", base, 10 * time.Second, 0.75, 10500 * time.Millisecond},
		{"jitter on the cap", base, time.Hour, 0, 108 * time.Second},
		{"multiplier 3 waits twice the age", triple, 10 * time.Second, 0.5, 20 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, tt.cfg.wait(tt.age, tt.rnd)); diff != "" {
				t.Errorf("wait(%v, %v) (-want, +got):\n%s", tt.age, tt.rnd, diff)
			}
		})
	}
}

// TestDefaultScheduleCalls counts the polls the default schedule makes for
// processes of a given length when jitter is at its worst (every wait at
// its shortest), against the target: at most 12 for 10 minutes.
func TestDefaultScheduleCalls(t *testing.T) {
	t.Parallel()
	cfg := defaults(t)
	tests := []struct {
		name     string
		duration time.Duration
		maxPolls int
	}{
		{"1 minute", time.Minute, 7},
		{"10 minutes", 10 * time.Minute, 12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			polls := 0
			for age := cfg.wait(0, 0); ; age += cfg.wait(age, 0) {
				polls++
				if age >= tt.duration {
					break
				}
			}
			if polls > tt.maxPolls {
				t.Errorf("%d polls for a %v process, want at most %d", polls, tt.duration, tt.maxPolls)
			}
		})
	}
}

func TestJudge(t *testing.T) {
	t.Parallel()
	cfg := Config{
		FirstInterval: time.Second, MaxInterval: time.Minute, Multiplier: 2,
		Deadline: time.Hour, UnknownGrace: 5 * time.Minute,
	}
	updatedIsDone := cfg
	updatedIsDone.UpdatedIsDone = true
	notFound := &mend.HTTPError{Method: http.MethodGet, URL: "http://mend/api/v2.0/orgs/o/asyncProcessStatus/x", StatusCode: http.StatusNotFound}
	unavailable := &mend.HTTPError{StatusCode: http.StatusServiceUnavailable, RetryAfter: 30 * time.Second}
	tooMany := &mend.HTTPError{StatusCode: http.StatusTooManyRequests, RetryAfter: 2 * time.Hour}

	// got is what the verdict decides; detail is prose, checked apart.
	type got struct {
		End    bool
		Wait   time.Duration
		Reason string
	}
	tests := []struct {
		name   string
		cfg    Config
		kind   string
		status string
		err    error
		age    time.Duration
		want   got
	}{
		{"process pending", cfg, events.TrackProcess, "PENDING", nil, 4 * time.Second, got{Wait: 4 * time.Second}},
		{"process in progress", cfg, events.TrackProcess, "IN_PROGRESS", nil, 10 * time.Second, got{Wait: 10 * time.Second}},
		{"process success", cfg, events.TrackProcess, "SUCCESS", nil, 10 * time.Second, got{End: true}},
		{"process failed", cfg, events.TrackProcess, "FAILED", nil, 10 * time.Second, got{End: true, Reason: ReasonFailed}},
		{"process failure", cfg, events.TrackProcess, "FAILURE", nil, 10 * time.Second, got{End: true, Reason: ReasonFailed}},
		{"process status Mend may add later keeps waiting", cfg, events.TrackProcess, "QUEUED", nil, 10 * time.Second, got{Wait: 10 * time.Second}},
		{"process past the deadline", cfg, events.TrackProcess, "IN_PROGRESS", nil, time.Hour, got{End: true, Reason: ReasonTimeout}},
		{"wait clamped to the deadline", cfg, events.TrackProcess, "IN_PROGRESS", nil, time.Hour - 5*time.Second, got{Wait: 5 * time.Second}},
		{"request finished", cfg, events.TrackRequest, "FINISHED", nil, 10 * time.Second, got{End: true}},
		{"request skipped ends as finished", cfg, events.TrackRequest, "SKIPPED", nil, 10 * time.Second, got{End: true}},
		{"request failed", cfg, events.TrackRequest, "FAILED", nil, 10 * time.Second, got{End: true, Reason: ReasonFailed}},
		{"request in progress", cfg, events.TrackRequest, "IN_PROGRESS", nil, 10 * time.Second, got{Wait: 10 * time.Second}},
		{"request updated waits for FINISHED by default", cfg, events.TrackRequest, "UPDATED", nil, 10 * time.Second, got{Wait: 10 * time.Second}},
		{"request updated is done when so configured", updatedIsDone, events.TrackRequest, "UPDATED", nil, 10 * time.Second, got{End: true}},
		{"request unknown within grace", cfg, events.TrackRequest, "UNKNOWN", nil, 10 * time.Second, got{Wait: 10 * time.Second}},
		{"request unknown wait clamped to the grace", cfg, events.TrackRequest, "UNKNOWN", nil, 4*time.Minute + 30*time.Second, got{Wait: 30 * time.Second}},
		{"request unknown after grace", cfg, events.TrackRequest, "UNKNOWN", nil, 5 * time.Minute, got{End: true, Reason: ReasonUnknown}},
		{"request past the deadline", cfg, events.TrackRequest, "UPDATED", nil, 2 * time.Hour, got{End: true, Reason: ReasonTimeout}},
		{"permanent error fails", cfg, events.TrackProcess, "", notFound, 10 * time.Second, got{End: true, Reason: ReasonError}},
		{"transient error honours Retry-After", cfg, events.TrackProcess, "", unavailable, 10 * time.Second, got{Wait: 30 * time.Second}},
		{"transient error keeps the schedule when longer", cfg, events.TrackRequest, "", unavailable, 50 * time.Second, got{Wait: 50 * time.Second}},
		{"Retry-After clamped to the deadline", cfg, events.TrackProcess, "", tooMany, 50 * time.Minute, got{Wait: 10 * time.Minute}},
		{"transient error past the deadline", cfg, events.TrackProcess, "", unavailable, time.Hour, got{End: true, Reason: ReasonTimeout}},
		{"poll timed out", cfg, events.TrackRequest, "", context.DeadlineExceeded, 10 * time.Second, got{Wait: 10 * time.Second}},
		{"unrecognised error fails rather than loops", cfg, events.TrackRequest, "", errors.New("odd"), 10 * time.Second, got{End: true, Reason: ReasonError}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// rnd 0.5 is the jitter's midpoint, which leaves waits as they are.
			v := tt.cfg.judge(tt.kind, tt.status, tt.err, tt.age, 0.5)
			if diff := cmp.Diff(tt.want, got{End: v.end, Wait: v.wait, Reason: v.reason}); diff != "" {
				t.Errorf("judge(%s, %q, %v, %v) (-want, +got):\n%s", tt.kind, tt.status, tt.err, tt.age, diff)
			}
			if (v.reason != "") != (v.detail != "") {
				t.Errorf("reason %q with detail %q: a failure needs both, a success neither", v.reason, v.detail)
			}
		})
	}
}
