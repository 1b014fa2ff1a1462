package mend_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/mendflow/mendflow/internal/config"
	"github.com/mendflow/mendflow/pkg/mend"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

func TestNewClientFromConfig(t *testing.T) {
	t.Parallel()
	sim := mendsim.NewServer(mendsim.Config{})
	t.Cleanup(sim.Close)
	var cfg mend.Config
	err := config.Load(context.Background(), envconfig.MapLookuper(map[string]string{
		"MEND_URL":        sim.URL,
		"MEND_USER_KEY":   mendsim.DefaultUserKey,
		"MEND_USER_EMAIL": mendsim.DefaultUserEmail,
	}), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	if s := fmt.Sprintf("%+v", cfg); containsAny(s, mendsim.DefaultUserKey) {
		t.Errorf("the user key shows in %s", s)
	}
	c, err := mend.NewClientFromConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Products.List(context.Background(), &mend.GetAllProductsRequest{OrgToken: orgToken}); err != nil {
		t.Fatalf("List through a client from the environment: %v", err)
	}
	// Each bad value is refused by its variable, a timeout of 0 too: it is
	// not taken for the default.
	for _, tt := range []struct {
		edit    func(*mend.Config)
		wantErr string
	}{
		{func(c *mend.Config) { c.RetryAttempts = 0 }, "MEND_RETRY_ATTEMPTS: "},
		{func(c *mend.Config) { c.RateLimit = -1 }, "MEND_RATE_LIMIT: "},
		{func(c *mend.Config) { c.RateBurst = -1 }, "MEND_RATE_BURST: "},
		{func(c *mend.Config) { c.URL = "ftp://x" }, "MEND_URL: "},
		{func(c *mend.Config) { c.Timeout = 0 }, "MEND_TIMEOUT: "},
		{func(c *mend.Config) { c.Timeout = -time.Second }, "MEND_TIMEOUT: "},
		{func(c *mend.Config) { c.LongTimeout = -time.Second }, "MEND_LONG_TIMEOUT: "},
	} {
		bad := cfg
		tt.edit(&bad)
		if _, err := mend.NewClientFromConfig(bad); err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
			t.Errorf("NewClientFromConfig = %v, want an error starting with %q", err, tt.wantErr)
		}
	}
}

// TestAPIURL: MEND_API_URL follows Mend's convention when unset, as the
// contract has it: api- before the host name of Mend's SaaS hosts, the
// Mend URL itself for any other host; set, it wins.
func TestAPIURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ mendURL, apiURL, want string }{
		{"https://saas.mend.io", "", "https://api-saas.mend.io"},
		{"https://saas-eu.mend.io/", "", "https://api-saas-eu.mend.io"},
		{"https://app.whitesourcesoftware.com", "", "https://api-app.whitesourcesoftware.com"},
		{"https://app-eu.whitesourcesoftware.com:443", "", "https://api-app-eu.whitesourcesoftware.com:443"},
		{"https://api-saas.mend.io", "", "https://api-saas.mend.io"},
		{"https://mend.example.com", "", "https://mend.example.com"},
		{"http://127.0.0.1:9090", "", "http://127.0.0.1:9090"},
		{"https://saas.mend.io", "https://mend-api.internal", "https://mend-api.internal"},
	}
	for _, tt := range tests {
		c, err := mend.NewClientFromConfig(mend.Config{URL: tt.mendURL, APIURL: tt.apiURL, UserKey: "k", RetryAttempts: 1, Timeout: time.Minute})
		if err != nil {
			t.Fatalf("%s: %v", tt.mendURL, err)
		}
		if got := c.APIURL(); got != tt.want {
			t.Errorf("MEND_URL=%s MEND_API_URL=%q: API URL %s, want %s", tt.mendURL, tt.apiURL, got, tt.want)
		}
		if got := c.URL(); got != strings.TrimSuffix(tt.mendURL, "/") {
			t.Errorf("MEND_URL=%s: URL %s", tt.mendURL, got)
		}
	}
}
