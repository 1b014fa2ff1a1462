package mendflowtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

// The simulator's control endpoints (/_mendsim/..., see mendflow's README),
// with the names of the mendsim.Simulator methods that do the same in
// process, so that a test moves between the two unchanged.

// Snapshot is what the simulator holds: organizations, products, projects
// and their tags (GET /_mendsim/state).
func (c *Container) Snapshot(ctx context.Context) (mendsim.Snapshot, error) {
	var s mendsim.Snapshot
	err := c.control(ctx, http.MethodGet, "/_mendsim/state", nil, &s)
	return s, err
}

// Calls is the simulator's call record: every Mend call it received, in
// order, without the user key (GET /_mendsim/calls).
func (c *Container) Calls(ctx context.Context) ([]mendsim.Call, error) {
	return c.CallsOf(ctx, "")
}

// CallsOf is the calls of one operation: a v1.4 request type
// (createProject) or a REST operation (applyProjectPolicies).
func (c *Container) CallsOf(ctx context.Context, op string) ([]mendsim.Call, error) {
	path := "/_mendsim/calls"
	if op != "" {
		path += "?op=" + url.QueryEscape(op)
	}
	var calls []mendsim.Call
	err := c.control(ctx, http.MethodGet, path, nil, &calls)
	return calls, err
}

// ResetCalls forgets the call record (DELETE /_mendsim/calls).
func (c *Container) ResetCalls(ctx context.Context) error {
	return c.control(ctx, http.MethodDelete, "/_mendsim/calls", nil, nil)
}

// SetFault makes the simulator fail calls as the fault says (POST
// /_mendsim/faults).
func (c *Container) SetFault(ctx context.Context, f mendsim.Fault) error {
	return c.control(ctx, http.MethodPost, "/_mendsim/faults", f, nil)
}

// ClearFaults removes every fault (DELETE /_mendsim/faults).
func (c *Container) ClearFaults(ctx context.Context) error {
	return c.control(ctx, http.MethodDelete, "/_mendsim/faults", nil, nil)
}

// RegisterRequest makes a plugin request known, as a scan would, and
// returns its token, for a request.track command (POST
// /_mendsim/requests).
func (c *Container) RegisterRequest(ctx context.Context, r mendsim.PluginRequest) (string, error) {
	var out struct {
		RequestToken string `json:"requestToken"`
	}
	err := c.control(ctx, http.MethodPost, "/_mendsim/requests", r, &out)
	return out.RequestToken, err
}

// SetProcessOutcome makes the policy applications on a scope end as o says
// (POST /_mendsim/outcomes).
func (c *Container) SetProcessOutcome(ctx context.Context, o mendsim.ProcessOutcome) error {
	return c.control(ctx, http.MethodPost, "/_mendsim/outcomes", o, nil)
}

// Reset brings the simulator back to its demo organization, with no
// call record and no fault (POST /_mendsim/reset).
func (c *Container) Reset(ctx context.Context) error {
	return c.control(ctx, http.MethodPost, "/_mendsim/reset", nil, nil)
}

// control calls a control endpoint with in as its JSON body, and decodes
// its JSON answer into out when out is not nil.
func (c *Container) control(ctx context.Context, method, path string, in, out any) error {
	base, err := c.SimulatorURL(ctx)
	if err != nil {
		return err
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("mendflowtest: %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, body)
	if err != nil {
		return fmt.Errorf("mendflowtest: %w", err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("mendflowtest: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("mendflowtest: %s %s: reading the answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("mendflowtest: %s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(raw)))
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("mendflowtest: %s %s: %w", method, path, err)
		}
	}
	return nil
}
