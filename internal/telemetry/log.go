package telemetry

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/sethvargo/go-envconfig"
	"go.opentelemetry.io/otel/trace"

	"github.com/mendflow/mendflow/internal/config"
)

// LogConfig is how a program logs, from the environment.
type LogConfig struct {
	// Level is the least severe level logged: debug, info, warn or error.
	Level string `env:"LOG_LEVEL, default=info"`
	// Format is json (one object per line) or text (key=value).
	Format string `env:"LOG_FORMAT, default=json"`
}

// Validate implements config.Validator.
func (c *LogConfig) Validate() error {
	if _, err := c.level(); err != nil {
		return err
	}
	if c.Format != "json" && c.Format != "text" {
		return fmt.Errorf("LOG_FORMAT: must be json or text, not %q", c.Format)
	}
	return nil
}

func (c *LogConfig) level() (slog.Level, error) {
	switch c.Level {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("LOG_LEVEL: must be debug, info, warn or error, not %q", c.Level)
}

// NewLogger returns the logger LOG_LEVEL and LOG_FORMAT ask for, writing
// to w. Every line logged with a context that holds a span carries its
// trace_id and span_id, so that the logs of one event can be found by the
// trace id its events carry in traceparent.
func NewLogger(ctx context.Context, env envconfig.Lookuper, w io.Writer) (*slog.Logger, error) {
	var cfg LogConfig
	if err := config.Load(ctx, env, &cfg); err != nil {
		return nil, err
	}
	level, _ := cfg.level()
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewJSONHandler(w, opts)
	if cfg.Format == "text" {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(TraceHandler{h}), nil
}

// TraceHandler adds the trace_id and span_id of the span in a record's
// context to the record.
type TraceHandler struct {
	slog.Handler
}

// Handle implements slog.Handler.
func (h TraceHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r = r.Clone()
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h TraceHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return TraceHandler{h.Handler.WithAttrs(attrs)}
}

// WithGroup implements slog.Handler.
func (h TraceHandler) WithGroup(name string) slog.Handler {
	return TraceHandler{h.Handler.WithGroup(name)}
}
