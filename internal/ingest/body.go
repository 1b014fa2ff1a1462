package ingest

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// bodyBudget is INGEST_MAX_INFLIGHT_BYTES: the memory that the bodies of
// all requests in flight may hold together. Without it, each request could
// hold INGEST_MAX_BODY_BYTES, and a thousand slow senders a gigabyte.
type bodyBudget struct {
	max  int64
	used atomic.Int64
}

func newBodyBudget(max int64) *bodyBudget { return &bodyBudget{max: max} }

// take reserves n bytes, unless that would pass the ceiling.
func (b *bodyBudget) take(n int64) bool {
	if b.used.Add(n) > b.max {
		b.used.Add(-n)
		return false
	}
	return true
}

func (b *bodyBudget) give(n int64) { b.used.Add(-n) }

// bodyChunk is the step in which a body's memory grows as its bytes arrive.
// A body announced no longer is read straight into memory of its size.
const bodyChunk = 32 << 10

// chunks are the buffers larger bodies are read into, kept for the next
// request: a thousand senders that each send part of a body and stall
// leave no garbage behind when they are refused or give up.
var chunks = sync.Pool{New: func() any { return new([bodyChunk]byte) }}

// readBody reads the body up to INGEST_MAX_BODY_BYTES: 413 beyond, and at
// once when Content-Length announces more. Its memory is reserved from
// budget as the bytes arrive, a chunk at a time, never sized from what
// Content-Length announces alone (but for a body of one chunk or less);
// when the bodies in flight would pass the budget's ceiling, the request
// is answered 503 (unavailable, with Retry-After). Once the body is
// complete it is copied into memory of its exact size, and what it held
// beyond that goes back to the budget. held is what the body keeps of the
// budget (0 with a problem): give it back once nothing uses the body any
// more.
func readBody(r *http.Request, limit int64, budget *bodyBudget, retryAfter time.Duration) (body []byte, held int64, _ *problem) {
	tooLarge := func() *problem {
		return newProblem(http.StatusRequestEntityTooLarge, "body-too-large", "Body too large",
			fmt.Sprintf("the body is over the limit of %d bytes (INGEST_MAX_BODY_BYTES)", limit))
	}
	readFailed := func(err error) *problem { return errMalformed(fmt.Sprintf("reading the body: %v", err)) }
	if r.ContentLength > limit {
		return nil, 0, tooLarge()
	}
	if r.ContentLength == 0 {
		return []byte{}, 0, nil
	}
	// Nothing is reserved before the first byte arrives: a sender that
	// announces a body and sends nothing holds none of the budget.
	var first [1]byte
	if _, err := io.ReadFull(r.Body, first[:]); err != nil {
		if errors.Is(err, io.EOF) && r.ContentLength < 0 {
			return []byte{}, 0, nil // chunked, and empty
		}
		return nil, 0, readFailed(err)
	}
	if r.ContentLength > 0 && r.ContentLength <= bodyChunk {
		n := r.ContentLength
		if !budget.take(n) {
			return nil, 0, errBusy(budget.max, retryAfter)
		}
		body = make([]byte, n)
		body[0] = first[0]
		if _, err := io.ReadFull(r.Body, body[1:]); err != nil {
			budget.give(n)
			return nil, 0, readFailed(err)
		}
		return body, n, nil
	}

	// end is the most that is read: the announced length (the server
	// reads no further), or for a chunked body one byte over the limit,
	// to tell a body that passes it.
	end := limit + 1
	if r.ContentLength >= 0 {
		end = r.ContentLength
	}
	var read []*[bodyChunk]byte
	grow := func() bool {
		if !budget.take(bodyChunk) {
			return false
		}
		read = append(read, chunks.Get().(*[bodyChunk]byte))
		return true
	}
	// putBack returns the chunks, and their reservation but for keep bytes.
	putBack := func(keep int64) {
		for _, c := range read {
			chunks.Put(c)
		}
		budget.give(int64(len(read))*bodyChunk - keep)
	}
	if !grow() {
		return nil, 0, errBusy(budget.max, retryAfter)
	}
	read[0][0] = first[0]
	n := int64(1)
	for n < end {
		if n == int64(len(read))*bodyChunk && !grow() {
			putBack(0)
			return nil, 0, errBusy(budget.max, retryAfter)
		}
		off := n % bodyChunk
		m, err := r.Body.Read(read[len(read)-1][off:min(bodyChunk, off+end-n)])
		n += int64(m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			putBack(0)
			return nil, 0, readFailed(err)
		}
	}
	if n > limit {
		putBack(0)
		return nil, 0, tooLarge()
	}
	body = make([]byte, n)
	for i, c := range read {
		copy(body[i*bodyChunk:], c[:])
	}
	putBack(n) // the body keeps n bytes of the chunks' reservation
	return body, n, nil
}

// errBusy is the answer to a request whose body would pass
// INGEST_MAX_INFLIGHT_BYTES.
func errBusy(max int64, retryAfter time.Duration) *problem {
	p := newProblem(http.StatusServiceUnavailable, "unavailable", "Ingest is busy",
		fmt.Sprintf("the bodies of the requests in flight hold the limit of %d bytes (INGEST_MAX_INFLIGHT_BYTES); nothing of this request was queued: send again after Retry-After", max))
	p.retryAfter = retryAfter
	return p
}
