package backoff_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mendflow/mendflow/internal/backoff"
)

func TestDelay(t *testing.T) {
	t.Parallel()
	doubling := backoff.Policy{Initial: time.Second, Max: 30 * time.Second, Multiplier: 2}
	tests := []struct {
		name    string
		policy  backoff.Policy
		attempt int
		want    time.Duration
	}{
		{"first", doubling, 1, time.Second},
		{"second", doubling, 2, 2 * time.Second},
		{"fifth", doubling, 5, 16 * time.Second},
		{"capped", doubling, 6, 30 * time.Second},
		{"far out", doubling, 1000, 30 * time.Second},
		{"before the first counts as the first", doubling, 0, time.Second},
		{"uncapped", backoff.Policy{Initial: time.Millisecond, Multiplier: 10}, 4, time.Second},
		{"fixed", backoff.Policy{Initial: time.Second, Max: time.Second, Multiplier: 1}, 7, time.Second},
		{"no multiplier keeps Initial", backoff.Policy{Initial: 250 * time.Millisecond}, 3, 250 * time.Millisecond},
		{"growing by half", backoff.Policy{Initial: 100 * time.Millisecond, Multiplier: 1.5}, 3, 225 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.policy.Delay(tt.attempt); got != tt.want {
				t.Errorf("Delay(%d) = %v, want %v", tt.attempt, got, tt.want)
			}
		})
	}
}

// TestDelayDoesNotOverflow: uncapped waits grow long, never negative.
func TestDelayDoesNotOverflow(t *testing.T) {
	t.Parallel()
	p := backoff.Policy{Initial: time.Hour, Multiplier: 10, Jitter: 1}
	for _, attempt := range []int{20, 100, 1 << 30} {
		if d := p.Delay(attempt); d < 0 {
			t.Errorf("Delay(%d) = %v", attempt, d)
		}
	}
	if d := (backoff.Policy{Initial: time.Hour, Multiplier: 10}).Delay(100); d < 50*365*24*time.Hour {
		t.Errorf("Delay(100) = %v, want decades", d)
	}
}

// TestDelayJitter: the waits spread over ±Jitter, and do spread.
func TestDelayJitter(t *testing.T) {
	t.Parallel()
	p := backoff.Policy{Initial: time.Second, Max: time.Minute, Multiplier: 2, Jitter: 0.5}
	seen := map[time.Duration]bool{}
	for range 200 {
		d := p.Delay(2)
		if d < time.Second || d > 3*time.Second {
			t.Fatalf("Delay(2) = %v, want 2s ±50%%", d)
		}
		seen[d] = true
	}
	if len(seen) < 10 {
		t.Errorf("only %d distinct delays in 200: no jitter", len(seen))
	}
}

func TestDelayAt(t *testing.T) {
	t.Parallel()
	p := backoff.Policy{Initial: 2 * time.Second, Max: 2 * time.Minute, Multiplier: 2, Jitter: 0.1}
	triple := p
	triple.Multiplier = 3
	tests := []struct {
		name    string
		policy  backoff.Policy
		elapsed time.Duration
		r       float64
		want    time.Duration
	}{
		{"at the start: Initial", p, 0, 0, 2 * time.Second},
		{"part of Initial gone: the rest, unspread", p, 500 * time.Millisecond, 0, 1500 * time.Millisecond},
		{"at Initial: as long again", p, 2 * time.Second, 0.5, 2 * time.Second},
		{"doubling", p, 10 * time.Second, 0.5, 10 * time.Second},
		{"capped", p, 10 * time.Minute, 0.5, 2 * time.Minute},
		{"shortest spread", p, 10 * time.Second, 0, 9 * time.Second},
		{"longer spread", p, 10 * time.Second, 0.75, 10500 * time.Millisecond},
		{"spread on the cap", p, time.Hour, 0, 108 * time.Second},
		{"multiplier 3 waits twice the time elapsed", triple, 10 * time.Second, 0.5, 20 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, tt.policy.DelayAt(tt.elapsed, tt.r)); diff != "" {
				t.Errorf("DelayAt(%v, %v) (-want, +got):\n%s", tt.elapsed, tt.r, diff)
			}
		})
	}
}

var errFlaky = errors.New("flaky")

// failing is an operation that fails n times with err, then succeeds.
func failing(n int, err error) (op func() error, calls *int) {
	calls = new(int)
	return func() error {
		if *calls++; *calls <= n {
			return err
		}
		return nil
	}, calls
}

func TestRetry(t *testing.T) {
	t.Parallel()
	quick := backoff.Policy{Initial: time.Millisecond, Max: 4 * time.Millisecond, Multiplier: 2}
	permanent := errors.New("refused")
	tests := []struct {
		name      string
		failures  int
		err       error
		opts      []backoff.Option
		wantCalls int
		wantErr   error
		wantWaits []time.Duration
	}{
		{name: "success at once", failures: 0, err: errFlaky, wantCalls: 1, wantWaits: []time.Duration{}},
		{name: "success after failures", failures: 3, err: errFlaky, wantCalls: 4,
			wantWaits: []time.Duration{time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond}},
		{name: "attempts spent", failures: 5, err: errFlaky, opts: []backoff.Option{backoff.MaxAttempts(3)}, wantCalls: 3, wantErr: errFlaky,
			wantWaits: []time.Duration{time.Millisecond, 2 * time.Millisecond}},
		{name: "one attempt", failures: 5, err: errFlaky, opts: []backoff.Option{backoff.MaxAttempts(1)}, wantCalls: 1, wantErr: errFlaky,
			wantWaits: []time.Duration{}},
		{name: "permanent error", failures: 5, err: permanent, opts: []backoff.Option{backoff.RetryIf(func(err error) bool { return !errors.Is(err, permanent) })},
			wantCalls: 1, wantErr: permanent, wantWaits: []time.Duration{}},
		{name: "a floor from the failure", failures: 2, err: errFlaky, opts: []backoff.Option{backoff.AtLeast(func(error) time.Duration { return 3 * time.Millisecond })},
			wantCalls: 3, wantWaits: []time.Duration{3 * time.Millisecond, 3 * time.Millisecond}},
		{name: "a floor below the policy's wait", failures: 3, err: errFlaky, opts: []backoff.Option{backoff.AtLeast(func(error) time.Duration { return 2 * time.Millisecond })},
			wantCalls: 4, wantWaits: []time.Duration{2 * time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			op, calls := failing(tt.failures, tt.err)
			waits := []time.Duration{}
			opts := append([]backoff.Option{backoff.Notify(func(_ error, wait time.Duration) { waits = append(waits, wait) })}, tt.opts...)
			err := quick.Retry(t.Context(), op, opts...)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Errorf("Retry = %v, want %v", err, tt.wantErr)
			}
			if *calls != tt.wantCalls {
				t.Errorf("%d calls, want %d", *calls, tt.wantCalls)
			}
			if diff := cmp.Diff(tt.wantWaits, waits); diff != "" {
				t.Errorf("waits (-want, +got):\n%s", diff)
			}
		})
	}
}

// TestRetryMaxElapsed: Retry does not begin a wait that would end past
// MaxElapsed.
func TestRetryMaxElapsed(t *testing.T) {
	t.Parallel()
	p := backoff.Policy{Initial: 20 * time.Millisecond, Multiplier: 4}
	op, calls := failing(10, errFlaky)
	err := p.Retry(t.Context(), op, backoff.MaxElapsed(50*time.Millisecond))
	// 20 ms waited after the first failure; 80 more would pass 50.
	if !errors.Is(err, errFlaky) || *calls != 2 {
		t.Errorf("Retry = %v after %d calls, want the failure after 2", err, *calls)
	}
}

// TestRetryStopsWithItsContext: a context that ends during a wait ends
// Retry with the last failure, which also matches the context's error; a
// failure after it ended is the last attempt.
func TestRetryStopsWithItsContext(t *testing.T) {
	t.Parallel()
	p := backoff.Policy{Initial: time.Hour}
	ctx, cancel := context.WithCancel(t.Context())
	err := p.Retry(ctx, func() error { return errFlaky }, backoff.Notify(func(error, time.Duration) { cancel() }))
	if !errors.Is(err, errFlaky) || !errors.Is(err, context.Canceled) {
		t.Errorf("Retry = %v, want the last failure and context.Canceled", err)
	}

	calls := 0
	err = backoff.Policy{Initial: time.Millisecond}.Retry(ctx, func() error { calls++; return errFlaky })
	if !errors.Is(err, errFlaky) || errors.Is(err, context.Canceled) || calls != 1 {
		t.Errorf("Retry on an ended context = %v after %d calls, want the one attempt's failure as it is", err, calls)
	}
}
