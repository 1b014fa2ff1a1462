package mend

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// postV1 sends a v1.4 request: one JSON object that names its requestType and
// carries the user key, POSTed to <Mend URL>/api/v1.4. A non-nil out receives
// the answer; Mend reports failures as {"errorCode", "errorMessage"} in a
// normal response, which becomes an *APIError.
// done, when not nil, looks whether the change is made (see request.done).
func (c *Client) postV1(ctx context.Context, requestType string, params, out any, done func(context.Context) (bool, error)) (*Response, error) {
	body, err := c.v1Body(requestType, params)
	if err != nil {
		return nil, err
	}
	req := request{op: requestType, method: http.MethodPost, url: c.v1URL, body: body, done: done}
	return c.send(ctx, req, func(_ *Response, data []byte) error {
		return c.decodeV1(requestType, data, out)
	})
}

// v1Body builds {"requestType": ..., "userKey": ..., <params' fields>}.
func (c *Client) v1Body(requestType string, params any) ([]byte, error) {
	head, err := json.Marshal(struct {
		RequestType string `json:"requestType"`
		UserKey     string `json:"userKey"`
	}{requestType, c.userKey.Reveal()})
	if err != nil {
		return nil, fmt.Errorf("mend %s: %w", requestType, err)
	}
	if params == nil {
		return head, nil
	}
	rest, err := json.Marshal(params)
	if err != nil {
		return nil, fmt.Errorf("mend %s: encoding request: %w", requestType, err)
	}
	rest = bytes.TrimSpace(rest)
	if len(rest) < 2 || rest[0] != '{' {
		return nil, fmt.Errorf("mend %s: request parameters must encode as a JSON object", requestType)
	}
	if len(bytes.TrimSpace(rest[1:len(rest)-1])) == 0 {
		return head, nil
	}
	// Splice the two objects: drop head's closing brace and rest's opening one.
	buf := make([]byte, 0, len(head)+len(rest))
	buf = append(buf, head[:len(head)-1]...)
	buf = append(buf, ',')
	buf = append(buf, rest[1:]...)
	return buf, nil
}

// decodeV1 reads a v1.4 answer: an errorCode body is an *APIError,
// anything else the answer, decoded by decodeAnswer.
func (c *Client) decodeV1(requestType string, data []byte, out any) error {
	if bytes.Contains(data, []byte(`"errorCode"`)) {
		var e struct {
			ErrorCode    *int   `json:"errorCode"`
			ErrorMessage string `json:"errorMessage"`
		}
		if json.Unmarshal(data, &e) == nil && e.ErrorCode != nil {
			return &APIError{RequestType: requestType, Code: *e.ErrorCode, Message: e.ErrorMessage}
		}
	}
	if out == nil {
		return nil
	}
	if m, ok := out.(*MessageResponse); ok && !json.Valid(data) {
		// Some answers are documented as bare text such as
		// {"successfully removed project tag"} or "message":"..." without
		// braces; keep what they say rather than fail a call that worked.
		m.Message = looseMessage(data)
		return nil
	}
	return c.decodeAnswer(requestType, data, out)
}

func looseMessage(data []byte) string {
	s := strings.TrimSpace(string(data))
	s = strings.TrimPrefix(s, "{")
	s = strings.TrimSuffix(s, "}")
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, `"message":`)
	return strings.Trim(strings.TrimSpace(s), `"`)
}

// MessageResponse is the answer of requests that only confirm, such as
// {"message": "Successfully deleted product <name>"}.
type MessageResponse struct {
	Message string `json:"message"`
}
