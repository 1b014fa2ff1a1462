package bus

import (
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/go-cmp/cmp"
	"github.com/mendflow/mendflow/pkg/events"
	"github.com/nats-io/nats.go"
)

func TestMsgRoundTrip(t *testing.T) {
	t.Parallel()
	minimal := event.New()
	minimal.SetID("1")
	minimal.SetSource("/s")
	minimal.SetType("t")

	full := event.New()
	full.SetID("4c1f0a9e-7b4e-4c55-a7f1-1b2c3d4e5f60")
	full.SetSource("https://github.com/acme-corp/payments-api")
	full.SetType(events.CommandType(events.CommandProjectCreate))
	full.SetSubject("acme-corp/payments-api")
	full.SetDataSchema("https://mendflow.example.com/schemas/project.create.json")
	full.SetTime(time.Date(2024, 6, 3, 9, 14, 22, 512000000, time.UTC))
	full.SetExtension(events.ExtCorrelationID, "3f9a2c1e")
	full.SetExtension(events.ExtCausationID, "3f9a2c1e")
	full.SetExtension(events.ExtTraceparent, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	if err := full.SetData(event.ApplicationJSON, []byte(`{"productName":"acme-corp","projectName":"payments-api"}`)); err != nil {
		t.Fatal(err)
	}

	text := event.New()
	text.SetID("2")
	text.SetSource("/s")
	text.SetType("t")
	if err := text.SetData("text/plain", []byte("line one\nline two")); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name       string
		event      event.Event
		wantHeader nats.Header
	}{
		{
			name:  "minimal",
			event: minimal,
			wantHeader: nats.Header{
				"ce-specversion": {"1.0"}, "ce-id": {"1"}, "ce-source": {"/s"}, "ce-type": {"t"},
			},
		},
		{
			name:  "every attribute and extension",
			event: full,
			wantHeader: nats.Header{
				"ce-specversion":     {"1.0"},
				"ce-id":              {"4c1f0a9e-7b4e-4c55-a7f1-1b2c3d4e5f60"},
				"ce-source":          {"https://github.com/acme-corp/payments-api"},
				"ce-type":            {"io.mendflow.command.project.create"},
				"ce-subject":         {"acme-corp/payments-api"},
				"ce-dataschema":      {"https://mendflow.example.com/schemas/project.create.json"},
				"ce-time":            {"2024-06-03T09:14:22.512Z"},
				"ce-correlationid":   {"3f9a2c1e"},
				"ce-causationid":     {"3f9a2c1e"},
				"ce-traceparent":     {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
				"ce-datacontenttype": {"application/json"},
			},
		},
		{
			name:  "text data may hold line breaks",
			event: text,
			wantHeader: nats.Header{
				"ce-specversion": {"1.0"}, "ce-id": {"2"}, "ce-source": {"/s"}, "ce-type": {"t"},
				"ce-datacontenttype": {"text/plain"},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			msg, err := ToMsg("mendflow.cmd.x", tc.event)
			if err != nil {
				t.Fatalf("ToMsg: %v", err)
			}
			if msg.Subject != "mendflow.cmd.x" {
				t.Errorf("subject = %q", msg.Subject)
			}
			if diff := cmp.Diff(tc.wantHeader, msg.Header); diff != "" {
				t.Errorf("headers (-want, +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.event.Data(), msg.Data); diff != "" {
				t.Errorf("payload (-want, +got):\n%s", diff)
			}
			got, err := FromMsg(msg)
			if err != nil {
				t.Fatalf("FromMsg: %v", err)
			}
			// Binary mode carries data as bytes; whether it was set as bytes
			// or as JSON does not travel.
			want := tc.event.Clone()
			want.DataBase64 = false
			if diff := cmp.Diff(want.String(), got.String()); diff != "" {
				t.Errorf("round trip (-want, +got):\n%s", diff)
			}
		})
	}
}

func TestFromMsgHeaderCase(t *testing.T) {
	t.Parallel()
	msg := nats.NewMsg("s")
	msg.Header["Ce-Specversion"] = []string{"1.0"}
	msg.Header["CE-ID"] = []string{"1"}
	msg.Header["ce-source"] = []string{"/s"}
	msg.Header["Ce-Type"] = []string{"t"}
	msg.Header["Content-Type"] = []string{"application/json"}
	msg.Header["Nats-Msg-Id"] = []string{"abc"}
	msg.Data = []byte(`{}`)
	e, err := FromMsg(msg)
	if err != nil {
		t.Fatalf("FromMsg: %v", err)
	}
	if e.ID() != "1" || e.DataContentType() != "application/json" || len(e.Extensions()) != 0 {
		t.Errorf("FromMsg = %v, want id 1, JSON data and no extensions", e)
	}
}

// TestFromMsgSpecBinaryMode reads the binary mode example of the NATS
// protocol binding (1.0.3, section 3.1.4), as the CloudEvents SDK for Go
// writes it too: datacontenttype travels as ce-datacontenttype, like every
// other attribute.
func TestFromMsgSpecBinaryMode(t *testing.T) {
	t.Parallel()
	msg := nats.NewMsg("mySubject")
	msg.Header.Set("ce-specversion", "1.0")
	msg.Header.Set("ce-type", "com.example.someevent")
	msg.Header.Set("ce-time", "2018-04-05T03:56:24Z")
	msg.Header.Set("ce-id", "1234-1234-1234")
	msg.Header.Set("ce-source", "/mycontext/subcontext")
	msg.Header.Set("ce-datacontenttype", "application/json")
	msg.Data = []byte(`{"a":1}`)
	e, err := FromMsg(msg)
	if err != nil {
		t.Fatalf("FromMsg: %v", err)
	}
	if e.DataContentType() != "application/json" || len(e.Extensions()) != 0 {
		t.Errorf("FromMsg = %v, want datacontenttype application/json and no extensions", e)
	}

	// A Content-Type header is read only when ce-datacontenttype is absent.
	msg.Header.Set("Content-Type", "text/plain")
	if e, err := FromMsg(msg); err != nil || e.DataContentType() != "application/json" {
		t.Errorf("FromMsg with Content-Type too = %v, %v, want datacontenttype application/json", e, err)
	}
}

func TestMsgErrors(t *testing.T) {
	t.Parallel()
	header := func(kv ...string) nats.Header {
		h := nats.Header{}
		for i := 0; i < len(kv); i += 2 {
			h[kv[i]] = []string{kv[i+1]}
		}
		return h
	}
	cases := []struct {
		name    string
		header  nats.Header
		wantErr string
	}{
		{name: "no specversion", header: header("ce-id", "1", "ce-source", "/s", "ce-type", "t"), wantErr: ErrNotCloudEvent.Error()},
		{name: "other specversion", header: header("ce-specversion", "0.3", "ce-id", "1", "ce-source", "/s", "ce-type", "t"), wantErr: `specversion "0.3"`},
		{name: "no id", header: header("ce-specversion", "1.0", "ce-source", "/s", "ce-type", "t"), wantErr: "id:"},
		{name: "bad time", header: header("ce-specversion", "1.0", "ce-id", "1", "ce-source", "/s", "ce-type", "t", "ce-time", "yesterday"), wantErr: "ce-time"},
		{name: "bad extension name", header: header("ce-specversion", "1.0", "ce-id", "1", "ce-source", "/s", "ce-type", "t", "ce-trace_id", "x"), wantErr: "extension trace_id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := FromMsg(&nats.Msg{Subject: "s", Header: tc.header})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("FromMsg error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}

	broken := event.New()
	broken.SetID("1")
	broken.SetSource("/s")
	broken.SetType("t")
	broken.SetSubject("two\r\nlines")
	if _, err := ToMsg("s", broken); err == nil || !strings.Contains(err.Error(), "attribute ce-subject contains a line break") {
		t.Errorf("ToMsg with a line break = %v, want an error naming ce-subject", err)
	}
	if _, err := ToMsg("s", event.New()); err == nil || !strings.Contains(err.Error(), "invalid event") {
		t.Errorf("ToMsg of an empty event = %v, want an invalid event error", err)
	}
}

// FuzzFromMsg maps arbitrary headers and payloads: a message is refused or
// gives a valid event that maps back to the same headers.
func FuzzFromMsg(f *testing.F) {
	f.Add("1.0", "id-1", "/s", "io.mendflow.command.request.track", "application/json", "c-1", "2024-06-03T09:14:22Z", []byte(`{"requestToken":"r"}`))
	f.Add("1.0", "", "/s", "t", "", "", "", []byte(nil))
	f.Add("0.3", "x", "y", "z", "text/plain", "", "yesterday", []byte("hi"))
	f.Fuzz(func(t *testing.T, specversion, id, source, typ, contentType, correlation, ts string, data []byte) {
		msg := nats.NewMsg("mendflow.cmd.x")
		for k, v := range map[string]string{"ce-specversion": specversion, "ce-id": id, "ce-source": source, "ce-type": typ,
			"ce-datacontenttype": contentType, "ce-correlationid": correlation, "ce-time": ts} {
			if v != "" {
				msg.Header.Set(k, v)
			}
		}
		msg.Data = data
		e, err := FromMsg(msg)
		if err != nil {
			return
		}
		if err := e.Validate(); err != nil {
			t.Fatalf("FromMsg gave an invalid event: %v", err)
		}
		back, err := ToMsg(msg.Subject, e)
		if err != nil {
			if strings.ContainsAny(id+source+typ+contentType+correlation, "\r\n") {
				return // header values cannot hold line breaks
			}
			t.Fatalf("ToMsg of what FromMsg gave: %v", err)
		}
		again, err := FromMsg(back)
		if err != nil {
			t.Fatalf("FromMsg of ToMsg: %v", err)
		}
		if diff := cmp.Diff(e.String(), again.String()); diff != "" {
			t.Errorf("round trip (-want, +got):\n%s", diff)
		}
	})
}
