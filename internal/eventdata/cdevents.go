package eventdata

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
	context, subject := GetJSON(data, "context"), GetJSON(data, "subject")
	text := func(r gjson.Result) bool { return r.Type == gjson.String && r.Str != "" }
	switch typ := context.Get("type"); {
	case !text(context.Get("id")):
		return errors.New("CDEvent: context.id is required (a string)")
	case typ.Type != gjson.String || typ.Str != ceType:
		return fmt.Errorf("CDEvent: context.type %s differs from the CloudEvent type %q", orAbsent(typ), ceType)
	case !text(subject.Get("id")):
		return errors.New("CDEvent: subject.id is required (a string)")
	case !subject.Get("content").IsObject():
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
