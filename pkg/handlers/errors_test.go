package handlers_test

import (
	"context"
	"errors"
	"testing"

	"github.com/mendflow/mendflow/pkg/handlers"
)

// TestRecover: a handler's panic becomes a *PanicError holding its value.
func TestRecover(t *testing.T) {
	t.Parallel()
	h := handlers.Recover()(func(context.Context, *handlers.Delivery) (handlers.Result, error) { panic("boom") })
	_, err := h(context.Background(), &handlers.Delivery{Attempt: 1})
	var p *handlers.PanicError
	if !errors.As(err, &p) || p.Value != "boom" {
		t.Fatalf("error %v, want a *PanicError of boom", err)
	}
}
