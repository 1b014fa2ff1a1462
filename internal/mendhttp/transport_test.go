package mendhttp

import (
	"net/http"
	"testing"
)

func TestNewTransport(t *testing.T) {
	t.Parallel()
	tr := NewTransport(16)
	if tr.MaxIdleConnsPerHost != 16 || tr.MaxIdleConns < 16 {
		t.Errorf("idle connections per host %d, in all %d; want 16 and at least 16", tr.MaxIdleConnsPerHost, tr.MaxIdleConns)
	}
	if tr == http.DefaultTransport || tr.Proxy == nil || tr.TLSHandshakeTimeout == 0 {
		t.Error("not a clone of http.DefaultTransport")
	}
	if got := NewTransport(0).MaxIdleConnsPerHost; got != http.DefaultMaxIdleConnsPerHost {
		t.Errorf("NewTransport(0) keeps %d idle connections per host, want the default %d", got, http.DefaultMaxIdleConnsPerHost)
	}
}
