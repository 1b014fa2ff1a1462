package handlers_test

import (
	"context"
	"errors"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/handlers"
)

func commandEvent(t *testing.T, typ, data string) event.Event {
	t.Helper()
	e := event.New()
	e.SetID("c1")
	e.SetSource("/test")
	e.SetType(typ)
	if err := e.SetData(event.ApplicationJSON, []byte(data)); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestMux(t *testing.T) {
	t.Parallel()
	r := handlers.NewMux(events.NewRegistry())
	var got *events.ProductCreate
	if err := r.Handle(events.CommandProductCreate, handlers.Typed(func(_ context.Context, _ *handlers.Delivery, d *events.ProductCreate) (handlers.Result, error) {
		got = d
		return handlers.Result{Type: events.TypeProductCreated}, nil
	})); err != nil {
		t.Fatal(err)
	}
	if err := r.Handle(events.CommandProductCreate, nil); err == nil {
		t.Error("a second handler for one command was accepted")
	}
	if err := r.Handle("no.such", nil); !errors.Is(err, events.ErrUnknownCommand) {
		t.Errorf("Handle of an unregistered command = %v", err)
	}
	var seen []string
	r.Use(func(next handlers.Handler) handlers.Handler {
		return func(ctx context.Context, cmd *handlers.Delivery) (handlers.Result, error) {
			seen = append(seen, cmd.Label())
			return next(ctx, cmd)
		}
	})
	h := r.Handler()

	tests := []struct {
		name      string
		typ, data string
		wantErr   error
		wantLabel string
	}{
		{"decoded and dispatched", events.CommandType(events.CommandProductCreate), `{"productName":"p"}`, nil, events.CommandProductCreate},
		{"invalid data", events.CommandType(events.CommandProductCreate), `{}`, new(events.ValidationError), events.CommandProductCreate},
		{"registered without a handler", events.CommandType(events.CommandGroupCreate), `{"name":"g"}`, events.ErrUnknownCommand, events.CommandGroupCreate},
		{"unregistered", events.CommandType("made.up"), `{}`, events.ErrUnknownCommand, "unknown"},
	}
	for _, tt := range tests { // sequential: they share seen
		seen, got = nil, nil
		_, err := h(context.Background(), &handlers.Delivery{Event: commandEvent(t, tt.typ, tt.data), Attempt: 1})
		switch want := tt.wantErr.(type) {
		case nil:
			if err != nil || got == nil || got.ProductName != "p" {
				t.Errorf("%s: err %v, data %+v", tt.name, err, got)
			}
		case *events.ValidationError:
			if !errors.As(err, &want) {
				t.Errorf("%s: err %v, want a validation error", tt.name, err)
			}
		default:
			if !errors.Is(err, want) {
				t.Errorf("%s: err %v, want %v", tt.name, err, want)
			}
		}
		if len(seen) != 1 || seen[0] != tt.wantLabel {
			t.Errorf("%s: middleware saw %v, want [%s]", tt.name, seen, tt.wantLabel)
		}
	}
}
