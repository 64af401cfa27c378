package spectrotest

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// noRedirectClient returns the server's client, not following redirects.
func noRedirectClient(f *fixture) *http.Client {
	c := *f.srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

func TestAuthorizeRedirectsWithCode(t *testing.T) {
	f := newFixture(t)
	f.tenant.SetAutoLogin(testUser.Email)

	res, err := noRedirectClient(f).Get(authURL(f.tenant, nil))
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusFound, res.StatusCode)
	assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))
	loc, err := url.Parse(res.Header.Get("Location"))
	require.NoError(t, err)
	assert.Equal(t, testRedirect, loc.Scheme+"://"+loc.Host+loc.Path)
	assert.Equal(t, testState, loc.Query().Get("state"))
	assert.NotEmpty(t, loc.Query().Get("code"))

	// A redirect URI with a query keeps it.
	withQuery := "https://app.example.com/cb?tenant=acme"
	f.tenant.AddClient(Client{ID: "app", Secret: "x", RedirectURIs: []string{withQuery}})
	loc, err = f.tenant.Authorize(context.Background(), authURL(f.tenant, map[string]string{"client_id": "app", "redirect_uri": withQuery, "state": ""}))
	require.NoError(t, err)
	assert.Equal(t, "acme", loc.Query().Get("tenant"))
	assert.NotEmpty(t, loc.Query().Get("code"))
	assert.NotContains(t, loc.Query(), "state", "no state sent, none echoed")
}

func TestAuthorizeErrorPages(t *testing.T) {
	f := newFixture(t)
	f.tenant.SetAutoLogin(testUser.Email)
	tests := []struct {
		name   string
		params map[string]string
		want   string
	}{
		{"missing client_id", map[string]string{"client_id": ""}, "client_id is missing"},
		{"unknown client_id", map[string]string{"client_id": "nope"}, "unknown client_id"},
		{"missing redirect_uri", map[string]string{"redirect_uri": ""}, "redirect_uri is missing"},
		{"unregistered redirect_uri", map[string]string{"redirect_uri": "https://evil.example.com/callback"}, "not registered"},
		{"trailing slash", map[string]string{"redirect_uri": testRedirect + "/"}, "not registered"},
		{"extra query", map[string]string{"redirect_uri": testRedirect + "?x=1"}, "not registered"},
		{"other case", map[string]string{"redirect_uri": "https://DEX.example.com/callback"}, "not registered"},
		{"prefix", map[string]string{"redirect_uri": "https://dex.example.com/call"}, "not registered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := noRedirectClient(f).Get(authURL(f.tenant, tt.params))
			require.NoError(t, err)
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			assert.Equal(t, http.StatusBadRequest, res.StatusCode)
			assert.Empty(t, res.Header.Get("Location"), "never redirects to an unchecked URI")
			assert.Equal(t, "text/html; charset=utf-8", res.Header.Get("Content-Type"))
			assert.Contains(t, string(body), tt.want)

			_, err = f.tenant.Authorize(context.Background(), authURL(f.tenant, tt.params))
			require.Error(t, err)
			assert.Contains(t, err.Error(), "400 Bad Request")
			assert.Contains(t, err.Error(), tt.want)
		})
	}

	t.Run("repeated redirect_uri", func(t *testing.T) {
		u := authURL(f.tenant, nil) + "&redirect_uri=" + url.QueryEscape(testRedirect)
		_, err := f.tenant.Authorize(context.Background(), u)
		require.ErrorContains(t, err, "redirect_uri is repeated")
	})
}

func TestAuthorizeErrorRedirects(t *testing.T) {
	f := newFixture(t)
	f.tenant.SetAutoLogin(testUser.Email)
	tests := []struct {
		name   string
		params map[string]string
		raw    string // appended to the URL
		want   string
	}{
		{name: "token response type", params: map[string]string{"response_type": "token"}, want: "unsupported_response_type"},
		{name: "hybrid response type", params: map[string]string{"response_type": "code id_token"}, want: "unsupported_response_type"},
		{name: "missing response type", params: map[string]string{"response_type": ""}, want: "invalid_request"},
		{name: "no openid scope", params: map[string]string{"scope": "profile email"}, want: "invalid_scope"},
		{name: "missing scope", params: map[string]string{"scope": ""}, want: "invalid_scope"},
		{name: "openid as a substring only", params: map[string]string{"scope": "openidx"}, want: "invalid_scope"},
		{name: "unknown prompt", params: map[string]string{"prompt": "always"}, want: "invalid_request"},
		{name: "prompt none with login", params: map[string]string{"prompt": "none login"}, want: "invalid_request"},
		{name: "repeated state", raw: "&state=again", want: "invalid_request"},
		{name: "unknown PKCE method", params: map[string]string{"code_challenge": strings.Repeat("a", 43), "code_challenge_method": "S512"}, want: "invalid_request"},
		{name: "PKCE method without challenge", params: map[string]string{"code_challenge_method": "S256"}, want: "invalid_request"},
		{name: "S256 challenge too long", params: map[string]string{"code_challenge": strings.Repeat("a", 44), "code_challenge_method": "S256"}, want: "invalid_request"},
		{name: "plain challenge too short", params: map[string]string{"code_challenge": "short"}, want: "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc, err := f.tenant.Authorize(context.Background(), authURL(f.tenant, tt.params)+tt.raw)
			require.NoError(t, err)
			assert.Equal(t, testRedirect, loc.Scheme+"://"+loc.Host+loc.Path)
			q := loc.Query()
			assert.Equal(t, tt.want, q.Get("error"))
			assert.NotEmpty(t, q.Get("error_description"))
			assert.Empty(t, q.Get("code"))
			if tt.raw == "" {
				assert.Equal(t, testState, q.Get("state"))
			}
		})
	}
}

func TestAuthorizePromptNone(t *testing.T) {
	f := newFixture(t)
	params := map[string]string{"prompt": "none"}

	loc, err := f.tenant.Authorize(context.Background(), authURL(f.tenant, params))
	require.NoError(t, err)
	assert.Equal(t, "login_required", loc.Query().Get("error"))
	assert.Equal(t, testState, loc.Query().Get("state"))

	f.tenant.SetAutoLogin(testUser.Email)
	loc, err = f.tenant.Authorize(context.Background(), authURL(f.tenant, params))
	require.NoError(t, err)
	assert.NotEmpty(t, loc.Query().Get("code"))

	// Other prompts are accepted.
	for _, prompt := range []string{"login", "consent", "select_account", "login consent"} {
		loc, err = f.tenant.Authorize(context.Background(), authURL(f.tenant, map[string]string{"prompt": prompt}))
		require.NoError(t, err)
		assert.NotEmpty(t, loc.Query().Get("code"), prompt)
	}
}

func TestSignInPage(t *testing.T) {
	f := newFixture(t)
	f.tenant.AddUser(User{Email: "mallory@example.com", GivenName: "<script>alert(1)</script>", Groups: []string{"a&b"}})
	f.tenant.AddUser(User{Sub: "robot-1"})

	res, body := get(t, f, authURL(f.tenant, map[string]string{"code_challenge": strings.Repeat("c", 43)}))
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "text/html; charset=utf-8", res.Header.Get("Content-Type"))
	page := string(body)
	assert.Contains(t, page, "<title>SpectroCloud Palette (emulator) — tenant "+testTenantUID+"</title>")
	assert.Contains(t, page, "Sign in as Jane Doe &lt;jane@example.com&gt;, teams: platform, admins")
	assert.Contains(t, page, `name="login" value="jane@example.com"`)
	assert.Contains(t, page, "Sign in as &lt;script&gt;alert(1)&lt;/script&gt; &lt;mallory@example.com&gt;, teams: a&amp;b")
	assert.NotContains(t, page, "<script>")
	assert.Contains(t, page, "Sign in as robot-1")
	assert.Contains(t, page, `method="post"`)
	for _, hidden := range []string{"client_id", "redirect_uri", "response_type", "scope", "state", "nonce", "code_challenge"} {
		assert.Contains(t, page, `type="hidden" name="`+hidden+`"`)
	}

	// Authorize reports the page as not a redirect.
	_, err := f.tenant.Authorize(context.Background(), authURL(f.tenant, nil))
	require.ErrorContains(t, err, "200 OK")
	require.ErrorContains(t, err, "Sign in as Jane Doe")

	t.Run("posting the form", func(t *testing.T) {
		form := url.Values{}
		u, _ := url.Parse(authURL(f.tenant, nil))
		for name, values := range u.Query() {
			form[name] = values
		}
		form.Set("login", testUser.Email)
		res, err := noRedirectClient(f).PostForm(f.tenant.AuthURL(), form)
		require.NoError(t, err)
		res.Body.Close()
		require.Equal(t, http.StatusFound, res.StatusCode)
		loc, err := url.Parse(res.Header.Get("Location"))
		require.NoError(t, err)
		assert.Equal(t, testState, loc.Query().Get("state"))
		tok := exchange(t, f, loc.Query().Get("code"), nil)
		require.Equal(t, http.StatusOK, tok.status)
		assert.Equal(t, testUser.Email, verifyIDToken(t, f, f.tenant, tok.str("id_token"))["email"])
	})

	t.Run("AuthorizeAs", func(t *testing.T) {
		loc, err := f.tenant.AuthorizeAs(context.Background(), authURL(f.tenant, nil), "mallory@example.com")
		require.NoError(t, err)
		tok := exchange(t, f, loc.Query().Get("code"), nil)
		require.Equal(t, http.StatusOK, tok.status)
		assert.Equal(t, "mallory@example.com", verifyIDToken(t, f, f.tenant, tok.str("id_token"))["email"])

		loc, err = f.tenant.AuthorizeAs(context.Background(), authURL(f.tenant, nil), "robot-1")
		require.NoError(t, err)
		tok = exchange(t, f, loc.Query().Get("code"), nil)
		require.Equal(t, http.StatusOK, tok.status)
		assert.Equal(t, "robot-1", verifyIDToken(t, f, f.tenant, tok.str("id_token"))["sub"])
	})

	t.Run("unknown user", func(t *testing.T) {
		for _, login := range []string{"nobody@example.com", "", testUser.Sub} {
			_, err := f.tenant.AuthorizeAs(context.Background(), authURL(f.tenant, nil), login)
			require.Error(t, err, login)
			assert.Contains(t, err.Error(), "401 Unauthorized")
			assert.Contains(t, err.Error(), "unknown user")
		}
	})

	t.Run("unknown auto-login user", func(t *testing.T) {
		f.tenant.SetAutoLogin("ghost@example.com")
		defer f.tenant.SetAutoLogin("")
		_, err := f.tenant.Authorize(context.Background(), authURL(f.tenant, nil))
		require.ErrorContains(t, err, "401")
	})

	t.Run("login in a GET is not a sign-in", func(t *testing.T) {
		res, _ := get(t, f, authURL(f.tenant, map[string]string{"login": testUser.Email}))
		assert.Equal(t, http.StatusOK, res.StatusCode)
	})

	t.Run("post that is not a form", func(t *testing.T) {
		res, err := noRedirectClient(f).Post(f.tenant.AuthURL(), "application/json", strings.NewReader("{}"))
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, http.StatusBadRequest, res.StatusCode)
	})

	t.Run("no users", func(t *testing.T) {
		empty := f.srv.AddTenant("empty")
		empty.AddClient(Client{ID: testClientID, Secret: testSecret, RedirectURIs: []string{testRedirect}})
		_, body := get(t, f, authURL(empty, nil))
		assert.Contains(t, string(body), "This tenant has no users.")
	})
}

func TestAuthorizeHelperChecksTheURL(t *testing.T) {
	f := newFixture(t)
	other := f.srv.AddTenant("other")
	for _, u := range []string{
		"://bad",
		authURL(other, nil),
		strings.Replace(authURL(f.tenant, nil), "/auth?", "/token?", 1),
		strings.Replace(authURL(f.tenant, nil), "127.0.0.1", "localhost", 1),
	} {
		_, err := f.tenant.Authorize(context.Background(), u)
		assert.Error(t, err, u)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := f.tenant.Authorize(ctx, authURL(f.tenant, nil))
	assert.ErrorIs(t, err, context.Canceled)
}
