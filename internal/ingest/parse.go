package ingest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/tidwall/gjson"

	"github.com/mendflow/mendflow/internal/eventdata"
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
			return 0, errUnsupportedMediaType(fmt.Sprintf("Content-Type %q: %v", excerpt(ct, quoteLimit), err))
		}
	}
	switch {
	case mt == mediaStructured:
		return modeStructured, nil
	case mt == mediaBatch:
		return modeBatch, nil
	case strings.HasPrefix(mt, "application/cloudevents"):
		return 0, errUnsupportedMediaType(fmt.Sprintf("event format %s is not supported; send %s or %s", excerpt(mt, quoteLimit), mediaStructured, mediaBatch))
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
	if at := invalidUTF8(raw); at >= 0 {
		return event.Event{}, notUTF8(index, raw, at)
	}
	if e, ok := readSimpleEvent(raw); ok {
		return e, checkEvent(index, e, true)
	}
	raw, data, errs := checkMembers(index, raw)
	if errs != nil {
		return event.Event{}, errs
	}
	e, dataChecked, err := unmarshalEvent(raw)
	if err != nil {
		return e, fieldErrors(index, e, err)
	}
	if data.set {
		e.DataEncoded, e.DataBase64 = data.value, data.binary
		dataChecked = !data.binary
	}
	return e, checkEvent(index, e, dataChecked)
}

// memberData is an event's data that checkMembers took out of the event
// for the SDK not to read: JSON data of a JSON type the SDK does not know,
// as written, or the bytes of data_base64.
type memberData struct {
	set    bool
	value  []byte
	binary bool // from data_base64
}

// notUTF8 names the member of the event raw that holds its first byte
// that is not UTF-8, at offset at. JSON text is UTF-8 (RFC 8259 8.1), but
// gjson and encoding/json take any byte in a string, and the SDK would
// keep it.
func notUTF8(index int, raw []byte, at int) []eventError {
	err := eventError{Index: index, Detail: fmt.Sprintf("the event holds bytes that are not UTF-8 (RFC 8259 8.1; at byte %d)", at)}
	eventdata.ParseJSON(raw).ForEach(func(key, value gjson.Result) bool {
		if at < key.Index || at >= value.Index+len(value.Raw) {
			return true
		}
		err.Field = key.Str
		if at < value.Index {
			err.Detail = fmt.Sprintf("a member's name holds bytes that are not UTF-8 (at byte %d)", at-key.Index)
		} else {
			err.Detail = fmt.Sprintf("%s holds bytes that are not UTF-8 (at byte %d)", key.Str, at-value.Index)
		}
		return false
	})
	return []eventError{err}
}

// checkMembers does what the SDK leaves undone of the JSON event format,
// for an event that readSimpleEvent leaves to it. A member whose value is
// null, other than data, is an attribute unset (JSON format 2.2): it is
// dropped, and raw rebuilt without it. An extension's name is lower-case
// letters and digits (core spec, attribute naming), where the SDK takes
// upper case too and changes the name; its value is a string, a boolean
// or an integer, which JSON writes without a fraction or an exponent
// (JSON format 2.2), where the SDK would truncate 1.5 to 1. A string
// value, other than data's, is text of at most maxAttributeBytes
// (valueProblem), where the SDK takes any string. subject and
// dataschema, if present, are not empty (core spec), where the SDK takes
// an empty one for absent. An attribute appears at most once (core spec),
// where the SDK keeps the last of most; data too. data and data_base64
// exclude each other (JSON format 3.1.1), where the SDK keeps one. A time
// may write its T and Z in lower case (RFC 3339 5.6), which the SDK
// refuses: they are written in upper case for it.
//
// The data of a JSON type that the SDK does not take for JSON (such as
// application/vnd.acme+json) is any JSON value, a string being a JSON
// string, never a document to decode (JSON format 3.1.2), where the SDK
// wants a string and decodes it: such data is taken out of raw before the
// SDK reads it, and returned, as written, for the event's data. So is
// data_base64, decoded: the SDK reads it from the raw text after the
// colon, and takes the whitespace JSON allows there for data, refusing
// the spec's own example ("data_base64" : "...").
func checkMembers(index int, raw []byte) (_ []byte, data memberData, _ []eventError) {
	var errs []eventError
	fail := func(field, format string, args ...any) {
		errs = append(errs, eventError{Index: index, Field: field, Detail: fmt.Sprintf(format, args...)})
	}
	nulls, datas, base64 := false, 0, false
	var contentType *string
	var dataValue, base64Value gjson.Result
	var upperTime string
	seen := make(map[string]bool)
	obj := eventdata.ParseJSON(raw)
	obj.ForEach(func(key, value gjson.Result) bool {
		name := key.Str
		if seen[name] {
			fail(name, "%s appears more than once", name)
			return true
		}
		seen[name] = true
		switch name {
		case "data":
			datas, dataValue = datas+1, value
		case "data_base64":
			base64, base64Value = value.Type != gjson.Null, value // a null one is absent
		case "datacontenttype":
			if value.Type == gjson.String {
				contentType = &value.Str
			}
		case "time":
			if value.Type == gjson.String && strings.ContainsAny(value.Str, "tz") {
				upperTime = strings.ToUpper(value.Str)
			}
		}
		if value.Type == gjson.Null {
			nulls = nulls || name != "data"
			return true
		}
		switch name {
		case "data", "data_base64":
			return true
		case "specversion", "id", "source", "type", "time", "datacontenttype":
		case "subject", "dataschema":
			if value.Type == gjson.String && value.Str == "" {
				fail(name, "%s, if present, is a non-empty string", name)
				return true
			}
		default:
			if p := extensionNameProblem(name); p != "" {
				fail(name, "%s", p)
				return true
			} else if value.Type == gjson.Number && strings.ContainsAny(value.Raw, ".eE") {
				fail(name, "extension %s: %s is not an integer (a JSON number is a CloudEvents Integer)", name, excerpt(value.Raw, quoteLimit))
				return true
			}
		}
		if value.Type == gjson.String {
			if p := valueProblem(value.Str); p != "" {
				fail(name, "%s %s", name, p)
			}
		}
		return true
	})
	if datas > 0 && base64 {
		fail("data_base64", "an event has data or data_base64, not both (JSON format 3.1.1)")
	}
	if base64 {
		if base64Value.Type != gjson.String {
			fail("data_base64", "data_base64 is a JSON string (JSON format 3.1.1)")
		} else if b, err := stdBase64.DecodeString(base64Value.Str); err != nil {
			fail("data_base64", "data_base64 is not Base64 (RFC 4648): %v", err)
		} else {
			data = memberData{set: true, value: b, binary: true}
		}
	}
	if errs != nil {
		return raw, memberData{}, errs
	}
	vendorJSON := false
	if datas == 1 && !base64 && contentType != nil && eventdata.IsJSON(*contentType) {
		mt, _ := (&event.EventContextV1{DataContentType: contentType}).GetDataMediaType()
		vendorJSON = !sdkJSON(mt)
	}
	if !nulls && !vendorJSON && !base64 && upperTime == "" {
		return raw, data, nil
	}
	if vendorJSON {
		data = memberData{set: true, value: []byte(dataValue.Raw)}
	}
	out := make([]byte, 0, len(raw))
	out = append(out, '{')
	obj.ForEach(func(key, value gjson.Result) bool {
		if (key.Str == "data" && vendorJSON) || key.Str == "data_base64" {
			return true
		}
		if value.Type != gjson.Null || key.Str == "data" {
			if len(out) > 1 {
				out = append(out, ',')
			}
			out = append(append(out, key.Raw...), ':')
			if key.Str == "time" && upperTime != "" {
				out = gjson.AppendJSONString(out, upperTime)
			} else {
				out = append(out, value.Raw...)
			}
		}
		return true
	})
	return append(out, '}'), data, nil
}

// stdBase64 decodes data_base64: the JSON format names RFC 4648's Base64,
// padded.
var stdBase64 = base64.StdEncoding

// unmarshalEvent is event.Event's UnmarshalJSON of valid JSON (see
// eventdata.ValidJSON), several times cheaper for the common event: the SDK's
// JSON library reads every key and string into a new string, even those of
// data it only keeps as written; for a CDEvent that was a third of ingest's
// allocations. Here the attributes are read with gjson, each copied on its
// own: what keeps one (a metrics label, a span waiting to be exported) must
// not keep the whole body. JSON data is not copied: it shares raw's
// memory, which must not change after (a request body does not), and
// dataChecked is true, since raw is valid.
//
// That covers an event whose attributes are plain, non-empty strings
// (specversion 1.0, no escapes, no key twice), whose extensions have names
// in lower case, and whose data, if any, is a JSON object or array under a
// JSON datacontenttype. Any other event is the SDK's to decode, exactly as
// written, and its data, which the SDK may have decoded from a JSON string,
// is still to be checked: what the SDK does with such events (repeated
// keys, data read before or after its content type, escapes, data_base64,
// attributes of other JSON types) depends on their order, and its errors
// name the problem.
//
// The SDK takes data for JSON only under its own few JSON types, and
// otherwise wants a JSON string. The JSON event format says the data of
// any JSON type, such as application/vnd.acme+json (eventdata.IsJSON), is a
// JSON value: such data is taken as written too, where the SDK would
// refuse the event.
func unmarshalEvent(raw []byte) (e event.Event, dataChecked bool, err error) {
	if e, ok := readSimpleEvent(raw); ok {
		return e, true, nil
	}
	err = e.UnmarshalJSON(raw) // before e is read: a return's operands have no set order
	return e, false, err
}

// readSimpleEvent is unmarshalEvent's reading of the common event; ok is
// false for any event it leaves to the SDK.
func readSimpleEvent(raw []byte) (e event.Event, ok bool) {
	r := simpleEvent{ec: &event.EventContextV1{}}
	ok = true
	eventdata.ParseJSON(raw).ForEach(func(key, value gjson.Result) bool {
		ok = r.read(key, value)
		return ok
	})
	if !ok || r.seen&seenSpecVersion == 0 {
		return event.Event{}, false
	}
	e.Context = r.ec
	if !r.data.Exists() {
		return e, true
	}
	start, end := r.data.Index, r.data.Index+len(r.data.Raw)
	mt, _ := r.ec.GetDataMediaType()
	switch {
	case sdkJSON(mt):
		// The SDK keeps JSON data as written from just after the colon,
		// whitespace included.
		for start > 0 && raw[start-1] != ':' {
			start--
		}
	case !eventdata.IsJSON(r.ec.GetDataContentType()):
		return event.Event{}, false // data the SDK wants as a string
	}
	e.DataEncoded = raw[start:end:end] // capped: an append copies rather than write into raw
	return e, true
}

// simpleEvent is what readSimpleEvent has read so far.
type simpleEvent struct {
	ec   *event.EventContextV1
	seen uint8 // the attributes read, to leave a repeated one to the SDK
	data gjson.Result
}

const (
	seenSpecVersion uint8 = 1 << iota
	seenID
	seenSource
	seenType
	seenSubject
	seenTime
	seenDataContentType
	seenDataSchema
)

// read reads one key of the event; false leaves the event to the SDK.
func (r *simpleEvent) read(key, value gjson.Result) bool {
	name := key.Str
	if len(key.Raw) != len(name)+2 { // escaped
		return false
	}
	if name == "data" {
		if r.data.Exists() || !(value.IsObject() || value.IsArray()) {
			return false
		}
		r.data = value
		return true
	}
	v := value.Str
	if value.Type != gjson.String || len(value.Raw) != len(v)+2 || v == "" {
		return false // not a plain string
	}
	if valueProblem(v) != "" {
		return false // for checkMembers to name
	}
	if name != "specversion" && name != "time" { // what the event keeps of v
		v = strings.Clone(v) // not a view of the body
	}
	var bit uint8
	switch name {
	case "specversion":
		bit = seenSpecVersion
		if v != event.CloudEventsVersionV1 {
			return false
		}
	case "id":
		bit, r.ec.ID = seenID, v
	case "type":
		bit, r.ec.Type = seenType, v
	case "source":
		u := types.ParseURIRef(v)
		if u == nil {
			return false
		}
		bit, r.ec.Source = seenSource, *u
	case "subject":
		bit, r.ec.Subject = seenSubject, &v
	case "time":
		t, err := types.ParseTimestamp(v)
		if err != nil {
			return false
		}
		bit, r.ec.Time = seenTime, t
	case "datacontenttype":
		bit, r.ec.DataContentType = seenDataContentType, &v
	case "dataschema":
		if bit, r.ec.DataSchema = seenDataSchema, types.ParseURI(v); r.ec.DataSchema == nil {
			return false
		}
	case "data_base64", "schemaurl", "datacontentencoding":
		return false // the SDK reads these by specversion
	default:
		// An extension: a name the SDK would change (upper case) or refuse
		// is the SDK's to handle.
		if _, dup := r.ec.Extensions[name]; dup || extensionNameProblem(name) != "" {
			return false
		}
		if r.ec.Extensions == nil {
			r.ec.Extensions = make(map[string]any, 1)
		}
		r.ec.Extensions[strings.Clone(name)] = v
		return true
	}
	if r.seen&bit != 0 {
		return false
	}
	r.seen |= bit
	return true
}

// extensionNameProblem says what is wrong with an extension's name, or
// "" when nothing is: it is 'a' to 'z' and '0' to '9' (core spec), as the
// SDK keeps it, and at most maxExtensionNameBytes long.
func extensionNameProblem(name string) string {
	if len(name) > maxExtensionNameBytes {
		return fmt.Sprintf("extension name %q %s", excerpt(name, quoteLimit), overLimit(len(name), maxExtensionNameBytes))
	}
	for i := range len(name) {
		if c := name[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return fmt.Sprintf("extension name %q: attribute names are lower-case letters ('a' to 'z') and digits", excerpt(name, quoteLimit))
		}
	}
	if name == "" {
		return "an extension's name is empty: attribute names are lower-case letters ('a' to 'z') and digits"
	}
	return ""
}

// sdkJSON reports whether the SDK takes data of media type mt (as
// GetDataMediaType gives it) for JSON.
func sdkJSON(mt string) bool {
	switch mt {
	case "", event.ApplicationJSON, event.TextJSON, event.ApplicationCloudEventsJSON, event.ApplicationCloudEventsBatchJSON:
		return true
	}
	return false
}

func parseBinary(h http.Header, body []byte) ([]event.Event, *problem) {
	h, eerr := decodeHeaders(h)
	if eerr != nil {
		return nil, invalidEvents([]eventError{*eerr})
	}
	if p := valueProblem(h.Get("Content-Type")); p != "" { // datacontenttype in binary mode
		return nil, invalidEvents([]eventError{{Field: "datacontenttype", Detail: "Content-Type " + p}})
	}
	if sv := h.Get("Ce-Specversion"); sv != event.CloudEventsVersionV1 {
		return nil, invalidEvents([]eventError{{Field: "specversion", Detail: fmt.Sprintf("unsupported specversion %q: send %s", excerpt(sv, quoteLimit), event.CloudEventsVersionV1)}})
	}
	msg := cehttp.NewMessage(h, io.NopCloser(bytes.NewReader(body)))
	e, err := binding.ToEvent(context.Background(), msg)
	if err != nil {
		return nil, invalidEvents(fieldErrors(0, event.Event{}, err))
	}
	if h.Get("Content-Type") == "" && len(body) > 0 {
		// The binding carries datacontenttype in Content-Type: without
		// one, the body is data of no stated format, which nothing may
		// take for JSON (JSON format 3.1.2, whose data_base64 it would be).
		e.DataBase64 = true
	}
	if errs := checkEvent(0, *e, false); errs != nil {
		return nil, invalidEvents(errs)
	}
	return []event.Event{*e}, nil
}

// decodeHeaders returns h with the value of each ce- header decoded as the
// HTTP protocol binding says (3.1.3.2): a double-quoted string unquoted,
// then one round of percent-decoding. An invalid escape refuses the
// event, as does a value, once decoded, that is not text of at most
// maxAttributeBytes (valueProblem), or an extension name over
// maxExtensionNameBytes: the SDK takes any. h itself is not changed;
// without any value to decode, it is returned as is.
func decodeHeaders(h http.Header) (http.Header, *eventError) {
	var out http.Header
	for name, values := range h {
		if len(name) < 3 || !strings.EqualFold(name[:3], "ce-") {
			continue
		}
		attribute := func() string { return strings.ToLower(name[3:]) } // only for an error
		if len(name)-3 > maxExtensionNameBytes {
			return nil, &eventError{Field: attribute(), Detail: extensionNameProblem(attribute())}
		}
		isTime := strings.EqualFold(name, "ce-time")
		for i, v := range values {
			if strings.ContainsAny(v, `%"`) || (isTime && strings.ContainsAny(v, "tz")) {
				d, err := decodeHeaderValue(v)
				if err != nil {
					return nil, &eventError{Field: attribute(), Detail: fmt.Sprintf("header %s: %v", name, err)}
				}
				if isTime {
					d = strings.ToUpper(d) // RFC 3339 5.6: t and z may be lower case, which the SDK refuses
				}
				if out == nil {
					out = h.Clone()
				}
				out[name][i], v = d, d
			}
			if p := valueProblem(v); p != "" {
				return nil, &eventError{Field: attribute(), Detail: attribute() + " " + p}
			}
		}
	}
	if out == nil {
		return h, nil
	}
	return out, nil
}

// decodeHeaderValue decodes one header value of binary mode.
func decodeHeaderValue(v string) (string, error) {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' { // RFC 9110 5.6.4 quoted-string
		var b strings.Builder
		for i := 1; i < len(v)-1; i++ {
			if v[i] == '\\' && i+1 < len(v)-1 {
				i++
			}
			b.WriteByte(v[i])
		}
		v = b.String()
	}
	d, err := url.PathUnescape(v)
	if err != nil {
		return "", fmt.Errorf("invalid percent-encoding: %v", err)
	}
	return d, nil
}

// checkEvent checks what the CloudEvents SDK leaves to its user: the
// required attributes, the version, JSON data being JSON (dataChecked says
// it was checked already, as part of a structured body) and text
// (jsonTextProblem), and a CDEvent carrying a CDEvent. The attributes'
// values were checked as they were read (valueProblem), before the SDK
// parsed some of them.
func checkEvent(index int, e event.Event, dataChecked bool) []eventError {
	if err := e.Validate(); err != nil {
		return fieldErrors(index, e, err)
	}
	fail := func(field, format string, args ...any) []eventError {
		return []eventError{{Index: index, ID: e.ID(), Field: field, Detail: fmt.Sprintf(format, args...)}}
	}
	if e.SpecVersion() != event.CloudEventsVersionV1 {
		return fail("specversion", "unsupported specversion %q: send %s", excerpt(e.SpecVersion(), quoteLimit), event.CloudEventsVersionV1)
	}
	if ec, ok := e.Context.(*event.EventContextV1); ok && ec.Extensions["data"] != nil { // binary mode: a ce-data header
		return fail("data", "no attribute may be named data (core spec): ce-data is not an extension")
	}
	data, isJSON := e.Data(), eventdata.DataIsJSON(e)
	if isJSON && len(data) > 0 {
		if !dataChecked && !eventdata.ValidJSON(data) {
			return fail("data", "data is not valid JSON (datacontenttype %q)", excerpt(e.DataContentType(), quoteLimit))
		}
		if p := jsonTextProblem(data); p != "" {
			return fail("data", "data %s", p)
		}
	}
	if strings.HasPrefix(e.Type(), eventdata.TypePrefixCDEvents) {
		if !isJSON || len(data) == 0 {
			return fail("data", "a CDEvent's data is a JSON object (datacontenttype %q)", excerpt(e.DataContentType(), quoteLimit))
		}
		if err := eventdata.CheckCDEvent(e.Type(), data); err != nil {
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
	if !eventdata.ValidJSON(body) {
		return errMalformed(fmt.Sprintf("body is not valid JSON: %v", eventdata.JSONError(body)))
	}
	if trimmed := bytes.TrimLeft(body, " \t\r\n"); trimmed[0] != want {
		return errMalformed(what)
	}
	return nil
}

// maxListedErrors bounds the errors an answer lists: a batch of a
// mebibyte can hold a hundred thousand invalid events.
const maxListedErrors = 100

// invalidEvents is the 400 answer listing errs, the first of them in its
// detail. What each error quotes of the request is bounded (see excerpt),
// and so is the list.
func invalidEvents(errs []eventError) *problem {
	listed := errs[:min(len(errs), maxListedErrors)]
	for i := range listed {
		e := &listed[i]
		e.ID, e.Field, e.Detail = excerpt(e.ID, quoteLimit), excerpt(e.Field, quoteLimit), excerpt(e.Detail, messageLimit)
	}
	first := listed[0]
	detail := first.Detail
	if first.Field != "" && !strings.Contains(detail, first.Field) {
		detail = first.Field + ": " + detail
	}
	switch n := len(errs) - 1; {
	case len(errs) > len(listed):
		detail += fmt.Sprintf(" (and %d more; the first %d are listed in errors)", n, len(listed))
	case n > 0:
		detail += fmt.Sprintf(" (and %d more; see errors)", n)
	}
	p := newProblem(http.StatusBadRequest, "invalid-event", "Invalid event", fmt.Sprintf("event %d: %s", first.Index, detail))
	p.Errors = listed
	return p
}
