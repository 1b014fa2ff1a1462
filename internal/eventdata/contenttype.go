package eventdata

import (
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"
)

// DataIsJSON reports whether a CloudEvent's data is JSON: its datacontenttype
// says so (IsJSON), or it has none and its data is not binary. Binary data
// (DataBase64: the JSON format's data_base64, the body of an HTTP
// binary-mode event without a Content-Type) with no datacontenttype is of
// no known format, and must not be taken for JSON (JSON format 3.1.2).
func DataIsJSON(e event.Event) bool {
	if ct := e.DataContentType(); ct != "" {
		return IsJSON(ct)
	}
	return !e.DataBase64
}

// IsJSON reports whether a datacontenttype denotes JSON: empty (the
// CloudEvents default for JSON data), application/json or a +json type.
func IsJSON(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	return mt == "" || mt == "application/json" || mt == "text/json" || strings.HasSuffix(mt, "+json")
}
