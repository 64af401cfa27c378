package interop

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/dextest"
)

// backstageAppDir holds the @backstage/* packages and the TypeScript
// compiler (package.json, package-lock.json) and the tsconfig.json that
// checks examples/backstage/apis.ts against them.
const backstageAppDir = "backstage-app"

// requireTypeScript returns the node binary and the TypeScript compiler's
// script after checking that the packages of backstage-app are installed.
// Without them the test is skipped, or fails under CI=true.
func requireTypeScript(t *testing.T) (node, tsc string) {
	t.Helper()
	missing := ""
	node, err := exec.LookPath("node")
	if err != nil {
		missing = "Node.js is not installed (no node in PATH)"
	} else {
		for _, pkg := range []string{"typescript", "@backstage/core-plugin-api", "@backstage/core-app-api", "@backstage/core-components", "@backstage/plugin-kubernetes-react", "@types/react"} {
			if _, err := os.Stat(filepath.Join(backstageAppDir, "node_modules", pkg, "package.json")); err != nil {
				missing = pkg + " is not installed: run `npm ci` in test/interop/backstage-app"
				break
			}
		}
	}
	if missing != "" {
		dextest.Unavailable(t, "%s", missing)
	}
	data, err := os.ReadFile(filepath.Join(backstageAppDir, "node_modules", "typescript", "package.json"))
	require.NoError(t, err)
	var pkg struct {
		Bin map[string]string `json:"bin"`
	}
	require.NoError(t, json.Unmarshal(data, &pkg))
	require.NotEmpty(t, pkg.Bin["tsc"], "typescript's package.json names no tsc")
	return node, filepath.Join(backstageAppDir, "node_modules", "typescript", pkg.Bin["tsc"])
}

// typeCheck runs `tsc --noEmit -p tsconfig` and returns its output and
// whether it found no errors.
func typeCheck(t *testing.T, node, tsc, tsconfig string) (string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	abs, err := filepath.Abs(tsc)
	require.NoError(t, err)
	cmd := exec.CommandContext(ctx, node, abs, "--noEmit", "--pretty", "false", "-p", tsconfig)
	cmd.Dir = backstageAppDir
	out, err := cmd.CombinedOutput()
	if err != nil {
		var exit *exec.ExitError
		require.ErrorAs(t, err, &exit, "tsc did not run: %s", out)
		require.NoError(t, ctx.Err(), "tsc took too long")
		return string(out), false
	}
	return string(out), true
}

// The Backstage frontend code of examples/backstage/apis.ts compiles, with
// TypeScript's strict checks, against the @backstage/* packages pinned in
// test/interop/backstage-app/package-lock.json: the API ref for the generic
// OIDC provider, its OAuth2 factory, and the kubernetesAuthProvidersApiRef
// override with oidcProviders. Variants with a misspelled option or
// import show that the compiler sees the packages' real types.
func TestBackstageFrontendTypeChecks(t *testing.T) {
	node, tsc := requireTypeScript(t)

	// apis.ts is the file tsconfig.json checks.
	data, err := os.ReadFile(filepath.Join(backstageAppDir, "tsconfig.json"))
	require.NoError(t, err)
	var tsconfig struct {
		CompilerOptions map[string]any `json:"compilerOptions"`
		Files           []string       `json:"files"`
	}
	require.NoError(t, json.Unmarshal(data, &tsconfig))
	require.Equal(t, []string{"../../../examples/backstage/apis.ts"}, tsconfig.Files)
	assert.Equal(t, true, tsconfig.CompilerOptions["strict"])
	source, err := os.ReadFile(examplePath("backstage", "apis.ts"))
	require.NoError(t, err)

	t.Run("as shipped", func(t *testing.T) {
		out, ok := typeCheck(t, node, tsc, "tsconfig.json")
		assert.True(t, ok, "tsc: %s", out)
	})

	// The Kubernetes plugin looks the OIDC API up by the clusters'
	// oidcTokenProvider of app-config.yaml.
	t.Run("token provider key", func(t *testing.T) {
		appConfig := loadBackstageAppConfig(t, backstageEnv())
		require.NotEmpty(t, appConfig.Kubernetes.ClusterLocatorMethods)
		for _, m := range appConfig.Kubernetes.ClusterLocatorMethods {
			for _, c := range m.Clusters {
				assert.Contains(t, string(source), "dexSpectroKubernetesTokenProvider = '"+c.OIDCTokenProvider+"'", "cluster %s", c.Name)
			}
		}
		assert.Contains(t, string(source), "[dexSpectroKubernetesTokenProvider]: dexSpectroAuthApi")
		// The frontend's provider is the backend's auth.providers.oidc.
		assert.Contains(t, appConfig.Auth.Providers, "oidc")
		assert.Contains(t, string(source), "id: 'oidc',")
	})

	broken := []struct {
		name, old, new, wantErr string
	}{
		{"misspelled oidcProviders", "oidcProviders: {", "oidcProvidrs: {", "'oidcProvidrs' does not exist"},
		{"unknown export", "  kubernetesAuthProvidersApiRef,\n} from", "  kubernetesAuthProviderApiRef,\n} from", "kubernetesAuthProviderApiRef"},
		{"OAuth2 without its discovery API", "        configApi,\n        discoveryApi,\n", "        configApi,\n", "discoveryApi"},
	}
	for _, tt := range broken {
		t.Run("refused/"+tt.name, func(t *testing.T) {
			require.Equal(t, 1, strings.Count(string(source), tt.old), "apis.ts has %q once", tt.old)
			dir := t.TempDir()
			file := filepath.Join(dir, "apis.ts")
			require.NoError(t, os.WriteFile(file, []byte(strings.Replace(string(source), tt.old, tt.new, 1)), 0o600))
			base, err := filepath.Abs(filepath.Join(backstageAppDir, "tsconfig.json"))
			require.NoError(t, err)
			config, err := json.Marshal(map[string]any{"extends": base, "files": []string{file}})
			require.NoError(t, err)
			tsconfig := filepath.Join(dir, "tsconfig.json")
			require.NoError(t, os.WriteFile(tsconfig, config, 0o600))

			out, ok := typeCheck(t, node, tsc, tsconfig)
			assert.False(t, ok, "tsc accepted the broken file")
			assert.Contains(t, out, tt.wantErr)
		})
	}
}
