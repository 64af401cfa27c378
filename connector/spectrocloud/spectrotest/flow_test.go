package spectrotest

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCodeFlow(t *testing.T) {
	for _, tt := range []struct {
		name  string
		style authStyle
	}{
		{"client_secret_basic", authBasic},
		{"client_secret_post", authPost},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			clock := newFakeClock()
			f.tenant.SetNow(clock.Now)
			code := f.code(t, nil)

			form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect}}
			res := postToken(t, f, tt.style, testClientID, testSecret, form)
			require.Equal(t, http.StatusOK, res.status, "body: %v", res.body)
			assert.Equal(t, "no-store", res.header.Get("Cache-Control"))
			assert.Equal(t, "application/json", res.header.Get("Content-Type"))
			assert.NotContains(t, res.body, "token_type", "Palette's published schema has no token_type")
			assert.EqualValues(t, 12*3600, res.body["expires_in"])
			assert.NotEmpty(t, res.str("access_token"))
			assert.NotContains(t, res.str("access_token"), ".", "the access token is opaque")

			idToken := res.str("id_token")
			h := header(t, idToken)
			assert.Equal(t, map[string]any{"alg": "RS256", "kid": f.tenant.SigningKeyID(), "typ": "JWT"}, h)
			claims := verifyIDToken(t, f, f.tenant, idToken)
			now := clock.Now().Unix()
			assert.Equal(t, map[string]any{
				"iss":         f.tenant.Issuer(),
				"aud":         testClientID,
				"sub":         testUser.Sub,
				"iat":         float64(now),
				"exp":         float64(now + 12*3600),
				"email":       testUser.Email,
				"given_name":  "Jane",
				"family_name": "Doe",
				"groups":      []any{"platform", "admins"},
				"nonce":       testNonce,
			}, claims)

			// The refresh token is Palette's HS256 session token.
			refresh := res.str("refresh_token")
			assert.Equal(t, "HS256", header(t, refresh)["alg"])
			session := payload(t, refresh)
			assert.Equal(t, testUser.Sub, session["userUid"])
			assert.Equal(t, testTenantUID, session["tenantUid"])
			assert.NotEmpty(t, session["sessionId"])
			assert.EqualValues(t, now+12*3600, session["exp"])

			// So is the code, of the same session.
			assert.Equal(t, "HS256", header(t, code)["alg"])
			assert.Equal(t, session["sessionId"], payload(t, code)["sessionId"])
			assert.EqualValues(t, now+60, payload(t, code)["exp"])
		})
	}
}

func TestClientAuthentication(t *testing.T) {
	f := newFixture(t)
	f.tenant.AddClient(Client{ID: "public", RedirectURIs: []string{testRedirect}})

	rawBasic := func(id, secret string) func(*http.Request) {
		return func(r *http.Request) { r.SetBasicAuth(id, secret) }
	}
	tests := []struct {
		name       string
		style      authStyle
		id, secret string
		edit       func(*http.Request) // applied last
		form       url.Values
		status     int
		err        string
	}{
		{name: "basic", style: authBasic, id: testClientID, secret: testSecret, status: 200},
		{name: "post", style: authPost, id: testClientID, secret: testSecret, status: 200},
		{name: "basic with client_id in the form", style: authBasic, id: testClientID, secret: testSecret,
			form: url.Values{"client_id": {testClientID}}, status: 200},
		{name: "basic not url-encoded", style: authNone, edit: rawBasic(testClientID, testSecret),
			status: 401, err: "invalid_client"},
		{name: "basic wrong secret", style: authBasic, id: testClientID, secret: "wrong", status: 401, err: "invalid_client"},
		{name: "post wrong secret", style: authPost, id: testClientID, secret: "wrong", status: 401, err: "invalid_client"},
		{name: "post missing secret", style: authNone, form: url.Values{"client_id": {testClientID}},
			status: 401, err: "invalid_client"},
		{name: "no authentication", style: authNone, status: 401, err: "invalid_client"},
		{name: "unknown client", style: authBasic, id: "other", secret: testSecret, status: 401, err: "invalid_client"},
		{name: "client without secret", style: authPost, id: "public", secret: "", status: 401, err: "invalid_client"},
		{name: "bearer header", style: authNone, edit: func(r *http.Request) { r.Header.Set("Authorization", "Bearer x") },
			status: 401, err: "invalid_client"},
		{name: "basic and post at once", style: authBasic, id: testClientID, secret: testSecret,
			form: url.Values{"client_secret": {testSecret}}, status: 400, err: "invalid_request"},
		{name: "basic and another form client_id", style: authBasic, id: testClientID, secret: testSecret,
			form: url.Values{"client_id": {"other"}}, status: 400, err: "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := url.Values{"grant_type": {"authorization_code"}, "code": {f.code(t, nil)}, "redirect_uri": {testRedirect}}
			for name, values := range tt.form {
				form[name] = values
			}
			if tt.style == authPost {
				form.Set("client_id", tt.id)
				form.Set("client_secret", tt.secret)
			}
			req, err := http.NewRequest(http.MethodPost, f.tenant.TokenURL(), strings.NewReader(form.Encode()))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.style == authBasic {
				req.SetBasicAuth(url.QueryEscape(tt.id), url.QueryEscape(tt.secret))
			}
			if tt.edit != nil {
				tt.edit(req)
			}
			res := doToken(t, f, req)
			if tt.err == "" {
				require.Equal(t, tt.status, res.status, "body: %v", res.body)
				assert.NotEmpty(t, res.str("id_token"))
				return
			}
			requireOAuthError(t, res, tt.status, tt.err)
			if tt.status == http.StatusUnauthorized {
				assert.Contains(t, res.header.Get("WWW-Authenticate"), "Basic")
			}
		})
	}
}

func TestTokenRequestErrors(t *testing.T) {
	f := newFixture(t)

	t.Run("GET", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, f.tenant.TokenURL()+"?grant_type=authorization_code", nil)
		res := doToken(t, f, req)
		requireOAuthError(t, res, http.StatusMethodNotAllowed, "invalid_request")
		assert.Equal(t, "POST", res.header.Get("Allow"))
	})
	t.Run("JSON body", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, f.tenant.TokenURL(), strings.NewReader(`{"grant_type":"authorization_code"}`))
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth(url.QueryEscape(testClientID), url.QueryEscape(testSecret))
		requireOAuthError(t, doToken(t, f, req), http.StatusBadRequest, "invalid_request")
	})
	t.Run("parameters in the query only", func(t *testing.T) {
		q := url.Values{"grant_type": {"authorization_code"}, "code": {f.code(t, nil)}, "redirect_uri": {testRedirect}}
		req, _ := http.NewRequest(http.MethodPost, f.tenant.TokenURL()+"?"+q.Encode(), strings.NewReader(""))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(url.QueryEscape(testClientID), url.QueryEscape(testSecret))
		requireOAuthError(t, doToken(t, f, req), http.StatusBadRequest, "invalid_request")
	})

	tests := []struct {
		name   string
		form   url.Values
		status int
		err    string
	}{
		{"missing grant_type", url.Values{"code": {"x"}}, 400, "invalid_request"},
		{"unsupported grant", url.Values{"grant_type": {"client_credentials"}}, 400, "unsupported_grant_type"},
		{"password grant", url.Values{"grant_type": {"password"}, "username": {"jane"}}, 400, "unsupported_grant_type"},
		{"missing code", url.Values{"grant_type": {"authorization_code"}, "redirect_uri": {testRedirect}}, 400, "invalid_request"},
		{"garbage code", url.Values{"grant_type": {"authorization_code"}, "code": {"abc"}, "redirect_uri": {testRedirect}}, 400, "invalid_grant"},
		{"repeated parameter", url.Values{"grant_type": {"authorization_code", "authorization_code"}}, 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requireOAuthError(t, postToken(t, f, authBasic, testClientID, testSecret, tt.form), tt.status, tt.err)
		})
	}
}

func TestCodeIsSingleUse(t *testing.T) {
	f := newFixture(t)
	code := f.code(t, nil)
	require.Equal(t, http.StatusOK, exchange(t, f, code, nil).status)
	requireOAuthError(t, exchange(t, f, code, nil), http.StatusBadRequest, "invalid_grant")
	requireOAuthError(t, exchange(t, f, code, nil), http.StatusBadRequest, "invalid_grant")
}

func TestCodeIsBoundToClientAndRedirectURI(t *testing.T) {
	f := newFixture(t)
	other := "https://dex.example.com/other-callback"
	f.tenant.AddClient(Client{ID: "other", Secret: "other-secret", RedirectURIs: []string{testRedirect, other}})
	f.tenant.AddClient(Client{ID: testClientID, Secret: testSecret, RedirectURIs: []string{testRedirect, other}})

	t.Run("another client", func(t *testing.T) {
		form := url.Values{"grant_type": {"authorization_code"}, "code": {f.code(t, nil)}, "redirect_uri": {testRedirect}}
		requireOAuthError(t, postToken(t, f, authBasic, "other", "other-secret", form), http.StatusBadRequest, "invalid_grant")
	})
	for _, redirect := range []string{other, "", testRedirect + "/", strings.ToUpper(testRedirect)} {
		t.Run("redirect_uri "+redirect, func(t *testing.T) {
			code := f.code(t, nil)
			res := exchange(t, f, code, url.Values{"redirect_uri": {redirect}})
			requireOAuthError(t, res, http.StatusBadRequest, "invalid_grant")
			// The failed attempt used the code up.
			requireOAuthError(t, exchange(t, f, code, nil), http.StatusBadRequest, "invalid_grant")
		})
	}
	t.Run("the other registered redirect_uri", func(t *testing.T) {
		code := f.code(t, map[string]string{"redirect_uri": other})
		require.Equal(t, http.StatusOK, exchange(t, f, code, url.Values{"redirect_uri": {other}}).status)
	})
}

func TestCodeExpiry(t *testing.T) {
	tests := []struct {
		name     string
		lifetime time.Duration // 0: default
		wait     time.Duration
		ok       bool
	}{
		{"fresh", 0, 0, true},
		{"just before the default minute", 0, 59 * time.Second, true},
		{"at the default minute", 0, time.Minute, false},
		{"past the default minute", 0, 2 * time.Minute, false},
		{"within a longer lifetime", 10 * time.Minute, 9 * time.Minute, true},
		{"past a longer lifetime", 10 * time.Minute, 11 * time.Minute, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			clock := newFakeClock()
			f.tenant.SetNow(clock.Now)
			if tt.lifetime != 0 {
				f.tenant.SetCodeLifetime(tt.lifetime)
			}
			code := f.code(t, nil)
			clock.Advance(tt.wait)
			res := exchange(t, f, code, nil)
			requireGrantedIf(t, tt.ok, res)
		})
	}
}

func TestIDTokenLifetime(t *testing.T) {
	f := newFixture(t)
	clock := newFakeClock()
	f.tenant.SetNow(clock.Now)
	f.tenant.SetIDTokenLifetime(72 * time.Hour)
	res := exchange(t, f, f.code(t, nil), nil)
	require.Equal(t, http.StatusOK, res.status)
	assert.EqualValues(t, 72*3600, res.body["expires_in"])
	claims := payload(t, res.str("id_token"))
	assert.EqualValues(t, clock.Now().Unix(), claims["iat"])
	assert.EqualValues(t, clock.Now().Add(72*time.Hour).Unix(), claims["exp"])

	f.tenant.SetNow(nil) // back to the real clock
	claims = payload(t, exchange(t, f, f.code(t, nil), nil).str("id_token"))
	assert.InDelta(t, time.Now().Unix(), claims["iat"], 5)
}

func TestPKCE(t *testing.T) {
	const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	const s256 = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" // RFC 7636 appendix B
	tests := []struct {
		name      string
		pkce      bool
		challenge map[string]string
		verifier  *string
		ok        bool
	}{
		{"S256", true, map[string]string{"code_challenge": s256, "code_challenge_method": "S256"}, ptr(verifier), true},
		{"S256 missing verifier", true, map[string]string{"code_challenge": s256, "code_challenge_method": "S256"}, nil, false},
		{"S256 wrong verifier", true, map[string]string{"code_challenge": s256, "code_challenge_method": "S256"}, ptr(verifier[1:] + "x"), false},
		{"S256 short verifier", true, map[string]string{"code_challenge": s256, "code_challenge_method": "S256"}, ptr("abc"), false},
		{"S256 challenge sent as verifier", true, map[string]string{"code_challenge": s256, "code_challenge_method": "S256"}, ptr(s256), false},
		{"plain", true, map[string]string{"code_challenge": verifier, "code_challenge_method": "plain"}, ptr(verifier), true},
		{"plain by default", true, map[string]string{"code_challenge": verifier}, ptr(verifier), true},
		{"plain wrong verifier", true, map[string]string{"code_challenge": verifier}, ptr(s256), false},
		{"verifier without challenge", true, nil, ptr(verifier), false},
		{"no PKCE at all", true, nil, nil, true},
		{"off: challenge ignored, no verifier", false, map[string]string{"code_challenge": s256, "code_challenge_method": "S256"}, nil, true},
		{"off: wrong verifier ignored", false, map[string]string{"code_challenge": s256, "code_challenge_method": "S256"}, ptr("wrong"), true},
		{"off: unknown method ignored", false, map[string]string{"code_challenge": "x", "code_challenge_method": "S512"}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.tenant.SetPKCE(tt.pkce)
			code := f.code(t, tt.challenge)
			var extra url.Values
			if tt.verifier != nil {
				extra = url.Values{"code_verifier": {*tt.verifier}}
			}
			res := exchange(t, f, code, extra)
			requireGrantedIf(t, tt.ok, res)
		})
	}
}

func TestNonce(t *testing.T) {
	tests := []struct {
		name  string
		echo  bool
		nonce string
		want  any
	}{
		{"echoed", true, "n-1", "n-1"},
		{"not echoed", false, "n-1", nil},
		{"none sent", true, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.tenant.SetEchoNonce(tt.echo)
			res := exchange(t, f, f.code(t, map[string]string{"nonce": tt.nonce}), nil)
			require.Equal(t, http.StatusOK, res.status)
			claims := verifyIDToken(t, f, f.tenant, res.str("id_token"))
			assert.Equal(t, tt.want, claims["nonce"])
		})
	}
}

func TestRefreshGrant(t *testing.T) {
	f := newFixture(t)
	f.tenant.AddClient(Client{ID: "other", Secret: "other-secret", RedirectURIs: []string{testRedirect}})
	res := exchange(t, f, f.code(t, nil), nil)
	require.Equal(t, http.StatusOK, res.status)
	refresh := res.str("refresh_token")
	refreshForm := func(tok string) url.Values {
		return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok}}
	}

	t.Run("rejected as by Palette", func(t *testing.T) {
		requireOAuthError(t, postToken(t, f, authBasic, testClientID, testSecret, refreshForm(refresh)),
			http.StatusBadRequest, "invalid_grant")
		requireOAuthError(t, postToken(t, f, authPost, testClientID, testSecret, refreshForm(refresh)),
			http.StatusBadRequest, "invalid_grant")
	})

	t.Run("standard mode", func(t *testing.T) {
		f.tenant.EnableStandardRefreshGrant(true)
		defer f.tenant.EnableStandardRefreshGrant(false)

		res := postToken(t, f, authBasic, testClientID, testSecret, refreshForm(refresh))
		require.Equal(t, http.StatusOK, res.status, "body: %v", res.body)
		assert.Equal(t, "no-store", res.header.Get("Cache-Control"))
		claims := verifyIDToken(t, f, f.tenant, res.str("id_token"))
		assert.Equal(t, testUser.Email, claims["email"])
		assert.NotContains(t, claims, "nonce")
		assert.NotEmpty(t, res.str("access_token"))
		next := res.str("refresh_token")
		assert.Equal(t, payload(t, refresh)["sessionId"], payload(t, next)["sessionId"])
		require.Equal(t, http.StatusOK, postToken(t, f, authBasic, testClientID, testSecret, refreshForm(next)).status)

		for name, form := range map[string]url.Values{
			"garbage":         refreshForm("not-a-token"),
			"a code":          refreshForm(f.code(t, nil)),
			"an ID token":     refreshForm(res.str("id_token")),
			"tampered":        refreshForm(refresh[:len(refresh)-2] + "xx"),
			"missing refresh": {"grant_type": {"refresh_token"}},
		} {
			res := postToken(t, f, authBasic, testClientID, testSecret, form)
			assert.Equal(t, http.StatusBadRequest, res.status, name)
			assert.Contains(t, []string{"invalid_grant", "invalid_request"}, res.str("error"), name)
		}
		requireOAuthError(t, postToken(t, f, authBasic, "other", "other-secret", refreshForm(refresh)),
			http.StatusBadRequest, "invalid_grant")
	})

	t.Run("standard mode, expired", func(t *testing.T) {
		clock := newFakeClock()
		f.tenant.SetNow(clock.Now)
		defer f.tenant.SetNow(nil)
		f.tenant.EnableStandardRefreshGrant(true)
		defer f.tenant.EnableStandardRefreshGrant(false)
		res := exchange(t, f, f.code(t, nil), nil)
		require.Equal(t, http.StatusOK, res.status)
		clock.Advance(13 * time.Hour)
		requireOAuthError(t, postToken(t, f, authBasic, testClientID, testSecret, refreshForm(res.str("refresh_token"))),
			http.StatusBadRequest, "invalid_grant")
	})
}

func TestUserClaims(t *testing.T) {
	f := newFixture(t)
	f.tenant.AddUser(User{
		Email:  "bob@example.com",
		Groups: []string{},
		Claims: map[string]any{
			"name":           "Bob",
			"email_verified": true,
			"family_name":    "ignored", // not set anyway
			"sub":            "overridden",
			"tenant":         "acme",
		},
	})
	f.tenant.AddUser(User{Email: "carol@example.com", GivenName: "Carol", Claims: map[string]any{"email": nil, "given_name": nil}})

	issue := func(email string) map[string]any {
		f.tenant.SetAutoLogin(email)
		loc, err := f.tenant.Authorize(t.Context(), authURL(f.tenant, nil))
		require.NoError(t, err)
		res := exchange(t, f, loc.Query().Get("code"), nil)
		require.Equal(t, http.StatusOK, res.status, "body: %v", res.body)
		return verifyIDToken(t, f, f.tenant, res.str("id_token"))
	}

	jane := issue(testUser.Email)
	for _, absent := range []string{"name", "preferred_username", "email_verified"} {
		assert.NotContains(t, jane, absent)
	}

	bob := issue("bob@example.com")
	assert.Equal(t, "Bob", bob["name"])
	assert.Equal(t, true, bob["email_verified"])
	assert.Equal(t, "overridden", bob["sub"])
	assert.Equal(t, "acme", bob["tenant"])
	assert.Equal(t, []any{}, bob["groups"], "an empty team list is emitted")
	assert.NotContains(t, bob, "given_name")

	carol := issue("carol@example.com")
	assert.NotContains(t, carol, "email")
	assert.NotContains(t, carol, "given_name")
	assert.NotContains(t, carol, "groups", "no team list, no claim")

	// A derived subject is stable and Palette-shaped.
	users := f.tenant.Users()
	require.Len(t, users, 3)
	assert.Equal(t, []string{testUser.Email, "bob@example.com", "carol@example.com"},
		[]string{users[0].Email, users[1].Email, users[2].Email})
	assert.Regexp(t, `^[0-9a-f]{24}$`, users[1].Sub)

	// Claims matches what the token endpoint issues, hook aside.
	want := f.tenant.Claims(users[0], testClientID, testNonce)
	delete(want, "iat")
	delete(want, "exp")
	got := issue(testUser.Email)
	delete(got, "iat")
	delete(got, "exp")
	assert.Equal(t, jsonRoundTrip(t, want), got)

	// Users returns copies.
	users[0].Groups[0] = "changed"
	assert.Equal(t, "platform", f.tenant.Users()[0].Groups[0])
}

func TestIDTokenHookAndMint(t *testing.T) {
	f := newFixture(t)
	f.tenant.SetIDTokenHook(func(claims map[string]any) {
		claims["iss"] = "https://evil.example.com"
		delete(claims, "email")
		claims["iat"] = claims["iat"].(int64) + 3600
	})
	res := exchange(t, f, f.code(t, nil), nil)
	require.Equal(t, http.StatusOK, res.status)
	claims := verifyIDToken(t, f, f.tenant, res.str("id_token"))
	assert.Equal(t, "https://evil.example.com", claims["iss"])
	assert.NotContains(t, claims, "email")
	assert.Equal(t, claims["iat"], claims["exp"].(float64)-11*3600)

	f.tenant.SetIDTokenHook(nil)
	f.tenant.SetIDTokenMint(WithKeyID("unknown-kid"))
	res = exchange(t, f, f.code(t, nil), nil)
	require.Equal(t, http.StatusOK, res.status)
	assert.Equal(t, "unknown-kid", header(t, res.str("id_token"))["kid"])
	assert.Equal(t, f.tenant.Issuer(), payload(t, res.str("id_token"))["iss"])

	f.tenant.SetIDTokenMint(WithAlg("none"))
	res = exchange(t, f, f.code(t, nil), nil)
	_, err := jose.ParseSigned(res.str("id_token"), []jose.SignatureAlgorithm{jose.RS256})
	assert.Error(t, err)

	f.tenant.SetIDTokenMint()
	res = exchange(t, f, f.code(t, nil), nil)
	verifyIDToken(t, f, f.tenant, res.str("id_token"))
}

func ptr[T any](v T) *T { return &v }
