package events

import (
	"encoding/json"
	"unsafe"

	"github.com/tidwall/gjson"
)

// ValidJSON reports whether b is valid JSON, with encoding/json's verdict
// (the fuzz tests hold them equal) at several times its speed: ingest checks
// every body it takes, and the rules read the data of every event.
func ValidJSON(b []byte) bool { return gjson.ValidBytes(b) }

// JSONError says where b, which ValidJSON refused, stops being JSON, in
// encoding/json's words.
func JSONError(b []byte) error {
	var v json.RawMessage
	return json.Unmarshal(b, &v)
}

// GetJSON returns the value at a gjson path of valid JSON data without
// copying it: the result's Raw, and Str when it needs no unescaping, share
// data's memory, so data must not change while they are in use (an event's
// data does not). gjson.GetBytes would copy every value it returns, on the
// path of every event.
func GetJSON(data []byte, path string) gjson.Result {
	return gjson.Get(unsafe.String(unsafe.SliceData(data), len(data)), path)
}

// ParseJSON is gjson.Parse of valid JSON data without copying it, as
// GetJSON: data must not change while any value read from the result, a
// string included, is in use.
func ParseJSON(data []byte) gjson.Result {
	return gjson.Parse(unsafe.String(unsafe.SliceData(data), len(data)))
}
