package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/mendflow/mendflow/pkg/events"
)

// contentMode is how a POST /events request carries its events.
type contentMode int

const (
	modeBinary contentMode = iota
	modeStructured
	modeBatch
)

const (
	mediaStructured = "application/cloudevents+json"
	mediaBatch      = "application/cloudevents-batch+json"
)

// modeOf tells the content mode from the headers: a CloudEvents format in
// Content-Type, or else ce-specversion for binary mode.
func modeOf(h http.Header) (contentMode, *problem) {
	var mt string
	if ct := h.Get("Content-Type"); ct == mediaStructured || ct == mediaBatch {
		mt = ct // the common case, without parsing
	} else if ct != "" {
		var err error
		if mt, _, err = mime.ParseMediaType(ct); err != nil {
			return 0, errUnsupportedMediaType(fmt.Sprintf("Content-Type %q: %v", ct, err))
		}
	}
	switch {
	case mt == mediaStructured:
		return modeStructured, nil
	case mt == mediaBatch:
		return modeBatch, nil
	case strings.HasPrefix(mt, "application/cloudevents"):
		return 0, errUnsupportedMediaType(fmt.Sprintf("event format %s is not supported; send %s or %s", mt, mediaStructured, mediaBatch))
	case h.Get("Ce-Specversion") != "":
		return modeBinary, nil
	default:
		return 0, errUnsupportedMediaType(fmt.Sprintf(
			"not a CloudEvent: send Content-Type %s (structured), %s (batch), or ce-specversion, ce-id, ce-source and ce-type headers (binary)",
			mediaStructured, mediaBatch))
	}
}

// parseEvents parses a POST /events body in its content mode. Any invalid
// event refuses the whole request, naming each problem.
func parseEvents(mode contentMode, h http.Header, body []byte) ([]event.Event, *problem) {
	switch mode {
	case modeStructured:
		return parseStructured(body)
	case modeBatch:
		return parseBatch(body)
	default:
		return parseBinary(h, body)
	}
}

func parseStructured(body []byte) ([]event.Event, *problem) {
	if p := checkJSON(body, '{', "a structured event is a JSON object"); p != nil {
		return nil, p
	}
	e, errs := decodeEvent(0, body)
	if errs != nil {
		return nil, invalidEvents(errs)
	}
	return []event.Event{e}, nil
}

func parseBatch(body []byte) ([]event.Event, *problem) {
	if p := checkJSON(body, '[', "a batch is a JSON array of events"); p != nil {
		return nil, p
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &raws); err != nil {
		return nil, errMalformed(err.Error())
	}
	evs := make([]event.Event, 0, len(raws))
	var errs []eventError
	for i, raw := range raws {
		if len(bytes.TrimSpace(raw)) == 0 || bytes.TrimSpace(raw)[0] != '{' {
			errs = append(errs, eventError{Index: i, Detail: "an event is a JSON object"})
			continue
		}
		e, eerrs := decodeEvent(i, raw)
		errs = append(errs, eerrs...)
		evs = append(evs, e)
	}
	if errs != nil {
		return nil, invalidEvents(errs)
	}
	return evs, nil
}

// decodeEvent decodes one event in the JSON format and checks it. raw is
// part of a body already found to be valid JSON.
func decodeEvent(index int, raw []byte) (event.Event, []eventError) {
	e, dataChecked, err := unmarshalEvent(raw)
	if err != nil {
		return e, fieldErrors(index, e, err)
	}
	return e, checkEvent(index, e, dataChecked)
}

// unmarshalEvent is event.Event's UnmarshalJSON of valid JSON (see
// events.ValidJSON), cheaper for the common event whose data is a JSON
// object or array. The SDK's JSON library skips over such data in its strict
// mode by reading every key and string of it into a new string, only to
// keep the bytes as written: for a CDEvent that was a third of ingest's
// allocations. Here the SDK reads the attributes with the data written as
// a placeholder string, and the data, as written, is put back: the event's
// data shares raw's memory, and dataChecked is true: it is part of raw,
// which is valid.
//
// The SDK takes data for JSON only under application/json, text/json or no
// datacontenttype (it keeps the placeholder as written, quotes and all),
// and otherwise wants a JSON string (it keeps the placeholder's text). The
// JSON event format says the data of any JSON type, such as
// application/vnd.acme+json (events.IsJSON), is a JSON value: such data is
// taken as written too, where the SDK would refuse the event.
//
// Otherwise (the SDK did not read the placeholder as either; data may come
// again after it, and the SDK would keep the last) the SDK decodes the
// event as it is, and the data, which the SDK may have decoded from a JSON
// string, is still to be checked.
func unmarshalEvent(raw []byte) (e event.Event, dataChecked bool, err error) {
	data := events.GetJSON(raw, "data")
	if data.Index <= 0 || !(data.IsObject() || data.IsArray()) {
		return e, false, e.UnmarshalJSON(raw)
	}
	end := data.Index + len(data.Raw)
	if rest := raw[end:]; bytes.Contains(rest, []byte(`"data"`)) || bytes.Contains(rest, []byte(`\u`)) {
		// Perhaps data again, which the SDK would take over this one.
		return e, false, e.UnmarshalJSON(raw)
	}
	attrs := make([]byte, 0, len(raw)-len(data.Raw)+len(placeholder))
	attrs = append(append(append(attrs, raw[:data.Index]...), placeholder...), raw[end:]...)
	if err = e.UnmarshalJSON(attrs); err == nil && !e.DataBase64 {
		// The SDK keeps JSON data as written from just after the colon: with
		// the whitespace before the value, which raw has just the same.
		if space, ok := bytes.CutSuffix(e.DataEncoded, []byte(placeholder)); ok {
			if start := data.Index - len(space); start >= 0 && bytes.Equal(raw[start:data.Index], space) {
				e.DataEncoded = raw[start:end:end] // capped: an append copies rather than write into raw
				return e, true, nil
			}
		}
		if string(e.DataEncoded) == placeholder[1:len(placeholder)-1] && events.IsJSON(e.DataContentType()) {
			// Read as a string: a JSON type the SDK does not know.
			e.DataEncoded = raw[data.Index:end:end]
			return e, true, nil
		}
	}
	e = event.Event{}
	return e, false, e.UnmarshalJSON(raw)
}

// placeholder stands for the data while the SDK reads the attributes.
const placeholder = `"-"`

func parseBinary(h http.Header, body []byte) ([]event.Event, *problem) {
	if sv := h.Get("Ce-Specversion"); sv != event.CloudEventsVersionV1 {
		return nil, invalidEvents([]eventError{{Field: "specversion", Detail: fmt.Sprintf("unsupported specversion %q: send %s", sv, event.CloudEventsVersionV1)}})
	}
	msg := cehttp.NewMessage(h, io.NopCloser(bytes.NewReader(body)))
	e, err := binding.ToEvent(context.Background(), msg)
	if err != nil {
		return nil, invalidEvents(fieldErrors(0, event.Event{}, err))
	}
	if errs := checkEvent(0, *e, false); errs != nil {
		return nil, invalidEvents(errs)
	}
	return []event.Event{*e}, nil
}

// checkEvent checks what the CloudEvents SDK leaves to its user: the
// required attributes, the version, JSON data being JSON (dataChecked says
// it was checked already, as part of a structured body), and a CDEvent
// carrying a CDEvent.
func checkEvent(index int, e event.Event, dataChecked bool) []eventError {
	if err := e.Validate(); err != nil {
		return fieldErrors(index, e, err)
	}
	fail := func(field, format string, args ...any) []eventError {
		return []eventError{{Index: index, ID: e.ID(), Field: field, Detail: fmt.Sprintf(format, args...)}}
	}
	if e.SpecVersion() != event.CloudEventsVersionV1 {
		return fail("specversion", "unsupported specversion %q: send %s", e.SpecVersion(), event.CloudEventsVersionV1)
	}
	data, isJSON := e.Data(), events.IsJSON(e.DataContentType())
	if isJSON && !dataChecked && len(data) > 0 && !events.ValidJSON(data) {
		return fail("data", "data is not valid JSON (datacontenttype %q)", e.DataContentType())
	}
	if strings.HasPrefix(e.Type(), events.TypePrefixCDEvents) {
		if !isJSON || len(data) == 0 {
			return fail("data", "a CDEvent's data is a JSON object (datacontenttype %q)", e.DataContentType())
		}
		if err := events.CheckCDEvent(e.Type(), data); err != nil {
			return fail("data", "%v", err)
		}
	}
	return nil
}

// fieldErrors lists an SDK error by attribute when it names them.
func fieldErrors(index int, e event.Event, err error) []eventError {
	var id string
	if e.Context != nil {
		id = e.ID()
	}
	var verr event.ValidationError
	if !errors.As(err, &verr) {
		return []eventError{{Index: index, ID: id, Detail: err.Error()}}
	}
	out := make([]eventError, 0, len(verr))
	for _, field := range slices.Sorted(maps.Keys(verr)) {
		detail := verr[field].Error()
		switch detail { // the SDK's words for a missing attribute
		case "REQUIRED", "MUST be a non-empty string", "no specversion":
			detail = field + " is required"
		}
		out = append(out, eventError{Index: index, ID: id, Field: field, Detail: detail})
	}
	return out
}

// checkJSON answers 400 for a body that is not JSON, or whose JSON value
// does not start with want.
func checkJSON(body []byte, want byte, what string) *problem {
	if !events.ValidJSON(body) {
		return errMalformed(fmt.Sprintf("body is not valid JSON: %v", events.JSONError(body)))
	}
	if trimmed := bytes.TrimLeft(body, " \t\r\n"); trimmed[0] != want {
		return errMalformed(what)
	}
	return nil
}

func invalidEvents(errs []eventError) *problem {
	first := errs[0]
	detail := first.Detail
	if first.Field != "" && !strings.Contains(detail, first.Field) {
		detail = first.Field + ": " + detail
	}
	if len(errs) > 1 {
		detail += fmt.Sprintf(" (and %d more; see errors)", len(errs)-1)
	}
	p := newProblem(http.StatusBadRequest, "invalid-event", "Invalid event", fmt.Sprintf("event %d: %s", first.Index, detail))
	p.Errors = errs
	return p
}
