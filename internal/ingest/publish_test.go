package ingest

import (
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mendflow/mendflow/internal/bus"
)

func TestFailureReason(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want string
	}{
		{&bus.PublishError{What: "mendflow.cmd.x", Err: jetstream.ErrNoStreamResponse}, "no_responders"},
		{&bus.PublishError{What: "mendflow.cmd.x", Err: nats.ErrTimeout}, "timeout"},
		{&bus.PublishError{What: "mendflow.cmd.x", Err: fmt.Errorf("headers: %w", bus.ErrTooLarge)}, "too_large"},
		{&bus.PublishError{What: "mendflow.cmd.x", Err: &jetstream.APIError{Code: 400, ErrorCode: 10077, Description: "sealed"}}, "refused"},
	}
	for _, tt := range tests {
		if got := failureReason(tt.err); got != tt.want {
			t.Errorf("failureReason(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
