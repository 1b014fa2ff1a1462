package bus

import (
	"context"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Laters remembers, in a key-value bucket, how many deliveries of each
// stored message did not count: asked for later (a *LaterError) or handed
// back by a runner stopping. JetStream counts every delivery; with Laters,
// a Runner's Attempts.Max bounds the others only, so that a command that
// waited (for Mend to answer again, for its target to appear) has all its
// attempts left.
type Laters struct{ kv jetstream.KeyValue }

// NewLaters returns the Laters kept in kv, keyed by stream sequence.
func NewLaters(kv jetstream.KeyValue) *Laters { return &Laters{kv: kv} }

// latersTimeout bounds each operation on the bucket; one that fails
// leaves the delivery counted, which errs toward fewer attempts.
const latersTimeout = 2 * time.Second

// count is how many earlier deliveries of the message seq did not count.
func (l *Laters) count(ctx context.Context, seq uint64) int {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), latersTimeout)
	defer cancel()
	e, err := l.kv.Get(ctx, strconv.FormatUint(seq, 10))
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(string(e.Value()))
	return n
}

// set notes that n deliveries of the message seq did not count; 0
// forgets it.
func (l *Laters) set(ctx context.Context, seq uint64, n int) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), latersTimeout)
	defer cancel()
	key := strconv.FormatUint(seq, 10)
	if n == 0 {
		_ = l.kv.Purge(ctx, key)
		return
	}
	_, _ = l.kv.Put(ctx, key, []byte(strconv.Itoa(n)))
}

// uncounted is how many earlier deliveries of d did not count; 0
// without Laters.
func (l *Laters) uncounted(ctx context.Context, d *Delivery) int {
	if l == nil || d.Attempt < 2 {
		return 0
	}
	return l.count(ctx, d.Seq)
}

// ended notes how d ended, after uncounted earlier ones: one more that
// does not count, or none to remember once it is answered for good.
func (l *Laters) ended(ctx context.Context, d *Delivery, uncounted int, end Ending) {
	switch {
	case l == nil:
	case end.Later || end.Outcome == OutcomeHandedBack:
		l.set(ctx, d.Seq, uncounted+1)
	case uncounted > 0 && end.Outcome != OutcomeRetry:
		l.set(ctx, d.Seq, 0)
	}
}
