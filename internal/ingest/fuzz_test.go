package ingest

import (
	"encoding/json"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/mendflow/mendflow/internal/eventdata"
	"github.com/mendflow/mendflow/internal/githubsig"
	"github.com/mendflow/mendflow/pkg/events"
)

// Every parser either refuses its input with a 4xx problem or gives
// events that are valid CloudEvents 1.0. Seeds come from testdata.

var fuzzNow = time.Date(2024, 6, 3, 9, 14, 22, 0, time.UTC)

func checkParsed(t *testing.T, evs []event.Event, p *problem) {
	t.Helper()
	if p != nil {
		if p.Status < 400 || p.Status > 499 || p.Detail == "" {
			t.Errorf("problem %+v: want a 4xx with a detail", p)
		}
		if len(evs) != 0 {
			t.Errorf("a refusal returned %d events", len(evs))
		}
		return
	}
	for i, e := range evs {
		if err := e.Validate(); err != nil {
			t.Errorf("event %d accepted but invalid: %v", i, err)
		}
		if e.SpecVersion() != event.CloudEventsVersionV1 {
			t.Errorf("event %d accepted with specversion %q", i, e.SpecVersion())
		}
		if name, p := badAttribute(e); p != "" {
			t.Errorf("event %d accepted with %s, which %s", i, name, p)
		}
		if p := jsonTextProblem(e.Data()); p != "" && eventdata.IsJSON(e.DataContentType()) {
			t.Errorf("event %d accepted with JSON data that %s", i, p)
		}
	}
}

// badAttribute names an attribute or extension of e that is not text
// within its limit (valueProblem), and says what is wrong with it. The
// limit holds for the values as sent, which the URIs are not: the SDK
// writes source and dataschema anew, percent-encoding what needs it.
func badAttribute(e event.Event) (name, problem string) {
	values := map[string]string{"id": e.ID(), "type": e.Type(), "subject": e.Subject(), "datacontenttype": e.DataContentType()}
	for name := range e.Extensions() {
		values[name] = events.Extension(e, name)
	}
	for name, v := range values {
		if p := valueProblem(v); p != "" {
			return name, p
		}
	}
	for name, v := range map[string]string{"source": e.Source(), "dataschema": e.DataSchema()} {
		if p := textProblem(v); p != "" {
			return name, p
		}
	}
	return "", ""
}

func FuzzStructured(f *testing.F) {
	f.Add(readFile(f, "cdevents/repository.created.json"))
	f.Add(readFile(f, "cdevents/repository.deleted.json"))
	f.Add(structured("c-1", "project.create", `{"productName":"a","projectName":"b","tags":{"k":"v"}}`))
	f.Add([]byte(`{"specversion":"1.0","id":"1","source":"/s","type":"t","datacontenttype":"text/plain","data":"hi","ext1":true}`))
	f.Add([]byte(`{"specversion":"1.0","id":"1","source":"/s","type":"t","data_base64":"eyJhIjoxfQ=="}`))
	// Data the SDK reads differently: before its content type, not JSON,
	// twice, beside data_base64, under an escaped key, at the top.
	f.Add([]byte(`{"data":{"a":[1,2]},"specversion":"1.0","id":"1","source":"/s","type":"t","datacontenttype":"application/json"}`))
	f.Add([]byte(`{"specversion":"1.0","id":"1","source":"/s","type":"t","datacontenttype":"text/plain","data":{"a":1}}`))
	f.Add([]byte(`{"specversion":"1.0","id":"1","source":"/s","type":"t","datacontenttype":"application/vnd.x+json","data":[1]}`))
	f.Add([]byte(`{"specversion":"1.0","id":"1","source":"/s","type":"t","data":{"a":1},"data":[2]}`))
	f.Add([]byte(`{"specversion":"1.0","id":"1","source":"/s","type":"t","data":{"a":1},"data":null}`))
	f.Add([]byte(`{"specversion":"1.0","id":"1","source":"/s","type":"t","datacontenttype":"application/vnd.x+json","data":{"a":1},"d\u0061ta":""}`))
	f.Add([]byte(`{"specversion":"1.0","id":"1","source":"/s","type":"t","data_base64":"eyJhIjoxfQ==","data":{"a":1}}`))
	f.Add([]byte(`{"specversion":"1.0","id":"1","source":"/s","type":"t","d\u0061ta":{"a":1}}`))
	f.Add([]byte(`{"specversion":"1.0","id":"1","source":"/s","type":"t","data":{"data":{"x":"}"}}}`))
	// Attributes unmarshalEvent reads itself, and ones it leaves to the SDK:
	// an extension of another case or type, a key twice, an empty key.
	f.Add([]byte(`{"specversion":"1.0","id":"1","source":"/s","type":"t","subject":"x","time":"2024-01-01T00:00:00Z","dataschema":"https://x/y","ext":"v","data":{"a":1}}`))
	f.Add([]byte(`{"specversion":"1.0","id":"1","source":"/s","type":"t","Ext":"v","ext2":2,"ext3":true}`))
	f.Add([]byte(`{"specversion":"1.0","id":"1","id":"2","source":"/s","type":"t","":"x","data":{}}`))
	f.Add([]byte(`{"specversion":"1.0","id":"1","source":"/s","type":"t","data":[0.5e39]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		// unmarshalEvent decodes valid JSON as the SDK does, only cheaper.
		if eventdata.ValidJSON(body) {
			got, _, gotErr := unmarshalEvent(body)
			var want event.Event
			wantErr := want.UnmarshalJSON(body)
			if gotErr == nil && wantErr != nil && (jsonTheSDKRefuses(got) || json.Valid(got.Data())) {
				// JSON data the SDK refuses: of a +json type, which it wants
				// as a string, or with a number its JSON library cannot hold.
			} else if (gotErr == nil) != (wantErr == nil) || (wantErr == nil && !reflect.DeepEqual(got, want)) {
				t.Errorf("unmarshalEvent = %v, %v; the SDK gives %v, %v", got, gotErr, want, wantErr)
			}
		}
		evs, p := parseStructured(body)
		checkParsed(t, evs, p)
		checkJSONData(t, evs)
		if p == nil && !json.Valid(body) {
			t.Errorf("a body encoding/json refuses was accepted")
		}
		if p == nil && len(evs) != 1 {
			t.Errorf("structured mode gave %d events", len(evs))
		}
	})
}

// jsonTheSDKRefuses reports whether e has JSON data (eventdata.IsJSON) of a
// type that the SDK does not take for JSON: its own list, compared as is.
func jsonTheSDKRefuses(e event.Event) bool {
	if mt, _ := e.Context.GetDataMediaType(); sdkJSON(mt) {
		return false
	}
	return !e.DataBase64 && len(e.Data()) > 0 && eventdata.IsJSON(e.DataContentType())
}

// checkJSONData checks that the data of accepted events of a JSON type is
// JSON in encoding/json's judgement.
func checkJSONData(t *testing.T, evs []event.Event) {
	t.Helper()
	for i, e := range evs {
		if data := e.Data(); eventdata.DataIsJSON(e) && len(data) > 0 && !json.Valid(data) {
			t.Errorf("event %d: JSON data encoding/json refuses was accepted: %q", i, data)
		}
	}
}

func FuzzBatch(f *testing.F) {
	f.Add(batchOf(readFile(f, "cdevents/repository.created.json"), readFile(f, "cdevents/repository.deleted.json")))
	f.Add(batchOf(structured("a", "request.track", `{"requestToken":"r"}`), []byte(`{"specversion":"1.0","id":"b","source":"/s","type":"t"}`)))
	f.Add([]byte(`[]`))
	f.Add([]byte(`[1, null, {}]`))
	f.Add(batchOf([]byte(`{"specversion":"1.0","id":"1","source":"/s","type":"t","datacontenttype":"application/vnd.x+json","data":{"a":[1]}}`)))
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, p := parseBatch(body)
		checkParsed(t, evs, p)
		checkJSONData(t, evs)
		if p == nil && !json.Valid(body) {
			t.Errorf("a body encoding/json refuses was accepted")
		}
	})
}

func FuzzBinary(f *testing.F) {
	f.Add("1.0", "id-1", "/s", "io.mendflow.command.request.track", "application/json", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", []byte(`{"requestToken":"r"}`))
	f.Add("1.0", "id-2", "https://gitea.acme.example.com", "dev.cdevents.repository.deleted.0.2.0", "application/json", "", readFile(f, "cdevents/repository.deleted.json"))
	f.Add("0.3", "x", "y", "z", "text/plain", "", []byte("hello"))
	f.Fuzz(func(t *testing.T, specversion, id, source, typ, contentType, traceparent string, body []byte) {
		h := http.Header{}
		for k, v := range map[string]string{"Ce-Specversion": specversion, "Ce-Id": id, "Ce-Source": source,
			"Ce-Type": typ, "Content-Type": contentType, "Ce-Traceparent": traceparent} {
			if v != "" {
				h.Set(k, v)
			}
		}
		evs, p := parseBinary(h, body)
		checkParsed(t, evs, p)
		if p == nil && eventdata.IsJSON(contentType) && len(body) > 0 && !json.Valid(body) {
			t.Errorf("JSON data encoding/json refuses was accepted")
		}
	})
}

// FuzzGitHub signs whatever the fuzzer makes, so that the parser behind
// the signature check is reached.
func FuzzGitHub(f *testing.F) {
	for _, name := range []string{"repository.created", "repository.transferred", "deployment_status.created", "ping"} {
		f.Add("repository", "application/json", readFile(f, "github/"+name+".json"))
	}
	f.Add("push", "application/x-www-form-urlencoded", []byte(`payload=%7B%22action%22%3A%22x%22%7D`))
	secret := []byte(testGitHubSecret)
	f.Fuzz(func(t *testing.T, name, contentType string, body []byte) {
		h := http.Header{
			"Content-Type": {contentType}, "X-Github-Event": {name}, "X-Github-Delivery": {"d-1"},
			"X-Hub-Signature-256": {githubsig.Sign(body, testGitHubSecret)},
		}
		e, p := githubEvent(h, body, secret, fuzzNow)
		if p != nil {
			checkParsed(t, nil, p)
			return
		}
		checkParsed(t, []event.Event{e}, nil)
		// A wrong signature over the same body is refused before parsing.
		h.Set("X-Hub-Signature-256", "sha256=00")
		if _, p := githubEvent(h, body, secret, fuzzNow); p == nil || p.Status != http.StatusUnauthorized {
			t.Errorf("wrong signature: %+v, want 401", p)
		}
	})
}

func FuzzGitLab(f *testing.F) {
	for _, name := range []string{"project_create", "project_destroy", "project_transfer", "project_rename"} {
		f.Add("https://gitlab.acme.example.com", readFile(f, "gitlab/"+name+".json"))
	}
	f.Add("", []byte(`{"object_kind":"push","project":{"web_url":"https://gitlab.example.com/a/b"}}`))
	f.Fuzz(func(t *testing.T, instance string, body []byte) {
		h := http.Header{"Content-Type": {"application/json"}, "X-Gitlab-Token": {testGitLabToken},
			"X-Gitlab-Event-Uuid": {"u-1"}, "X-Gitlab-Instance": {instance}}
		e, p := gitlabEvent(h, body, fuzzNow)
		if p != nil {
			checkParsed(t, nil, p)
			return
		}
		checkParsed(t, []event.Event{e}, nil)
	})
}
