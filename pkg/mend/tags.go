package mend

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
)

// Tags are the tags of a product or project: each key holds one or more
// values, in the order they were saved. Mend answers them as
// {"key": ["v1", "v2"]}, but some of its pages show {"key": "v"};
// Tags decodes both and always encodes the first form.
type Tags map[string][]string

// UnmarshalJSON decodes {"key": ["v1", ...]} and {"key": "v"}.
func (t *Tags) UnmarshalJSON(data []byte) error {
	if bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		*t = nil
		return nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	out := make(Tags, len(raw))
	for k, v := range raw {
		v = bytes.TrimSpace(v)
		switch {
		case bytes.Equal(v, []byte("null")):
			out[k] = []string{}
		case len(v) > 0 && v[0] == '[':
			var vs []string
			if err := json.Unmarshal(v, &vs); err != nil {
				return fmt.Errorf("tag %q: %w", k, err)
			}
			out[k] = vs
		default:
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return fmt.Errorf("tag %q: want a string or an array of strings: %w", k, err)
			}
			out[k] = []string{s}
		}
	}
	*t = out
	return nil
}

// Has reports whether key holds value. Saving a tag that Has already
// reports changes nothing, which makes SaveTag safe to repeat.
func (t Tags) Has(key, value string) bool { return slices.Contains(t[key], value) }

// TagsInfo is a product or project with its tags, as the tag requests
// answer it.
type TagsInfo struct {
	Name  string `json:"name"`
	Token string `json:"token"`
	Tags  Tags   `json:"tags"`
}
