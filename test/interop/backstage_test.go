package interop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"sigs.k8s.io/yaml"

	"github.com/dex-spectro/dex-spectro/internal/dextest"
)

// backstageDir holds the Node.js relying party and its lockfile.
const backstageDir = "backstage"

// backstageEnv returns values for the ${VAR}s of examples/backstage/app-config.yaml.
func backstageEnv() map[string]string {
	return map[string]string{
		"AUTH_SESSION_SECRET":     "backstage-session-secret",
		"AUTH_OIDC_CLIENT_SECRET": backstageSecret,
		"K8S_PRODUCTION_CA_DATA":  "Y2x1c3Rlci1jYQ==",
	}
}

// requireNodeRP returns the node binary after checking that openid-client 5
// is installed. Without them the test is skipped, or fails under CI=true.
func requireNodeRP(t *testing.T) string {
	t.Helper()
	missing := ""
	node, err := exec.LookPath("node")
	if err != nil {
		missing = "Node.js is not installed (no node in PATH)"
	} else if data, err := os.ReadFile(filepath.Join(backstageDir, "node_modules", "openid-client", "package.json")); err != nil {
		missing = "openid-client is not installed: run `npm ci` in test/interop/backstage"
	} else {
		var pkg struct {
			Version string `json:"version"`
		}
		require.NoError(t, json.Unmarshal(data, &pkg))
		require.True(t, strings.HasPrefix(pkg.Version, "5."), "openid-client %s is installed; Backstage's OIDC provider uses version 5: run `npm ci` in test/interop/backstage", pkg.Version)
	}
	if missing != "" {
		dextest.Unavailable(t, "%s", missing)
	}
	return node
}

// backstageAppConfig is what the test reads of examples/backstage/app-config.yaml.
type backstageAppConfig struct {
	Auth struct {
		Environment string `json:"environment"`
		Session     struct {
			Secret string `json:"secret"`
		} `json:"session"`
		Providers map[string]map[string]map[string]any `json:"providers"`
	} `json:"auth"`
	Kubernetes struct {
		ClusterLocatorMethods []struct {
			Type     string `json:"type"`
			Clusters []struct {
				Name              string `json:"name"`
				URL               string `json:"url"`
				AuthProvider      string `json:"authProvider"`
				OIDCTokenProvider string `json:"oidcTokenProvider"`
			} `json:"clusters"`
		} `json:"clusterLocatorMethods"`
	} `json:"kubernetes"`
}

// loadBackstageAppConfig reads the example with its ${VAR}s substituted from
// env, as Backstage does; an unknown variable fails the test.
func loadBackstageAppConfig(t *testing.T, env map[string]string) backstageAppConfig {
	t.Helper()
	data, err := os.ReadFile(examplePath("backstage", "app-config.yaml"))
	require.NoError(t, err)
	configVar := regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)
	substituted := configVar.ReplaceAllStringFunc(string(data), func(ref string) string {
		name := configVar.FindStringSubmatch(ref)[1]
		value, ok := env[name]
		if !ok {
			t.Errorf("app-config.yaml refers to ${%s}, which the test does not provide", name)
		}
		return value
	})
	var cfg backstageAppConfig
	require.NoError(t, yaml.Unmarshal([]byte(substituted), &cfg))
	return cfg
}

// clustersAudienceScope asks Dex for ID tokens whose audience holds the
// clusters' client, kube-apiserver's --oidc-client-id.
const clustersAudienceScope = "audience:server:client_id:" + kubernetesClient

// backstageScopes are the scopes Backstage's OIDC provider asks for with the
// production provider block of app-config.yaml: openid, profile and email,
// then additionalScopes.
func backstageScopes(t *testing.T, appConfig backstageAppConfig) []string {
	t.Helper()
	provider, ok := appConfig.Auth.Providers["oidc"][appConfig.Auth.Environment]
	require.True(t, ok, "auth.providers.oidc.%s", appConfig.Auth.Environment)
	scopes := []string{"openid", "profile", "email"}
	extra, ok := provider["additionalScopes"].([]any)
	require.True(t, ok, "additionalScopes is a list")
	for _, s := range extra {
		scope, ok := s.(string)
		require.True(t, ok, "additionalScopes: %v", s)
		if !slices.Contains(scopes, scope) {
			scopes = append(scopes, scope)
		}
	}
	return scopes
}

// audience is an aud claim: one string or a list.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = audience{one}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return fmt.Errorf("aud: %w", err)
	}
	*a = list
	return nil
}

// tokenClaims are the claims of Dex's ID tokens and userinfo responses.
type tokenClaims struct {
	dextest.Claims
	Issuer           string   `json:"iss"`
	Audience         audience `json:"aud"`
	AuthorizingParty string   `json:"azp"`
}

// rpTokenSet is what rp.mjs reports of a token set and its userinfo.
type rpTokenSet struct {
	IDToken         string      `json:"idToken"`
	Claims          tokenClaims `json:"claims"`
	TokenType       string      `json:"tokenType"`
	Scope           string      `json:"scope"`
	ExpiresIn       float64     `json:"expiresIn"`
	HasAccessToken  bool        `json:"hasAccessToken"`
	HasRefreshToken bool        `json:"hasRefreshToken"`
	Userinfo        tokenClaims `json:"userinfo"`
}

type rpResult struct {
	SignIn  rpTokenSet `json:"signIn"`
	Refresh struct {
		rpTokenSet
		RefreshTokenRotated bool `json:"refreshTokenRotated"`
	} `json:"refresh"`
}

// nodeRP is rp.mjs running under Node.js.
type nodeRP struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  *bufio.Scanner
	stderr *bytes.Buffer
	done   bool
}

func startNodeRP(t *testing.T, ctx context.Context, node string, provider map[string]any, caFile string) *nodeRP {
	t.Helper()
	providerJSON, err := json.Marshal(provider)
	require.NoError(t, err)
	cmd := exec.CommandContext(ctx, node, "rp.mjs")
	cmd.Dir = backstageDir
	cmd.Env = append(os.Environ(), "OIDC_PROVIDER_CONFIG="+string(providerJSON), "NODE_EXTRA_CA_CERTS="+caFile)
	cmd.WaitDelay = 5 * time.Second
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	rp := &nodeRP{cmd: cmd, stdin: stdin, stderr: &bytes.Buffer{}}
	cmd.Stderr = rp.stderr
	rp.lines = bufio.NewScanner(stdout)
	rp.lines.Buffer(make([]byte, 0, 64<<10), 4<<20)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = rp.wait() })
	return rp
}

// wait waits for the process once and returns its error.
func (rp *nodeRP) wait() error {
	if rp.done {
		return nil
	}
	rp.done = true
	return rp.cmd.Wait()
}

// next decodes the next line rp.mjs prints into v; when there is none, the
// test fails with what rp.mjs said on standard error.
func (rp *nodeRP) next(t *testing.T, v any) {
	t.Helper()
	if !rp.lines.Scan() {
		err := rp.wait()
		t.Fatalf("rp.mjs ended early (%v, scan: %v): %s", err, rp.lines.Err(), rp.stderr.String())
	}
	require.NoError(t, json.Unmarshal(rp.lines.Bytes(), v), "rp.mjs printed %q", rp.lines.Text())
}

// Backstage's OIDC provider, as configured by examples/backstage/app-config.yaml,
// signs a Palette user in through the Dex of examples/config.yaml with
// openid-client 5 and refreshes the session; the Kubernetes plugin's token
// (the user's Dex ID token, with the clusters' audience) is accepted by
// clusters configured with examples/kubernetes/apiserver-flags.txt and with
// authentication-config-*.yaml, and rbac.yaml makes the user an admin.
func TestBackstage(t *testing.T) {
	node := requireNodeRP(t)
	st := startExampleStack(t)
	appConfig := loadBackstageAppConfig(t, backstageEnv())

	require.NotEmpty(t, appConfig.Auth.Session.Secret, "the oidc provider needs session support")
	provider, ok := appConfig.Auth.Providers["oidc"][appConfig.Auth.Environment]
	require.True(t, ok, "auth.providers.oidc.%s", appConfig.Auth.Environment)
	require.Equal(t, exampleIssuer+"/.well-known/openid-configuration", provider["metadataUrl"])
	require.Equal(t, backstageClient, provider["clientId"])
	require.Equal(t, backstageSecret, provider["clientSecret"])
	require.Equal(t, backstageCallback, provider["callbackUrl"])
	require.Equal(t, "auto", provider["prompt"])
	provider["metadataUrl"] = st.Issuer + "/.well-known/openid-configuration"

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rp := startNodeRP(t, ctx, node, provider, st.CAFile)

	// Backstage's start: the strategy sends the browser to Dex.
	var start struct {
		AuthorizationURL string `json:"authorizationUrl"`
	}
	rp.next(t, &start)
	authURL, err := url.Parse(start.AuthorizationURL)
	require.NoError(t, err)
	assert.Equal(t, st.Issuer+"/auth", authURL.Scheme+"://"+authURL.Host+authURL.Path, "from discovery")
	q := authURL.Query()
	assert.Equal(t, backstageClient, q.Get("client_id"))
	assert.Equal(t, "code", q.Get("response_type"))
	assert.Equal(t, backstageCallback, q.Get("redirect_uri"))
	assert.ElementsMatch(t, []string{"openid", "profile", "email", "groups", "federated:id", "offline_access", clustersAudienceScope}, strings.Fields(q.Get("scope")))
	assert.Equal(t, "S256", q.Get("code_challenge_method"))
	assert.NotEmpty(t, q.Get("code_challenge"))
	assert.NotEmpty(t, q.Get("state"))
	assert.NotEmpty(t, q.Get("nonce"))
	assert.False(t, q.Has("prompt"), "prompt: auto sends no prompt")

	// The user in the browser: Dex, then Palette, then back to Backstage.
	b := st.browser(t, prodConnector, prodName, jane())
	callback, err := b.Authorize(ctx, start.AuthorizationURL, backstageCallback)
	require.NoError(t, err)
	require.NotEmpty(t, callback.Query().Get("code"), "callback %s", callback.Redacted())
	_, err = io.WriteString(rp.stdin, callback.String()+"\n")
	require.NoError(t, err)
	require.NoError(t, rp.stdin.Close())

	// Backstage's frame handler: code exchange, ID token validation,
	// userinfo; then its refresh.
	var result rpResult
	rp.next(t, &result)
	err = rp.wait()
	require.NoError(t, err, "rp.mjs: %s", rp.stderr.String())

	palette := paletteUser(t, st.tenant(t, prodConnector), jane().Email)
	for _, step := range []struct {
		name string
		set  rpTokenSet
	}{{"sign-in", result.SignIn}, {"refresh", result.Refresh.rpTokenSet}} {
		t.Run(step.name, func(t *testing.T) {
			c := step.set.Claims
			assert.Equal(t, st.Issuer, c.Issuer)
			// The clusters' client as audience, next to Backstage's own;
			// Backstage is the authorized party.
			assert.ElementsMatch(t, []string{kubernetesClient, backstageClient}, c.Audience)
			assert.Equal(t, backstageClient, c.AuthorizingParty)
			assert.Equal(t, jane().Email, c.Email)
			assert.True(t, c.EmailVerified)
			assert.Equal(t, "Jane Doe", c.Name)
			assert.Equal(t, "jane", c.PreferredUsername)
			assert.Equal(t, janeUser.groups, c.Groups, "Jane's teams as Dex keeps them")
			assert.Equal(t, prodConnector, c.FederatedClaims.ConnectorID)
			assert.Equal(t, palette.Sub, c.FederatedClaims.UserID)
			subject, err := decodeDexSubject(c.Subject)
			require.NoError(t, err)
			assert.Equal(t, dexSubject{UserID: palette.Sub, ConnectorID: prodConnector}, subject)

			assert.True(t, step.set.HasAccessToken)
			assert.True(t, step.set.HasRefreshToken)
			assert.True(t, strings.EqualFold(step.set.TokenType, "bearer"), step.set.TokenType)
			assert.InDelta(t, exampleIDTokenExpiry.Seconds(), step.set.ExpiresIn, 60)

			u := step.set.Userinfo
			assert.Equal(t, c.Subject, u.Subject)
			assert.Equal(t, jane().Email, u.Email)
			assert.Equal(t, "Jane Doe", u.Name)
			assert.Equal(t, janeUser.groups, u.Groups)
		})
	}
	// Whether Dex rotated the refresh token depends on time: within the
	// example's expiry.refreshTokens.reuseInterval (5s) of its last use,
	// Dex hands the same pair back, which is what lets Backstage's tabs and
	// backend replicas refresh one session at once; later it rotates
	// (test/e2e and internal/demo pin both). Either way the refresh above
	// returned a refresh token for the next one.

	// The sign-in resolvers of app-config.yaml read the email of the
	// profile (userinfo); the first one decides the same user name as the
	// connector's resolver put into preferred_username.
	t.Run("sign-in resolvers", func(t *testing.T) {
		signIn, ok := provider["signIn"].(map[string]any)
		require.True(t, ok)
		resolvers, ok := signIn["resolvers"].([]any)
		require.True(t, ok)
		require.NotEmpty(t, resolvers)
		first, ok := resolvers[0].(map[string]any)
		require.True(t, ok)
		assert.Equal(t, "emailLocalPartMatchingUserEntityName", first["resolver"])
		local, domain, ok := strings.Cut(result.SignIn.Userinfo.Email, "@")
		require.True(t, ok)
		assert.Contains(t, first["allowedDomains"], domain)
		assert.Equal(t, result.SignIn.Claims.PreferredUsername, local)
	})

	// The Kubernetes plugin sends the user's ID token from the oidc auth
	// provider; clusters configured with the flags or with either
	// AuthenticationConfiguration accept it, and rbac.yaml makes Jane, a
	// member of the Palette team platform-admins, cluster-admin.
	t.Run("kubernetes plugin", func(t *testing.T) {
		require.Len(t, appConfig.Kubernetes.ClusterLocatorMethods, 1)
		clusters := appConfig.Kubernetes.ClusterLocatorMethods[0].Clusters
		require.Len(t, clusters, 1)
		assert.Equal(t, "oidc", clusters[0].AuthProvider)
		assert.Contains(t, appConfig.Auth.Providers, clusters[0].OIDCTokenProvider)

		bindings := loadRBACExample(t)
		authenticators := map[string]authenticator.Token{"apiserver-flags.txt": exampleFlagsAuthenticator(t, st)}
		for _, sc := range structuredConfigs {
			authenticators[sc.file] = exampleStructuredAuthenticator(t, st, sc.file)
		}
		for name, cluster := range authenticators {
			for step, token := range map[string]string{"sign-in": result.SignIn.IDToken, "refresh": result.Refresh.IDToken} {
				t.Run(name+"/"+step, func(t *testing.T) {
					u, err := authenticate(cluster, token)
					require.NoError(t, err)
					assert.Equal(t, jane().Email, u.GetName())
					assert.Equal(t, janeUser.groups, u.GetGroups())
					assert.Equal(t, []grant{{"ClusterRole/cluster-admin", ""}}, grantsOf(bindings, u))
				})
			}
		}
	})
}
