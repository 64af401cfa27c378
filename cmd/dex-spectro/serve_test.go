package main

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/dextest"
	"github.com/dex-spectro/dex-spectro/internal/dextest/harness"
)

// serve runs until SIGTERM, then shuts down and exits 0.
func TestServeStopsOnSIGTERM(t *testing.T) {
	addr := harness.FreeAddr(t)
	path := dextest.DexConfig{
		Issuer: "http://" + addr + "/dex", HTTP: "127.0.0.1:1",
		Storage:    map[string]any{"type": "sqlite3", "config": map[string]any{"file": t.TempDir() + "/dex.db"}},
		Connectors: []dextest.ConnectorFunc{dextest.MockCallback("mock", "Mock")},
	}.WriteFile(t)
	cmd := exec.Command(os.Args[0], "serve", "--web-http-addr", addr, path)
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + addr + "/dex/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 20*time.Millisecond, "the flag's address is used; stderr:\n%s", &stderr)

	stopWithSIGTERM(t, cmd, &stderr, "serve")
	assert.Contains(t, stderr.String(), "shutdown complete")
}

// serve --strict refuses to start on a key Dex would ignore; without it the
// key is logged as a warning.
func TestServeStrict(t *testing.T) {
	path := writeConfig(t, `
issuer: http://127.0.0.1:5556/dex
web:
  http: 127.0.0.1:5556
storage:
  type: memory
  confg: {}
connectors:
- type: mockCallback
  id: mock
  name: Mock
`)
	_, stderr, status := runBinary(t, "serve", "--strict", path)
	assert.Equal(t, 1, status)
	assert.Contains(t, stderr, `line 6: unknown key "storage.confg" (did you mean "config"?)`)
	assert.Contains(t, stderr, "strict mode")
}

// serve reports an invalid file with every problem and exits non-zero.
func TestServeInvalidConfig(t *testing.T) {
	path := writeConfig(t, "storage: {type: memory}\n")
	_, stderr, status := runBinary(t, "serve", path)
	assert.Equal(t, 1, status)
	assert.Contains(t, stderr, "no issuer specified in config file")
	assert.Contains(t, stderr, "must supply a HTTP/HTTPS address to listen on")
}

func TestVersion(t *testing.T) {
	stdout, _, err := run(t, "version")
	require.NoError(t, err)
	assert.Contains(t, stdout, "dex-spectro Version: ")
	assert.Contains(t, stdout, "Dex Version: v2.45.1")
	assert.Contains(t, stdout, "Go Version: go")
}

// Without a command, help is printed and the exit status is 2, as Dex's.
func TestNoCommand(t *testing.T) {
	stdout, _, status := runBinary(t)
	assert.Equal(t, 2, status)
	assert.True(t, strings.Contains(stdout, "serve") && strings.Contains(stdout, "check"), stdout)
}

// Command lines written for Dex's image, such as the official Helm chart's
// "dex serve ...", work unchanged.
func TestDexCompatibleCommandLine(t *testing.T) {
	stdout, _, err := run(t, "dex", "version")
	require.NoError(t, err)
	assert.Contains(t, stdout, "Dex Version: v2.45.1")

	path := writeConfig(t, "storage: {type: memory}\n")
	_, _, err = run(t, "dex", "serve", "--web-http-addr", "0.0.0.0:5556", "--telemetry-addr", "0.0.0.0:5558", path)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no issuer specified", "the flags and the file reach serve")
}
