package mend

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// v2Path joins escaped path segments under /api/v2.0.
func v2Path(segments ...string) string {
	var b strings.Builder
	b.WriteString("/api/v2.0")
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

// callV2 sends a v2.0 REST request on behalf of organization org, whose JWT
// it carries. The answer's retVal is decoded into out. A 401, or a 403
// (the one refusal the OpenAPI document lists), renews the JWT and sends
// the request once more: the JWT may have expired early, or been revoked.
func (c *Client) callV2(ctx context.Context, op, method, org, path string, query url.Values, in, out any) (*Response, error) {
	ctx = WithOrg(ctx, org) // for the Limiter, the login included
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return nil, fmt.Errorf("mend %s: encoding request: %w", op, err)
		}
	}
	u := c.apiURL + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	for renewed := false; ; renewed = true {
		jwt, err := c.auth.token(ctx, org)
		if err != nil {
			return nil, fmt.Errorf("mend %s: %w", op, err)
		}
		req := request{
			op: op, method: method, url: u, body: body,
			header:  http.Header{"Authorization": {"Bearer " + jwt.Reveal()}},
			secrets: []Secret{jwt},
		}
		resp, err := c.send(ctx, req, func(resp *Response, data []byte) error {
			return c.decodeV2(op, "retVal", resp, data, out)
		})
		if !renewed && (IsStatus(err, http.StatusUnauthorized) || IsStatus(err, http.StatusForbidden)) {
			c.auth.invalidate(org, jwt)
			continue
		}
		return resp, err
	}
}

// decodeV2 unwraps {"supportToken", "<key>": ..., "additionalData": {...}}.
// v2.0 answers keep their data under retVal, v3.0 under response. The
// data is decoded by decodeAnswer: leniently for a change, whose answer,
// envelope included, never fails the call once Mend has made it.
func (c *Client) decodeV2(op, key string, resp *Response, data []byte, out any) error {
	var env map[string]json.RawMessage
	if err := json.Unmarshal(data, &env); err != nil {
		return c.decodeAnswer(op, data, &env)
	}
	if raw, ok := env["supportToken"]; ok {
		_ = json.Unmarshal(raw, &resp.SupportToken)
	}
	if raw, ok := env["additionalData"]; ok {
		var ad struct {
			TotalItems flexString `json:"totalItems"`
			IsLastPage flexString `json:"isLastPage"`
		}
		if err := json.Unmarshal(raw, &ad); err != nil {
			return &DecodeError{Operation: op, Err: fmt.Errorf("additionalData: %w", err)}
		}
		resp.TotalItems, _ = strconv.Atoi(string(ad.TotalItems))
		resp.IsLastPage, _ = strconv.ParseBool(string(ad.IsLastPage))
	}
	if out == nil {
		return nil
	}
	raw, ok := env[key]
	if !ok {
		err := fmt.Errorf("no %q in response", key)
		if operations[op].mutates {
			c.logUnread(op, []string{key}, err)
			return nil
		}
		return &DecodeError{Operation: op, Err: err}
	}
	return c.decodeAnswer(op, raw, out)
}

// flexString accepts a JSON string, number or boolean as its text: Mend sends
// paging values as strings ("422", "true") where numbers would be expected.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*f = flexString(s)
		return nil
	}
	if string(b) == "null" {
		*f = ""
		return nil
	}
	*f = flexString(b)
	return nil
}
