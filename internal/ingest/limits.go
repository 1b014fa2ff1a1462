package ingest

import (
	"bytes"
	"fmt"
	"unicode/utf8"

	"github.com/mendflow/mendflow/internal/bus"
)

// Limits of what ingest takes from a request, checked before anything of
// it is published. README.md ("Ingest", "Limits") explains the numbers.
//
// A command's headers travel on into everything derived from it, and
// JetStream refuses a message whose headers pass bus.MaxHeaderBytes
// (error 10097), which sending again cannot cure. The worker's result
// event, its io.mendflow.command.failed and the poller's track item copy
// the command's id, correlationid, traceparent and tracestate, and add the
// command's id twice more, as their own id and Nats-Msg-Id
// ("<id>:<sequence>:<kind>"); the dead letter copies the command's headers
// and adds its id once and its reasons (the error is cut at 1 KiB); the
// poller's completion copies the track item's correlationid and
// causationid. So what is derived from a command holds at most its
// headers and derivedHeaderBytes more.
const (
	// maxAttributeBytes bounds the value of each attribute and extension
	// of an event, as sent, and each webhook header that becomes one.
	maxAttributeBytes = 2048
	// maxExtensionNameBytes bounds an extension's name (the core spec
	// advises at most 20 characters).
	maxExtensionNameBytes = 64
	// maxCommandHeaderBytes bounds a command's NATS header block as
	// stored: its ce- headers and its Nats-Msg-Id, as NATS encodes them.
	// Ingest's publisher refuses a command over it (413).
	maxCommandHeaderBytes = 32 << 10

	// derivedHeaderBytes bounds what a message derived from a command adds
	// to the command's headers: two more copies of its id with their
	// suffixes and header names, and the dead letter's reasons or a result
	// event's own attributes.
	derivedHeaderBytes = 2*(maxAttributeBytes+64) + 2048
)

// Every message derived from a command fits JetStream's header limit: the
// constant below does not compile when it would be negative.
const _ uint = bus.MaxHeaderBytes - maxCommandHeaderBytes - derivedHeaderBytes

// overLimit says that something of n bytes is over limit; the caller
// names it.
func overLimit(n, limit int) string {
	return fmt.Sprintf("is %d bytes, over the limit of %d bytes", n, limit)
}

// valueProblem says what is wrong with the value of an attribute or
// extension, as sent, or of a webhook header that becomes one: longer than
// maxAttributeBytes, or not text (textProblem). The caller names it. It
// is "" when nothing is wrong.
func valueProblem(value string) string {
	if len(value) > maxAttributeBytes {
		return overLimit(len(value), maxAttributeBytes)
	}
	return textProblem(value)
}

// textProblem says what makes s unfit for a CloudEvents String (core
// spec, type system): bytes that are not UTF-8, a control character
// (U+0000 to U+001F, U+007F to U+009F) or a noncharacter. It is "" when s
// is fit. Lone surrogates cannot occur in valid UTF-8.
func textProblem(s string) string {
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return fmt.Sprintf("holds the control character %U, which no CloudEvents string may", c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return fmt.Sprintf("holds bytes that are not UTF-8 (at byte %d)", i)
		case r <= 0x9f:
			return fmt.Sprintf("holds the control character %U, which no CloudEvents string may", r)
		case r >= 0xfdd0 && r <= 0xfdef, r&0xfffe == 0xfffe:
			return fmt.Sprintf("holds the noncharacter %U, which no CloudEvents string may", r)
		}
		i += size
	}
	return ""
}

// jsonTextProblem says what makes JSON data unfit for a command: bytes
// that are not UTF-8 (JSON exchanged between systems is UTF-8, RFC 8259
// 8.1, where encoding/json and gjson take any byte in a string), or a NUL
// (the escape \u0000, which JSON allows), which no name or value in Mend
// may hold. It is "" when data is fit.
func jsonTextProblem(data []byte) string {
	if i := invalidUTF8(data); i >= 0 {
		return fmt.Sprintf("holds bytes that are not UTF-8 (RFC 8259 8.1; at byte %d)", i)
	}
	for from := 0; ; {
		i := bytes.Index(data[from:], nulEscape)
		if i < 0 {
			return ""
		}
		// An escape when the backslashes that end at i are odd in number:
		// "\\u0000" is a backslash and the text u0000.
		at, n := from+i, 0
		for j := at; j >= 0 && data[j] == '\\'; j-- {
			n++
		}
		if n%2 == 1 {
			return fmt.Sprintf("holds a NUL (\\u0000, at byte %d)", at)
		}
		from = at + 1
	}
}

var nulEscape = []byte(`\u0000`)

// invalidUTF8 is the index of the first byte of b that is not part of
// valid UTF-8, or -1 when b is valid.
func invalidUTF8(b []byte) int {
	if utf8.Valid(b) { // the common case, much faster than decoding
		return -1
	}
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return -1
}
