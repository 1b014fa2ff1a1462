package handlers

import (
	"context"
	"fmt"
	"time"

	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/mend"
)

// Config is what the handlers need besides a Mend client.
type Config struct {
	// DefaultOrg is the organization of commands that name none
	// (MEND_ORG_TOKEN).
	DefaultOrg string
	// CacheTTL is how long a list of names and tokens is trusted.
	CacheTTL time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Set is the handlers of all commands. They share a Mend client and a
// cache of names and tokens.
type Set struct {
	cfg      Config
	products productService

	productNames *nameCache // organization token → product names
}

// productService is what the handlers need of mend.ProductsService.
type productService interface {
	List(ctx context.Context, req *mend.GetAllProductsRequest) (*mend.GetAllProductsResponse, *mend.Response, error)
	Create(ctx context.Context, req *mend.CreateProductRequest) (*mend.CreateProductResponse, *mend.Response, error)
	Delete(ctx context.Context, req *mend.DeleteProductRequest) (*mend.MessageResponse, *mend.Response, error)
}

// NewSet returns the handlers acting through client.
func NewSet(client *mend.Client, cfg Config) *Set {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Set{
		cfg:          cfg,
		products:     client.Products,
		productNames: newNameCache(cfg.CacheTTL, cfg.Now),
	}
}

// Register sets the handler of every command on r.
func (s *Set) Register(r *Router) error {
	for name, h := range map[string]Handler{
		events.CommandProductCreate: Typed(s.productCreate),
		events.CommandProductDelete: Typed(s.productDelete),
		events.CommandRequestTrack:  Typed(s.requestTrack),
	} {
		if err := r.Handle(name, h); err != nil {
			return err
		}
	}
	return nil
}

// org is the organization a command acts on.
func (s *Set) org(token string) string {
	if token != "" {
		return token
	}
	return s.cfg.DefaultOrg
}

// requestTrack hands a plugin request to the poller; there is nothing to
// ask Mend now.
func (s *Set) requestTrack(_ context.Context, _ *Command, d *events.RequestTrack) (Result, error) {
	return Result{Track: &events.Track{
		Kind:         events.TrackRequest,
		OrgToken:     s.org(d.OrgToken),
		RequestToken: d.RequestToken,
		Started:      s.cfg.Now(),
	}}, nil
}

// describe names a product by its token or name for messages.
func describeProduct(ref events.ProductRef) string {
	if ref.ProductToken != "" {
		return fmt.Sprintf("product %s", ref.ProductToken)
	}
	return fmt.Sprintf("product %q", ref.ProductName)
}
