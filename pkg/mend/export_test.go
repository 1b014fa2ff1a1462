package mend

import "time"

// WithClock makes the client time its JWTs' renewal by now: a test moves
// the clock on rather than wait for a JWT to age.
func WithClock(now func() time.Time) Option {
	return func(c *Client) error {
		c.auth.now = now
		return nil
	}
}
