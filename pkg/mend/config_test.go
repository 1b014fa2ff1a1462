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
	} {
		bad := cfg
		tt.edit(&bad)
		if _, err := mend.NewClientFromConfig(bad); err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
			t.Errorf("NewClientFromConfig = %v, want an error starting with %q", err, tt.wantErr)
		}
	}
}
