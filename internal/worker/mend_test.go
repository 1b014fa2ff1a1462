package worker

import (
	"strings"
	"testing"
	"time"

	"github.com/mendflow/mendflow/internal/servicetest"
	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/mend"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

// TestLongDeleteIsSentOnce: deleting a large project takes minutes (three,
// here scaled down to 1.5 s against an ordinary timeout of 300 ms, which
// stands for the default 60 s). The delete gets the long timeout, is sent
// once, and its result says what is true: deleted.
func TestLongDeleteIsSentOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string]string{"MEND_TIMEOUT": "300ms", "MEND_LONG_TIMEOUT": "5s"})
	if err := h.sim.SetFault(mendsim.Fault{Op: mend.ReqDeleteProject, Latency: 1500 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	h.startWorker(nil)
	cmd := h.send(events.CommandProjectDelete, events.ProjectDelete{ProjectRef: events.ProjectRef{ProductName: "demo-product", ProjectName: "demo-web"}})
	got := h.waitAnswer(cmd.ID(), 15*time.Second)
	if got.Type() != events.TypeProjectDeleted || data(t, got)["deleted"] != true {
		t.Errorf("answered %s %s, want the project deleted", got.Type(), got.Data())
	}
	if n := len(h.sim.CallsOf(mend.ReqDeleteProject)); n != 1 {
		t.Errorf("%d deleteProject calls, want 1", n)
	}
}

// TestWorkerLogsTheMendHosts: a worker says at start which hosts it calls;
// against Mend's SaaS, the REST API's host is derived from MEND_URL.
func TestWorkerLogsTheMendHosts(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.startWorker(nil)
	want := "mend_url=" + h.sim.URL + " mend_api_url=" + h.sim.URL
	servicetest.Eventually(t, 5*time.Second, func() bool { return strings.Contains(h.logs.String(), want) }, "the log line naming the Mend hosts")
}
