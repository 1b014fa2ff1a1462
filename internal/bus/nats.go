package bus

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Header names of the NATS protocol binding in binary content mode: every
// attribute and extension, datacontenttype included, is a header
// "ce-<name>" (binding 1.0.3, section 3.1.3.1); the message payload is the
// event data. A Content-Type header is not an attribute there: it marks
// structured mode when it is application/cloudevents. FromMsg still takes
// it as datacontenttype when there is no ce-datacontenttype, as the
// CloudEvents SDK for Go does, and as messages written before followed.
const (
	headerPrefix      = "ce-"
	headerContentType = "content-type"
)

// ErrNotCloudEvent is returned by FromMsg for a message without the
// ce-specversion header.
var ErrNotCloudEvent = errors.New("not a CloudEvent in binary content mode: no ce-specversion header")

// ToMsg maps a CloudEvent to a NATS message on subject in binary content mode.
// Header values cannot hold line breaks, so an attribute holding one is an
// error rather than a corrupt message.
func ToMsg(subject string, e event.Event) (*nats.Msg, error) { return toMsg(subject, e, "") }

// toMsg is ToMsg, with the Nats-Msg-Id header msgID when it is not empty.
func toMsg(subject string, e event.Event, msgID string) (*nats.Msg, error) {
	if err := e.Validate(); err != nil {
		return nil, fmt.Errorf("to NATS message: invalid event: %w", err)
	}
	if e.SpecVersion() != event.CloudEventsVersionV1 {
		return nil, fmt.Errorf("to NATS message: specversion %q: only %s is supported", e.SpecVersion(), event.CloudEventsVersionV1)
	}
	var exts map[string]any
	if ec, ok := e.Context.(*event.EventContextV1); ok {
		exts = ec.Extensions // read only: no copy, unlike e.Extensions()
	} else {
		exts = e.Extensions()
	}
	// Sized for the required attributes, time, content-type, the extensions
	// and the Nats-Msg-Id a publisher adds; one allocation for all values.
	msg := &nats.Msg{Subject: subject, Header: make(nats.Header, 7+len(exts))}
	values := make([]string, 0, 9+len(exts))
	set := func(name, value string) error {
		if strings.IndexByte(value, '\n') >= 0 || strings.IndexByte(value, '\r') >= 0 {
			return fmt.Errorf("to NATS message: attribute %s contains a line break", name)
		}
		values = append(values, value)
		msg.Header[name] = values[len(values)-1 : len(values) : len(values)]
		return nil
	}
	var timeText string
	if t := e.Time(); !t.IsZero() {
		timeText = types.FormatTime(t)
	}
	for _, a := range [...]struct{ name, value string }{
		{headerPrefix + "specversion", e.SpecVersion()},
		{headerPrefix + "id", e.ID()},
		{headerPrefix + "source", e.Source()},
		{headerPrefix + "type", e.Type()},
		{headerPrefix + "subject", e.Subject()},
		{headerPrefix + "dataschema", e.DataSchema()},
		{headerPrefix + "time", timeText},
		{headerPrefix + "datacontenttype", e.DataContentType()},
	} {
		if a.value == "" {
			continue
		}
		if err := set(a.name, a.value); err != nil {
			return nil, err
		}
	}
	for name, v := range exts {
		s, err := types.Format(v)
		if err != nil {
			return nil, fmt.Errorf("to NATS message: extension %s: %w", name, err)
		}
		if err := set(headerPrefix+name, s); err != nil {
			return nil, err
		}
	}
	if msgID != "" {
		if err := set(jetstream.MsgIDHeader, msgID); err != nil {
			return nil, err
		}
	}
	msg.Data = e.Data()
	return msg, nil
}

// FromMsg maps a NATS message in binary content mode back to a CloudEvent.
// Headers without the ce- prefix (Nats-Msg-Id, say) are not attributes and
// are left out. Header names are matched without regard to letter case.
func FromMsg(msg *nats.Msg) (event.Event, error) {
	return fromParts(msg.Header, msg.Data)
}

// FromJetStreamMsg is FromMsg for a message a JetStream consumer delivers.
func FromJetStreamMsg(msg jetstream.Msg) (event.Event, error) {
	return fromParts(msg.Headers(), msg.Data())
}

func fromParts(header nats.Header, data []byte) (event.Event, error) {
	e := event.New(event.CloudEventsVersionV1)
	var specVersion, contentType, legacyContentType string
	for key, values := range header {
		if len(values) == 0 {
			continue
		}
		key, value := strings.ToLower(key), values[0]
		if key == headerContentType {
			legacyContentType = value
			continue
		}
		name, ok := strings.CutPrefix(key, headerPrefix)
		if !ok {
			continue
		}
		switch name {
		case "specversion":
			specVersion = value
		case "id":
			e.SetID(value)
		case "source":
			e.SetSource(value)
		case "type":
			e.SetType(value)
		case "subject":
			e.SetSubject(value)
		case "dataschema":
			e.SetDataSchema(value)
		case "datacontenttype":
			contentType = value
		case "time":
			t, err := types.ParseTime(value)
			if err != nil {
				return event.Event{}, fmt.Errorf("from NATS message: ce-time: %w", err)
			}
			e.SetTime(t)
		default:
			if err := e.Context.SetExtension(name, value); err != nil {
				return event.Event{}, fmt.Errorf("from NATS message: extension %s: %w", name, err)
			}
		}
	}
	switch specVersion {
	case "":
		return event.Event{}, ErrNotCloudEvent
	case event.CloudEventsVersionV1:
	default:
		return event.Event{}, fmt.Errorf("from NATS message: specversion %q: only %s is supported", specVersion, event.CloudEventsVersionV1)
	}
	if contentType == "" {
		contentType = legacyContentType
	}
	if contentType != "" {
		e.SetDataContentType(contentType)
	}
	if len(data) > 0 {
		e.DataEncoded = data
	}
	if err := e.Validate(); err != nil {
		return event.Event{}, fmt.Errorf("from NATS message: %w", err)
	}
	return e, nil
}
