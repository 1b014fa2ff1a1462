package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	jsoniter "github.com/json-iterator/go"
)

// TypePrefixCDEvents starts the type of every CDEvent.
const TypePrefixCDEvents = "dev.cdevents."

// CDEvent is a CDEvent (spec v0.4) in its JSON form: a context and a subject
// whose content depends on the type. github.com/cdevents/sdk-go is not
// available from the module proxy, so these small local structs hold the
// parts mendflow reads; the routing rules reach into subject.content by path.
type CDEvent struct {
	Context CDEventContext `json:"context"`
	Subject CDEventSubject `json:"subject"`
}

// CDEventContext is the context of a CDEvent. In the CloudEvents binding of
// CDEvents, its id, source and type are also the CloudEvent's.
type CDEventContext struct {
	Version   string `json:"version"`
	ID        string `json:"id"`
	Source    string `json:"source"`
	Type      string `json:"type"`
	Timestamp string `json:"timestamp"`
	ChainID   string `json:"chainId,omitempty"`
}

// CDEventSubject is the subject of a CDEvent; Content is type-specific (for
// a repository: name, owner, url, viewUrl).
type CDEventSubject struct {
	ID      string          `json:"id"`
	Source  string          `json:"source,omitempty"`
	Type    string          `json:"type,omitempty"`
	Content json.RawMessage `json:"content"`
}

// ParseCDEvent parses the data of a CloudEvent of type ceType as a CDEvent
// and checks that it is one: context id and type present, the context type
// equal to the CloudEvent type, and a subject with an id and an object as
// content.
func ParseCDEvent(ceType string, data []byte) (CDEvent, error) {
	var cd CDEvent
	// jsoniter, in the build through the CloudEvents SDK, decodes this
	// on ingest's hot path several times faster than encoding/json, with
	// the same struct tags and the same rejection of trailing data.
	if err := jsoniter.ConfigCompatibleWithStandardLibrary.Unmarshal(data, &cd); err != nil {
		if plainer := json.Unmarshal(data, new(CDEvent)); plainer != nil {
			err = plainer // encoding/json says what is wrong in fewer words
		}
		return CDEvent{}, fmt.Errorf("CDEvent: %w", err)
	}
	switch {
	case cd.Context.ID == "":
		return CDEvent{}, errors.New("CDEvent: context.id is required")
	case cd.Context.Type != ceType:
		return CDEvent{}, fmt.Errorf("CDEvent: context.type %q differs from the CloudEvent type %q", cd.Context.Type, ceType)
	case cd.Subject.ID == "":
		return CDEvent{}, errors.New("CDEvent: subject.id is required")
	case !strings.HasPrefix(strings.TrimSpace(string(cd.Subject.Content)), "{"):
		return CDEvent{}, errors.New("CDEvent: subject.content must be an object")
	}
	return cd, nil
}
