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

// A discovery document can advertise methods the token endpoint does not
// take.
func TestAdvertisedTokenAuthMethods(t *testing.T) {
	f := newFixture(t)
	f.tenant.SetTokenAuthMethods(AuthMethodPost)
	f.tenant.SetAdvertisedTokenAuthMethods(AuthMethodBasic)
	assert.Equal(t, []any{AuthMethodBasic}, discoveryDoc(t, f)["token_endpoint_auth_methods_supported"])
	requireOAuthError(t, postToken(t, f, authBasic, testClientID, testSecret, codeForm(f.code(t, nil))), http.StatusUnauthorized, "invalid_client")

	f.tenant.SetAdvertiseTokenAuthMethods(false)
	assert.NotContains(t, discoveryDoc(t, f), "token_endpoint_auth_methods_supported")
	f.tenant.SetAdvertiseTokenAuthMethods(true)
	f.tenant.SetAdvertisedTokenAuthMethods()
	assert.Equal(t, []any{AuthMethodPost}, discoveryDoc(t, f)["token_endpoint_auth_methods_supported"])
}

// Each way a post-only token endpoint can meet a Basic header: what it
// answers, whether the code was used up, and whether the same code then
// redeems with client_secret_post.
func TestBasicRefusals(t *testing.T) {
	tests := []struct {
		name        string
		refusal     BasicRefusal
		status      int
		code, desc  string
		redemptions int // of the Basic request
		retryStatus int // the same code sent again with client_secret_post
		retryCode   string
	}{
		{"refused first", RefuseBasicFirst, http.StatusUnauthorized, "invalid_client", "client_secret_basic is not accepted", 0, http.StatusOK, ""},
		{"header ignored", IgnoreBasic, http.StatusBadRequest, "invalid_request", "client_id is required", 0, http.StatusOK, ""},
		{"code redeemed, then refused", RedeemThenRefuseBasic, http.StatusUnauthorized, "invalid_client", "client_secret_basic is not accepted", 1, http.StatusBadRequest, "invalid_grant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.tenant.SetTokenAuthMethods(AuthMethodPost)
			f.tenant.SetBasicRefusal(tt.refusal)
			code := f.code(t, nil)
			res := postToken(t, f, authBasic, testClientID, testSecret, codeForm(code))
			requireOAuthError(t, res, tt.status, tt.code)
			assert.Contains(t, res.str("error_description"), tt.desc)
			assert.Equal(t, tt.redemptions, f.tenant.CodeRedemptions())

			res = postToken(t, f, authPost, testClientID, testSecret, codeForm(code))
			if tt.retryCode == "" {
				require.Equal(t, tt.retryStatus, res.status, "the code is untouched: %v", res.body)
			} else {
				requireOAuthError(t, res, tt.retryStatus, tt.retryCode)
				assert.Contains(t, res.str("error_description"), "already been used")
			}
			assert.Equal(t, tt.redemptions+1, f.tenant.CodeRedemptions())

			// The style applies only where Basic is refused.
			f.tenant.SetTokenAuthMethods()
			require.Equal(t, http.StatusOK, postToken(t, f, authBasic, testClientID, testSecret, codeForm(f.code(t, nil))).status)
		})
	}

	t.Run("header ignored, client_id in the form", func(t *testing.T) {
		f := newFixture(t)
		f.tenant.SetTokenAuthMethods(AuthMethodPost)
		f.tenant.SetBasicRefusal(IgnoreBasic)
		form := codeForm(f.code(t, nil))
		form.Set("client_id", testClientID)
		res := postToken(t, f, authBasic, testClientID, testSecret, form)
		requireOAuthError(t, res, http.StatusUnauthorized, "invalid_client")
		assert.Zero(t, f.tenant.CodeRedemptions())
	})
}

// token_type is left out, as in Palette's published schema, unless set.
func TestTokenType(t *testing.T) {
	f := newFixture(t)
	res := exchange(t, f, f.code(t, nil), nil)
	require.Equal(t, http.StatusOK, res.status)
	assert.NotContains(t, res.body, "token_type")
	f.tenant.SetTokenType("Bearer")
	res = exchange(t, f, f.code(t, nil), nil)
	require.Equal(t, http.StatusOK, res.status)
	assert.Equal(t, "Bearer", res.str("token_type"))
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
