package mend

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
)

// redactor keeps the client's secrets out of the errors of one exchange:
// the user key, the JWTs and the refresh token the client holds, and the
// credentials the request carries. Any text of a response may hold them,
// since a server, or a proxy in the way, may quote the request it refuses;
// the client is the one part that knows them all. A redactor looks for the
// secrets only once there is an error to clean.
type redactor struct {
	c    *Client
	sent []Secret // the request's credentials besides the user key

	forms []string // every secret as a quote may give it, longest first
	repl  *strings.Replacer
}

// init gathers the secrets, each in the forms a quote may give it: as it
// is (a header), and escaped in a JSON string (a body). The client sends
// no secret in a URL.
func (r *redactor) init() {
	if r.repl != nil {
		return
	}
	secrets := append([]Secret{r.c.userKey}, r.sent...)
	secrets = append(secrets, r.c.auth.held()...)
	for _, s := range secrets {
		v := s.Reveal()
		if v == "" {
			continue
		}
		forms := []string{v}
		if b, err := json.Marshal(v); err == nil {
			forms = append(forms, string(b[1:len(b)-1]))
		}
		for _, f := range forms {
			if !slices.Contains(r.forms, f) {
				r.forms = append(r.forms, f)
			}
		}
	}
	// The Replacer tries its pairs in order at each position: longest
	// first, so that a secret holding another is replaced whole.
	slices.SortStableFunc(r.forms, func(a, b string) int { return len(b) - len(a) })
	pairs := make([]string, 0, 2*len(r.forms))
	for _, f := range r.forms {
		pairs = append(pairs, f, redacted)
	}
	r.repl = strings.NewReplacer(pairs...)
}

// text returns s with every secret replaced by [redacted].
func (r *redactor) text(s string) string {
	r.init()
	return r.repl.Replace(s)
}

// holds reports whether s holds a secret.
func (r *redactor) holds(s string) bool {
	r.init()
	for _, f := range r.forms {
		if strings.Contains(s, f) {
			return true
		}
	}
	return false
}

// error returns err with no secret in its text. The client's errors that
// hold text of the answer, which the exchange has just made, are cleaned
// in place and keep their type: errors.As, IsCode, IsStatus and RetryAfter
// work on them as before. Any other error that holds a secret (one of the
// transport's, say) is replaced by a redactedError.
func (r *redactor) error(err error) error {
	if err == nil || !r.holds(err.Error()) {
		return err
	}
	switch e := err.(type) {
	case *HTTPError:
		e.URL, e.Message = r.text(e.URL), r.text(e.Message)
	case *APIError:
		e.Message = r.text(e.Message)
	}
	if !r.holds(err.Error()) {
		return err
	}
	return &redactedError{msg: r.text(err.Error()), err: err, class: Classify(err)}
}

// redactedError says what an error said, with the secrets it held
// replaced. It answers errors.Is as that error does, and Classify gives it
// that error's class; but it does not unwrap to it, which would hand the
// secrets to whoever asks errors.As for the type of something in its
// chain.
type redactedError struct {
	msg   string
	err   error
	class Class
}

func (e *redactedError) Error() string { return e.msg }

// Is reports whether the error redacted is, or wraps, target.
func (e *redactedError) Is(target error) bool { return errors.Is(e.err, target) }
