package entrypoint

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/config"
	"github.com/dex-spectro/dex-spectro/internal/dextest"
)

const secret = "s3cr3t value, never shown!"

// A template that cannot be rendered is an error naming the file, the line
// and the function or action; nothing is passed through unrendered, and no
// value from the environment appears in the message. (The corpus holds more
// templates that fail.)
func TestRenderErrors(t *testing.T) {
	// PIN is a secret that conv.ToInt turns into a number.
	const pin = "4829137"
	env := map[string]string{"SECRET": secret, "PIN": pin, "MISSING_FILE": filepath.Join(t.TempDir(), "absent")}
	tests := []struct {
		name string
		tmpl string
		want []string
	}{
		{
			name: "unknown function",
			tmpl: "issuer: x\n\nfile: {{ sprig_only \"a\" }}\n",
			want: []string{"/etc/dex/config.yaml:3:", `function "sprig_only" not defined`, `docs/operations.md under "Config templates"`},
		},
		{
			name: "a function a namespace does not provide",
			tmpl: "a: {{ getenv \"SECRET\" | strings.Repeat 2 }}",
			want: []string{"/etc/dex/config.yaml:1:", "can't evaluate field Repeat", `docs/operations.md under "Config templates"`},
		},
		{
			name: "required fails on unset",
			tmpl: "a: b\ntlsKey: {{ getenv \"TLS_KEY\" | required \"TLS_KEY must be set\" }}\n",
			want: []string{"/etc/dex/config.yaml:2:", "required", "TLS_KEY must be set"},
		},
		{
			name: "unset variable through .Env",
			tmpl: "\n{{ .Env.NOT_SET }}",
			want: []string{"/etc/dex/config.yaml:2:", ".Env.NOT_SET", `no entry for key "NOT_SET"`},
		},
		{
			name: "a secret that is not base64",
			tmpl: `{{ getenv "SECRET" | base64.Decode }}`,
			want: []string{"/etc/dex/config.yaml:1:", "base64.Decode", "not base64"},
		},
		{
			name: "a secret that is not a list",
			tmpl: `{{ join (getenv "SECRET") "," }}`,
			want: []string{"/etc/dex/config.yaml:1:", "conv.Join", "want a list"},
		},
		{
			name: "fail in an if",
			tmpl: `{{ if true }}{{ fail "stop" }}{{ end }}`,
			want: []string{"/etc/dex/config.yaml:1:", "stop"},
		},
		{
			name: "range over a secret",
			tmpl: `{{ range getenv "SECRET" }}{{ end }}`,
			want: []string{"/etc/dex/config.yaml:1:", "at <range>: range over a value of type string: it is not a list, map or number"},
		},
		{
			name: "range over a secret through .Env",
			tmpl: "\n{{ range $i, $v := .Env.SECRET }}{{ end }}",
			want: []string{"/etc/dex/config.yaml:2:", "range over a value of type string: it is not a list, map or number"},
		},
		{
			name: "range over the environment's holder",
			tmpl: `{{ range . }}{{ end }}`,
			want: []string{"/etc/dex/config.yaml:1:", "range over the template's data (.): it holds only .Env"},
		},
		{
			name: "range with two variables over a secret number",
			tmpl: `{{ range $i, $v := conv.ToInt (getenv "PIN") }}{{ end }}`,
			want: []string{"/etc/dex/config.yaml:1:", "range over a number (int) with 2 variables: it gives one value"},
		},
		{
			name: "unreadable NAME_FILE",
			tmpl: `{{ getenv "MISSING" }}`,
			want: []string{"getenv MISSING", "MISSING_FILE"},
		},
		{
			name: "output over the cap",
			tmpl: `{{ range 20000 }}{{ printf "%01000d" 0 }}{{ end }}`,
			want: []string{"template /etc/dex/config.yaml", "rendered file too large", "over 16777216 bytes"},
		},
	}
	// The time limit is not under test: under the race detector, writing
	// 16 MiB takes seconds.
	r := &Renderer{Env: env, timeout: 5 * time.Minute}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := r.Render("/etc/dex/config.yaml", []byte(tt.tmpl))
			require.Error(t, err)
			assert.Nil(t, out)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.NotContains(t, err.Error(), secret)
			assert.NotContains(t, err.Error(), pin)
			assert.NotContains(t, err.Error(), rangeFunc, "the error speaks of the template, not of the renderer's hook")
		})
	}
}

// Files read by getenv (NAME_FILE) and file.Read are capped.
func TestRenderReadFileCap(t *testing.T) {
	big := filepath.Join(t.TempDir(), "big")
	require.NoError(t, os.WriteFile(big, make([]byte, maxReadFileSize+1), 0o600))
	r := &Renderer{Env: map[string]string{"BIG_FILE": big}}
	for _, tmpl := range []string{`{{ getenv "BIG" }}`, `{{ file.Read "` + big + `" }}`} {
		_, err := r.Render("config.yaml", []byte(tmpl))
		require.Error(t, err, tmpl)
		assert.Contains(t, err.Error(), "larger than 1048576 bytes")
	}
}

// getenv (through NAME_FILE) and file.Read refuse what is not a regular
// file, at once: a named pipe with no writer would block the render, past
// its deadline, in the open.
func TestRenderReadFileNotRegular(t *testing.T) {
	dir := t.TempDir()
	pipe := filepath.Join(dir, "pipe")
	require.NoError(t, syscall.Mkfifo(pipe, 0o600))
	r := &Renderer{Env: map[string]string{"PIPE_FILE": pipe, "DIR_FILE": dir}}
	tests := []struct {
		tmpl string
		want string
	}{
		{tmpl: `{{ getenv "PIPE" }}`, want: "getenv PIPE: read the file named by PIPE_FILE: " + pipe + " is a named pipe: only a regular file is read"},
		{tmpl: `{{ file.Read "` + pipe + `" }}`, want: "file.Read: " + pipe + " is a named pipe: only a regular file is read"},
		{tmpl: `{{ getenv "DIR" }}`, want: dir + " is a directory: only a regular file is read"},
		{tmpl: `{{ file.Read "/dev/null" }}`, want: "/dev/null is a device: only a regular file is read"},
	}
	for _, tt := range tests {
		done := make(chan error, 1)
		go func() {
			_, err := r.Render("config.yaml", []byte(tt.tmpl))
			done <- err
		}()
		select {
		case err := <-done:
			require.Error(t, err, tt.tmpl)
			assert.Contains(t, err.Error(), tt.want)
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: the render is blocked", tt.tmpl)
		}
	}
}

func TestRenderTemplateTooLarge(t *testing.T) {
	_, err := (&Renderer{}).Render("big.yaml", make([]byte, MaxTemplateSize+1))
	require.ErrorIs(t, err, ErrTooLarge)
	assert.Contains(t, err.Error(), "big.yaml")
}

// RenderFile writes a private file in TempDir.
func TestRenderFile(t *testing.T) {
	src := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(src, []byte(`secret: {{ getenv "SECRET" }}`), 0o644))
	tmp := t.TempDir()
	r := &Renderer{Env: map[string]string{"SECRET": secret}, TempDir: tmp}

	out, err := r.RenderFile(src)
	require.NoError(t, err)
	assert.Equal(t, tmp, filepath.Dir(out))
	info, err := os.Stat(out)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "the rendered file holds secrets")
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, "secret: "+secret, string(b))
}

func TestRenderFileErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte(`{{ nope }}`), 0o600))
	tmp := t.TempDir()
	r := &Renderer{TempDir: tmp}

	_, err := r.RenderFile(bad)
	require.Error(t, err)
	assert.Contains(t, err.Error(), bad)

	_, err = r.RenderFile(filepath.Join(dir, "absent.yaml"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "absent.yaml")

	good := filepath.Join(dir, "good.yaml")
	require.NoError(t, os.WriteFile(good, []byte(`a: b`), 0o600))
	_, err = (&Renderer{TempDir: filepath.Join(dir, "no-such-dir")}).RenderFile(good)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "TMPDIR")

	entries, err := os.ReadDir(tmp)
	require.NoError(t, err)
	assert.Empty(t, entries, "a failed render leaves no file behind")
}

// RenderArgs renders the arguments with the suffixes of Dex's image and
// keeps the others; cleanup removes what it wrote, and a failure removes
// what was written before it.
func TestRenderArgs(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
	yaml := write("config.yaml", `v: {{ getenv "V" }}`)
	tpl := write("extra.tpl", `t`)
	tmpl := write("extra.tmpl", `m`)
	yml := write("config.yml", `{{ not rendered }}`)
	tmp := t.TempDir()
	r := &Renderer{Env: map[string]string{"V": "1"}, TempDir: tmp}

	args := []string{"--web-http-addr", "0.0.0.0:5556", yaml, tpl, tmpl, yml}
	out, cleanup, err := r.RenderArgs(args)
	require.NoError(t, err)
	assert.Equal(t, args[:2], out[:2])
	assert.Equal(t, yml, out[5], ".yml is not a template suffix of Dex's image")
	for i, want := range map[int]string{2: "v: 1", 3: "t", 4: "m"} {
		assert.Equal(t, tmp, filepath.Dir(out[i]))
		b, err := os.ReadFile(out[i])
		require.NoError(t, err)
		assert.Equal(t, want, string(b))
	}
	cleanup()
	entries, err := os.ReadDir(tmp)
	require.NoError(t, err)
	assert.Empty(t, entries)

	bad := write("bad.yaml", `{{ nope }}`)
	_, _, err = r.RenderArgs([]string{yaml, bad})
	require.Error(t, err)
	entries, err = os.ReadDir(tmp)
	require.NoError(t, err)
	assert.Empty(t, entries, "the file rendered before the failure is removed")
}

// The image's config.docker.yaml renders to a valid configuration with no
// environment, and with the connector's variables to a spectrocloud
// connector whose secret stays out of the rendered file.
func TestDockerConfig(t *testing.T) {
	src, err := os.ReadFile("../../docker/config.docker.yaml")
	require.NoError(t, err)

	out, err := (&Renderer{}).Render("config.docker.yaml", src)
	require.NoError(t, err)
	cfg, _, err := config.Load(out, config.Options{Strict: true})
	require.NoError(t, err, "rendered:\n%s", out)
	assert.Equal(t, "http://127.0.0.1:5556/dex", cfg.Issuer)
	assert.Equal(t, "0.0.0.0:5558", cfg.Telemetry.HTTP)

	env := map[string]string{
		"DEX_ISSUER":                 "https://dex.example.com",
		"SPECTROCLOUD_TENANT":        dextest.TenantUID,
		"SPECTROCLOUD_CLIENT_ID":     "client",
		"SPECTROCLOUD_CLIENT_SECRET": secret,
		"DEX_CONNECTORS_ENABLE_MOCK": "true",
	}
	out, err = (&Renderer{Env: env}).Render("config.docker.yaml", src)
	require.NoError(t, err)
	assert.NotContains(t, string(out), secret, "the server expands the secret; the rendered file does not hold it")
	for k, v := range env {
		t.Setenv(k, v)
	}
	cfg, _, err = config.Load(out, config.Options{Strict: true})
	require.NoError(t, err, "rendered:\n%s", out)
	require.Len(t, cfg.StaticConnectors, 2)
	assert.Equal(t, "spectrocloud", cfg.StaticConnectors[0].Type)
	assert.Equal(t, "mockCallback", cfg.StaticConnectors[1].Type)

	delete(env, "SPECTROCLOUD_CLIENT_SECRET")
	_, err = (&Renderer{Env: env}).Render("config.docker.yaml", src)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "SPECTROCLOUD_CLIENT_SECRET must be set")

	_, err = (&Renderer{Env: map[string]string{"DEX_WEB_HTTPS": "0.0.0.0:5554"}}).Render("config.docker.yaml", src)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "DEX_WEB_TLS_CERT must be set")
}

// Dex's own config.docker.yaml, written for gomplate, renders here to a
// configuration that loads.
func TestUpstreamDockerConfig(t *testing.T) {
	dir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/dexidp/dex").Output()
	require.NoError(t, err, "locate Dex's module")
	src, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(dir)), "config.docker.yaml"))
	require.NoError(t, err)

	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{name: "defaults", env: nil},
		{name: "telemetry and mock", env: map[string]string{"DEX_TELEMETRY_HTTP": "0.0.0.0:5558", "DEX_CONNECTORS_ENABLE_MOCK": "1"}},
		{name: "https without key", env: map[string]string{"DEX_WEB_HTTPS": "0.0.0.0:5554", "DEX_WEB_TLS_CERT": "/c"}, wantErr: "$DEX_WEB_TLS_KEY in case of web.https is enabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := (&Renderer{Env: tt.env}).Render("config.docker.yaml", src)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			_, _, err = config.Load(out, config.Options{})
			require.NoError(t, err, "rendered:\n%s", out)
		})
	}
}
