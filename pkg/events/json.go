package events

import (
	"encoding/json"

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
