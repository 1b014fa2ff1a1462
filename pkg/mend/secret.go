package mend

import "fmt"

// Secret holds a credential such as a user key or a JWT. It prints as
// "[redacted]" through every fmt verb and in JSON, so that a Client, a config
// struct or an error that holds one can be logged without leaking it.
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret's value. Call it only where the value is sent to
// Mend.
func (s Secret) Reveal() string { return string(s) }

// String implements fmt.Stringer.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString implements fmt.GoStringer, which %#v uses.
func (s Secret) GoString() string { return s.String() }

// Format implements fmt.Formatter so that %v, %s, %q, %x and %d all redact.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprintf(f, "%q", s.String())
		return
	}
	fmt.Fprint(f, s.String())
}

// MarshalJSON implements json.Marshaler; a Secret is never written out.
func (s Secret) MarshalJSON() ([]byte, error) {
	return []byte(`"` + s.String() + `"`), nil
}

// MarshalText implements encoding.TextMarshaler, which slog's JSON handler uses.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
