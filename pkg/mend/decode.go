package mend

import (
	"encoding/json"
	"reflect"
	"strings"
	"time"
)

// decodeAnswer decodes raw, the data of a successful answer to op, into
// out. A read's answer that does not decode is a *DecodeError. A change's
// answer is read leniently: Mend made the change, and failing the call
// for a field in a shape the client did not expect would have it made
// again; the fields that decode are kept, the others left empty and
// logged.
func (c *Client) decodeAnswer(op string, raw []byte, out any) error {
	err := json.Unmarshal(raw, out)
	if err == nil {
		return nil
	}
	if !operations[op].mutates {
		return &DecodeError{Operation: op, Err: err}
	}
	c.logUnread(op, decodeLenient(raw, out), err)
	return nil
}

// logUnread reports the fields of the answer to a change, op, that could
// not be read.
func (c *Client) logUnread(op string, unread []string, err error) {
	c.logger.Warn("mend: the change was made, but part of Mend's answer could not be read and is left out",
		"operation", op, "unread", strings.Join(unread, ","), "error", err.Error())
}

// decodeLenient decodes raw into out, a pointer to a struct, one field at
// a time, and returns the JSON names of the fields that did not decode;
// "*" stands for an answer that is not a JSON object at all.
func decodeLenient(raw []byte, out any) []string {
	v := reflect.ValueOf(out)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return []string{"*"}
	}
	st := v.Elem()
	st.Set(reflect.Zero(st.Type())) // what the failed Unmarshal left half done
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil {
		return []string{"*"}
	}
	var unread []string
	for i := range st.NumField() {
		f := st.Type().Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		val, ok := fields[name]
		if !ok {
			continue
		}
		fv := reflect.New(f.Type)
		if err := json.Unmarshal(val, fv.Interface()); err != nil {
			unread = append(unread, name)
			continue
		}
		st.Field(i).Set(fv.Elem())
	}
	return unread
}

// The layouts of the dates Mend is seen to write: RFC 3339 in the v2.0
// answers, VitalsTimeLayout and ProjectVitalsTimeLayout in the v1.4 ones.
var timeLayouts = []string{time.RFC3339Nano, VitalsTimeLayout, ProjectVitalsTimeLayout}

// Time is a date in an answer of Mend, read in any of the layouts Mend
// is seen to use (RFC 3339, "2006-01-02 15:04:05 -0700" and
// "2006-01-02 15:04:05", the last taken as UTC). It writes RFC 3339.
type Time struct{ time.Time }

// UnmarshalJSON reads a date in one of Mend's layouts; null and "" leave
// it zero.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*t = Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if s == "" {
		*t = Time{}
		return nil
	}
	for _, layout := range timeLayouts {
		if v, err := time.Parse(layout, s); err == nil {
			*t = Time{v}
			return nil
		}
	}
	return &time.ParseError{Layout: time.RFC3339, Value: s, Message: ": not a date in a layout Mend uses"}
}

// MarshalJSON writes the date in RFC 3339.
func (t Time) MarshalJSON() ([]byte, error) { return t.Time.MarshalJSON() }
