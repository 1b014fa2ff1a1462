package mendsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/mendflow/mendflow/pkg/mend"
)

// maxRequestBody bounds what the simulator reads of a request.
const maxRequestBody = 8 << 20

func (s *Simulator) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1.4", s.serveV1)
	mux.HandleFunc("POST /api/v1.4/", s.serveV1)
	for _, r := range s.restRoutes() {
		mux.Handle(r.pattern, s.rest(r))
	}
	s.adminRoutes(mux)
	return mux
}

// exchange is one request being answered: what the call record keeps of it,
// and the writer that answers it.
type exchange struct {
	s    *Simulator
	w    http.ResponseWriter
	r    *http.Request
	body []byte // the request's, once read
	call Call
}

func (s *Simulator) begin(w http.ResponseWriter, r *http.Request, api, op string) *exchange {
	return &exchange{s: s, w: w, r: r, call: Call{
		Time: s.now(), API: api, Op: op, Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
		Traceparent: r.Header.Get("traceparent"),
	}}
}

// fault applies an injected fault. It reports whether the fault answered
// the call, in which case the caller must stop. A latency is the time the
// work takes: as Mend does, the simulator carries the call out at its end
// even if the client stopped waiting, and only a stopping simulator
// abandons it.
func (x *exchange) fault() bool {
	f, ok := x.s.faults.hit(x.call.API, x.call.Op, x.s.now())
	if !ok {
		return false
	}
	if f.Latency > 0 {
		latency := f.Latency
		if f.LatencyMax > latency {
			latency += rand.N(f.LatencyMax - latency + 1)
		}
		if !x.s.wait(latency) {
			x.call.Status = 0
			x.call.Fault = true
			return true
		}
	}
	switch {
	case f.Drop:
		x.call.Fault = true
		if hj, ok := x.w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return true
			}
		}
		// No hijacking (HTTP/2): abort the handler, which resets the stream.
		panic(http.ErrAbortHandler)
	case f.Status != 0:
		x.call.Fault = true
		if f.RetryAfter > 0 {
			secs := int((f.RetryAfter + time.Second - 1) / time.Second)
			x.w.Header().Set("Retry-After", strconv.Itoa(secs))
		}
		// v3.0 answers keep their data, errors included, under "response".
		key := "retVal"
		if x.call.API == "v3.0" {
			key = "response"
		}
		x.writeJSON(f.Status, map[string]any{"supportToken": supportToken(), key: map[string]string{
			"errorMessage": x.echo(f, http.StatusText(f.Status)),
		}})
		return true
	case f.ErrorCode != 0:
		x.call.Fault = true
		x.writeAPIError(&mend.APIError{Code: f.ErrorCode, Message: x.echo(f, faultMessage(f.ErrorCode))})
		return true
	}
	return false
}

// echo is a fault's message, with the request quoted if the fault says so.
func (x *exchange) echo(f Fault, msg string) string {
	if !f.Echo {
		return msg
	}
	return fmt.Sprintf("%s; the request was %s %s, authorization: %s, wss-refresh-token: %s, body: %s",
		msg, x.r.Method, x.r.URL.Path, x.r.Header.Get("Authorization"), x.r.Header.Get("Wss-Refresh-Token"), x.body)
}

func faultMessage(code int) string {
	if code == mend.CodeInvalidParameters {
		return "Invalid request parameters"
	}
	return fmt.Sprintf("Simulated error %d", code)
}

// wait waits d, and reports whether it did: false when the simulator
// stops first.
func (s *Simulator) wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.stopping:
		return false
	}
}

func (x *exchange) writeJSON(status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"errorMessage":"simulator: encoding the answer failed"}`)
	}
	x.w.Header().Set("Content-Type", "application/json")
	x.w.WriteHeader(status)
	_, _ = x.w.Write(body)
	x.call.Status = status
}

func (x *exchange) writeAPIError(e *mend.APIError) {
	x.call.ErrorCode = e.Code
	x.writeJSON(http.StatusOK, map[string]any{"errorCode": e.Code, "errorMessage": e.Message})
}

func (x *exchange) finish() {
	x.call.Answered = x.s.now()
	x.s.calls.add(x.call)
}

// apiError returns a v1.4 failure as Mend answers it.
func apiError(code int, format string, args ...any) error {
	return &mend.APIError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// v1Call is a v1.4 request being handled.
type v1Call struct {
	requestType string
	body        []byte
	fields      map[string]json.RawMessage
}

// v1Handler answers one v1.4 request type. It runs with the simulator's
// mutex held and returns the answer or an *mend.APIError.
type v1Handler func(c *v1Call) (any, error)

// require fails with errorCode 3010 when a field is missing, null or empty.
func (c *v1Call) require(names ...string) error {
	var missing []string
	for _, n := range names {
		raw, ok := c.fields[n]
		v := strings.TrimSpace(string(raw))
		if !ok || v == "null" || v == `""` || v == "" {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return missingFieldsError(missing...)
	}
	return nil
}

// decode reads the request into v, the client's request struct. A field
// of the wrong type is an invalid value (2021): not 3000, which Mend also
// answers sporadically to valid requests and clients retry.
func (c *v1Call) decode(v any) error {
	if err := unmarshalExact(c.body, v); err != nil {
		return apiError(mend.CodeInvalidOptionValue, "Invalid value in the request: %v", err)
	}
	return nil
}

// unmarshalExact is json.Unmarshal with the field names of the pages
// matched exactly. encoding/json matches them ignoring case, which would
// let "Name" or "aggregatepolicies" pass for "name" or "aggregatePolicies";
// Mend reads JSON field names as written, so such a field counts as absent.
func unmarshalExact(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("invalid character after top-level value")
	}
	exact, err := json.Marshal(exactFields(tree, reflect.TypeOf(v)))
	if err != nil {
		return err
	}
	return json.Unmarshal(exact, v)
}

var jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()

// exactFields drops from the decoded JSON value tree the object members
// that are not, letter for letter, fields of t, the type it is to decode
// into.
func exactFields(tree any, t reflect.Type) any {
	for t.Kind() == reflect.Pointer {
		if t.Implements(jsonUnmarshaler) {
			return tree
		}
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(jsonUnmarshaler) {
		return tree // it reads its own JSON
	}
	switch v := tree.(type) {
	case map[string]any:
		switch t.Kind() {
		case reflect.Struct:
			fields := jsonFields(t)
			for k, x := range v {
				ft, ok := fields[k]
				if !ok {
					delete(v, k)
					continue
				}
				v[k] = exactFields(x, ft)
			}
		case reflect.Map:
			for k, x := range v {
				v[k] = exactFields(x, t.Elem())
			}
		}
	case []any:
		if t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
			for i, x := range v {
				v[i] = exactFields(x, t.Elem())
			}
		}
	}
	return tree
}

// jsonFields returns the JSON names of the fields of struct type t, those
// of embedded structs included, with their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range jsonFields(ft) {
					if _, ok := out[k]; !ok {
						out[k] = v
					}
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

// str returns a string field, or "" when absent.
func (c *v1Call) str(name string) string {
	var v string
	_ = json.Unmarshal(c.fields[name], &v)
	return v
}

// decodeRequired decodes the request into a new T, the client's request
// struct, and fails with 3010 when one of the required fields is missing.
func decodeRequired[T any](c *v1Call, required ...string) (*T, error) {
	req := new(T)
	if err := c.decode(req); err != nil {
		return nil, err
	}
	if err := c.require(required...); err != nil {
		return nil, err
	}
	return req, nil
}

func (s *Simulator) v1Handlers() map[string]v1Handler {
	all := map[string]v1Handler{}
	for _, area := range []map[string]v1Handler{
		s.productHandlers(),
		s.projectHandlers(),
		s.organizationHandlers(),
		s.globalOrgHandlers(),
		s.policyHandlers(),
		s.requestStateHandlers(),
	} {
		for k, h := range area {
			all[k] = h
		}
	}
	return all
}

func (s *Simulator) serveV1(w http.ResponseWriter, r *http.Request) {
	x := s.begin(w, r, "v1.4", "")
	defer x.finish()

	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
	if err != nil || len(body) > maxRequestBody {
		x.writeJSON(http.StatusRequestEntityTooLarge, map[string]string{"errorMessage": "request body too large or unreadable"})
		return
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		x.writeJSON(http.StatusBadRequest, map[string]string{"errorMessage": "request body is not a JSON object"})
		return
	}
	x.body = body
	c := &v1Call{body: body, fields: fields}
	c.requestType = c.str("requestType")
	x.call.Op = c.requestType
	x.call.Request = withoutUserKey(fields)

	if x.fault() {
		return
	}
	h, ok := s.v1[c.requestType]
	if !ok {
		// Not 3000, which clients retry: the same request fails the
		// same way every time.
		x.writeAPIError(&mend.APIError{Code: mend.CodeInvalidOptionValue, Message: fmt.Sprintf("Invalid value of requestType: %q", c.requestType)})
		return
	}
	if err := c.require("userKey"); err != nil {
		x.writeAPIError(err.(*mend.APIError))
		return
	}
	if c.str("userKey") != s.cfg.UserKey {
		x.writeAPIError(&mend.APIError{Code: mend.CodeNotAllowed, Message: "User is not allowed to perform this action"})
		return
	}
	s.mu.Lock()
	out, err := h(c)
	s.mu.Unlock()
	var apiErr *mend.APIError
	switch {
	case errors.As(err, &apiErr):
		x.writeAPIError(apiErr)
	case err != nil:
		x.writeAPIError(&mend.APIError{Code: mend.CodeUnexpected, Message: "Unexpected error"})
	default:
		x.writeJSON(http.StatusOK, out)
	}
}

func withoutUserKey(fields map[string]json.RawMessage) json.RawMessage {
	clean := make(map[string]json.RawMessage, len(fields))
	for k, v := range fields {
		if k != "userKey" {
			clean[k] = v
		}
	}
	b, _ := json.Marshal(clean)
	return b
}

// supportToken returns an identifier like the ones Mend puts in v2.0 answers.
func supportToken() string { return newToken()[:8] }

// message is the {"message": ...} answer of confirming requests.
func message(format string, args ...any) map[string]string {
	return map[string]string{"message": fmt.Sprintf(format, args...)}
}
