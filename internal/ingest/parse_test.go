package ingest

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/mendflow/mendflow/internal/eventdata"
)

// An event read in place shares the body's memory for its data only: a
// metrics label or a span that keeps an attribute must not keep the body.
func TestAttributesDoNotShareTheBody(t *testing.T) {
	body := []byte(`{"specversion":"1.0","id":"e-1","source":"https://gitea.example.com/a","type":"com.example.t",` +
		`"subject":"s","datacontenttype":"application/json","dataschema":"https://example.com/schema","ext1":"x",` +
		`"data":{"a":[1,2]}}`)
	e, dataChecked, err := unmarshalEvent(body)
	if err != nil || !dataChecked {
		t.Fatalf("unmarshalEvent = %v, %v: want the event read in place", dataChecked, err)
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(body)))
	inBody := func(s string) bool {
		p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
		return len(s) > 0 && p >= start && p < start+uintptr(len(body))
	}
	ec := e.Context.AsV1()
	for name, s := range map[string]string{
		"id": ec.ID, "type": ec.Type, "source host": ec.Source.Host, "subject": *ec.Subject,
		"datacontenttype": *ec.DataContentType, "dataschema host": ec.DataSchema.Host, "ext1": ec.Extensions["ext1"].(string),
	} {
		if inBody(s) {
			t.Errorf("%s %q shares the body's memory", name, s)
		}
	}
	for name := range ec.Extensions {
		if inBody(name) {
			t.Errorf("extension name %q shares the body's memory", name)
		}
	}
	if d := e.Data(); len(d) == 0 || !inBody(unsafe.String(unsafe.SliceData(d), len(d))) {
		t.Errorf("data %q is a copy; want it read in place", d)
	}
}

// JSON format 3.1.2: the data of a JSON type is a JSON value as written;
// a string is a JSON string, never a document to decode, whether the SDK
// reads the event or not.
func TestVendorJSONDataIsAJSONValue(t *testing.T) {
	for data, want := range map[string]string{
		`"hello"`:        `"hello"`,
		`"{\"a\":1}"`:    `"{\"a\":1}"`,
		`5`:              `5`,
		`true`:           `true`,
		`null`:           `null`,
		`{"a":"\u0031"}`: `{"a":"\u0031"}`,
	} {
		for _, subject := range []string{`s`, `s\u0031`} { // an escape leaves the event to the SDK
			body := `{"specversion":"1.0","id":"e-1","source":"/s","type":"com.example.t","subject":"` + subject +
				`","datacontenttype":"application/vnd.acme+json","data":` + data + `}`
			evs, p := parseStructured([]byte(body))
			if p != nil {
				t.Errorf("%s: refused: %s", body, p.Detail)
				continue
			}
			if got := string(evs[0].Data()); got != want {
				t.Errorf("%s: data %s, want %s", body, got, want)
			}
		}
	}
}

// RFC 3339 5.6: the T and Z of a timestamp may be lower case.
func TestTimeInLowerCase(t *testing.T) {
	want := time.Date(2024, 6, 3, 9, 14, 22, 512e6, time.UTC)
	evs, p := parseStructured([]byte(`{"specversion":"1.0","id":"e-1","source":"/s","type":"com.example.t","time":"2024-06-03t09:14:22.512z"}`))
	if p != nil {
		t.Fatalf("structured: refused: %s", p.Detail)
	}
	if got := evs[0].Time(); !got.Equal(want) {
		t.Errorf("structured: time %v, want %v", got, want)
	}
	h := http.Header{"Ce-Specversion": {"1.0"}, "Ce-Id": {"e-1"}, "Ce-Source": {"/s"}, "Ce-Type": {"com.example.t"},
		"Ce-Time": {"2024-06-03t09:14:22.512z"}}
	if evs, p = parseBinary(h, nil); p != nil {
		t.Fatalf("binary: refused: %s", p.Detail)
	}
	if got := evs[0].Time(); !got.Equal(want) {
		t.Errorf("binary: time %v, want %v", got, want)
	}
}

// JSON format 2.2: a null member is unset, data_base64 included, so it is
// no second payload beside data.
func TestNullDataBase64IsAbsent(t *testing.T) {
	evs, p := parseStructured([]byte(`{"specversion":"1.0","id":"e-1","source":"/s","type":"com.example.t","data":{"a":1},"data_base64":null}`))
	if p != nil {
		t.Fatalf("refused: %s", p.Detail)
	}
	if got := string(evs[0].Data()); got != `{"a":1}` || evs[0].DataBase64 {
		t.Errorf("data %s (base64 %v), want {\"a\":1}", got, evs[0].DataBase64)
	}
}

// The JSON format's example of binary data with no datacontenttype (3.1.2),
// "data_base64" with spaces around its colon, as JSON allows anywhere: the
// SDK read the value from the raw text after the colon when no content
// type came before it, and refused it as illegal Base64. Its data, though
// it reads as JSON, is binary of no stated format.
func TestDataBase64WithSpaces(t *testing.T) {
	for _, body := range []string{
		`{
    "specversion" : "1.0",
    "type" : "com.example.someevent",
    "source" : "/mycontext",
    "id" : "D234-1234-1234",
    "data_base64" : "eyAieHl6IjogMTIzIH0="
}`,
		`{"data_base64" : "eyAieHl6IjogMTIzIH0=", "datacontenttype" : "application/vnd.acme.binary",
		  "specversion" : "1.0", "type" : "com.example.someevent", "source" : "/mycontext", "id" : "D234-1234-1234"}`,
	} {
		evs, p := parseStructured([]byte(body))
		if p != nil {
			t.Fatalf("%s: refused: %s", body, p.Detail)
		}
		want := `{ "xyz": 123 }`
		if got := string(evs[0].Data()); got != want || !evs[0].DataBase64 || eventdata.DataIsJSON(evs[0]) {
			t.Errorf("%s: data %q (base64 %v, JSON %v), want %q, binary", body, got, evs[0].DataBase64, eventdata.DataIsJSON(evs[0]), want)
		}
	}
	for _, bad := range []string{`"not base64!"`, `5`} {
		_, p := parseStructured([]byte(`{"specversion":"1.0","id":"1","source":"/s","type":"t","data_base64" : ` + bad + `}`))
		if p == nil || p.Errors[0].Field != "data_base64" {
			t.Errorf("data_base64 %s: %+v, want it refused naming data_base64", bad, p)
		}
	}
}

// Binary data with no datacontenttype is of no known format: nothing may
// take it for JSON (JSON format 3.1.2), even data that reads as JSON. It
// was refused as "not valid JSON".
func TestBinaryDataOfNoTypeIsNotJSON(t *testing.T) {
	for _, data := range []string{"\x00\x01\x02\xff", "not JSON {", `{ "xyz": 123 }`} {
		t.Run("structured", func(t *testing.T) {
			body := `{"specversion":"1.0","type":"com.example.someevent","source":"/mycontext","id":"D234-1234-1234","data_base64":"` +
				base64.StdEncoding.EncodeToString([]byte(data)) + `"}`
			evs, p := parseStructured([]byte(body))
			if p != nil {
				t.Fatalf("%q refused: %s", data, p.Detail)
			}
			if got := string(evs[0].Data()); got != data || eventdata.DataIsJSON(evs[0]) {
				t.Errorf("data %q (JSON %v), want %q, not JSON", got, eventdata.DataIsJSON(evs[0]), data)
			}
		})
		t.Run("binary", func(t *testing.T) {
			h := http.Header{"Ce-Specversion": {"1.0"}, "Ce-Id": {"D234-1234-1234"}, "Ce-Source": {"/mycontext"}, "Ce-Type": {"com.example.someevent"}}
			evs, p := parseBinary(h, []byte(data))
			if p != nil {
				t.Fatalf("%q refused: %s", data, p.Detail)
			}
			if got := string(evs[0].Data()); got != data || eventdata.DataIsJSON(evs[0]) {
				t.Errorf("data %q (JSON %v), want %q, not JSON", got, eventdata.DataIsJSON(evs[0]), data)
			}
		})
	}
	// A JSON type still has its data checked, in either mode.
	_, p := parseStructured([]byte(`{"specversion":"1.0","id":"1","source":"/s","type":"t","datacontenttype":"application/json","data_base64":"` +
		base64.StdEncoding.EncodeToString([]byte("not JSON {")) + `"}`))
	if p == nil || !strings.Contains(p.Detail, "not valid JSON") {
		t.Errorf("data_base64 of application/json that is not JSON: %+v, want it refused", p)
	}
	h := http.Header{"Content-Type": {"application/json"}, "Ce-Specversion": {"1.0"}, "Ce-Id": {"1"}, "Ce-Source": {"/s"}, "Ce-Type": {"t"}}
	if _, p := parseBinary(h, []byte("not JSON {")); p == nil || !strings.Contains(p.Detail, "not valid JSON") {
		t.Errorf("binary application/json that is not JSON: %+v, want it refused", p)
	}
}
