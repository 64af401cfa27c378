package demo

import (
	"context"
	"log/slog"
	"sync/atomic"
)

// startupNoise is an error Dex logs while it starts on an empty storage,
// before it has created its first signing key; it is harmless, and would
// otherwise be the first thing a newcomer reads.
const startupNoise = "failed to get signing algorithm"

// quietStartup drops startupNoise until started is set; every other record
// passes through.
type quietStartup struct {
	next    slog.Handler
	started *atomic.Bool
}

var _ slog.Handler = quietStartup{}

// newQuietStartup wraps logger; set the returned flag once Dex has started.
func newQuietStartup(logger *slog.Logger) (*slog.Logger, *atomic.Bool) {
	started := new(atomic.Bool)
	return slog.New(quietStartup{next: logger.Handler(), started: started}), started
}

// Enabled implements slog.Handler.
func (h quietStartup) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// Handle implements slog.Handler.
func (h quietStartup) Handle(ctx context.Context, r slog.Record) error {
	if !h.started.Load() && r.Message == startupNoise {
		return nil
	}
	return h.next.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h quietStartup) WithAttrs(attrs []slog.Attr) slog.Handler {
	return quietStartup{next: h.next.WithAttrs(attrs), started: h.started}
}

// WithGroup implements slog.Handler.
func (h quietStartup) WithGroup(name string) slog.Handler {
	return quietStartup{next: h.next.WithGroup(name), started: h.started}
}
