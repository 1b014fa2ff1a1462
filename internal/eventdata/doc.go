// Package eventdata checks the data of incoming events: whether a body is
// JSON (fast, and bounded in nesting), whether an event's content type says
// JSON, and whether a CDEvent has the fields mendflow relies on.
package eventdata
