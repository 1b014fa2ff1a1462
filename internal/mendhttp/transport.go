package mendhttp

import "net/http"

// NewTransport is http.DefaultTransport's settings, keeping up to
// concurrency idle connections to each host: every call running at once
// may hold a connection to the one Mend host, and the default of two idle
// ones would have the rest opened and closed each time.
func NewTransport(concurrency int) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = max(concurrency, t.MaxIdleConnsPerHost, http.DefaultMaxIdleConnsPerHost)
	t.MaxIdleConns = max(t.MaxIdleConns, t.MaxIdleConnsPerHost)
	return t
}
