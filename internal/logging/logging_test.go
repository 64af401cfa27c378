package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/dexidp/dex/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/logging"
)

func TestNew(t *testing.T) {
	tests := []struct {
		format string
		check  func(t *testing.T, out string)
	}{
		{"", func(t *testing.T, out string) { assert.Contains(t, out, `level=WARN msg=hello`) }},
		{"text", func(t *testing.T, out string) { assert.Contains(t, out, `msg=hello`) }},
		{"JSON", func(t *testing.T, out string) {
			var rec map[string]any
			require.NoError(t, json.Unmarshal([]byte(out), &rec))
			assert.Equal(t, "hello", rec["msg"])
		}},
	}
	for _, tc := range tests {
		t.Run(tc.format, func(t *testing.T) {
			var buf bytes.Buffer
			logger, err := logging.New(&buf, slog.LevelWarn, tc.format)
			require.NoError(t, err)
			logger.Info("dropped")
			logger.Warn("hello")
			assert.NotContains(t, buf.String(), "dropped")
			tc.check(t, buf.String())
		})
	}
}

func TestNewRejectsUnknownFormat(t *testing.T) {
	_, err := logging.New(&bytes.Buffer{}, slog.LevelInfo, "xml")
	require.EqualError(t, err, "log format is not one of the supported values (json, text): xml")
}

// Records logged with a request's context carry its request ID and client IP.
func TestRequestAttributes(t *testing.T) {
	var buf bytes.Buffer
	logger, err := logging.New(&buf, slog.LevelInfo, "json")
	require.NoError(t, err)
	ctx := server.WithRemoteIP(server.WithRequestID(context.Background()), "192.0.2.7")
	logger.With("component", "test").InfoContext(ctx, "request")

	var rec map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &rec))
	assert.Equal(t, "192.0.2.7", rec["client_remote_addr"])
	assert.NotEmpty(t, rec["request_id"])
	assert.Equal(t, "test", rec["component"])
}

func TestConnectorDataIsRedacted(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		var buf bytes.Buffer
		logger, err := logging.New(&buf, slog.LevelDebug, format)
		require.NoError(t, err)
		logger.Debug("connector data before refresh", "connector_data", []byte(`{"v":1,"idToken":"eyJhbGciOi.secret.sig"}`))
		logger.With("connector_data", "eyJsecret").Info("saved")
		assert.NotContains(t, buf.String(), "eyJ", format)
		assert.Contains(t, buf.String(), "[redacted]", format)
	}
}
