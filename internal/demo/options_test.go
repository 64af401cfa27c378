package demo

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/dextest"
)

// busyPort returns a port that is in use until the test ends.
func busyPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

func TestPortInUseNamesTheFlag(t *testing.T) {
	t.Parallel()
	tests := []struct {
		flag string
		set  func(o *Options, port int)
	}{
		{FlagDexPort, func(o *Options, p int) { o.DexPort = p }},
		{FlagPalettePort, func(o *Options, p int) { o.PalettePort = p }},
		{FlagAppPort, func(o *Options, p int) { o.AppPort = p }},
	}
	for _, tt := range tests {
		t.Run(tt.flag, func(t *testing.T) {
			t.Parallel()
			port := busyPort(t)
			opts := testOptions(t)
			tt.set(&opts, port)

			_, err := New(opts)
			require.Error(t, err)
			assert.Equal(t, "port "+strconv.Itoa(port)+" is in use: choose another with --"+tt.flag, err.Error())
			var inUse *PortInUseError
			require.ErrorAs(t, err, &inUse)
			assert.Equal(t, port, inUse.Port)
			assert.Equal(t, tt.flag, inUse.Flag)

			// Run reports it the same way, and nothing stays bound.
			err = Run(context.Background(), opts, &dextest.LogBuffer{})
			require.ErrorAs(t, err, &inUse)
		})
	}
}

func TestPortInUseReleasesTheOtherPorts(t *testing.T) {
	t.Parallel()
	opts := testOptions(t)
	opts.AppPort = busyPort(t)
	// A port that was free a moment ago: the demo binds it first, and must
	// release it when the app port turns out to be in use.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	opts.DexPort = l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())

	_, err = New(opts)
	var inUse *PortInUseError
	require.ErrorAs(t, err, &inUse)
	assert.Equal(t, FlagAppPort, inUse.Flag)

	again, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(opts.DexPort)))
	require.NoError(t, err, "the Dex port stayed bound")
	require.NoError(t, again.Close())
}

func TestInvalidOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"same port twice", Options{DexPort: 6000, PalettePort: 7000, AppPort: 6000}, "--dex-port and --app-port are both 6000: give each a different port"},
		{"negative port", Options{DexPort: -1}, "--dex-port -1 is not a port"},
		{"port too large", Options{PalettePort: 70000}, "--palette-port 70000 is not a port"},
		{"token lifetime too short", Options{TokenLifetime: time.Second}, "--token-lifetime 1s is too short: use at least 2s"},
		{"negative token lifetime", Options{TokenLifetime: -time.Minute}, "--token-lifetime -1m0s is too short"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(tt.opts)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestDefaultOptions(t *testing.T) {
	t.Parallel()
	o := DefaultOptions()
	assert.Equal(t, 5555, o.AppPort)
	assert.Equal(t, 5556, o.DexPort)
	assert.Equal(t, 5557, o.PalettePort)
	assert.Equal(t, 2*time.Minute, o.TokenLifetime)
	require.NoError(t, o.validate())
}

func TestDexIDTokenLifetime(t *testing.T) {
	t.Parallel()
	for lifetime, want := range map[time.Duration]time.Duration{
		2 * time.Second:  10 * time.Second,
		30 * time.Second: 30 * time.Second,
		2 * time.Minute:  time.Minute,
		time.Hour:        time.Minute,
	} {
		assert.Equal(t, want, Options{TokenLifetime: lifetime}.dexIDTokenLifetime(), "lifetime %s", lifetime)
	}
}

func TestRunPrintsURLAndStopsOnCancel(t *testing.T) {
	t.Parallel()
	d, err := New(testOptions(t))
	require.NoError(t, err)
	urls := d.URLs()

	ctx, cancel := context.WithCancel(context.Background())
	out := &dextest.LogBuffer{}
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, out) }()
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "Press Ctrl-C") }, 10*time.Second, 10*time.Millisecond)

	banner := out.String()
	assert.Contains(t, banner, "Open "+urls.App+" in your browser.")
	assert.Contains(t, banner, urls.Issuer)
	assert.Contains(t, banner, urls.Tenant)
	assert.Contains(t, banner, "Palette ID tokens last 1m")
	assert.True(t, strings.HasPrefix(urls.App, "http://127.0.0.1:"))
	assert.True(t, strings.HasPrefix(urls.Issuer, "http://127.0.0.1:"))
	assert.Equal(t, urls.Console+"/v1/oidc/tenant/"+TenantUID, urls.Tenant)
	assert.Contains(t, string(d.Config()), "issuer: \""+urls.Issuer+"\"", "the configuration names the bound ports")

	cancel()
	dextest.RequireReturns(t, done, 15*time.Second, "Run after cancel")
	assert.Contains(t, out.String(), "dex-spectro demo stopped.")

	// Every port is free again.
	for _, u := range []string{urls.App, urls.Issuer, urls.Console} {
		addr := strings.TrimPrefix(u, "http://")
		addr, _, _ = strings.Cut(addr, "/")
		l, err := net.Listen("tcp", addr)
		require.NoError(t, err, "%s is still bound", addr)
		require.NoError(t, l.Close())
	}

	require.Error(t, d.Run(context.Background(), out), "Run runs once")
}

func TestCloseReleasesPorts(t *testing.T) {
	t.Parallel()
	d, err := New(testOptions(t))
	require.NoError(t, err)
	require.NoError(t, d.Close())
	addr := strings.TrimPrefix(d.URLs().App, "http://")
	l, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	require.NoError(t, l.Close())
	assert.Error(t, d.Run(context.Background(), &dextest.LogBuffer{}))
}

func TestAddrInUse(t *testing.T) {
	t.Parallel()
	assert.False(t, addrInUse(errors.New("permission denied")))
	assert.True(t, addrInUse(errors.New("listen tcp 127.0.0.1:5556: bind: Only one usage of each socket address (protocol/network address/port) is normally permitted.")))
}
