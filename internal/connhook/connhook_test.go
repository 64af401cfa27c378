package connhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/dexidp/dex/connector"
	"github.com/dexidp/dex/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testConfig is a connector configuration whose Open returns a connector
// that remembers its ID.
type testConfig struct {
	Name string `json:"name"`
}

type testConnector struct{ id, name string }

func (c *testConfig) Open(id string, logger *slog.Logger) (connector.Connector, error) {
	logger.Info("opened", "id", id)
	if c.Name == "broken" {
		return nil, errors.New("broken")
	}
	return &testConnector{id: id, name: c.Name}, nil
}

func TestHubFollowsWhatDexOpens(t *testing.T) {
	factory := Track(func() server.ConnectorConfig { return &testConfig{} })
	var logs bytes.Buffer
	hub := NewHub(nil)
	logger := hub.Logger(slog.New(slog.NewTextHandler(&logs, nil)))

	open := func(id, raw string, l *slog.Logger) (connector.Connector, error) {
		cfg := factory()
		require.NoError(t, json.Unmarshal([]byte(raw), cfg))
		return cfg.Open(id, l)
	}
	c, err := open("a", `{"name":"first"}`, logger)
	require.NoError(t, err)
	got, ok := hub.Get("a")
	require.True(t, ok)
	assert.Same(t, c, got)
	assert.Equal(t, "first", got.(*testConnector).name)
	assert.Contains(t, logs.String(), "opened", "the logger logs as the one it wraps")

	// Opened again (its configuration changed): the new one replaces it.
	c2, err := open("a", `{"name":"second"}`, logger)
	require.NoError(t, err)
	got, _ = hub.Get("a")
	assert.Same(t, c2, got)

	// A logger derived from it still carries the hub.
	_, err = open("b", `{"name":"x"}`, logger.With("k", "v").WithGroup("g"))
	require.NoError(t, err)
	_, ok = hub.Get("b")
	assert.True(t, ok)

	// A failed Open leaves the hub as it was; another server's logger fills
	// another hub.
	_, err = open("c", `{"name":"broken"}`, logger)
	require.Error(t, err)
	_, ok = hub.Get("c")
	assert.False(t, ok)
	other := NewHub(nil)
	_, err = open("d", `{}`, other.Logger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	_, ok = hub.Get("d")
	assert.False(t, ok)
	_, ok = other.Get("d")
	assert.True(t, ok)

	// Without a hub, Open works as the factory's own.
	_, err = open("e", `{}`, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
}

func TestTrackedConfigEncodesAsItsOwn(t *testing.T) {
	cfg := Track(func() server.ConnectorConfig { return &testConfig{} })()
	require.NoError(t, json.Unmarshal([]byte(`{"name":"n"}`), cfg))
	inner, ok := Unwrap(cfg).(*testConfig)
	require.True(t, ok)
	assert.Equal(t, "n", inner.Name)
	out, err := json.Marshal(cfg)
	require.NoError(t, err)
	assert.JSONEq(t, `{"name":"n"}`, string(out))
	plain := &testConfig{}
	assert.Same(t, plain, Unwrap(plain))
}

func TestRecorder(t *testing.T) {
	// Without a recorder, recording does nothing.
	RecordSignInEnd(context.Background(), time.Now())
	RecordFailure(context.Background(), errors.New("x"), true)

	ctx, rec := WithRecorder(context.Background())
	_, ok := rec.SignInEnd()
	assert.False(t, ok)
	late, early := time.Unix(2000, 0), time.Unix(1000, 0)
	RecordSignInEnd(ctx, late)
	RecordSignInEnd(ctx, early)
	RecordSignInEnd(ctx, late)
	end, ok := rec.SignInEnd()
	assert.True(t, ok)
	assert.Equal(t, early, end, "the earliest end is kept")

	err, final := rec.Failure()
	assert.NoError(t, err)
	assert.False(t, final)
	RecordFailure(ctx, errors.New("palette down"), false)
	RecordFailure(ctx, errors.New("expired"), true)
	err, final = rec.Failure()
	assert.EqualError(t, err, "expired")
	assert.True(t, final)
}

// A connector reads the clock of the server that opens it through the
// logger it is given; without a server's clock, the system's.
func TestClock(t *testing.T) {
	at := time.Unix(1000, 0)
	logger := NewHub(func() time.Time { return at }).Logger(slog.New(slog.DiscardHandler))
	assert.Equal(t, at, Clock(logger)())
	assert.Equal(t, at, Clock(logger.With("k", "v"))(), "a derived logger carries the clock too")
	for name, l := range map[string]*slog.Logger{
		"a hub without a clock": NewHub(nil).Logger(slog.New(slog.DiscardHandler)),
		"no hub":                slog.New(slog.DiscardHandler),
		"no logger":             nil,
	} {
		assert.WithinDuration(t, time.Now(), Clock(l)(), time.Minute, name)
	}
}
