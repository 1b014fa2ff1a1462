package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/mend"
)

// TestReassignByTokenWithItsProductTwice: a project.reassign naming the
// project by token and its old product too, stored twice, moves the
// project once: the second copy finds it in its new product.
func TestReassignByTokenWithItsProductTwice(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	f := newFixture(t, h)
	cmd := h.command(events.CommandProjectReassign, events.ProjectReassign{
		ProjectRef: events.ProjectRef{ProjectToken: f.api, ProductToken: f.product}, NewProductToken: f.other,
	})
	h.publish(cmd, "copy-1")
	h.publish(cmd, "copy-2")
	h.startWorker(nil)
	var got []event.Event
	waitFor(t, 15*time.Second, func() bool { got = h.answers(cmd.ID()); return len(got) == 2 }, "two answers")
	changed := 0
	for _, e := range got {
		if e.Type() != events.TypeProjectReassigned {
			t.Fatalf("answer %s %s", e.Type(), e.Data())
		}
		if data(t, e)["reassigned"] == true {
			changed++
		}
	}
	if changed != 1 {
		t.Errorf("%d answers say reassigned, want exactly one", changed)
	}
	if n := h.okCalls(mend.ReqChangeProjectAssignment); n != 1 {
		t.Errorf("changeProjectAssignment succeeded %d times in Mend, want once", n)
	}
}

// answerLost is a proxy in front of the simulator that lets the first call
// of op through and then answers it 502, as a gateway timing out on a
// slow Mend does: the change is made, its answer lost.
func answerLost(t *testing.T, target, op string) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	var once atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if strings.Contains(string(body), `"requestType":"`+op+`"`) && once.CompareAndSwap(false, true) {
			rec := httptest.NewRecorder()
			proxy.ServeHTTP(rec, r)
			http.Error(w, "upstream timed out", http.StatusBadGateway)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestInDoubtCreateIsNotRepeatedInTheCall: with the client's own quick
// retries on (MEND_RETRY_ATTEMPTS), a createGlobalOrg or addPolicy whose
// answer is lost must not be sent again within the call: Mend refuses
// neither a second global organization nor a second policy of one name.
func TestInDoubtCreateIsNotRepeatedInTheCall(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		op, command string
		data        func(f *fixture) any
	}{
		{mend.ReqCreateGlobalOrg, events.CommandGlobalOrgCreate, func(*fixture) any {
			return events.GlobalOrgCreate{Name: "holding-2", AccountAdminEmail: admin}
		}},
		{mend.ReqAddProductPolicy, events.CommandPolicyAdd, func(f *fixture) any {
			return events.PolicyAdd{PolicyScope: events.PolicyScope{Scope: events.ScopeProduct, Token: f.product}, Policy: policySpec("approve MIT")}
		}},
		{mend.ReqRemoveProductPolicies, events.CommandPolicyRemove, func(f *fixture) any {
			return events.PolicyRemove{PolicyScope: events.PolicyScope{Scope: events.ScopeProduct, Token: f.product}, PolicyIDs: []int{f.productPolicy}}
		}},
		{mend.ReqUpdateProductPolicy, events.CommandPolicyUpdate, func(f *fixture) any {
			p := policySpec("approve Apache 2.0, renamed")
			p.ID = f.productPolicy
			return events.PolicyUpdate{PolicyScope: events.PolicyScope{Scope: events.ScopeProduct, Token: f.product}, Policy: p}
		}},
	} {
		t.Run(tt.op, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, nil)
			f := newFixture(t, h)
			h.startWorker(map[string]string{"MEND_URL": answerLost(t, h.sim.URL, tt.op), "MEND_RETRY_ATTEMPTS": "3"})
			cmd := h.send(tt.command, tt.data(f))
			if e := h.waitAnswer(cmd.ID(), 15*time.Second); e.Type() == events.TypeCommandFailed && tt.command != events.CommandGlobalOrgCreate {
				t.Errorf("answer %s %s", e.Type(), e.Data())
			}
			if n := h.okCalls(tt.op); n != 1 {
				t.Errorf("%s succeeded %d times in Mend, want once", tt.op, n)
			}
		})
	}
}

// TestProjectCreatedNamesItsProduct: the contract's project.created holds
// productName, also for a command naming the product by its token.
func TestProjectCreatedNamesItsProduct(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	f := newFixture(t, h)
	h.startWorker(nil)
	cmd := h.send(events.CommandProjectCreate, events.ProjectCreate{ProductToken: f.product, ProjectName: "ledger"})
	e := h.waitAnswer(cmd.ID(), 10*time.Second)
	d := data(t, e)
	if e.Type() != events.TypeProjectCreated || d["productName"] != "demo-product" || d["productToken"] != f.product || d["created"] != true {
		t.Errorf("answer %s %s, want project.created with productName demo-product", e.Type(), e.Data())
	}
}
