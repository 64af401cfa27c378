package main

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/dextest"
)

// runDemoCommand runs the demo command with args until ctx ends.
func runDemoCommand(ctx context.Context, stdout, stderr *dextest.LogBuffer, args ...string) error {
	cmd := newDemoCommand()
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	cmd.SetArgs(args)
	cmd.SilenceErrors = true
	return cmd.ExecuteContext(ctx)
}

func TestDemoFlags(t *testing.T) {
	flags := newDemoCommand().Flags()
	for name, want := range map[string]string{
		"app-port":       "5555",
		"dex-port":       "5556",
		"palette-port":   "5557",
		"token-lifetime": "2m0s",
		"log-level":      "WARN",
		"print-config":   "false",
	} {
		f := flags.Lookup(name)
		require.NotNil(t, f, "--%s", name)
		assert.Equal(t, want, f.DefValue, "--%s", name)
	}
}

func TestDemoPrintConfig(t *testing.T) {
	var stdout, stderr dextest.LogBuffer
	err := runDemoCommand(context.Background(), &stdout, &stderr, "--print-config", "--dex-port", "6001", "--token-lifetime", "30s")
	require.NoError(t, err)
	out := stdout.String()
	assert.Contains(t, out, `issuer: "http://127.0.0.1:6001/dex"`)
	assert.Contains(t, out, "type: spectrocloud")
	assert.Contains(t, out, `idTokens: "30s"`)
}

func TestDemoPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)

	for _, flag := range []string{"dex-port", "palette-port", "app-port"} {
		args := []string{"--dex-port", "0", "--palette-port", "0", "--app-port", "0", "--" + flag, port}
		var stdout, stderr dextest.LogBuffer
		err := runDemoCommand(context.Background(), &stdout, &stderr, args...)
		require.Error(t, err, flag)
		assert.Equal(t, "port "+port+" is in use: choose another with --"+flag, err.Error())
		assert.Empty(t, stdout.String())
	}
}

func TestDemoInvalidFlags(t *testing.T) {
	var stdout, stderr dextest.LogBuffer
	err := runDemoCommand(context.Background(), &stdout, &stderr, "--token-lifetime", "1s", "--dex-port", "0", "--palette-port", "0", "--app-port", "0")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--token-lifetime 1s is too short")
}

func TestDemoRunsUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr dextest.LogBuffer
	done := make(chan error, 1)
	go func() {
		done <- runDemoCommand(ctx, &stdout, &stderr, "--dex-port", "0", "--palette-port", "0", "--app-port", "0")
	}()
	require.Eventually(t, func() bool { return strings.Contains(stdout.String(), "Press Ctrl-C") }, 20*time.Second, 20*time.Millisecond)
	assert.Contains(t, stdout.String(), "Open http://127.0.0.1:")
	assert.Empty(t, stderr.String(), "nothing is logged at the default level when all is well")

	cancel()
	dextest.RequireReturns(t, done, 15*time.Second, "the demo")
	assert.Contains(t, stdout.String(), "dex-spectro demo stopped.")
}
