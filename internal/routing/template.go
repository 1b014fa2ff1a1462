package routing

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/tidwall/gjson"

	"github.com/mendflow/mendflow/internal/eventdata"
	"github.com/mendflow/mendflow/pkg/events"
)

// scope is what the rules read of one event: its attributes, and its data,
// checked to be JSON once, on first use (unless dataChecked says its caller
// did), so that rules matching on type alone never pay for it.
type scope struct {
	e           *event.Event
	noun        string // what the data is, in errors: "the event" when empty
	dataChecked bool
	data        []byte
	dataErr     error
	read        bool
	// elem is the element of an array that a command with each is being
	// built for, which @ reads.
	elem *gjson.Result
}

// errMissing marks a reference to a field the event does not have.
var errMissing = errors.New("missing")

// missingError is a template reading only fields the data lacks.
type missingError struct{ msg string }

func (e *missingError) Error() string { return e.msg }
func (e *missingError) Unwrap() error { return errMissing }

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

// jsonData is the data when it is JSON; data that is not JSON has no fields.
func (s *scope) jsonData() ([]byte, error) {
	if !s.read {
		s.read = true
		if raw := s.e.Data(); len(raw) > 0 && eventdata.DataIsJSON(*s.e) {
			s.data = raw
			if !s.dataChecked && !eventdata.ValidJSON(raw) {
				s.dataErr = fmt.Errorf("data is not valid JSON: %w", eventdata.JSONError(raw))
			}
		}
	}
	return s.data, s.dataErr
}

// hasJSONData reports whether the event has data, and it is JSON
// (eventdata.DataIsJSON): what a rule reading the data needs to match.
func (s *scope) hasJSONData() bool { return len(s.e.Data()) > 0 && eventdata.DataIsJSON(*s.e) }

// ref names one value of an event: $name for an attribute or extension, @
// for the element a command with each is built for (@.name, a path into
// it), a dot-separated path into the data otherwise (repository.owner.login;
// a number indexes an array).
type ref struct {
	text string
	attr string
	elem bool
	// path is the data path as a gjson path: its keys escaped, so that
	// none is read as a gjson wildcard, query or modifier.
	path string
}

var attrNameRE = regexp.MustCompile(`^[a-z0-9]{1,64}$`)

func parseRef(text string) (ref, error) {
	if name, ok := strings.CutPrefix(text, "$"); ok {
		if !attrNameRE.MatchString(name) {
			return ref{}, fmt.Errorf("%q: an attribute name is lower-case letters and digits", text)
		}
		return ref{text: text, attr: name}, nil
	}
	if text == "@" {
		return ref{text: text, elem: true}, nil
	}
	path, elem := strings.CutPrefix(text, "@.")
	keys := strings.Split(path, ".")
	for i, k := range keys {
		if k == "" || strings.ContainsAny(k, " \t\r\n{}|$") {
			return ref{}, fmt.Errorf("%q: not a data path (keys separated by dots)", text)
		}
		keys[i] = gjson.Escape(k)
	}
	return ref{text: text, elem: elem, path: strings.Join(keys, ".")}, nil
}

// readsData reports whether the reference reads the event's data: a data
// path, or the element of an array in it.
func (r ref) readsData() bool { return r.attr == "" }

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
	var v gjson.Result
	switch {
	case r.elem && s.elem == nil:
		// The rules file was checked for this when it was loaded.
		return nil, fmt.Errorf("{{ %s }}: no element of each to read", r.text)
	case r.elem && r.path == "":
		v = *s.elem
	case r.elem:
		v = s.elem.Get(r.path)
	default:
		data, err := s.jsonData()
		if err != nil {
			return nil, err
		}
		// A key that is a number indexes an array, as in gjson.
		v = eventdata.GetJSON(data, r.path)
	}
	switch v.Type {
	case gjson.String:
		return v.Str, nil
	case gjson.Number:
		return json.Number(v.Raw), nil
	case gjson.True, gjson.False:
		return v.Bool(), nil
	case gjson.JSON:
		return rawJSON(v.Raw), nil
	default: // absent, or null
		return nil, errMissing
	}
}

// rawJSON is an object or array of the data, as written.
type rawJSON string

// kind names a looked-up value's JSON type in errors.
func kind(v any) string {
	switch v := v.(type) {
	case rawJSON:
		if strings.HasPrefix(string(v), "[") {
			return "array"
		}
		return "object"
	case bool:
		return "boolean"
	case json.Number:
		return "number"
	default:
		return "string"
	}
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
	"origin":   origin,
}

// origin is the scheme and host of a URL (https://github.com/acme/api gives
// https://github.com): the SCM instance a repository's id belongs to. A
// reference without a host, such as ingest's source of a GitLab system
// hook from an instance that does not name itself (/gitlab/acme/api),
// gives its first path segment (/gitlab).
func origin(s string) (string, error) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "", fmt.Errorf("%q is not a URL: %v", s, err)
	case u.Host != "":
		return u.Scheme + "://" + u.Host, nil
	case strings.HasPrefix(u.Path, "/") && len(u.Path) > 1:
		if i := strings.IndexByte(u.Path[1:], '/'); i >= 0 {
			return u.Path[:i+1], nil
		}
		return u.Path, nil
	}
	return "", fmt.Errorf("%q has no origin (a host, or a first path segment)", s)
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

// reads reports whether the expression reads the event's data, and
// whether it reads the element of each.
func (x expr) reads() (data, elem bool) {
	for _, r := range x.alts {
		data = data || r.readsData()
		elem = elem || r.elem
	}
	return data, elem
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
		noun := s.noun
		if noun == "" {
			noun = "the event"
		}
		return nil, &missingError{fmt.Sprintf("{{ %s }}: %s has no %s", x.text, noun, strings.Join(names, " or "))}
	}
	if len(x.funcs) == 0 {
		return v, nil
	}
	text, ok := scalarText(v)
	if !ok {
		return nil, fmt.Errorf("{{ %s }}: not text but a JSON %s", x.text, kind(v))
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
}

// reads reports whether v reads the event's data, and whether it reads the
// element of each, anywhere in it.
func reads(v value) (data, elem bool) {
	var exprs []expr
	switch v := v.(type) {
	case whole:
		exprs = []expr{v.x}
	case interpolation:
		exprs = v.exprs
	case object:
		for _, c := range v.vals {
			d, e := reads(c)
			data, elem = data || d, elem || e
		}
	case array:
		for _, c := range v {
			d, e := reads(c)
			data, elem = data || d, elem || e
		}
	}
	for _, x := range exprs {
		d, e := x.reads()
		data, elem = data || d, elem || e
	}
	return data, elem
}

// literal is a constant, encoded once when the rules are loaded.
type literal struct{ json []byte }

func (l literal) appendJSON(dst []byte, _ *scope) ([]byte, error) { return append(dst, l.json...), nil }

// whole is a string that is one template and nothing else: it keeps the JSON
// type of what it refers to.
type whole struct{ x expr }

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
	case rawJSON: // an object or array from the data
		return append(dst, v...), nil
	default:
		return nil, fmt.Errorf("{{ %s }}: unexpected %T", w.x.text, v)
	}
}

// interpolation is text with templates in it; the result is text.
type interpolation struct {
	texts []string // len(texts) == len(exprs)+1
	exprs []expr
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
			return nil, fmt.Errorf("{{ %s }}: cannot put a JSON %s into text", x.text, kind(v))
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

// Template is text in the template language of the rules file's command
// data ({{ path ?? other | function }}), compiled once. Reconcile's mapping
// names products, projects and tags with it, so that a spec and a rules file
// read fields alike.
type Template struct{ v value }

// CompileTemplate compiles s; text without {{ }} is a constant.
func CompileTemplate(s string) (Template, error) {
	v, err := compileTemplate(s)
	if err != nil {
		return Template{}, err
	}
	return Template{v: v}, nil
}

// Text evaluates the template against a JSON object, read as rules read an
// event's data, and returns its text; noun names that object in errors ("the
// repository acme/api"). An object or array is not text. When every field
// the template reads is missing, the error matches IsMissing.
func (t Template) Text(data []byte, noun string) (string, error) {
	s := &scope{e: &emptyEvent, noun: noun, data: data, read: true, dataChecked: true}
	raw, err := t.v.appendJSON(nil, s)
	if err != nil {
		return "", err
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return "", err
	}
	text, ok := scalarText(v)
	if !ok {
		return "", fmt.Errorf("%s: not text but a JSON %s", raw, kind(rawJSON(raw)))
	}
	return text, nil
}

// emptyEvent stands in for an event where a template reads plain data: it
// has no attributes but its specversion, so $name reads (almost) nothing.
var emptyEvent = event.New()

// IsMissing reports whether err is a template reading only fields that are
// missing from the data, or null.
func IsMissing(err error) bool { return errors.Is(err, errMissing) }
