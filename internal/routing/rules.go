package routing

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/mendflow/mendflow/pkg/events"
)

// fileSpec is a rules file as written. The README ("Rules file") documents
// it; builtin.yaml is an example.
type fileSpec struct {
	// Builtin keeps the built-in rules after the file's (the default); false
	// replaces them.
	Builtin *bool      `yaml:"builtin"`
	Rules   []ruleSpec `yaml:"rules"`
}

type ruleSpec struct {
	Name     string        `yaml:"name"`
	Match    matchSpec     `yaml:"match"`
	Ignore   bool          `yaml:"ignore"`
	Commands []commandSpec `yaml:"commands"`
}

type matchSpec struct {
	Type       string              `yaml:"type"`
	Source     string              `yaml:"source"`
	Attributes map[string]condSpec `yaml:"attributes"`
	Data       map[string]condSpec `yaml:"data"`
}

type commandSpec struct {
	Name string `yaml:"name"`
	// Each, a data path to an array, makes one command per element of
	// it, whose data reads the element as @.
	Each string         `yaml:"each"`
	Data map[string]any `yaml:"data"`
}

// condSpec is a test of one value: a scalar means equals; otherwise exactly
// one of equals, in, exists and glob.
type condSpec struct {
	Equals *string  `yaml:"equals"`
	In     []string `yaml:"in"`
	Exists *bool    `yaml:"exists"`
	Glob   *string  `yaml:"glob"`
}

// UnmarshalYAML implements yaml.Unmarshaler for the scalar shorthand, and
// rejects unknown keys itself because a custom unmarshaler does not inherit
// the decoder's KnownFields.
func (c *condSpec) UnmarshalYAML(node *yaml.Node) error {
	switch node.Kind {
	case yaml.ScalarNode:
		c.Equals = &node.Value
		return nil
	case yaml.MappingNode:
		for i := 0; i < len(node.Content); i += 2 {
			if k := node.Content[i].Value; !slices.Contains([]string{"equals", "in", "exists", "glob"}, k) {
				return fmt.Errorf("line %d: unknown condition %q (equals, in, exists or glob)", node.Content[i].Line, k)
			}
		}
		type plain condSpec // without this method, to avoid recursion
		return node.Decode((*plain)(c))
	default:
		return fmt.Errorf("line %d: a condition is a value or a mapping of equals, in, exists or glob", node.Line)
	}
}

// condition is a compiled condSpec on one attribute or data field.
type condition struct {
	ref    ref
	equals []string // equals is a one-element in
	exists *bool
	glob   *Glob
}

func compileCondition(r ref, c condSpec) (condition, error) {
	out := condition{ref: r}
	set := 0
	if c.Equals != nil {
		out.equals = []string{*c.Equals}
		set++
	}
	if c.In != nil {
		if len(c.In) == 0 {
			return condition{}, fmt.Errorf("%s: in needs at least one value", r.text)
		}
		out.equals = c.In
		set++
	}
	if c.Exists != nil {
		out.exists = c.Exists
		set++
	}
	if c.Glob != nil {
		g := CompileGlob(*c.Glob)
		out.glob = &g
		set++
	}
	switch set {
	case 0:
		return condition{}, fmt.Errorf("%s: empty condition: write a value, or one of equals, in, exists and glob", r.text)
	case 1:
	default:
		return condition{}, fmt.Errorf("%s: a condition has exactly one of equals, in, exists and glob", r.text)
	}
	return out, nil
}

func (c condition) match(s *scope) (bool, error) {
	v, err := c.ref.lookup(s)
	if err != nil && !errors.Is(err, errMissing) {
		return false, err
	}
	present := err == nil
	if c.exists != nil {
		return present == *c.exists, nil
	}
	if !present {
		return false, nil
	}
	text, ok := scalarText(v)
	if !ok {
		return false, nil
	}
	if c.glob != nil {
		return c.glob.Match(text), nil
	}
	return slices.Contains(c.equals, text), nil
}

// rule is a compiled ruleSpec.
type rule struct {
	name       string
	typ        Glob
	source     *Glob
	conditions []condition
	ignore     bool
	commands   []commandTemplate
	// readsData is set when a condition or a command reads the event's
	// data: the rule cannot match an event whose data is not JSON.
	readsData bool
}

type commandTemplate struct {
	name string
	each *ref // the array of the data to make one command per element of
	data value
}

func (r *rule) match(s *scope) (bool, error) {
	if !r.typ.Match(s.e.Type()) {
		return false, nil
	}
	if r.source != nil && !r.source.Match(s.e.Source()) {
		return false, nil
	}
	if r.readsData && !s.hasJSONData() {
		return false, nil
	}
	for _, c := range r.conditions {
		ok, err := c.match(s)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

// parseRules reads a rules file strictly: unknown keys, a rule without a
// type, an unknown command or command field, a bad template or condition are
// errors naming the rule by index and name.
func parseRules(src []byte, reg *events.Registry) (rules []rule, builtin bool, err error) {
	var spec fileSpec
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&spec); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, false, errors.New("the file is empty")
		}
		return nil, false, err
	}
	names := make(map[string]int)
	for i, rs := range spec.Rules {
		label := fmt.Sprintf("rules[%d]", i)
		if rs.Name != "" {
			label += fmt.Sprintf(" (%s)", rs.Name)
			if j, dup := names[rs.Name]; dup {
				return nil, false, fmt.Errorf("%s: name already used by rules[%d]", label, j)
			}
			names[rs.Name] = i
		}
		r, err := compileRule(rs, reg)
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", label, err)
		}
		if r.name == "" {
			r.name = label
		}
		rules = append(rules, r)
	}
	return rules, spec.Builtin == nil || *spec.Builtin, nil
}

func compileRule(rs ruleSpec, reg *events.Registry) (rule, error) {
	r := rule{name: rs.Name, ignore: rs.Ignore}
	if rs.Match.Type == "" {
		return rule{}, errors.New("match.type is required")
	}
	r.typ = CompileGlob(rs.Match.Type)
	if rs.Match.Source != "" {
		g := CompileGlob(rs.Match.Source)
		r.source = &g
	}
	for _, name := range slices.Sorted(maps.Keys(rs.Match.Attributes)) {
		ref, err := parseRef("$" + name)
		if err != nil {
			return rule{}, fmt.Errorf("match.attributes: %w", err)
		}
		c, err := compileCondition(ref, rs.Match.Attributes[name])
		if err != nil {
			return rule{}, fmt.Errorf("match.attributes: %w", err)
		}
		r.conditions = append(r.conditions, c)
	}
	for _, path := range slices.Sorted(maps.Keys(rs.Match.Data)) {
		ref, err := parseRef(path)
		if err != nil || ref.attr != "" || ref.elem {
			return rule{}, fmt.Errorf("match.data: %q is not a data path", path)
		}
		c, err := compileCondition(ref, rs.Match.Data[path])
		if err != nil {
			return rule{}, fmt.Errorf("match.data: %w", err)
		}
		r.conditions = append(r.conditions, c)
		r.readsData = true
	}
	switch {
	case rs.Ignore && len(rs.Commands) > 0:
		return rule{}, errors.New("a rule has either commands or ignore: true, not both")
	case !rs.Ignore && len(rs.Commands) == 0:
		return rule{}, errors.New("commands is required (or ignore: true to drop matching events)")
	}
	for j, cs := range rs.Commands {
		ct, err := compileCommand(cs, reg)
		if err != nil {
			return rule{}, fmt.Errorf("commands[%d]: %w", j, err)
		}
		r.commands = append(r.commands, ct)
		data, _ := reads(ct.data)
		r.readsData = r.readsData || data || ct.each != nil
	}
	return r, nil
}

func compileCommand(cs commandSpec, reg *events.Registry) (commandTemplate, error) {
	fields, ok := reg.Fields(cs.Name)
	if !ok {
		return commandTemplate{}, fmt.Errorf("unknown command %q (known: %s)", cs.Name, strings.Join(reg.Names(), ", "))
	}
	for k := range cs.Data {
		if !slices.Contains(fields, k) {
			return commandTemplate{}, fmt.Errorf("%s: unknown field %q (fields: %s)", cs.Name, k, strings.Join(fields, ", "))
		}
	}
	if cs.Data == nil {
		cs.Data = map[string]any{}
	}
	data, err := compileValue(cs.Data)
	if err != nil {
		return commandTemplate{}, fmt.Errorf("%s: data.%w", cs.Name, err)
	}
	ct := commandTemplate{name: cs.Name, data: data}
	_, readsElem := reads(data)
	switch {
	case cs.Each == "" && readsElem:
		return commandTemplate{}, fmt.Errorf("%s: data reads @, the element of each, and the command has no each", cs.Name)
	case cs.Each == "":
		return ct, nil
	case !readsElem:
		// Every element would make the same command.
		return commandTemplate{}, fmt.Errorf("%s: each %q: the data never reads @, the element", cs.Name, cs.Each)
	}
	each, err := parseRef(cs.Each)
	if err != nil || each.attr != "" || each.elem {
		return commandTemplate{}, fmt.Errorf("%s: each %q is not a data path", cs.Name, cs.Each)
	}
	ct.each = &each
	return ct, nil
}
