package mend_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/sethvargo/go-envconfig"

	"github.com/mendflow/mendflow/pkg/config"
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
	for _, bad := range []mend.Config{
		{URL: sim.URL, UserKey: "k", RetryAttempts: 0},
		{URL: sim.URL, UserKey: "k", RetryAttempts: 1, RateLimit: -1},
		{URL: "ftp://x", UserKey: "k", RetryAttempts: 1},
	} {
		if _, err := mend.NewClientFromConfig(bad); err == nil {
			t.Errorf("NewClientFromConfig(%+v) accepted a bad configuration", bad)
		}
	}
}
