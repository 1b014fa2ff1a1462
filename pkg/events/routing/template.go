package routing

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"

	"github.com/mendflow/mendflow/pkg/events"
)

// scope is what the rules read of one event: its attributes, and its data
// decoded once, on first use, so that rules matching on type alone never pay
// for it.
type scope struct {
	e       *event.Event
	paths   *pathTree
	data    any
	dataErr error
	decoded bool
}

// errMissing marks a reference to a field the event does not have.
var errMissing = errors.New("missing")

func (s *scope) attr(name string) (string, bool) {
	var v string
	switch name {
	case "specversion":
		v = s.e.SpecVersion()
	case "id":
		v = s.e.ID()
	case "source":
		v = s.e.Source()
	case "type":
		v = s.e.Type()
	case "subject":
		v = s.e.Subject()
	case "datacontenttype":
		v = s.e.DataContentType()
	case "dataschema":
		v = s.e.DataSchema()
	case "time":
		if t := s.e.Time(); !t.IsZero() {
			v = types.FormatTime(t)
		}
	default:
		v = events.Extension(*s.e, name)
	}
	return v, v != ""
}

// dataRoot is the decoded data; data that is not JSON has no fields.
func (s *scope) dataRoot() (any, error) {
	if !s.decoded {
		s.decoded = true
		if raw := s.e.Data(); len(raw) > 0 && events.IsJSON(s.e.DataContentType()) {
			if s.data, s.dataErr = s.paths.decode(raw); s.dataErr != nil {
				s.dataErr = fmt.Errorf("data is not valid JSON: %w", s.dataErr)
			}
		}
	}
	return s.data, s.dataErr
}

// ref names one value of an event: $name for an attribute or extension, a
// dot-separated path into the data otherwise (repository.owner.login;
// a number indexes an array).
type ref struct {
	text string
	attr string
	path []string
}

var attrNameRE = regexp.MustCompile(`^[a-z0-9]{1,64}$`)

func parseRef(text string) (ref, error) {
	if name, ok := strings.CutPrefix(text, "$"); ok {
		if !attrNameRE.MatchString(name) {
			return ref{}, fmt.Errorf("%q: an attribute name is lower-case letters and digits", text)
		}
		return ref{text: text, attr: name}, nil
	}
	path := strings.Split(text, ".")
	for _, p := range path {
		if p == "" || strings.ContainsAny(p, " \t\r\n{}|$") {
			return ref{}, fmt.Errorf("%q: not a data path (keys separated by dots)", text)
		}
	}
	return ref{text: text, path: path}, nil
}

// lookup returns the value, or errMissing when the event lacks it or it is
// null.
func (r ref) lookup(s *scope) (any, error) {
	if r.attr != "" {
		v, ok := s.attr(r.attr)
		if !ok {
			return nil, errMissing
		}
		return v, nil
	}
	v, err := s.dataRoot()
	if err != nil {
		return nil, err
	}
	for _, key := range r.path {
		switch node := v.(type) {
		case map[string]any:
			v = node[key]
		case []any:
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || i >= len(node) {
				return nil, errMissing
			}
			v = node[i]
		default:
			return nil, errMissing
		}
	}
	if v == nil {
		return nil, errMissing
	}
	return v, nil
}

// scalarText is the text of a JSON scalar; objects and arrays have none.
func scalarText(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case bool:
		return strconv.FormatBool(v), true
	default:
		return "", false
	}
}

// functions transform text in a template: {{ path_with_namespace | namespace }}.
var functions = map[string]func(string) (string, error){
	"namespace": func(s string) (string, error) {
		i := strings.LastIndexByte(s, '/')
		if i <= 0 {
			return "", fmt.Errorf("%q has no namespace", s)
		}
		return s[:i], nil
	},
	"basename": func(s string) (string, error) { return s[strings.LastIndexByte(s, '/')+1:], nil },
	"lower":    func(s string) (string, error) { return strings.ToLower(s), nil },
	"upper":    func(s string) (string, error) { return strings.ToUpper(s), nil },
	"trim":     func(s string) (string, error) { return strings.TrimSpace(s), nil },
}

// expr is what stands between {{ and }}: references tried in turn (a ?? b),
// then functions applied in turn (| namespace).
type expr struct {
	text  string
	alts  []ref
	funcs []string
}

func parseExpr(text string) (expr, error) {
	text = strings.TrimSpace(text)
	pipeline := strings.Split(text, "|")
	x := expr{text: text}
	for _, alt := range strings.Split(pipeline[0], "??") {
		r, err := parseRef(strings.TrimSpace(alt))
		if err != nil {
			return expr{}, fmt.Errorf("{{ %s }}: %w", text, err)
		}
		x.alts = append(x.alts, r)
	}
	for _, f := range pipeline[1:] {
		f = strings.TrimSpace(f)
		if _, ok := functions[f]; !ok {
			return expr{}, fmt.Errorf("{{ %s }}: unknown function %q (known: %s)", text, f, strings.Join(slices.Sorted(maps.Keys(functions)), ", "))
		}
		x.funcs = append(x.funcs, f)
	}
	return x, nil
}

func (x expr) visit(f func(ref)) {
	for _, r := range x.alts {
		f(r)
	}
}

func (x expr) eval(s *scope) (any, error) {
	var v any
	for _, r := range x.alts {
		var err error
		v, err = r.lookup(s)
		if err == nil {
			break
		}
		if !errors.Is(err, errMissing) {
			return nil, err
		}
	}
	if v == nil {
		names := make([]string, len(x.alts))
		for i, r := range x.alts {
			names[i] = r.text
		}
		return nil, fmt.Errorf("{{ %s }}: the event has no %s", x.text, strings.Join(names, " or "))
	}
	if len(x.funcs) == 0 {
		return v, nil
	}
	text, ok := scalarText(v)
	if !ok {
		return nil, fmt.Errorf("{{ %s }}: not text but a JSON %T", x.text, v)
	}
	for _, f := range x.funcs {
		var err error
		if text, err = functions[f](text); err != nil {
			return nil, fmt.Errorf("{{ %s }}: %s: %w", x.text, f, err)
		}
	}
	return text, nil
}

// value is a piece of command data in a rule: a literal, a template, or an
// object or array of values. It writes its JSON straight into the command
// data, with no map in between: this runs for every event ingest routes.
type value interface {
	appendJSON(dst []byte, s *scope) ([]byte, error)
	// visit calls f with every reference the value makes.
	visit(f func(ref))
}

// literal is a constant, encoded once when the rules are loaded.
type literal struct{ json []byte }

func (l literal) appendJSON(dst []byte, _ *scope) ([]byte, error) { return append(dst, l.json...), nil }
func (literal) visit(func(ref))                                   {}

// whole is a string that is one template and nothing else: it keeps the JSON
// type of what it refers to.
type whole struct{ x expr }

func (w whole) visit(f func(ref)) { w.x.visit(f) }

func (w whole) appendJSON(dst []byte, s *scope) ([]byte, error) {
	v, err := w.x.eval(s)
	if err != nil {
		return nil, err
	}
	switch v := v.(type) {
	case string:
		return appendString(dst, v), nil
	case json.Number:
		return append(dst, v...), nil
	case bool:
		return strconv.AppendBool(dst, v), nil
	default: // an object or array from the data
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("{{ %s }}: %w", w.x.text, err)
		}
		return append(dst, b...), nil
	}
}

// interpolation is text with templates in it; the result is text.
type interpolation struct {
	texts []string // len(texts) == len(exprs)+1
	exprs []expr
}

func (in interpolation) visit(f func(ref)) {
	for _, x := range in.exprs {
		x.visit(f)
	}
}

func (in interpolation) appendJSON(dst []byte, s *scope) ([]byte, error) {
	var b strings.Builder
	for i, x := range in.exprs {
		b.WriteString(in.texts[i])
		v, err := x.eval(s)
		if err != nil {
			return nil, err
		}
		text, ok := scalarText(v)
		if !ok {
			return nil, fmt.Errorf("{{ %s }}: cannot put a JSON %T into text", x.text, v)
		}
		b.WriteString(text)
	}
	b.WriteString(in.texts[len(in.texts)-1])
	return appendString(dst, b.String()), nil
}

type object struct {
	keys []string // JSON-encoded, sorted
	vals []value
}

func (o object) visit(f func(ref)) {
	for _, v := range o.vals {
		v.visit(f)
	}
}

func (o object) appendJSON(dst []byte, s *scope) ([]byte, error) {
	dst = append(dst, '{')
	for i, k := range o.keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(append(dst, k...), ':')
		var err error
		if dst, err = o.vals[i].appendJSON(dst, s); err != nil {
			return nil, err
		}
	}
	return append(dst, '}'), nil
}

type array []value

func (a array) visit(f func(ref)) {
	for _, v := range a {
		v.visit(f)
	}
}

func (a array) appendJSON(dst []byte, s *scope) ([]byte, error) {
	dst = append(dst, '[')
	for i, v := range a {
		if i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = v.appendJSON(dst, s); err != nil {
			return nil, err
		}
	}
	return append(dst, ']'), nil
}

// appendString appends s as a JSON string: printable ASCII directly, the
// rest through encoding/json, which escapes and mends invalid UTF-8.
func appendString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' {
			b, _ := json.Marshal(s) // a string always encodes
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// compileValue turns what the rules file holds into a value.
func compileValue(v any) (value, error) {
	switch v := v.(type) {
	case string:
		return compileTemplate(v)
	case map[string]any:
		var o object
		for _, k := range slices.Sorted(maps.Keys(v)) {
			cv, err := compileValue(v[k])
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			o.keys = append(o.keys, string(appendString(nil, k)))
			o.vals = append(o.vals, cv)
		}
		return o, nil
	case []any:
		a := make(array, len(v))
		for i, e := range v {
			var err error
			if a[i], err = compileValue(e); err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
		}
		return a, nil
	case nil, bool, int, int64, uint64, float64:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("%v: %w", v, err)
		}
		return literal{b}, nil
	default:
		return nil, fmt.Errorf("unsupported value %v (%T)", v, v)
	}
}

func compileTemplate(s string) (value, error) {
	var in interpolation
	rest := s
	for {
		open := strings.Index(rest, "{{")
		if open < 0 {
			break
		}
		end := strings.Index(rest[open:], "}}")
		if end < 0 {
			return nil, fmt.Errorf("%q: {{ without }}", s)
		}
		x, err := parseExpr(rest[open+2 : open+end])
		if err != nil {
			return nil, err
		}
		in.texts = append(in.texts, rest[:open])
		in.exprs = append(in.exprs, x)
		rest = rest[open+end+2:]
	}
	in.texts = append(in.texts, rest)
	switch {
	case len(in.exprs) == 0:
		return literal{appendString(nil, s)}, nil
	case len(in.exprs) == 1 && in.texts[0] == "" && in.texts[1] == "":
		return whole{in.exprs[0]}, nil
	default:
		return in, nil
	}
}
