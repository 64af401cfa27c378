package signincheck

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
)

var receipts = []receipt{viaListener, viaPaste}

// Against each of the emulator's quirk modes, and with both ways of
// receiving the code, the check signs in through the connector and reports
// what Palette sent.
func TestSignInCheckQuirks(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(h *harness)
		browser   browser
		status    int
		want      []string
		notWanted []string
		// codeUntouched: the token endpoint refuses before the code check.
		codeUntouched bool
	}{
		{
			name:   "Palette as documented",
			status: StatusSignedIn,
			want: []string{
				"(source: tenant and consoleURL)",
				"/auth (source: discovery)",
				"/token (source: discovery)",
				"/keys (source: discovery)",
				"client authentication:  client_secret_post, accepted (discovery lists client_secret_post in token_endpoint_auth_methods_supported)",
				"PKCE:                   S256 challenge sent",
				"whether Palette enforces PKCE cannot be seen from here",
				"nonce:                  sent and echoed in the ID token; it matches",
				"signing algorithm:      RS256",
				"lifetime:               12h0m0s (iat ",
				"Dex expiry:             idTokens 24h0m0s (Dex's default); refreshTokens absoluteLifetime not set (unlimited)",
				"every token Dex issues from this sign-in ends with it, after at most 12h0m0s",
				"expiry.idTokens (24h0m0s) is longer than the Palette sign-in: Dex's tokens end with the sign-in instead, up to 12h0m0s earlier",
				"refreshTokens.absoluteLifetime is not set: a refresh token stays usable as long as the user keeps signing in",
				`email        string`, `"jane@example.com"`,
				`groups       list of 2 strings  ["platform", "admins"]`,
				`given_name   string             "Jane"`,
				"nonce        string  (value not shown)\n",
				"user ID:                64a1b2c3d4e5f60718293a4b",
				"name:                   Jane Doe",
				"preferred_username:     (none)",
				"email_verified:         true",
				"groups:                 platform, admins",
				"decided by:             the ID token's claims (no signIn resolvers configured)",
				"Result: OK. Dex would sign this user in.",
			},
			notWanted: []string{"email_verified boolean"},
		},
		{
			name:    "the sign-in page instead of auto-login",
			setup:   func(h *harness) { h.tenant.SetAutoLogin("") },
			browser: signInWithForm,
			status:  StatusSignedIn,
			want:    []string{"Result: OK."},
		},
		{
			name:   "post-only token endpoint, advertised",
			setup:  func(h *harness) { h.tenant.SetTokenAuthMethods(spectrotest.AuthMethodPost) },
			status: StatusSignedIn,
			want:   []string{"client_secret_post, accepted (discovery lists client_secret_post in token_endpoint_auth_methods_supported)", "Result: OK."},
		},
		{
			name: "post-only token endpoint, discovery shaped as Palette's schema",
			setup: func(h *harness) {
				h.tenant.SetTokenAuthMethods(spectrotest.AuthMethodPost)
				h.tenant.SetSchemaShapedDiscovery(true)
			},
			status: StatusSignedIn,
			want:   []string{"client_secret_post, accepted (the default: discovery does not say which methods the token endpoint takes, and client_secret_post is the one known to work with Palette)", "Result: OK."},
		},
		{
			name: "post-only token endpoint that uses up the code, then refuses Basic, which discovery lists",
			setup: func(h *harness) {
				h.tenant.SetTokenAuthMethods(spectrotest.AuthMethodPost)
				h.tenant.SetBasicRefusal(spectrotest.RedeemThenRefuseBasic)
				h.tenant.SetAdvertisedTokenAuthMethods(spectrotest.AuthMethodBasic)
			},
			status: StatusRefused,
			want: []string{
				"client authentication: client_secret_basic, refused (discovery lists client_secret_basic, and not client_secret_post, in token_endpoint_auth_methods_supported)",
				"Palette answered: Palette refused the client credentials sent with client_secret_basic (discovery lists client_secret_basic, and not client_secret_post, in token_endpoint_auth_methods_supported): invalid_client: client_secret_basic is not accepted by this token endpoint",
				"what to do: check clientID and clientSecret, and if they are right, Palette does not take client_secret_basic: the next sign-in tries client_secret_post, and basicAuthUnsupported: true makes it the rule, then sign in again",
				"Result: REFUSED.",
			},
		},
		{
			name: "post-only token endpoint that ignores Basic, basicAuthUnsupported: false",
			setup: func(h *harness) {
				h.tenant.SetTokenAuthMethods(spectrotest.AuthMethodPost)
				h.tenant.SetBasicRefusal(spectrotest.IgnoreBasic)
				h.connectorConfig = "basicAuthUnsupported: false"
			},
			status: StatusRefused,
			want: []string{
				"client authentication: client_secret_basic, refused (basicAuthUnsupported: false)",
				"Palette answered: Palette did not read the client credentials sent with client_secret_basic (basicAuthUnsupported: false): invalid_request: client_id is required",
				"what to do: Palette reads them from the form only: set basicAuthUnsupported: true (client_secret_post), then sign in again",
			},
			codeUntouched: true,
		},
		{
			name: "no discovery",
			setup: func(h *harness) {
				h.tenant.SetDiscovery(false)
				h.connectorConfig = "providerDiscoveryOverrides:\n  jwksURL: " + h.tenant.JWKSURL()
			},
			status: StatusSignedIn,
			want: []string{
				"/auth (source: Palette's layout, <issuer>/auth)",
				"/token (source: derived from the authorization endpoint, …/auth → …/token)",
				"/keys (source: providerDiscoveryOverrides.jwksURL)",
				"client_secret_post, accepted (the default: discovery does not say",
				"Result: OK.",
			},
		},
		{
			name:   "nonce not echoed",
			setup:  func(h *harness) { h.tenant.SetEchoNonce(false) },
			status: StatusRefused,
			want: []string{
				"nonce:                  sent, not echoed in the ID token: Dex refuses such tokens unless insecureAllowMissingNonce is true",
				"Dex identity\n  (none: the sign-in is refused)",
				"Result: REFUSED. Dex would not sign this user in: spectrocloud: invalid ID token: has no nonce: if your Palette version does not echo the nonce, set insecureAllowMissingNonce: true",
			},
		},
		{
			name: "nonce not echoed, allowed",
			setup: func(h *harness) {
				h.tenant.SetEchoNonce(false)
				h.connectorConfig = "insecureAllowMissingNonce: true"
			},
			status: StatusSignedIn,
			want:   []string{"not echoed in the ID token; accepted because insecureAllowMissingNonce is true", "Result: OK."},
		},
		{
			name: "groups as a string",
			setup: func(h *harness) {
				h.tenant.SetGroupsAsString(true)
				h.tenant.AddUser(spectrotest.User{Sub: jane.Sub, Email: jane.Email, GivenName: "Jane", FamilyName: "Doe", Groups: []string{"platform"}})
			},
			status: StatusSignedIn,
			want:   []string{`groups       string             "platform"`, "groups:                 platform\n", "Result: OK."},
		},
		{
			name: "email_verified false",
			setup: func(h *harness) {
				h.tenant.AddUser(spectrotest.User{Sub: jane.Sub, Email: jane.Email, GivenName: "Jane", Claims: map[string]any{"email_verified": false}})
			},
			status: StatusRefused,
			want:   []string{`email_verified  boolean            false`, `Result: REFUSED. Dex would not sign this user in: spectrocloud: ID token claim "email_verified" is false`},
		},
		{
			name: "no sub",
			setup: func(h *harness) {
				h.tenant.AddUser(spectrotest.User{Sub: jane.Sub, Email: jane.Email, GivenName: "Jane", Claims: map[string]any{"sub": nil}})
			},
			status: StatusRefused,
			want: []string{
				"Dex identity\n  (none: the sign-in is refused)",
				`userIDKey: claim "sub" is missing`,
				"what to do: set userIDKey to a claim the ID token carries, such as userIDKey: email (as the Backstage module does when sub is missing",
				`Result: REFUSED. Dex would not sign this user in: spectrocloud: ID token claim "sub" is missing (userIDKey names it): set userIDKey`,
			},
			notWanted: []string{"sub string"},
		},
		{
			name:   "not in allowedGroups",
			setup:  func(h *harness) { h.connectorConfig = "allowedGroups: [operators]" },
			status: StatusRefused,
			want:   []string{"Result: REFUSED.", "operators"},
		},
		{
			name: "found in the catalog",
			setup: func(h *harness) {
				h.connectorConfig = catalogConfig(newCatalog(h.t).URL)
			},
			status: StatusSignedIn,
			want: []string{
				"decided by: sign-in resolver emailMatchingUserEntityProfileEmail, catalog entity user:default/jane",
				"preferred_username: jane",
			},
		},
		{
			name: "no catalog entity",
			setup: func(h *harness) {
				h.connectorConfig = catalogConfig(newCatalog(h.t).URL)
				h.tenant.AddUser(spectrotest.User{Email: "sam@example.com", GivenName: "Sam"})
				h.tenant.SetAutoLogin("sam@example.com")
			},
			status: StatusRefused,
			want:   []string{"Result: REFUSED. Dex would not sign this user in:", "sam@example.com"},
		},
		{
			name: "control characters from Palette",
			setup: func(h *harness) {
				h.tenant.AddUser(spectrotest.User{Sub: jane.Sub, Email: jane.Email, GivenName: "Jane\x1b[2J\x1b[31m", FamilyName: "Doe",
					Groups: []string{"ops\r\x1b]0;pwned\x07"}, Claims: map[string]any{"x\x1b[1m": "y"}})
			},
			status:    StatusSignedIn,
			want:      []string{"name: Jane[2J[31m Doe", "groups: ops]0;pwned\n"},
			notWanted: []string{"\x1b", "\r", "\x07"},
		},
		{
			name: "claimModifications and a resolver",
			setup: func(h *harness) {
				h.connectorConfig = `
claimModifications:
  modifyGroupNames: {prefix: "palette:"}
signIn:
  resolvers:
  - resolver: expression
    expression: claims.email.split("@")[0]`
				h.topLevel = "expiry:\n  idTokens: 1h\n  refreshTokens:\n    absoluteLifetime: 6h"
			},
			status: StatusSignedIn,
			want: []string{
				"groups:                 palette:platform, palette:admins",
				"preferred_username:     jane",
				"decided by:             sign-in resolver expression",
				"Dex expiry:             idTokens 1h0m0s; refreshTokens absoluteLifetime 6h",
				"refreshTokens.absoluteLifetime (6h0m0s) ends sessions before the Palette ID token does",
			},
			notWanted: []string{"is longer than the Palette sign-in"},
		},
	}
	for _, r := range receipts {
		for _, tt := range tests {
			t.Run(r.String()+"/"+tt.name, func(t *testing.T) {
				h := newHarness(t, r)
				if tt.setup != nil {
					tt.setup(h)
				}
				b := tt.browser
				if b == nil {
					b = signIn
				}
				res := h.run(h.config(), Options{}, b)
				require.Equal(t, tt.status, res.status(), "err: %v\noutput:\n%s", res.err, res.out)
				for _, w := range tt.want {
					assert.Contains(t, squash(res.out), squash(w))
				}
				for _, w := range tt.notWanted {
					assert.NotContains(t, squash(res.out), squash(w))
				}
				assertNoSecrets(t, res)
				assert.Equal(t, 1, h.tenant.Requests(spectrotest.EndpointToken), "one token request")
				if tt.codeUntouched {
					assert.Zero(t, h.tenant.CodeRedemptions(), "the token endpoint refused before the code check")
				} else {
					assert.Equal(t, 1, h.tenant.CodeRedemptions(), "the code is redeemed once")
				}
			})
		}
	}
}

func catalogConfig(baseURL string) string {
	return `
signIn:
  resolvers:
  - resolver: emailMatchingUserEntityProfileEmail
  catalog:
    baseURL: ` + baseURL + `
    token: ` + catalogToken
}

// assertNoSecrets: no token, code, client secret or catalog token in what
// the check prints or logs. Palette's codes, ID tokens and session tokens
// are JWTs, whose header always starts with eyJ.
func assertNoSecrets(t *testing.T, res result) {
	t.Helper()
	for _, s := range []string{res.out, res.logs} {
		assert.NotContains(t, s, "eyJ", "no JWT (code, ID token, session token)")
		assert.NotContains(t, s, clientSecret)
		assert.NotContains(t, s, catalogToken)
		if cb, err := url.Parse(res.callback); err == nil && len(cb.Query().Get("code")) > 16 {
			assert.NotContains(t, s, cb.Query().Get("code"))
		}
	}
}

// squash turns runs of spaces into one, so that expectations do not depend
// on column widths.
func squash(s string) string {
	return spaces.ReplaceAllString(s, " ")
}

var spaces = regexp.MustCompile(` {2,}`)

// The authorization URL is printed on a line of its own, and the
// instructions say how the answer is received.
func TestSignInCheckInstructions(t *testing.T) {
	for _, r := range receipts {
		t.Run(r.String(), func(t *testing.T) {
			h := newHarness(t, r)
			res := h.run(h.config(), Options{}, signIn)
			require.NoError(t, res.err)
			lines := strings.Split(res.out, "\n")
			var urlLine string
			for _, l := range lines {
				if strings.HasPrefix(l, h.tenant.AuthURL()) {
					urlLine = l
				}
			}
			require.NotEmpty(t, urlLine)
			u, err := url.Parse(urlLine)
			require.NoError(t, err)
			q := u.Query()
			assert.Equal(t, clientID, q.Get("client_id"))
			assert.Equal(t, h.redirect, q.Get("redirect_uri"))
			assert.NotEmpty(t, q.Get("state"))
			assert.NotEmpty(t, q.Get("nonce"))
			assert.Equal(t, "S256", q.Get("code_challenge_method"))
			if r == viaListener {
				assert.Contains(t, res.out, "Waiting up to 30s for the browser to come back to "+h.redirect)
			} else {
				assert.Contains(t, res.out, "paste it here")
				assert.Contains(t, res.out, "redirectURI is not a loopback address")
			}
		})
	}
}

// A loopback redirectURI whose port is taken falls back to the pasted URL.
func TestSignInCheckPortInUse(t *testing.T) {
	h := newHarness(t, viaPaste)
	ln, err := netListen(t)
	require.NoError(t, err)
	h.redirect = "http://" + ln + "/dex/callback"
	h.tenant.AddClient(spectrotest.Client{ID: clientID, Secret: clientSecret, RedirectURIs: []string{h.redirect}})
	res := h.run(h.config(), Options{}, signIn)
	require.NoError(t, res.err, res.out)
	assert.Contains(t, res.out, "cannot listen on "+ln)
	assert.Contains(t, res.out, "paste it here")
}

// Bad answers from the browser, and bad command lines, get a clear message
// and a non-zero status; nothing is redeemed.
func TestSignInCheckBadInput(t *testing.T) {
	replaceState := func(t *testing.T, h *harness, authURL string) string {
		u, _ := url.Parse(signIn(t, h, authURL))
		q := u.Query()
		q.Set("state", "another-sign-in")
		u.RawQuery = q.Encode()
		return u.String()
	}
	oauthError := func(withState bool) browser {
		return func(t *testing.T, h *harness, authURL string) string {
			au, _ := url.Parse(authURL)
			q := url.Values{"error": {"access_denied"}, "error_description": {"The user said no"}}
			if withState {
				q.Set("state", au.Query().Get("state"))
			}
			return h.redirect + "?" + q.Encode()
		}
	}
	paste := func(s string) browser {
		return func(*testing.T, *harness, string) string { return s }
	}
	tests := []struct {
		name    string
		receipt receipt
		browser browser
		opts    Options
		status  int
		want    string
	}{
		{"state mismatch, pasted", viaPaste, replaceState, Options{}, StatusUsage, "the URL's state does not match this sign-in"},
		{"OAuth error", viaPaste, oauthError(true), Options{}, StatusRefused, "Palette did not sign you in: access_denied"},
		{"OAuth error, received", viaListener, oauthError(true), Options{}, StatusRefused, "Palette did not sign you in: access_denied"},
		{"OAuth error without state", viaPaste, oauthError(false), Options{}, StatusRefused, "OAuth error access_denied, without the sign-in's state"},
		{"not a URL", viaPaste, paste("the code is 1234"), Options{}, StatusUsage, "the pasted text is not a URL"},
		{"another URL", viaPaste, paste("https://dex.example.com/other?code=x&state=y"), Options{}, StatusUsage, "is not the connector's redirectURI"},
		{"no state", viaPaste, paste(remoteURI + "?code=x"), Options{}, StatusUsage, "the URL has no state parameter"},
		{"unknown connector", viaPaste, nil, Options{ConnectorID: "nope"}, StatusUsage, `no spectrocloud connector with ID "nope" in the configuration (spectrocloud connectors: palette)`},
		{"the browser never comes back", viaListener, nil, Options{Wait: 50 * time.Millisecond}, StatusRefused, "the browser did not come back in time"},
		{"nothing pasted", viaPaste, func(*testing.T, *harness, string) string { return "" }, Options{}, StatusUsage, "no URL was pasted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.receipt)
			b := tt.browser
			if tt.name == "nothing pasted" {
				b = nil
			}
			res := h.runWith(tt.opts, b, tt.name == "nothing pasted")
			require.Equal(t, tt.status, res.status(), "err: %v\noutput:\n%s", res.err, res.out)
			require.Error(t, res.err)
			assert.Contains(t, res.err.Error()+"\n"+res.out, tt.want)
			assert.Zero(t, h.tenant.CodeRedemptions())
			assertNoSecrets(t, res)
			assert.NotContains(t, res.out, "The user said no", "Palette's error description is not trusted text")
		})
	}
}

// While it listens, the check also takes a pasted URL, for a browser on
// another machine; an input that ends is then no error.
func TestSignInCheckListeningTakesAPastedURL(t *testing.T) {
	h := newHarness(t, viaListener)
	h.receipt = viaPaste // the browser's answer is pasted, not sent to the listener
	res := h.run(h.config(), Options{}, signIn)
	require.NoError(t, res.err, res.out)
	assert.Contains(t, res.out, "this check listens there")
	assert.Contains(t, res.out, "Result: OK.")

	h = newHarness(t, viaListener)
	h.closeStdin = true
	res = h.run(h.config(), Options{Wait: 100 * time.Millisecond}, nil)
	require.Error(t, res.err)
	assert.Contains(t, res.err.Error(), "the browser did not come back in time", "the ended input did not end the wait")
}

// While it listens, the check takes only the request that carries its
// sign-in's state: another local page can neither end it nor fake
// Palette's answer, and gets a short error page.
func TestSignInCheckListenerIgnoresOtherStates(t *testing.T) {
	h := newHarness(t, viaListener)
	forgeries := func(t *testing.T, h *harness, authURL string) string {
		au, err := url.Parse(authURL)
		require.NoError(t, err)
		for _, q := range []url.Values{
			{"error": {"access_denied"}},
			{"error": {"access_denied"}, "state": {"another-sign-in"}},
			{"code": {"forged-code"}, "state": {"another-sign-in"}},
			{"code": {"forged-code"}, "state": {au.Query().Get("state") + "x"}},
		} {
			resp, err := http.Get(h.redirect + "?" + q.Encode())
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "%v", q)
			assert.Contains(t, string(body), "does not carry the state of the sign-in being checked")
		}
		return signIn(t, h, authURL)
	}
	res := h.run(h.config(), Options{}, forgeries)
	require.NoError(t, res.err, res.out)
	assert.Contains(t, res.out, "Result: OK.")
	assert.Equal(t, 1, h.tenant.CodeRedemptions(), "the forged code never reached Palette")
}
