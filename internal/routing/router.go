// Package routing decides which commands an incoming CloudEvent produces:
// the contract's built-in rules, and rules files that replace or extend
// them, matching on type, source, attributes and data fields and building
// command data from event fields without code. Route is a pure function of
// the event.
package routing

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/tidwall/gjson"

	"github.com/mendflow/mendflow/pkg/events"
)

// builtinRules are the contract's built-in rules, written in the rules file
// format they also document.
//
//go:embed builtin.yaml
var builtinRules []byte

// Router routes events by its rules: the first rule that matches an event
// decides its commands; an event no rule matches is ignored. Before any
// rule, an io.mendflow.command.<name> event is the command itself, its data
// validated against the command's schema.
type Router struct {
	rules    []rule
	registry *events.Registry
}

// RuleError is an event a matching rule could not turn into commands: a
// field the rule reads is missing, or the data it built fails the command's
// schema. The event is at fault, not the service.
type RuleError struct {
	Rule string
	Err  error
}

// Error implements error.
func (e *RuleError) Error() string { return "rule " + e.Rule + ": " + e.Err.Error() }

// Unwrap returns the cause, such as an *events.ValidationError.
func (e *RuleError) Unwrap() error { return e.Err }

// New returns a router of the built-in rules.
func New(reg *events.Registry) (*Router, error) {
	rules, _, err := parseRules(builtinRules, reg)
	if err != nil {
		return nil, fmt.Errorf("built-in rules: %w", err)
	}
	return newRouter(rules, reg), nil
}

func newRouter(rules []rule, reg *events.Registry) *Router {
	return &Router{rules: rules, registry: reg}
}

// Parse returns a router of the rules in src (YAML, or JSON, which is YAML
// too), followed by the built-in rules unless the file says builtin: false.
// Errors name the rule by index and name, and the reason.
func Parse(src []byte, reg *events.Registry) (*Router, error) {
	rules, builtin, err := parseRules(src, reg)
	if err != nil {
		return nil, err
	}
	if builtin {
		b, err := New(reg)
		if err != nil {
			return nil, err
		}
		rules = append(rules, b.rules...)
	}
	return newRouter(rules, reg), nil
}

// Load reads and parses a rules file; see Parse.
func Load(path string, reg *events.Registry) (*Router, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r, err := Parse(src, reg)
	if err != nil {
		return nil, fmt.Errorf("rules file %s: %w", path, err)
	}
	return r, nil
}

// Route returns the commands the event produces, none when it is ignored.
// Errors are the event's fault: an unknown or invalid command
// (events.ErrUnknownCommand, *events.ValidationError) or a *RuleError. Route
// reads only the fields its rules need, without decoding the rest; JSON
// data that is not valid JSON is an error once a rule reads it.
func (r *Router) Route(e event.Event) ([]events.Command, error) { return r.route(e, false) }

// RouteChecked is Route for an event whose JSON data its caller has found
// valid (eventdata.ValidJSON), as ingest has every event's: the rules read it
// without checking it again.
func (r *Router) RouteChecked(e event.Event) ([]events.Command, error) { return r.route(e, true) }

func (r *Router) route(e event.Event, dataChecked bool) ([]events.Command, error) {
	if _, ok := events.CommandName(e.Type()); ok {
		cmd, err := r.registry.DecodeEvent(e)
		if err != nil {
			return nil, err
		}
		return []events.Command{cmd}, nil
	}
	s := &scope{e: &e, dataChecked: dataChecked}
	for i := range r.rules {
		rl := &r.rules[i]
		ok, err := rl.match(s)
		if err != nil {
			return nil, &RuleError{Rule: rl.name, Err: err}
		}
		if !ok {
			continue
		}
		if rl.ignore {
			return nil, nil
		}
		cmds := make([]events.Command, 0, len(rl.commands))
		for _, ct := range rl.commands {
			var err error
			if cmds, err = ct.appendCommands(cmds, s, r.registry); err != nil {
				return nil, &RuleError{Rule: rl.name, Err: err}
			}
		}
		return cmds, nil
	}
	return nil, nil
}

// appendCommands appends the command ct makes of the event in s, or with
// each, the command of each element of its array, in their order.
func (ct commandTemplate) appendCommands(cmds []events.Command, s *scope, reg *events.Registry) ([]events.Command, error) {
	if ct.each == nil {
		cmd, err := ct.build(s, reg)
		if err != nil {
			return nil, err
		}
		return append(cmds, cmd), nil
	}
	v, err := ct.each.lookup(s)
	if errors.Is(err, errMissing) {
		return nil, fmt.Errorf("each %s: the event has no %s", ct.each.text, ct.each.text)
	}
	if err != nil {
		return nil, err
	}
	arr, ok := v.(rawJSON)
	if !ok || !strings.HasPrefix(string(arr), "[") {
		return nil, fmt.Errorf("each %s: not an array but a JSON %s", ct.each.text, kind(v))
	}
	defer func() { s.elem = nil }()
	var failed error
	i := 0
	gjson.Parse(string(arr)).ForEach(func(_, elem gjson.Result) bool {
		s.elem = &elem
		cmd, err := ct.build(s, reg)
		if err != nil {
			failed = fmt.Errorf("each %s[%d]: %w", ct.each.text, i, err)
			return false
		}
		cmds = append(cmds, cmd)
		i++
		return true
	})
	return cmds, failed
}

// build evaluates the data template and runs the result through the
// command's schema, exactly as a command posted directly would be.
func (ct commandTemplate) build(s *scope, reg *events.Registry) (events.Command, error) {
	raw, err := ct.data.appendJSON(make([]byte, 0, 256), s)
	if err != nil {
		return events.Command{}, err
	}
	data, err := reg.Decode(ct.name, raw)
	if err != nil {
		return events.Command{}, err
	}
	cmd := events.Command{Name: ct.name, Data: data}
	// Data holds replacement characters for invalid UTF-8, and a \u escape
	// may name half a surrogate pair, which decoders read differently: such
	// data is encoded again.
	if utf8.Valid(raw) && !bytes.Contains(raw, []byte(`\u`)) {
		cmd.JSON = raw
	}
	return cmd, nil
}
