package mend

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"
)

// MaxPageSize is the largest page the v2.0 API serves.
const MaxPageSize = 10000

// ListOptions selects, orders and pages the items of a v2.0 list.
type ListOptions struct {
	// Page is the page to return, counting from 0.
	Page int
	// PageSize is how many items a page holds, up to MaxPageSize; zero
	// leaves it to Mend.
	PageSize int
	// Search filters the items: "property:operation:value", several joined
	// with ";" (no spaces), such as "name:like:dev;roles:in:ADMIN,USER".
	// Operations are equals, like, regex (case-insensitive) and in (a
	// comma-separated list); each list endpoint names the properties and
	// operations it takes.
	Search string
	// Sort orders the items by a property, such as "name"; a leading "-"
	// sorts in descending order ("-name").
	Sort string
}

// query encodes the options as the v2.0 API's query parameters.
func (o *ListOptions) query() url.Values {
	if o == nil {
		return nil
	}
	q := url.Values{"page": {strconv.Itoa(o.Page)}}
	if o.PageSize > 0 {
		q.Set("pageSize", strconv.Itoa(o.PageSize))
	}
	if o.Search != "" {
		q.Set("search", o.Search)
	}
	if o.Sort != "" {
		q.Set("sort", o.Sort)
	}
	return q
}

// listV2 fetches one page of a v2.0 list, with query selecting it. The
// page's position in the whole list is in the Response (TotalItems,
// IsLastPage).
func listV2[T any](ctx context.Context, c *Client, op, org, path string, query url.Values) ([]T, *Response, error) {
	var out []T
	resp, err := c.callV2(ctx, op, http.MethodGet, org, path, query, nil, &out)
	if err != nil {
		return nil, resp, err
	}
	return out, resp, nil
}

// doV2 sends a v2.0 request and decodes its retVal into a new T.
func doV2[T any](ctx context.Context, c *Client, op, method, org, path string, in any) (*T, *Response, error) {
	out := new(T)
	resp, err := c.callV2(ctx, op, method, org, path, nil, in, out)
	if err != nil {
		return nil, resp, err
	}
	return out, resp, nil
}

// pages iterates over the items of every page from start on, fetching
// each page with list. It stops after the page Mend marks as the last, or
// at an empty page; an error is yielded once and ends the iteration.
func pages[T any](ctx context.Context, start int, list func(ctx context.Context, page int) ([]T, *Response, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for page := start; ; page++ {
			items, resp, err := list(ctx, page)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, item := range items {
				if !yield(item, nil) {
					return
				}
			}
			if len(items) == 0 || resp.IsLastPage {
				return
			}
		}
	}
}

// at returns a copy of the options for page.
func (o *ListOptions) at(page int) *ListOptions {
	var p ListOptions
	if o != nil {
		p = *o
	}
	p.Page = page
	return &p
}

func (o *ListOptions) page() int {
	if o == nil {
		return 0
	}
	return o.Page
}
