package spectrocloud

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dexidp/dex/connector"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
	"github.com/dex-spectro/dex-spectro/internal/dextest"
)

// freshCase returns a copy of f for one case of a table test: with the
// case's t, its own configuration and log, and the tenant's faults, ID-token
// hook, signing options and request counters back to their defaults. The
// tenant and its keys are shared, so the cases run one after another, each
// with a connector of its own.
func (f *fixture) freshCase(t *testing.T) *fixture {
	t.Helper()
	c := *f
	c.t = t
	c.logs = &dextest.LogBuffer{}
	c.tenant.ClearFaults()
	c.tenant.SetIDTokenHook(nil)
	c.tenant.SetIDTokenMint()
	c.tenant.ResetRequests()
	return &c
}

// ruleEntry is one way a Palette ID token reaches the verifier.
type ruleEntry string

const (
	viaSignIn   ruleEntry = "sign-in"
	viaExchange ruleEntry = "token exchange"
	viaRefresh  ruleEntry = "refresh"
)

// present hands the verifier a Palette ID token through entry: at sign-in
// the tenant's token endpoint issues it with the claims changed by hook and
// signed with opts; for token exchange and refresh the tenant mints
// ruleClaims changed by hook. The connector c has not seen the token
// before, so it is verified in full.
func present(t *testing.T, f *fixture, c *spectroConnector, entry ruleEntry, hook func(map[string]any), opts ...spectrotest.MintOption) (connector.Identity, error) {
	t.Helper()
	if hook == nil {
		hook = func(map[string]any) {}
	}
	switch entry {
	case viaSignIn:
		f.tenant.SetIDTokenHook(hook)
		f.tenant.SetIDTokenMint(opts...)
		return f.login(c, allScopes)
	case viaExchange:
		claims := ruleClaims(f)
		hook(claims)
		return c.TokenIdentity(context.Background(), tokenTypeIDToken, f.tenant.MintIDToken(claims, opts...))
	case viaRefresh:
		claims := ruleClaims(f)
		hook(claims)
		data, err := json.Marshal(session{Version: sessionVersion, IDToken: f.tenant.MintIDToken(claims, opts...)})
		require.NoError(t, err)
		id, err := c.Refresh(context.Background(), allScopes, connector.Identity{UserID: jane.Sub, ConnectorData: data})
		if err == nil {
			// A refresh leaves the session Dex stored as it is: the token in
			// force is the one presented.
			id.ConnectorData = data
		}
		return id, err
	}
	t.Fatalf("unknown entry %q", entry)
	return connector.Identity{}, nil
}

var allEntries = []ruleEntry{viaSignIn, viaExchange, viaRefresh}

// ruleClaims are the claims the tenant's token endpoint issues to Jane at
// sign-in, with a nonce as long as the connector's.
func ruleClaims(f *fixture) map[string]any {
	return f.tenant.Claims(jane, testClientID, strings.Repeat("n", 22))
}

// signInOnce runs a whole sign-in through c (ours, or Dex's oidc connector
// in a benchmark) and returns the first error of LoginURL, the emulated
// browser or HandleCallback.
func signInOnce(f *fixture, c connector.CallbackConnector) (connector.Identity, error) {
	authURL, connData, err := c.LoginURL(allScopes, testRedirectURI, testState)
	if err != nil {
		return connector.Identity{}, err
	}
	cb, err := f.tenant.Authorize(context.Background(), authURL)
	if err != nil {
		return connector.Identity{}, err
	}
	return c.HandleCallback(allScopes, connData, httptest.NewRequest(http.MethodGet, cb.String(), nil))
}
