package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/dextest/harness"
)

// `dex serve`, the command line of Dex's image and of the official Helm
// chart, renders a templated config file before serving, as the entrypoint
// of Dex's image does, and removes the rendered copy once it is loaded.
func TestDexServeRendersTemplate(t *testing.T) {
	addr, telemetry := harness.FreeAddr(t), harness.FreeAddr(t)
	tmp := t.TempDir()
	path := writeConfig(t, `
issuer: {{ getenv "TEST_DEX_ISSUER" | required "TEST_DEX_ISSUER is needed" }}
storage:
  type: sqlite3
  config:
    file: {{ .Env.TEST_DEX_DATA }}/dex.db
web:
  http: {{ getenv "TEST_DEX_UNSET_HTTP" "127.0.0.1:1" }}
logger:
  level: {{ getenv "TEST_DEX_LOG_LEVEL" "info" | toLower }}
connectors:
- type: mockCallback
  id: mock
  name: Mock
`)
	cmd := exec.Command(os.Args[0], "dex", "serve", "--web-http-addr", addr, "--telemetry-addr", telemetry, path)
	cmd.Env = append(os.Environ(), runMainEnv+"=1", "TMPDIR="+tmp,
		"TEST_DEX_ISSUER=http://"+addr+"/dex", "TEST_DEX_DATA="+t.TempDir(), "TEST_DEX_LOG_LEVEL=DEBUG")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	require.Eventually(t, func() bool {
		return get(t, "http://"+telemetry+"/healthz/ready") == http.StatusOK
	}, 30*time.Second, 20*time.Millisecond, "stderr:\n%s", &stderr)
	assert.Equal(t, http.StatusOK, get(t, "http://"+addr+"/dex/.well-known/openid-configuration"),
		"the rendered issuer is served")
	entries, err := os.ReadDir(tmp)
	require.NoError(t, err)
	assert.Empty(t, entries, "the rendered file is removed once loaded")

	stopWithSIGTERM(t, cmd, &stderr, "dex serve")
}

// A template that cannot be rendered stops `dex serve` with an error that
// names the file, the line and the function; nothing is served from
// template text, no secret is shown, and nothing is left on disk.
func TestDexServeTemplateErrors(t *testing.T) {
	const secret = "do not show this secret!"
	t.Setenv("TEST_DEX_SECRET", secret)
	configs, tmp := t.TempDir(), t.TempDir()
	t.Setenv("TMPDIR", tmp)
	tests := []struct {
		name, config string
		want         []string
	}{
		{
			name:   "unknown function",
			config: "issuer: http://127.0.0.1:5556/dex\nstorage: {type: memory}\nweb:\n  http: {{ getenv_or \"X\" }}\n",
			want:   []string{"config.yaml:4:", `function "getenv_or" not defined`},
		},
		{
			name:   "required fails",
			config: "issuer: {{ getenv \"TEST_DEX_NOT_SET\" | required \"set TEST_DEX_NOT_SET to the issuer URL\" }}\n",
			want:   []string{"config.yaml:1:", "required", "set TEST_DEX_NOT_SET to the issuer URL"},
		},
		{
			name:   "secret that is not a number",
			config: "x: {{ getenv \"TEST_DEX_SECRET\" | conv.ToInt }}\n",
			want:   []string{"config.yaml:1:", "conv.ToInt", "not a number"},
		},
		{
			name:   "invalid rendered config names the template",
			config: "storage: {type: {{ \"memory\" }}}\n",
			want:   []string{"config.yaml (rendered):", "no issuer specified"},
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(configs, strconv.Itoa(i), "config.yaml")
			require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o700))
			require.NoError(t, os.WriteFile(path, []byte(tt.config), 0o600))
			_, _, err := run(t, "dex", "serve", path)
			require.Error(t, err)
			assert.Contains(t, err.Error(), path)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.NotContains(t, err.Error(), secret)
			assert.NotContains(t, err.Error(), tmp, "errors name the template, not the rendered copy")
			entries, err := os.ReadDir(tmp)
			require.NoError(t, err)
			assert.Empty(t, entries)
		})
	}
}

// `serve` (dex-spectro's own command line) does not render templates, nor
// does `dex serve` a file with another suffix; both say so when the file
// holds template actions.
func TestServeWarnsOfTemplate(t *testing.T) {
	const config = "issuer: \"{{ getenv \\\"X\\\" }}\"\nstorage: {type: memory}\n"
	yml := filepath.Join(t.TempDir(), "config.yml")
	require.NoError(t, os.WriteFile(yml, []byte(config), 0o600))
	for _, args := range [][]string{{"serve", writeConfig(t, config)}, {"dex", "serve", yml}} {
		_, stderr, status := runBinary(t, args...)
		assert.Equal(t, 1, status)
		assert.Contains(t, stderr, "template actions ({{ ... }}), which are not rendered")
		assert.Contains(t, stderr, "`dex serve` renders files whose names end in .tpl, .tmpl or .yaml")
	}
}

func get(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}
