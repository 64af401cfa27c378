package spectrotest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func codeForm(code string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect}}
}

func discoveryDoc(t *testing.T, f *fixture) map[string]any {
	t.Helper()
	res, body := get(t, f, f.tenant.DiscoveryURL())
	require.Equal(t, http.StatusOK, res.StatusCode)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(body, &doc))
	return doc
}

// A post-only token endpoint refuses basic authentication before it looks at
// the code, so the same code can still be redeemed with client_secret_post;
// the discovery document says which methods are taken.
func TestTokenAuthMethods(t *testing.T) {
	tests := []struct {
		name      string
		methods   []string
		advertise bool
		basicOK   bool
		postOK    bool
		wantDoc   any
	}{
		{"default", nil, true, true, true, []any{AuthMethodBasic, AuthMethodPost}},
		{"post only", []string{AuthMethodPost}, true, false, true, []any{AuthMethodPost}},
		{"basic only", []string{AuthMethodBasic}, true, true, false, []any{AuthMethodBasic}},
		{"post only, not advertised", []string{AuthMethodPost}, false, false, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.tenant.SetTokenAuthMethods(tt.methods...)
			f.tenant.SetAdvertiseTokenAuthMethods(tt.advertise)
			doc := discoveryDoc(t, f)
			if tt.wantDoc == nil {
				assert.NotContains(t, doc, "token_endpoint_auth_methods_supported")
			} else {
				assert.Equal(t, tt.wantDoc, doc["token_endpoint_auth_methods_supported"])
			}

			for _, style := range []struct {
				style authStyle
				ok    bool
			}{{authBasic, tt.basicOK}, {authPost, tt.postOK}} {
				code := f.code(t, nil)
				before := f.tenant.CodeRedemptions()
				res := postToken(t, f, style.style, testClientID, testSecret, codeForm(code))
				if style.ok {
					require.Equal(t, http.StatusOK, res.status, "body: %v", res.body)
					assert.Equal(t, before+1, f.tenant.CodeRedemptions())
					continue
				}
				requireOAuthError(t, res, http.StatusUnauthorized, "invalid_client")
				assert.Equal(t, before, f.tenant.CodeRedemptions(), "a refused client never reaches the code")
				other := authPost
				if style.style == authPost {
					other = authBasic
				}
				res = postToken(t, f, other, testClientID, testSecret, codeForm(code))
				require.Equal(t, http.StatusOK, res.status, "the code survives a refused client authentication: %v", res.body)
				assert.Equal(t, before+1, f.tenant.CodeRedemptions())
			}
		})
	}

	t.Run("reset", func(t *testing.T) {
		f := newFixture(t)
		f.tenant.SetTokenAuthMethods(AuthMethodPost)
		f.tenant.SetTokenAuthMethods()
		res := postToken(t, f, authBasic, testClientID, testSecret, codeForm(f.code(t, nil)))
		require.Equal(t, http.StatusOK, res.status, "body: %v", res.body)
	})
}

// Every presentation of a code by an authenticated client counts, the
// refused second use of a code included.
func TestCodeRedemptions(t *testing.T) {
	f := newFixture(t)
	assert.Zero(t, f.tenant.CodeRedemptions())
	code := f.code(t, nil)
	require.Equal(t, http.StatusOK, exchange(t, f, code, nil).status)
	assert.Equal(t, 1, f.tenant.CodeRedemptions())
	requireOAuthError(t, exchange(t, f, code, nil), http.StatusBadRequest, "invalid_grant")
	assert.Equal(t, 2, f.tenant.CodeRedemptions())
	requireOAuthError(t, postToken(t, f, authBasic, testClientID, "wrong", codeForm(code)), http.StatusUnauthorized, "invalid_client")
	assert.Equal(t, 2, f.tenant.CodeRedemptions(), "a failed client authentication is not a redemption")
}

func TestGroupsAsString(t *testing.T) {
	f := newFixture(t)
	one := User{Email: "solo@example.com", Groups: []string{"platform"}}
	f.tenant.AddUser(one)
	one = f.tenant.Users()[1]

	assert.Equal(t, []string{"platform"}, f.tenant.Claims(one, testClientID, "")["groups"])
	f.tenant.SetGroupsAsString(true)
	assert.Equal(t, "platform", f.tenant.Claims(one, testClientID, "")["groups"])
	assert.Equal(t, []string{"platform", "admins"}, f.tenant.Claims(f.tenant.Users()[0], testClientID, "")["groups"],
		"several teams stay a list")

	f.tenant.SetAutoLogin(one.Email)
	loc, err := f.tenant.Authorize(t.Context(), authURL(f.tenant, nil))
	require.NoError(t, err)
	res := exchange(t, f, loc.Query().Get("code"), nil)
	require.Equal(t, http.StatusOK, res.status, "body: %v", res.body)
	assert.Equal(t, "platform", verifyIDToken(t, f, f.tenant, res.str("id_token"))["groups"])
}
