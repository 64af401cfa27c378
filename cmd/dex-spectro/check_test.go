package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
	"github.com/dex-spectro/dex-spectro/internal/dextest"
	"github.com/dex-spectro/dex-spectro/internal/dextest/harness"
)

// checkConfig has a mock connector and a spectrocloud connector, palette,
// for the tenant tenantUID of the console at consoleURL; connectorKeys, a
// YAML mapping, adds keys to the spectrocloud connector's configuration.
func checkConfig(consoleURL, tenantUID, connectorKeys string) dextest.DexConfig {
	return dextest.DexConfig{
		Issuer: "http://127.0.0.1:5556/dex", HTTP: "127.0.0.1:5556",
		Connectors: []dextest.ConnectorFunc{
			dextest.MockCallback("mock", "Mock"),
			dextest.SpectroCloud("palette", consoleURL, tenantUID, dextest.YAMLMap(connectorKeys)),
		},
	}
}

func newPalette(t *testing.T) (*spectrotest.Server, *spectrotest.Tenant) {
	t.Helper()
	palette := spectrotest.NewServer()
	t.Cleanup(palette.Close)
	tenant := palette.AddTenant(dextest.TenantUID)
	tenant.AddClient(spectrotest.Client{ID: dextest.PaletteClientID, Secret: dextest.PaletteClientSecret, RedirectURIs: []string{"http://127.0.0.1:5556/dex/callback"}})
	return palette, tenant
}

func checkConfigFor(t *testing.T, consoleURL, tenant string) string {
	return checkConfig(consoleURL, tenant, "").WriteFile(t)
}

// check prints the endpoints each spectrocloud connector will use.
func TestCheckPrintsEndpoints(t *testing.T) {
	palette, tenant := newPalette(t)
	path := checkConfigFor(t, palette.URL, dextest.TenantUID)

	stdout, stderr, err := run(t, "check", path)
	require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.Empty(t, stderr)
	assert.Contains(t, stdout, "config file "+path+": OK")
	assert.Contains(t, stdout, `connector "palette" (SpectroCloud): OK`)
	assert.Contains(t, stdout, "issuer:                 "+tenant.Issuer())
	assert.Contains(t, stdout, "discovery:              yes")
	assert.Contains(t, stdout, "authorization endpoint: "+tenant.AuthURL())
	assert.Contains(t, stdout, "token endpoint:         "+tenant.Issuer()+"/token")
	assert.Contains(t, stdout, "JWKS:                   "+tenant.JWKSURL())
	assert.Contains(t, stdout, "RS256")
	for _, kid := range tenant.PublishedKeyIDs() {
		assert.Contains(t, stdout, kid)
	}
	assert.NotContains(t, stdout, "mock", "only spectrocloud connectors are inspected")
}

// check fails, naming the connector and the reason, when Palette cannot
// serve a sign-in.
func TestCheckFailsWithAReason(t *testing.T) {
	tests := []struct {
		name   string
		tenant string
		fault  func(*spectrotest.Tenant)
		want   []string
	}{
		{
			name:   "discovery down",
			tenant: dextest.TenantUID,
			fault: func(tn *spectrotest.Tenant) {
				tn.SetFault(spectrotest.EndpointDiscovery, spectrotest.Fault{Status: 503})
			},
			want: []string{"discovery", "503"},
		},
		{
			name:   "discovery switched off",
			tenant: dextest.TenantUID,
			fault:  func(tn *spectrotest.Tenant) { tn.SetDiscovery(false) },
			want:   []string{"discovery"},
		},
		{
			name:   "bad JWKS",
			tenant: dextest.TenantUID,
			fault: func(tn *spectrotest.Tenant) {
				tn.SetFault(spectrotest.EndpointJWKS, spectrotest.Fault{Body: []byte("<html>not keys</html>")})
			},
			want: []string{"JWKS"},
		},
		{
			name:   "JWKS server error",
			tenant: dextest.TenantUID,
			fault: func(tn *spectrotest.Tenant) {
				tn.SetFault(spectrotest.EndpointJWKS, spectrotest.Fault{Status: 500})
			},
			want: []string{"JWKS", "500"},
		},
		{
			name:   "wrong tenant",
			tenant: "no-such-tenant",
			want:   []string{"no-such-tenant", "404"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			palette, tenant := newPalette(t)
			if tc.fault != nil {
				tc.fault(tenant)
			}
			stdout, _, err := run(t, "check", checkConfigFor(t, palette.URL, tc.tenant))
			require.Error(t, err)
			assert.Contains(t, err.Error(), `1 of 1 spectrocloud connectors failed the check: "palette"`)
			assert.Contains(t, stdout, `connector "palette" (SpectroCloud): FAILED: `)
			failure := stdout[strings.Index(stdout, "FAILED: "):]
			for _, want := range tc.want {
				assert.Contains(t, strings.ToLower(failure), strings.ToLower(want))
			}
		})
	}
}

// check is strict: keys Dex would ignore are errors, with their line.
func TestCheckRejectsUnknownKeys(t *testing.T) {
	path := writeConfig(t, `
issuer: http://127.0.0.1:5556/dex
web:
  http: 127.0.0.1:5556
  alowedOrigins: ["*"]
storage:
  type: memory
connectors:
- type: mockCallback
  id: mock
  name: Mock
`)
	_, _, err := run(t, "check", path)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `line 4: unknown key "web.alowedOrigins" (did you mean "allowedOrigins"?)`)
}

// The process exits non-zero with the reason on standard error.
func TestCheckExitStatus(t *testing.T) {
	palette, tenant := newPalette(t)
	path := checkConfigFor(t, palette.URL, dextest.TenantUID)

	stdout, stderr, status := runBinary(t, "check", path)
	assert.Equal(t, 0, status, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.Contains(t, stdout, tenant.JWKSURL())

	tenant.SetFault(spectrotest.EndpointJWKS, spectrotest.Fault{Status: 500})
	stdout, stderr, status = runBinary(t, "check", path)
	assert.Equal(t, 1, status)
	assert.Contains(t, stdout, "FAILED")
	assert.Contains(t, stderr, "dex-spectro: 1 of 1 spectrocloud connectors failed the check")

	_, stderr, status = runBinary(t, "check", path+".missing")
	assert.Equal(t, 1, status)
	assert.Contains(t, stderr, "read config file")
}

// check warns, without failing, about insecure settings and about refresh
// tokens that outlast any Palette session, and token exchange open to
// public clients.
func TestCheckWarnsAboutInsecureSettings(t *testing.T) {
	palette, _ := newPalette(t)
	for _, tt := range []struct {
		name                string
		connector, sections string // YAML: keys of the spectrocloud connector, top-level sections
		want, notWant       []string
	}{
		{name: "defaults", want: []string{
			"WARNING: expiry.refreshTokens.absoluteLifetime is not set",
			"WARNING: expiry.refreshTokens.reuseInterval is not set: when two clients of one session refresh at the same moment",
		}, notWant: []string{"insecureSkipVerify", "pkceChallenge"}},
		{name: "rotation off", sections: "expiry: {refreshTokens: {disableRotation: true, absoluteLifetime: 24h}}", notWant: []string{"WARNING"}},
		{name: "insecure settings and a long absoluteLifetime",
			connector: "insecureSkipVerify: true\npkceChallenge: none", sections: "expiry: {refreshTokens: {absoluteLifetime: 720h}}",
			want: []string{
				`connector "palette" (SpectroCloud): WARNING: insecureSkipVerify: Palette's TLS certificate is not verified`,
				`connector "palette" (SpectroCloud): WARNING: pkceChallenge: none`,
				"WARNING: expiry.refreshTokens.absoluteLifetime is 720h, far beyond the 24h0m0s a Palette session can last at most",
			}},
		{name: "a bounded absoluteLifetime and a reuse interval", sections: "expiry: {refreshTokens: {absoluteLifetime: 24h, reuseInterval: 5s}}", notWant: []string{"WARNING"}},
		{name: "token exchange open to a public client",
			sections: "expiry: {refreshTokens: {absoluteLifetime: 24h}}\nstaticClients: [{id: kubectl, name: kubectl, public: true}]",
			want:     []string{`WARNING: token exchange (urn:ietf:params:oauth:grant-type:token-exchange) is enabled by oauth2.grantTypes (every grant is when it is not set) and staticClients[0] ("kubectl") is public`}},
		{name: "a public client without token exchange",
			sections: "expiry: {refreshTokens: {absoluteLifetime: 24h, reuseInterval: 5s}}\nstaticClients: [{id: kubectl, name: kubectl, public: true}]\n" +
				"oauth2: {grantTypes: [authorization_code, 'urn:ietf:params:oauth:grant-type:device_code']}",
			notWant: []string{"WARNING"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := checkConfig(palette.URL, dextest.TenantUID, tt.connector).With(tt.sections).WriteFile(t)
			stdout, stderr, err := run(t, "check", path)
			require.NoError(t, err, "warnings do not fail the check; stdout:\n%s\nstderr:\n%s", stdout, stderr)
			for _, w := range tt.want {
				assert.Contains(t, stdout, w)
			}
			for _, w := range tt.notWant {
				assert.NotContains(t, stdout, w)
			}
		})
	}
}

// check --sign-in exits 2 on usage and configuration errors, 1 when the
// sign-in fails, with the reason on standard error.
func TestCheckSignInExitStatus(t *testing.T) {
	palette, _ := newPalette(t)
	path := checkConfigFor(t, palette.URL, dextest.TenantUID)
	bad := writeConfig(t, "issuer: http://127.0.0.1:5556/dex\nstorage: {type: memory}\nweb: {http: 127.0.0.1:5556}\nconnectors:\n- type: spectrocloud\n  id: palette\n  name: P\n  config: {tenant: x}\n")
	tests := []struct {
		name   string
		args   []string
		stdin  string
		status int
		want   string
	}{
		{"unknown connector", []string{"check", "--sign-in", "--connector", "nope", path}, "", 2,
			`no spectrocloud connector with ID "nope" in the configuration (spectrocloud connectors: palette)`},
		{"not a spectrocloud connector", []string{"check", "--sign-in", "--connector", "mock", path}, "", 2,
			`connector "mock" is of type mockCallback`},
		{"no config file", []string{"check", "--sign-in", path + ".missing"}, "", 2, "read config file"},
		{"connector config error", []string{"check", "--sign-in", bad}, "", 2, "clientID is required"},
		{"--connector without --sign-in", []string{"check", "--connector", "palette", path}, "", 2, "--connector is used with --sign-in"},
		{"not a URL", []string{"check", "--sign-in", path}, "hello\n", 2, "the pasted text is not a URL"},
		{"OAuth error", []string{"check", "--sign-in", path}, "http://127.0.0.1:5556/dex/callback?error=access_denied\n", 1,
			"Palette answered with the OAuth error access_denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, status := runBinaryWithInput(t, tt.stdin, tt.args...)
			assert.Equal(t, tt.status, status, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			assert.Contains(t, stderr, tt.want)
			assert.NotContains(t, stdout+stderr, "dex-secret")
		})
	}
}

// A value left empty by an unset environment variable is named, in the
// warning and in the connector's failure.
func TestCheckNamesUnsetVariables(t *testing.T) {
	palette, _ := newPalette(t)
	path := checkConfig(palette.URL, dextest.TenantUID, "clientID: $DEX_SPECTRO_TEST_UNSET_CLIENT_ID").WriteFile(t)
	stdout, stderr, err := run(t, "check", path)
	require.Error(t, err)
	assert.Contains(t, stderr, "connectors[1].config.clientID: $DEX_SPECTRO_TEST_UNSET_CLIENT_ID is not set in the environment")
	assert.Contains(t, stdout, "clientID is required: not set in the environment: $DEX_SPECTRO_TEST_UNSET_CLIENT_ID (clientID)")
}

// runBinaryWithInput is runBinary with standard input.
func runBinaryWithInput(t *testing.T, stdin string, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		status = exitErr.ExitCode()
	default:
		t.Fatalf("run %v: %v", args, err)
	}
	return out.String(), errOut.String(), status
}

// emptySecretConfig has a confidential client whose secret comes from an
// environment variable, and a public one.
func emptySecretConfig(t *testing.T) string {
	addr := harness.FreeAddr(t)
	return dextest.DexConfig{
		Issuer: "http://" + addr + "/dex", HTTP: addr,
		Clients: []dextest.Client{
			{ID: "backstage", Name: "Backstage", SecretEnv: "DEX_SPECTRO_TEST_BACKSTAGE_SECRET", RedirectURIs: []string{"https://backstage.example.com/api/auth/oidc/handler/frame"}},
			{ID: "kubectl", Name: "kubectl", Public: true},
		},
		Connectors: []dextest.ConnectorFunc{dextest.MockCallback("mock", "Mock")},
	}.WriteFile(t)
}

// A client that is not public and whose secret would be empty (secretEnv
// names a variable that is not set, or is set to nothing) would
// authenticate with an empty secret: check and serve refuse the file,
// naming the client and the variable.
func TestEmptyClientSecretRefused(t *testing.T) {
	for _, env := range []struct {
		name  string
		set   bool
		value string
	}{
		{name: "variable not set"},
		{name: "variable set to nothing", set: true},
	} {
		t.Run(env.name, func(t *testing.T) {
			t.Setenv("DEX_SPECTRO_TEST_BACKSTAGE_SECRET", env.value) // restored when the test ends
			if !env.set {
				require.NoError(t, os.Unsetenv("DEX_SPECTRO_TEST_BACKSTAGE_SECRET"))
			}
			path := emptySecretConfig(t)
			const want = `staticClients[0]: client "backstage" is not public, but its secret is empty: secretEnv names $DEX_SPECTRO_TEST_BACKSTAGE_SECRET, which is`

			stdout, stderr, err := run(t, "check", path)
			require.Error(t, err)
			assert.Contains(t, err.Error(), want)
			assert.NotContains(t, stdout, "OK")
			assert.NotContains(t, stderr+stdout, "kubectl", "the public client is fine")

			_, stderr, status := runBinary(t, "serve", path)
			assert.Equal(t, 1, status, "serve does not start:\n%s", stderr)
			assert.Contains(t, stderr, want)
		})
	}

	t.Run("variable set", func(t *testing.T) {
		t.Setenv("DEX_SPECTRO_TEST_BACKSTAGE_SECRET", "backstage-secret")
		stdout, _, err := run(t, "check", emptySecretConfig(t))
		require.NoError(t, err)
		assert.Contains(t, stdout, "OK")
	})
}
