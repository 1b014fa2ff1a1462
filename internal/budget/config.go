package budget

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Config is the shared budget's environment, beside MEND_RATE_LIMIT and
// MEND_RATE_BURST (mend.Config), which it shares among the processes.
type Config struct {
	// MaxInFlight caps the calls under way to one organization at once,
	// by all processes together (0: no cap).
	MaxInFlight int `env:"MEND_MAX_IN_FLIGHT, default=0"`
	// Overrides gives some organizations a rate and burst of their own:
	// token=rate:burst, separated by commas.
	Overrides string `env:"MEND_RATE_OVERRIDES"`
	// Processes is how many workers and pollers share the budget: while
	// NATS cannot be reached, each process keeps to its share, the rate,
	// burst and cap on calls in flight divided by it.
	Processes int `env:"MEND_BUDGET_PROCESSES, default=4"`
	// MaxWait is how long a call waits for an organization that is paused
	// (Retry-After) or whose circuit is open; past it, the call fails with
	// mend.UnavailableError and the command comes back later, its
	// attempts unspent.
	MaxWait time.Duration `env:"MEND_BUDGET_MAX_WAIT, default=30s"`
	// CircuitFailures is the run of 5xx answers or calls without answer
	// that opens an organization's circuit; CircuitOpen how long it stays
	// open before one probe call may try it.
	CircuitFailures int           `env:"MEND_CIRCUIT_FAILURES, default=5"`
	CircuitOpen     time.Duration `env:"MEND_CIRCUIT_OPEN, default=30s"`
}

// Validate reports the first value out of range, naming its variable. An
// override is named by its position, never by its token.
func (c *Config) Validate() error {
	switch {
	case c.MaxInFlight < 0:
		return fmt.Errorf("MEND_MAX_IN_FLIGHT: must not be negative, not %d", c.MaxInFlight)
	case c.Processes < 1:
		return fmt.Errorf("MEND_BUDGET_PROCESSES: must be at least 1, not %d", c.Processes)
	case c.CircuitFailures < 1:
		return fmt.Errorf("MEND_CIRCUIT_FAILURES: must be at least 1, not %d", c.CircuitFailures)
	case c.CircuitOpen <= 0:
		return fmt.Errorf("MEND_CIRCUIT_OPEN: must be positive, not %v", c.CircuitOpen)
	}
	_, err := parseOverrides(c.Overrides)
	return err
}

// limit is a rate per second and a burst.
type limit struct {
	rate  float64
	burst int
}

// parseOverrides reads MEND_RATE_OVERRIDES into limits by organization
// label.
func parseOverrides(s string) (map[string]limit, error) {
	out := make(map[string]limit)
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for i, entry := range strings.Split(s, ",") {
		bad := fmt.Errorf("MEND_RATE_OVERRIDES: entry %d must be token=rate:burst with rate and burst not negative", i+1)
		token, rb, ok := strings.Cut(strings.TrimSpace(entry), "=")
		if !ok || token == "" {
			return nil, bad
		}
		r, b, ok := strings.Cut(rb, ":")
		if !ok {
			return nil, bad
		}
		rate, err1 := strconv.ParseFloat(r, 64)
		burst, err2 := strconv.Atoi(b)
		if err1 != nil || err2 != nil || rate < 0 || burst < 0 {
			return nil, bad
		}
		out[Label(token)] = limit{rate: rate, burst: burst}
	}
	return out, nil
}
