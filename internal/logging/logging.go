// Package logging builds the log/slog logger dex-spectro and Dex log through,
// from the `logger` section of Dex's configuration.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/dexidp/dex/server"
)

// Formats lists the accepted values of `logger.format`; the empty string
// means text.
func Formats() []string { return []string{"json", "text"} }

// ValidateFormat reports whether format is an accepted `logger.format`.
func ValidateFormat(format string) error {
	switch strings.ToLower(format) {
	case "", "text", "json":
		return nil
	default:
		return fmt.Errorf("log format is not one of the supported values (%s): %s",
			strings.Join(Formats(), ", "), format)
	}
}

// New returns a logger that writes records at level or above to w, as text
// or JSON. Records logged with the context of an HTTP request that Dex
// handles carry its request ID and, when configured, the client's IP.
// Attributes that carry session secrets are redacted (see Redact).
func New(w io.Writer, level slog.Level, format string) (*slog.Logger, error) {
	if err := ValidateFormat(format); err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: Redact}
	var h slog.Handler
	if strings.EqualFold(format, "json") {
		h = slog.NewJSONHandler(w, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(requestHandler{next: h}), nil
}

// requestHandler adds the request attributes Dex stores in a request's
// context to every record logged with that context.
type requestHandler struct {
	next slog.Handler
}

var _ slog.Handler = requestHandler{}

// Enabled implements slog.Handler.
func (h requestHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// Handle implements slog.Handler.
func (h requestHandler) Handle(ctx context.Context, r slog.Record) error {
	if v, ok := ctx.Value(server.RequestKeyRemoteIP).(string); ok {
		r.AddAttrs(slog.String(string(server.RequestKeyRemoteIP), v))
	}
	if v, ok := ctx.Value(server.RequestKeyRequestID).(string); ok {
		r.AddAttrs(slog.String(string(server.RequestKeyRequestID), v))
	}
	return h.next.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h requestHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestHandler{next: h.next.WithAttrs(attrs)}
}

// WithGroup implements slog.Handler.
func (h requestHandler) WithGroup(name string) slog.Handler {
	return requestHandler{next: h.next.WithGroup(name)}
}

// redactedKeys are attribute keys under which Dex logs secrets at debug
// level: the connector data of a session holds the upstream ID token (for a
// spectrocloud session) or an upstream refresh token (for other connectors).
var redactedKeys = map[string]bool{"connector_data": true}

// Redact replaces the value of attributes that carry secrets with
// "[redacted]". It is a slog.HandlerOptions.ReplaceAttr function.
func Redact(_ []string, a slog.Attr) slog.Attr {
	if redactedKeys[a.Key] {
		return slog.String(a.Key, "[redacted]")
	}
	return a
}
