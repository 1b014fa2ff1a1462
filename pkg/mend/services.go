package mend

import "context"

// ProductsService handles products: creation, deletion, tags and vitals.
type ProductsService service

// ProjectsService handles projects: creation, deletion, tags, vitals,
// hierarchy, inventory, state, library details and reassignment.
type ProjectsService service

// OrganizationsService handles organization-wide requests: details, In-House
// libraries, pending tasks, setup notifications, plugin request states and
// the asynchronous process status.
type OrganizationsService service

// GlobalOrganizationsService handles global organizations.
type GlobalOrganizationsService service

// PoliciesService handles policies at the global organization, organization,
// product and project levels, and applies them (an asynchronous process).
type PoliciesService service

// GroupsService handles user groups, their users and their roles (v2.0).
type GroupsService service

// callV1 sends a v1.4 request and decodes its answer into a new T.
func callV1[T any](ctx context.Context, c *Client, requestType string, params any) (*T, *Response, error) {
	return checkedV1[T](ctx, c, requestType, params, nil)
}

// checkedV1 is callV1 for a change that done can look up: after an
// attempt that timed out, the client asks done before it sends the request
// again.
func checkedV1[T any](ctx context.Context, c *Client, requestType string, params any, done func(context.Context) (bool, error)) (*T, *Response, error) {
	out := new(T)
	resp, err := c.postV1(ctx, requestType, params, out, done)
	if err != nil {
		return nil, resp, err
	}
	return out, resp, nil
}

// gone returns a lookup for request.done that reports whether what get
// reads is gone: get fails with IsNotFound.
func gone(get func(context.Context) error) func(context.Context) (bool, error) {
	return func(ctx context.Context) (bool, error) {
		err := get(ctx)
		if IsNotFound(err) {
			return true, nil
		}
		return false, err
	}
}
