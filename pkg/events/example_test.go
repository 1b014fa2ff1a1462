package events_test

import (
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/pkg/events"
)

// A worker maps a message from MENDFLOW_COMMANDS back to its CloudEvent
// (FromJetStreamMsg for a consumer's message) and decodes the command.
func ExampleRegistry_DecodeEvent() {
	e := event.New()
	e.SetID("0f8e2a")
	e.SetSource("urn:mendflow:ingest")
	e.SetType(events.CommandType(events.CommandProjectTagSave))
	e.SetExtension(events.ExtCorrelationID, "3f9a2c1e")
	_ = e.SetData(event.ApplicationJSON, []byte(`{"productName":"acme-corp","projectName":"payments-api","tagKey":"environment","tagValue":"production"}`))
	msg, _ := bus.ToMsg(events.CommandSubject(events.CommandProjectTagSave), e)

	received, err := bus.FromMsg(msg)
	if err != nil {
		fmt.Println(err)
		return
	}
	cmd, err := events.NewRegistry().DecodeEvent(received)
	if err != nil {
		fmt.Println(err) // permanent: the data fails the schema
		return
	}
	switch data := cmd.Data.(type) {
	case *events.ProjectTagSave:
		fmt.Println(msg.Subject, data.ProjectName, data.TagKey+"="+data.TagValue,
			"correlationid="+events.Extension(received, events.ExtCorrelationID))
	}
	// Output: mendflow.cmd.project.tag.save payments-api environment=production correlationid=3f9a2c1e
}
