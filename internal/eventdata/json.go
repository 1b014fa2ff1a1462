package eventdata

import (
	"encoding/json"
	"unsafe"

	"github.com/tidwall/gjson"
)

// ValidJSON reports whether b is valid JSON, with encoding/json's verdict
// (the fuzz tests hold them equal) at several times its speed: ingest checks
// every body it takes, and the rules read the data of every event.
//
// gjson's validator recurses once per level of nesting, and sets no limit:
// a mebibyte of '[' took it most of a second and 128 MB of stack. Nesting
// deeper than encoding/json's limit is refused first, by a scan that only
// a body long enough to be that deep pays for.
func ValidJSON(b []byte) bool {
	return (len(b) <= maxJSONDepth || withinDepth(b)) && gjson.ValidBytes(b)
}

// maxJSONDepth is the deepest nesting encoding/json takes.
const maxJSONDepth = 10000

// withinDepth reports whether the arrays and objects of b, counted outside
// strings, nest no deeper than maxJSONDepth; whether b is JSON at all is
// gjson's to say.
func withinDepth(b []byte) bool {
	depth, inString := 0, false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case inString && c == '\\':
			i++ // the escaped character, a quote perhaps
		case c == '"':
			inString = !inString
		case inString:
		case c == '[' || c == '{':
			if depth++; depth > maxJSONDepth {
				return false
			}
		case c == ']' || c == '}':
			depth--
		}
	}
	return true
}

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
