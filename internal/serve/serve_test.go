package serve_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/dextest"
	"github.com/dex-spectro/dex-spectro/internal/serve"
)

// A server with memory or sqlite3 storage serves Dex's endpoints, health
// checks and metrics, lists its connectors by name, signs users in through
// the password database and the mock connector, refreshes, and shuts down.
func TestServe(t *testing.T) {
	for _, storageType := range []string{"memory", "sqlite3"} {
		t.Run(storageType, func(t *testing.T) {
			ctx := context.Background()
			dex := startDex(t, basicConfig(storageSection(t, storageType)), "")

			t.Run("discovery", func(t *testing.T) {
				status, body := get(t, dex.URL("/.well-known/openid-configuration"))
				require.Equal(t, 200, status)
				var doc struct {
					Issuer        string   `json:"issuer"`
					Authorization string   `json:"authorization_endpoint"`
					Token         string   `json:"token_endpoint"`
					JWKS          string   `json:"jwks_uri"`
					GrantTypes    []string `json:"grant_types_supported"`
				}
				require.NoError(t, json.Unmarshal([]byte(body), &doc))
				assert.Equal(t, dex.Issuer, doc.Issuer)
				assert.Equal(t, dex.Issuer+"/auth", doc.Authorization)
				assert.Equal(t, dex.Issuer+"/token", doc.Token)
				assert.Equal(t, dex.Issuer+"/keys", doc.JWKS)
				assert.Contains(t, doc.GrantTypes, "refresh_token")
			})

			t.Run("health", func(t *testing.T) {
				status, body := get(t, dex.URL("/healthz"))
				assert.Equal(t, 200, status)
				assert.Contains(t, body, "Health check passed")

				telemetry := "http://" + dex.Addrs.Telemetry
				status, body = get(t, telemetry+"/healthz")
				assert.Equal(t, 200, status)
				assert.Contains(t, body, `"storage"`)
				status, body = get(t, telemetry+"/healthz/live")
				assert.Equal(t, 200, status)
				assert.Equal(t, "ok", body)
				status, _ = get(t, telemetry+"/healthz/ready")
				assert.Equal(t, 200, status)
			})

			t.Run("login page lists connectors by name", func(t *testing.T) {
				b := dextest.NewBrowser()
				page, err := b.Get(ctx, dex.URL("/auth?client_id=app&response_type=code&scope=openid&state=s1&redirect_uri="+rpRedirect))
				require.NoError(t, err)
				assert.ElementsMatch(t, []string{"Mock Login", "Email"}, page.Connectors())
				assert.Contains(t, page.Body, "Log in to Example Corp", "frontend settings reach Dex's templates")
			})

			rp, err := dextest.NewRelyingParty(ctx, dex.Issuer, "app", "app-secret", rpRedirect)
			require.NoError(t, err)

			t.Run("password login, then refresh", func(t *testing.T) {
				b := passwordBrowser()
				tokens, err := rp.SignIn(ctx, b)
				require.NoError(t, err)
				assert.Equal(t, "jane@example.com", tokens.Claims.Email)
				assert.Equal(t, "Jane Doe", tokens.Claims.Name)
				assert.Equal(t, "jdoe", tokens.Claims.PreferredUsername)
				assert.Equal(t, []string{"platform", "admins"}, tokens.Claims.Groups)
				assert.Equal(t, "local", tokens.Claims.FederatedClaims.ConnectorID)
				require.NotEmpty(t, tokens.OAuth2.RefreshToken)

				refreshed, err := rp.Refresh(ctx, tokens.OAuth2.RefreshToken)
				require.NoError(t, err)
				assert.Equal(t, tokens.IDToken.Subject, refreshed.IDToken.Subject)
			})

			t.Run("wrong password is refused", func(t *testing.T) {
				b := dextest.NewBrowser()
				b.Connector, b.Login, b.Password = "Email", "jane@example.com", "wrong"
				_, err := rp.SignIn(ctx, b)
				require.Error(t, err)
			})

			t.Run("mock connector login", func(t *testing.T) {
				b := dextest.NewBrowser()
				b.Connector = "Mock Login"
				tokens, err := rp.SignIn(ctx, b)
				require.NoError(t, err)
				assert.Equal(t, "mock", tokens.Claims.FederatedClaims.ConnectorID)
				assert.NotEmpty(t, tokens.Claims.Email)
			})

			t.Run("metrics", func(t *testing.T) {
				status, body := get(t, "http://"+dex.Addrs.Telemetry+"/metrics")
				assert.Equal(t, 200, status)
				assert.Contains(t, body, `dex_build_info{`)
				assert.Contains(t, body, `dex_spectro_build_info{`)
				assert.Contains(t, body, `http_requests_total{code="200",handler="/token"`)
				assert.Contains(t, body, "go_goroutines")
			})

			t.Run("graceful shutdown", func(t *testing.T) {
				require.NoError(t, dex.Stop())
				_, err := (&httpClientNoRetry).Get(dex.URL("/healthz"))
				require.Error(t, err, "the listener is closed")
			})
		})
	}
}

// A registry given is the one the server registers its metrics on.
func TestRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	startDex(t, basicConfig(nil), "", serve.WithRegistry(reg))
	families, err := reg.Gather()
	require.NoError(t, err)
	names := map[string]bool{}
	for _, f := range families {
		names[f.GetName()] = true
	}
	assert.True(t, names["dex_build_info"])
}
