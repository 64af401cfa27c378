package interop

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
	"github.com/dex-spectro/dex-spectro/internal/dextest"
)

// RFC 8693 names used by Dex's token exchange.
const (
	grantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	tokenTypeIDToken   = "urn:ietf:params:oauth:token-type:id_token"
)

// paletteUser returns the tenant's copy of a user, with the subject the
// emulator gave it.
func paletteUser(t *testing.T, tenant *spectrotest.Tenant, email string) spectrotest.User {
	t.Helper()
	for _, u := range tenant.Users() {
		if u.Email == email {
			return u
		}
	}
	t.Fatalf("tenant %s has no user %s", tenant.UID(), email)
	return spectrotest.User{}
}

// exchangeResponse is Dex's answer to a token exchange.
type exchangeResponse struct {
	AccessToken     string `json:"access_token"`
	IssuedTokenType string `json:"issued_token_type"`
	Error           string `json:"error"`
}

// exchange trades a Palette ID token for a Dex ID token through a connector,
// as the Backstage client.
func (st *stack) exchange(t *testing.T, connectorID, subjectToken string) (int, exchangeResponse) {
	t.Helper()
	form := url.Values{
		"grant_type":           {grantTokenExchange},
		"connector_id":         {connectorID},
		"subject_token":        {subjectToken},
		"subject_token_type":   {tokenTypeIDToken},
		"requested_token_type": {tokenTypeIDToken},
		"scope":                {"openid email profile groups federated:id"},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	status, body, err := dextest.PostToken(ctx, st.HTTP, st.Issuer, backstageClient, backstageSecret, form)
	require.NoError(t, err)
	var out exchangeResponse
	require.NoError(t, json.Unmarshal([]byte(body), &out), "token endpoint answered %s", body)
	return status, out
}

// Two Palette tenants behind one Dex, each with its own spectrocloud
// connector and OAuth client: users sign in through their tenant's
// connector, Dex's subjects tell the connectors apart, and a tenant's token
// is exchanged only by that tenant's connector.
func TestSeveralTenants(t *testing.T) {
	st := startStack(t, exampleSpec())
	prod, lab := st.tenant(t, prodConnector), st.tenant(t, labConnector)
	rp := st.relyingParty(t, backstageClient, backstageSecret, backstageCallback,
		"openid", "profile", "email", "groups", "federated:id", "offline_access")

	t.Run("login page lists both tenants", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		b := dextest.NewBrowser()
		b.Client.Transport = st.HTTP.Transport
		page, err := b.Get(ctx, rp.OAuth2.AuthCodeURL("state"))
		require.NoError(t, err)
		assert.ElementsMatch(t, []string{prodName, labName}, page.Connectors())
	})

	tests := []struct {
		name          string
		connectorID   string
		connectorName string
		tenant        *spectrotest.Tenant
		user          spectrotest.User
	}{
		{"production user", prodConnector, prodName, prod, jane()},
		{"lab user", labConnector, labName, lab, lee()},
		{"user of both tenants, through production", prodConnector, prodName, prod, opsProd()},
		{"user of both tenants, through the lab", labConnector, labName, lab, opsLab()},
	}
	subjects := make(map[string]string) // test name → Dex sub
	for _, tt := range tests {
		t.Run("sign-in/"+tt.name, func(t *testing.T) {
			palette := paletteUser(t, tt.tenant, tt.user.Email)
			tokens := st.signIn(t, rp, tt.connectorID, tt.connectorName, tt.user)
			c := tokens.Claims
			assert.Equal(t, tt.user.Email, c.Email)
			assert.Equal(t, tt.user.Groups, c.Groups, "the tenant's teams")
			assert.Equal(t, tt.connectorID, c.FederatedClaims.ConnectorID)
			assert.Equal(t, palette.Sub, c.FederatedClaims.UserID)
			subject, err := decodeDexSubject(c.Subject)
			require.NoError(t, err)
			assert.Equal(t, dexSubject{UserID: palette.Sub, ConnectorID: tt.connectorID}, subject)
			subjects[tt.name] = c.Subject

			// A refresh goes back through the same connector.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			refreshed, err := rp.Refresh(ctx, tokens.OAuth2.RefreshToken)
			require.NoError(t, err)
			assert.Equal(t, c.Subject, refreshed.Claims.Subject)
			assert.Equal(t, tt.user.Groups, refreshed.Claims.Groups)
		})
	}

	t.Run("subjects differ by connector", func(t *testing.T) {
		require.Len(t, subjects, len(tests))
		require.Equal(t, opsProd().Sub, opsLab().Sub, "the same Palette UID in both tenants")
		seen := make(map[string]string)
		for name, sub := range subjects {
			other, dup := seen[sub]
			assert.False(t, dup, "%q and %q have the same Dex subject", name, other)
			seen[sub] = name
		}
	})

	janeProd := paletteUser(t, prod, jane().Email)
	leeLab := paletteUser(t, lab, lee().Email)
	prodToken := prod.MintIDToken(prod.Claims(janeProd, "dex-prod", ""))
	labToken := lab.MintIDToken(lab.Claims(leeLab, "dex-lab", ""))
	// Production's signature and issuer, but the lab client as audience.
	prodTokenForLabClient := prod.MintIDToken(prod.Claims(janeProd, "dex-lab", ""))

	exchanges := []struct {
		name        string
		connectorID string
		token       string
		want        *spectrotest.User // nil: refused
	}{
		{"production token, production connector", prodConnector, prodToken, &janeProd},
		{"lab token, lab connector", labConnector, labToken, &leeLab},
		{"production token, lab connector", labConnector, prodToken, nil},
		{"lab token, production connector", prodConnector, labToken, nil},
		{"production token for the lab client, lab connector", labConnector, prodTokenForLabClient, nil},
	}
	for _, tt := range exchanges {
		t.Run("token exchange/"+tt.name, func(t *testing.T) {
			status, resp := st.exchange(t, tt.connectorID, tt.token)
			if tt.want == nil {
				assert.Equal(t, http.StatusUnauthorized, status)
				assert.Equal(t, "access_denied", resp.Error)
				assert.Empty(t, resp.AccessToken)
				return
			}
			require.Equal(t, http.StatusOK, status, "error %q", resp.Error)
			assert.Equal(t, tokenTypeIDToken, resp.IssuedTokenType)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			idToken, err := rp.Verifier.Verify(ctx, resp.AccessToken)
			require.NoError(t, err)
			var c dextest.Claims
			require.NoError(t, idToken.Claims(&c))
			assert.Equal(t, tt.want.Email, c.Email)
			assert.Equal(t, tt.want.Groups, c.Groups)
			subject, err := decodeDexSubject(c.Subject)
			require.NoError(t, err)
			assert.Equal(t, dexSubject{UserID: tt.want.Sub, ConnectorID: tt.connectorID}, subject)
		})
	}
}
