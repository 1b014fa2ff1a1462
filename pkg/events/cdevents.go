package events

import (
	"errors"
	"fmt"

	"github.com/tidwall/gjson"
)

// TypePrefixCDEvents starts the type of every CDEvent.
const TypePrefixCDEvents = "dev.cdevents."

// CheckCDEvent checks that data, the data of a CloudEvent of type ceType, is
// a CDEvent (spec v0.4) in its JSON form: a context with an id and the
// CloudEvent's type (in the CloudEvents binding of CDEvents they are the
// same), and a subject with an id and an object as content, which the
// routing rules reach into by path (for a repository: name, owner, url,
// viewUrl). github.com/cdevents/sdk-go is not available from the module
// proxy; these few fields are what mendflow relies on. data must be valid
// JSON (see ValidJSON): ingest checks every event's before.
func CheckCDEvent(ceType string, data []byte) error {
	f := gjson.GetManyBytes(data, "context.id", "context.type", "subject.id", "subject.content")
	text := func(r gjson.Result) bool { return r.Type == gjson.String && r.Str != "" }
	switch {
	case !text(f[0]):
		return errors.New("CDEvent: context.id is required (a string)")
	case f[1].Type != gjson.String || f[1].Str != ceType:
		return fmt.Errorf("CDEvent: context.type %s differs from the CloudEvent type %q", orAbsent(f[1]), ceType)
	case !text(f[2]):
		return errors.New("CDEvent: subject.id is required (a string)")
	case !f[3].IsObject():
		return errors.New("CDEvent: subject.content must be an object")
	}
	return nil
}

// orAbsent is a JSON value as it was written, or "absent".
func orAbsent(r gjson.Result) string {
	if !r.Exists() {
		return "absent"
	}
	return r.Raw
}
