package poller

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"

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

// decodeItem reads a delivery. An error means the message can never be
// followed, however often it is redelivered. orgToken fills in an item that
// names no organization.
func decodeItem(msg jetstream.Msg, orgToken string) (item, error) {
	ev, err := bus.FromJetStreamMsg(msg)
	if err != nil {
		return item{}, err
	}
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
// a verdict that ended it.
func (it item) completion(status string, v verdict, now time.Time) (event.Event, error) {
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
	e := event.New(event.CloudEventsVersionV1)
	e.SetID(completionID(it.ev))
	e.SetSource(Source)
	e.SetType(typ)
	e.SetSubject(it.name())
	e.SetTime(now)
	if err := e.SetData(event.ApplicationJSON, data); err != nil {
		return event.Event{}, fmt.Errorf("completion of %s: %w", it.name(), err)
	}
	// The completion answers the same command as the Track item, so it
	// carries the item's chain on as it is; an item from a publisher that
	// set no extensions is its own cause.
	correlation, causation := events.Extension(it.ev, events.ExtCorrelationID), events.Extension(it.ev, events.ExtCausationID)
	if correlation == "" {
		correlation = it.ev.ID()
	}
	if causation == "" {
		causation = it.ev.ID()
	}
	e.SetExtension(events.ExtCorrelationID, correlation)
	e.SetExtension(events.ExtCausationID, causation)
	if tp := events.Extension(it.ev, events.ExtTraceparent); tp != "" {
		e.SetExtension(events.ExtTraceparent, tp)
	}
	return e, nil
}
