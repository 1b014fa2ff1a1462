package mendsim

import (
	"cmp"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/mendflow/mendflow/pkg/mend"
)

// defaultPageSize is the page size of a v2.0 list request that names none.
const defaultPageSize = 50

// Search operations of v2.0 lists.
const (
	opEquals = "equals"
	opLike   = "like"
	opRegex  = "regex"
	opIn     = "in"
)

// listSpec is what a v2.0 list endpoint filters and sorts its items by, as
// its page lists them.
type listSpec[T any] struct {
	filters map[string]searchProperty[T]
	sorts   map[string]func(a, b T) int
}

// searchProperty is a property that search filters on: the operations the
// endpoint takes on it and its values in an item (several for a property
// such as roles; an item matches when any value does).
type searchProperty[T any] struct {
	ops    []string
	values func(T) []string
}

// listPage answers the page of items that the request's search, sort, page
// and pageSize select, and sets the paging values of the answer.
func listPage[T any](c *restCall, items []T, spec listSpec[T]) ([]T, error) {
	// Filters are joined with ";", which Go's query parser no longer takes
	// raw (it drops the whole pair); clients such as curl send it raw.
	q, err := url.ParseQuery(strings.ReplaceAll(c.r.URL.RawQuery, ";", "%3B"))
	if err != nil {
		return nil, badRequest("invalid query: " + err.Error())
	}
	page, size, err := pageParams(q)
	if err != nil {
		return nil, err
	}
	match, err := parseSearch(q.Get("search"), spec.filters)
	if err != nil {
		return nil, err
	}
	items = slices.DeleteFunc(slices.Clone(items), func(it T) bool { return !match(it) })
	if key := q.Get("sort"); key != "" {
		name, desc := strings.CutPrefix(key, "-")
		compare, ok := spec.sorts[name]
		if !ok {
			return nil, badRequest(fmt.Sprintf("unknown sort property %q; this list sorts by %s",
				name, strings.Join(slices.Sorted(maps.Keys(spec.sorts)), ", ")))
		}
		slices.SortStableFunc(items, func(a, b T) int {
			if desc {
				return compare(b, a)
			}
			return compare(a, b)
		})
	}
	total := len(items)
	start := total
	if page < total { // page*size cannot overflow then
		start = min(page*size, total)
	}
	end := min(start+size, total)
	c.page = &pageInfo{totalItems: total, isLastPage: end == total}
	return items[start:end], nil
}

// byFirst compares items alphabetically, regardless of case, by the
// smallest of their values of a property; an item without values sorts
// first.
func byFirst[T any](values func(T) []string) func(a, b T) int {
	first := func(it T) string {
		least := ""
		for i, v := range values(it) {
			if v = strings.ToLower(v); i == 0 || v < least {
				least = v
			}
		}
		return least
	}
	return func(a, b T) int { return cmp.Compare(first(a), first(b)) }
}

func pageParams(q url.Values) (page, size int, err error) {
	page, size = 0, defaultPageSize
	if v := q.Get("page"); v != "" {
		if page, err = strconv.Atoi(v); err != nil || page < 0 {
			return 0, 0, badRequest(fmt.Sprintf("page %q: want a whole number from 0", v))
		}
	}
	if v := q.Get("pageSize"); v != "" {
		if size, err = strconv.Atoi(v); err != nil || size < 1 || size > mend.MaxPageSize {
			return 0, 0, badRequest(fmt.Sprintf("pageSize %q: want 1 to %d", v, mend.MaxPageSize))
		}
	}
	return page, size, nil
}

// parseSearch reads "property:operation:value;..." into one predicate that
// holds when every filter does.
func parseSearch[T any](search string, props map[string]searchProperty[T]) (func(T) bool, error) {
	var preds []func(T) bool
	for _, f := range strings.Split(search, ";") {
		if f == "" {
			continue
		}
		parts := strings.SplitN(f, ":", 3)
		if len(parts) != 3 {
			return nil, badRequest(fmt.Sprintf("search filter %q: want property:operation:value", f))
		}
		name, op, value := parts[0], parts[1], parts[2]
		prop, ok := props[name]
		if !ok {
			return nil, badRequest(fmt.Sprintf("unknown search property %q; this list filters on %s",
				name, strings.Join(slices.Sorted(maps.Keys(props)), ", ")))
		}
		if !slices.Contains(prop.ops, op) {
			return nil, badRequest(fmt.Sprintf("search operation %q is not supported on %q; use %s",
				op, name, strings.Join(prop.ops, ", ")))
		}
		m, err := searchMatcher(op, value)
		if err != nil {
			return nil, err
		}
		preds = append(preds, func(it T) bool { return slices.ContainsFunc(prop.values(it), m) })
	}
	return func(it T) bool {
		for _, p := range preds {
			if !p(it) {
				return false
			}
		}
		return true
	}, nil
}

// searchMatcher returns the test of one search operation. like is taken as "the
// property contains the value", regardless of case, which is how Mend's
// searches behave; the page's wording reads the other way round.
func searchMatcher(op, value string) (func(string) bool, error) {
	switch op {
	case opEquals:
		return func(v string) bool { return v == value }, nil
	case opLike:
		lower := strings.ToLower(value)
		return func(v string) bool { return strings.Contains(strings.ToLower(v), lower) }, nil
	case opRegex:
		re, err := regexp.Compile("(?i)" + value)
		if err != nil {
			return nil, badRequest(fmt.Sprintf("search regex %q: %v", value, err))
		}
		return re.MatchString, nil
	case opIn:
		set := strings.Split(value, ",")
		return func(v string) bool { return slices.Contains(set, v) }, nil
	}
	return nil, badRequest(fmt.Sprintf("unknown search operation %q", op))
}
