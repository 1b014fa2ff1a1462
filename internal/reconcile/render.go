package reconcile

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/mendflow/mendflow/pkg/events"
)

// WriteText prints the plan for people: the changes grouped by product
// (the organization's first), one line each with its mark (+ create,
// ~ change, - delete), its target, its command and what it does, then a
// summary line.
func (p *Plan) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Reconcile plan: %s, %s in Mend.\n", count(p.Repositories, "repository", "repositories"), count(p.Projects, "project", "projects"))
	group := "\x00"
	for _, c := range p.Changes {
		if c.Product != group {
			group = c.Product
			if group == "" {
				fmt.Fprint(tw, "\norganization\n")
			} else {
				fmt.Fprintf(tw, "\nproduct %s\n", group)
			}
		}
		fmt.Fprintf(tw, "  %s %s\t%s\t%s\n", c.Kind.Symbol(), c.Target, c.Command, c.Detail)
	}
	if p.Unmapped > 0 {
		fmt.Fprintf(tw, "\n%s of the products pruned %s to no repository.\n", count(p.Unmapped, "project", "projects"), map[bool]string{true: "maps", false: "map"}[p.Unmapped == 1])
	}
	if p.Summary.Total() == 0 {
		fmt.Fprint(tw, "\nNo changes: Mend matches the spec.\n")
	} else {
		fmt.Fprintf(tw, "\nPlan: %d to create, %d to change, %d to delete.\n", p.Summary.Create, p.Summary.Change, p.Summary.Delete)
	}
	return tw.Flush()
}

// WriteJSON writes the plan as indented JSON: the fields of Plan and
// Change, each change's data as its command's JSON.
func (p *Plan) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(p)
}

// registry decodes the data of a plan's changes read back.
var registry = events.NewRegistry()

// UnmarshalJSON reads a change written by WriteJSON, its data decoded and
// checked as the command's.
func (c *Change) UnmarshalJSON(b []byte) error {
	type plain Change
	var raw struct {
		plain
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	data, err := registry.Decode(raw.Command, raw.Data)
	if err != nil {
		return fmt.Errorf("change %s: %w", raw.ID, err)
	}
	*c = Change(raw.plain)
	c.Data = data
	return nil
}

func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
