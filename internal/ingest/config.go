package ingest

import (
	"fmt"
	"strconv"
	"time"

	"github.com/mendflow/mendflow/internal/bus"
)

// Config is the configuration of ingest, from the environment. The README
// ("Ingest", "Environment") lists every variable with its default.
type Config struct {
	// NATSURL lists the NATS servers, comma-separated.
	NATSURL string `env:"NATS_URL, default=nats://127.0.0.1:4222"`
	// Addr is where the HTTP server listens.
	Addr string `env:"INGEST_ADDR, default=:8080"`
	// AuthToken, when set, is the bearer token POST /events requires.
	AuthToken string `env:"INGEST_AUTH_TOKEN"`
	// GitHubSecret is the webhook's HMAC secret; empty disables the endpoint.
	GitHubSecret string `env:"GITHUB_WEBHOOK_SECRET"`
	// GitLabToken is the webhook's secret token; empty disables the endpoint.
	GitLabToken string `env:"GITLAB_WEBHOOK_TOKEN"`
	// RulesFile replaces or extends the built-in rules.
	RulesFile string `env:"RULES_FILE"`
	// MendOrgToken is required of every service by the contract. Ingest does
	// not copy it into commands: the worker applies it when a command names
	// no organization, so the key never sits in the stream.
	MendOrgToken string `env:"MEND_ORG_TOKEN, required"`

	// MaxBodyBytes limits request bodies (413 beyond).
	MaxBodyBytes int64 `env:"INGEST_MAX_BODY_BYTES, default=1048576"`
	// MaxInflightBytes limits the memory the bodies of all requests in
	// flight hold together (503 beyond).
	MaxInflightBytes int64 `env:"INGEST_MAX_INFLIGHT_BYTES, default=67108864"`
	// MaxConns limits the connections served at once; 0: no limit.
	MaxConns int `env:"INGEST_MAX_CONNS, default=1024"`
	// PublishTimeout bounds the wait for JetStream's acknowledgements.
	PublishTimeout time.Duration `env:"INGEST_PUBLISH_TIMEOUT, default=5s"`
	// RetryAfter is what a 503 tells the sender to wait.
	RetryAfter time.Duration `env:"INGEST_RETRY_AFTER, default=5s"`
	// ShutdownTimeout bounds the wait for in-flight requests on SIGTERM.
	ShutdownTimeout time.Duration `env:"INGEST_SHUTDOWN_TIMEOUT, default=25s"`
	// WebhookOrigins are the origins the abuse-protection handshake allows;
	// empty allows any.
	WebhookOrigins []string `env:"INGEST_WEBHOOK_ORIGINS"`
	// WebhookRate is the WebHook-Allowed-Rate answered: requests per minute,
	// or * for no limit.
	WebhookRate string `env:"INGEST_WEBHOOK_RATE, default=*"`

	Streams bus.StreamConfig
}

// Validate implements config.Validator.
func (c *Config) Validate() error {
	switch {
	case c.NATSURL == "":
		return fmt.Errorf("NATS_URL: must not be empty")
	case c.MaxBodyBytes < 1:
		return fmt.Errorf("INGEST_MAX_BODY_BYTES: must be positive, not %d", c.MaxBodyBytes)
	case c.MaxInflightBytes < c.MaxBodyBytes:
		return fmt.Errorf("INGEST_MAX_INFLIGHT_BYTES: must be at least INGEST_MAX_BODY_BYTES (%d), not %d", c.MaxBodyBytes, c.MaxInflightBytes)
	case c.MaxConns < 0:
		return fmt.Errorf("INGEST_MAX_CONNS: must be 0 (no limit) or positive, not %d", c.MaxConns)
	case c.PublishTimeout <= 0:
		return fmt.Errorf("INGEST_PUBLISH_TIMEOUT: must be positive, not %v", c.PublishTimeout)
	case c.RetryAfter < time.Second:
		return fmt.Errorf("INGEST_RETRY_AFTER: must be at least 1s, not %v", c.RetryAfter)
	case c.ShutdownTimeout <= 0:
		return fmt.Errorf("INGEST_SHUTDOWN_TIMEOUT: must be positive, not %v", c.ShutdownTimeout)
	}
	if c.WebhookRate != "*" {
		if n, err := strconv.Atoi(c.WebhookRate); err != nil || n < 1 {
			return fmt.Errorf("INGEST_WEBHOOK_RATE: must be * or a positive number of requests per minute, not %q", c.WebhookRate)
		}
	}
	return nil
}
