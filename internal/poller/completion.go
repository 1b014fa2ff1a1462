package poller

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/pkg/events"
)

// Source is the CloudEvents source of the completion events.
const Source = "/mendflow/poller"

// PoliciesResult is the data of io.mendflow.policies.applied and
// io.mendflow.policies.failed: the asynchronous process that applying
// policies started, and how it ended.
type PoliciesResult struct {
	OrgToken    string `json:"orgToken"`
	Scope       string `json:"scope,omitempty"`
	Token       string `json:"token,omitempty"`
	ProcessUUID string `json:"processUuid"`
	// Status is the last status Mend gave (SUCCESS, FAILED, FAILURE, or
	// the status still in force at a timeout); empty when the last
	// status call failed.
	Status string `json:"status,omitempty"`
	// Reason (one of the Reason constants) and Detail say why it failed.
	Reason string `json:"reason,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// RequestResult is the data of io.mendflow.request.finished and
// io.mendflow.request.failed: a plugin request and how it ended.
type RequestResult struct {
	OrgToken     string `json:"orgToken"`
	RequestToken string `json:"requestToken"`
	// RequestState is the last state Mend gave (FINISHED, SKIPPED, UPDATED
	// when that counts as done, FAILED, or the state still in force at a
	// timeout); empty when the last status call failed.
	RequestState string `json:"requestState,omitempty"`
	// Reason (one of the Reason constants) and Detail say why it failed.
	Reason string `json:"reason,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// item is one delivery of a Track item: the CloudEvent it came as, whose
// extensions the completion carries on, and its data.
type item struct {
	ev    event.Event
	track events.Track
}

// decodeItem reads the event of a delivery. An error means it can never be
// followed, however often it is redelivered. orgToken fills in an item that
// names no organization.
func decodeItem(ev event.Event, orgToken string) (item, error) {
	var t events.Track
	if err := json.Unmarshal(ev.Data(), &t); err != nil {
		return item{}, fmt.Errorf("track item %s: data: %w", ev.ID(), err)
	}
	if t.OrgToken == "" {
		t.OrgToken = orgToken
	}
	if err := t.Validate(); err != nil {
		return item{}, fmt.Errorf("track item %s: %w", ev.ID(), err)
	}
	if ev.Type() != events.TrackType(t.Kind) {
		return item{}, fmt.Errorf("track item %s: type %s does not match kind %q", ev.ID(), ev.Type(), t.Kind)
	}
	return item{ev: ev, track: t}, nil
}

// name identifies the item in logs: its process uuid or request token.
func (it item) name() string {
	if it.track.Kind == events.TrackProcess {
		return it.track.ProcessUUID
	}
	return it.track.RequestToken
}

// command is the command that handed the item over, for logs.
func (it item) command() string {
	if it.track.Kind == events.TrackProcess {
		return events.CommandPoliciesApply
	}
	return events.CommandRequestTrack
}

// completionID is the id of the item's completion event and its Nats-Msg-Id.
// It derives from the Track event alone, so that a poller that dies between
// publishing and acknowledging, and the one that polls the item again, send
// the same id, and the events stream keeps only the first.
func completionID(track event.Event) string {
	sum := sha256.Sum256([]byte(track.Source() + "\x00" + track.ID()))
	return hex.EncodeToString(sum[:16])
}

// completion is the event that ends the item, given Mend's last status and
// a verdict that ended it. Its chain is the item's (bus.Continuing).
func (it item) completion(status string, v verdict) (event.Event, error) {
	t := it.track
	var (
		typ  string
		data any
	)
	switch {
	case t.Kind == events.TrackProcess:
		typ = events.TypePoliciesApplied
		if v.reason != "" {
			typ = events.TypePoliciesFailed
		}
		data = PoliciesResult{
			OrgToken: t.OrgToken, Scope: t.Scope, Token: t.Token, ProcessUUID: t.ProcessUUID,
			Status: status, Reason: v.reason, Detail: v.detail,
		}
	default:
		typ = events.TypeRequestFinished
		if v.reason != "" {
			typ = events.TypeRequestFailed
		}
		data = RequestResult{
			OrgToken: t.OrgToken, RequestToken: t.RequestToken,
			RequestState: status, Reason: v.reason, Detail: v.detail,
		}
	}
	e, err := bus.NewEvent(completionID(it.ev), Source, typ, data)
	if err != nil {
		return event.Event{}, fmt.Errorf("completion of %s: %w", it.name(), err)
	}
	e.SetSubject(it.name())
	return e, nil
}
