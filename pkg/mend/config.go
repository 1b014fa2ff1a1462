package mend

import (
	"fmt"
	"time"
)

// Config is how a mendflow service reaches Mend, read from the environment.
// The worker and the poller embed it, so that both honour the same rate
// limit settings.
type Config struct {
	// URL is the Mend host of the v1.x API; requests go to URL/api/v1.4.
	URL string `env:"MEND_URL, required"`
	// APIURL is the host of the v2.0/v3.0 REST API; when empty,
	// DeriveAPIURL(URL): api- before the host name of Mend's SaaS hosts,
	// URL itself for any other.
	APIURL string `env:"MEND_API_URL"`
	// UserKey and UserEmail are the credentials. The e-mail serves only the
	// JWT login of the v2.0/v3.0 calls, but both services that read this
	// make such calls whatever they are asked to do (the worker for
	// policies.apply and the group commands, the poller for every process
	// status), so it is required: without it they would start and then
	// fail that work one item at a time.
	UserKey   Secret `env:"MEND_USER_KEY, required"`
	UserEmail string `env:"MEND_USER_EMAIL, required"`
	// LoginV3 selects the two-step v3.0 login instead of the v2.0 one.
	LoginV3 bool `env:"MEND_LOGIN_V3, default=false"`

	// RateLimit bounds the requests to one Mend organization per second
	// (0: no limit); RateBurst is how many may go at once after a quiet
	// spell. A service with NATS shares them among all its processes
	// (internal/budget); a client alone keeps them itself.
	RateLimit float64 `env:"MEND_RATE_LIMIT, default=20"`
	RateBurst int     `env:"MEND_RATE_BURST, default=10"`
	// Timeout bounds each attempt of a request; LongTimeout each attempt
	// of the operations that may take minutes (deletes, moving a project,
	// whole inventories, organization-wide lists).
	Timeout     time.Duration `env:"MEND_TIMEOUT, default=60s"`
	LongTimeout time.Duration `env:"MEND_LONG_TIMEOUT, default=15m"`
	// RetryAttempts and RetryMaxElapsed (0: no bound but the attempts) bound the quick retries within one
	// call; what still fails goes back to the caller's own redelivery.
	RetryAttempts   int           `env:"MEND_RETRY_ATTEMPTS, default=3"`
	RetryMaxElapsed time.Duration `env:"MEND_RETRY_MAX_ELAPSED, default=15s"`
}

// Validate reports the first value of c out of range, naming its
// variable: "MEND_TIMEOUT: must be positive, not 0s". A bad URL is not
// quoted: it may hold a password, which a parse error would repeat.
// Loading the configuration with mendflow's config loader calls it.
func (c *Config) Validate() error {
	for _, v := range []struct{ name, value string }{{"MEND_URL", c.URL}, {"MEND_API_URL", c.APIURL}} {
		if _, err := baseURL(v.value); err != nil && (v.value != "" || v.name == "MEND_URL") {
			return fmt.Errorf("%s: must be an http or https URL with a host and no credentials", v.name)
		}
	}
	switch {
	case c.RateLimit < 0:
		return fmt.Errorf("MEND_RATE_LIMIT: must not be negative, not %v", c.RateLimit)
	case c.RateBurst < 0:
		return fmt.Errorf("MEND_RATE_BURST: must not be negative, not %d", c.RateBurst)
	case c.Timeout <= 0:
		// A zero Config's timeout is not taken as the default: the
		// environment always gives one, and an operator's 0 or -1s is a
		// mistake to report, not to replace.
		return fmt.Errorf("MEND_TIMEOUT: must be positive, not %v", c.Timeout)
	case c.LongTimeout < 0:
		return fmt.Errorf("MEND_LONG_TIMEOUT: must not be negative, not %v", c.LongTimeout)
	case c.RetryAttempts < 1:
		return fmt.Errorf("MEND_RETRY_ATTEMPTS: must be at least 1, not %d", c.RetryAttempts)
	}
	return nil
}

// NewClientFromConfig returns a client configured by cfg, once
// cfg.Validate accepts it; opts come after and may override it.
func NewClientFromConfig(cfg Config, opts ...Option) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	retry := DefaultRetryPolicy()
	retry.MaxAttempts = cfg.RetryAttempts
	retry.MaxElapsed = cfg.RetryMaxElapsed
	base := []Option{WithRetry(retry), WithUserEmail(cfg.UserEmail), WithTimeout(cfg.Timeout)}
	if cfg.APIURL != "" {
		base = append(base, WithAPIURL(cfg.APIURL))
	}
	if cfg.LongTimeout > 0 {
		base = append(base, WithLongTimeout(cfg.LongTimeout))
	}
	if cfg.RateLimit > 0 {
		base = append(base, WithLimiter(NewLocalLimiter(cfg.RateLimit, max(cfg.RateBurst, 1))))
	}
	if cfg.LoginV3 {
		base = append(base, WithLoginV3())
	}
	return NewClient(cfg.URL, cfg.UserKey, append(base, opts...)...)
}
