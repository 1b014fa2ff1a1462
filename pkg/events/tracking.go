package events

import (
	"errors"
	"fmt"
	"time"
)

// The worker hands what must be followed until it ends to the poller as a
// Track item on a work-queue stream: the item stays stored until a poller
// has emitted its completion event, so a poller that dies loses nothing, and
// several pollers share the items.
const (
	// StreamTracking holds the items the poller follows.
	StreamTracking = "MENDFLOW_TRACKING"
	// TypeTrackPrefix starts the CloudEvent type of a Track item:
	// io.mendflow.track.<kind>.
	TypeTrackPrefix = "io.mendflow.track."

	trackSubjectPrefix = "mendflow.track."
)

// Kinds of tracked items.
const (
	// TrackProcess is an asynchronous process that policies.apply started,
	// followed with asyncProcessStatus.
	TrackProcess = "process"
	// TrackRequest is a plugin request named by request.track, followed with
	// getRequestState.
	TrackRequest = "request"
)

// TrackSubject is the subject of Track items of a kind:
// mendflow.track.<kind>.
func TrackSubject(kind string) string { return trackSubjectPrefix + kind }

// TrackType is the CloudEvent type of Track items of a kind.
func TrackType(kind string) string { return TypeTrackPrefix + kind }

// Track is an item for the poller to follow. It travels as the data of a
// CloudEvent of type TrackType(Kind) whose correlationid, causationid and
// traceparent extensions the completion event carries on.
type Track struct {
	Kind     string `json:"kind"`
	OrgToken string `json:"orgToken"`
	// ProcessUUID, Scope and Token describe a TrackProcess item: the
	// process's uuid and the scope (organization, product, project) and
	// token the policies were applied to.
	ProcessUUID string `json:"processUuid,omitempty"`
	Scope       string `json:"scope,omitempty"`
	Token       string `json:"token,omitempty"`
	// RequestToken names a TrackRequest item.
	RequestToken string `json:"requestToken,omitempty"`
	// Started is when following began; deadlines count from it.
	Started time.Time `json:"started"`
}

// Validate reports what is missing from t.
func (t *Track) Validate() error {
	switch {
	case t.OrgToken == "":
		return errors.New("track: orgToken is required")
	case t.Started.IsZero():
		return errors.New("track: started is required")
	}
	switch t.Kind {
	case TrackProcess:
		if t.ProcessUUID == "" {
			return errors.New("track process: processUuid is required")
		}
	case TrackRequest:
		if t.RequestToken == "" {
			return errors.New("track request: requestToken is required")
		}
	default:
		return fmt.Errorf("track: kind %q is not %q or %q", t.Kind, TrackProcess, TrackRequest)
	}
	return nil
}
