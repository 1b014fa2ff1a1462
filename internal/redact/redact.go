// Package redact is mendflow's one place that strips credentials from
// URLs and from the errors that quote them. A URL's user information may
// be a user and password or a token alone (nats://TOKEN@host, as NATS
// documents token authentication), and its query may carry one
// (?access_token=); Go's *url.Error repeats the URL whole; and the
// parser's errors quote the part they stumbled on, which may be part of a
// password: the characters after a bad %, or, when a '/', '?' or '#' in a
// password ends the authority before its '@', the rest of the password
// taken for a port or a host. Secrets known by value (Mend's user key, its JWTs) are
// pkg/mend's to hide, which knows them.
package redact

import (
	"errors"
	"net/url"
	"regexp"
	"strings"
)

// Unparsable is what URL shows of a URL it cannot parse: the parser's
// error would quote it.
const Unparsable = "<unparsable URL>"

// URL is raw without its user information, query and fragment: what may
// be shown of it in a log line or an error. An '@' left in what remains
// means that the user information did not end where the parser looked (a
// '/' in a token or password ends it early), and the rest of it would be
// shown as the host or path: such a URL is shown as Unparsable.
func URL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return Unparsable
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	if s := u.String(); !strings.Contains(s, "@") {
		return s
	}
	return Unparsable
}

// URLs is URL of each URL of a comma-separated list, such as NATS_URL.
func URLs(list string) string {
	parts := strings.Split(list, ",")
	for i, p := range parts {
		parts[i] = URL(strings.TrimSpace(p))
	}
	return strings.Join(parts, ",")
}

// errBadEscape stands for a url.EscapeError, whose text quotes the bad
// escape.
var errBadEscape = errors.New("invalid URL escape: a % not followed by two hexadecimal digits (escape it as %25)")

// quoted is a Go-quoted string in an error's text, with the space before
// it.
var quoted = regexp.MustCompile(` ?"(?:[^"\\]|\\.)*"`)

// Error is err without the URL that a *url.Error in it quotes: the
// *url.Error's cause, which errors.Is and errors.As still find (a timeout,
// a refused connection), and which says what went wrong without the URL.
// A parse error is described without what it quotes of the URL (a bad
// %-escape, a port, a host), as that may be part of a password: the parser
// cannot tell a password it took for a port from a port. Any other error
// is returned as it is.
func Error(err error) error {
	var uerr *url.Error
	if !errors.As(err, &uerr) {
		return err
	}
	if errors.As(uerr.Err, new(url.EscapeError)) {
		return errBadEscape
	}
	if msg := uerr.Err.Error(); uerr.Op == "parse" && quoted.MatchString(msg) {
		return errors.New(quoted.ReplaceAllString(msg, ""))
	}
	return uerr.Err
}
