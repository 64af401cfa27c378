package serve

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dexidp/dex/storage"
	"github.com/dexidp/dex/storage/memory"

	"github.com/dex-spectro/dex-spectro/internal/dextest"
)

const testIssuer = "https://dex.example.com/dex"

// testBinding is the device binding cookie's value in the browser that
// entered the user codes of deviceStore; otherBinding another browser's.
var (
	testBinding  = base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	otherBinding = base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{8}, 32))
)

// testDeviceFlow is the device flow fix for testIssuer in front of next.
func testDeviceFlow(t testing.TB, next http.Handler, s storage.Storage) *deviceFlow {
	t.Helper()
	routes, err := newDexRoutes(testIssuer)
	require.NoError(t, err)
	d, err := newDeviceFlow(next, s, routes, time.Now, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	return d
}

// deviceStore holds a public client, a confidential one, an app, and a
// device request of each device client.
func deviceStore(t testing.TB) storage.Storage {
	t.Helper()
	ctx := context.Background()
	s := memory.New(slog.New(slog.DiscardHandler))
	expiry := time.Now().Add(time.Hour)
	for _, c := range []storage.Client{
		{ID: "kubectl", Name: "kubectl", Public: true},
		{ID: "ci-tool", Name: "CI", Secret: "ci-tool-secret", RedirectURIs: []string{"/device/callback"}},
		{ID: "app", Name: "App", Secret: "app-secret", RedirectURIs: []string{"https://app.example.com/callback"}},
	} {
		require.NoError(t, s.CreateClient(ctx, c))
	}
	for _, r := range []storage.DeviceRequest{
		{UserCode: "KUBE-CTL1", DeviceCode: "dc-kubectl", ClientID: "kubectl", Scopes: []string{"openid"}, Expiry: expiry},
		{UserCode: "CITO-OL01", DeviceCode: "dc-ci", ClientID: "ci-tool", ClientSecret: "ci-tool-secret", Scopes: []string{"openid"}, Expiry: expiry},
		{UserCode: "CITO-OL02", DeviceCode: "dc-ci-wrong", ClientID: "ci-tool", ClientSecret: "ci-tool-secreT", Scopes: []string{"openid"}, Expiry: expiry},
		{UserCode: "GONE-CLNT", DeviceCode: "dc-gone", ClientID: "deleted", Scopes: []string{"openid"}, Expiry: expiry},
		{UserCode: "OTHR-BRWS", DeviceCode: "dc-other-browser", ClientID: "kubectl", Scopes: []string{"openid"}, Expiry: expiry},
		{UserCode: "DONE-DONE", DeviceCode: "dc-done", ClientID: "kubectl", Scopes: []string{"openid"}, Expiry: expiry},
		{UserCode: "NOTB-OUND", DeviceCode: "dc-unbound", ClientID: "kubectl", Scopes: []string{"openid"}, Expiry: expiry},
	} {
		require.NoError(t, s.CreateDeviceRequest(ctx, r))
		token := storage.DeviceToken{DeviceCode: r.DeviceCode, Status: deviceTokenPending, Expiry: expiry,
			Token: deviceBindingPrefix + deviceBindingDigest(testBinding)}
		switch r.UserCode {
		case "OTHR-BRWS":
			token.Token = deviceBindingPrefix + deviceBindingDigest(otherBinding)
		case "DONE-DONE":
			token.Status, token.Token = "complete", `{"access_token":"x"}`
		case "NOTB-OUND":
			token.Token = ""
		}
		require.NoError(t, s.CreateDeviceToken(ctx, token))
	}
	for _, c := range []storage.AuthCode{
		{ID: "code-kubectl", ClientID: "kubectl", RedirectURI: "/dex/device/callback", Expiry: expiry},
		{ID: "code-kubectl-loopback", ClientID: "kubectl", RedirectURI: "http://127.0.0.1:8000/callback", Expiry: expiry},
		{ID: "code-ci", ClientID: "ci-tool", RedirectURI: "/device/callback", Expiry: expiry},
		{ID: "code-ci-full-url", ClientID: "ci-tool", RedirectURI: testIssuer + "/device/callback", Expiry: expiry},
		{ID: "code-ci-other-site", ClientID: "ci-tool", RedirectURI: "https://evil.example/device/callback", Expiry: expiry},
		{ID: "code-app", ClientID: "app", RedirectURI: "https://app.example.com/callback", Expiry: expiry},
		{ID: "code-gone", ClientID: "deleted", RedirectURI: "/dex/device/callback", Expiry: expiry},
	} {
		require.NoError(t, s.CreateAuthCode(ctx, c))
	}
	return s
}

func TestDeviceCallbackChecks(t *testing.T) {
	tests := []struct {
		name, code, state string
		cookie            *http.Cookie // default: the binding of the browser that entered the codes
		wantDex           bool         // the request reaches Dex
		wantStatus        int
		wantBody          string
	}{
		{name: "public client's own code", code: "code-kubectl", state: "KUBE-CTL1", wantDex: true},
		{name: "confidential client's own code", code: "code-ci", state: "CITO-OL01", wantDex: true},
		{name: "a cookie holding the values of several device requests", code: "code-kubectl", state: "KUBE-CTL1",
			cookie: &http.Cookie{Name: "__Host-dex_spectro_device", Value: otherBinding + "." + testBinding}, wantDex: true},
		{name: "code for the full callback URL, which Dex never sends", code: "code-ci-full-url", state: "CITO-OL01", wantStatus: http.StatusBadRequest},
		{name: "another client's code", code: "code-app", state: "KUBE-CTL1", wantStatus: http.StatusBadRequest, wantBody: "Invalid or expired auth code."},
		{name: "another device client's code", code: "code-ci", state: "KUBE-CTL1", wantStatus: http.StatusBadRequest, wantBody: "Invalid or expired auth code."},
		{name: "own client, redirect URI not the device callback", code: "code-kubectl-loopback", state: "KUBE-CTL1", wantStatus: http.StatusBadRequest},
		{name: "own client, device callback path on another site", code: "code-ci-other-site", state: "CITO-OL01", wantStatus: http.StatusBadRequest},
		{name: "unknown code", code: "no-such-code", state: "KUBE-CTL1", wantStatus: http.StatusBadRequest, wantBody: "Invalid or expired auth code."},
		{name: "unknown user code", code: "code-kubectl", state: "NOPE-NOPE", wantStatus: http.StatusBadRequest, wantBody: "Invalid or expired user code."},
		{name: "wrong client secret on the device request", code: "code-ci", state: "CITO-OL02", wantStatus: http.StatusUnauthorized, wantBody: `"error":"invalid_client"`},
		{name: "client deleted since", code: "code-gone", state: "GONE-CLNT", wantStatus: http.StatusUnauthorized, wantBody: `"error":"invalid_client"`},
		{name: "a browser without the binding cookie", code: "code-kubectl", state: "KUBE-CTL1", cookie: &http.Cookie{Name: "unrelated", Value: "x"},
			wantStatus: http.StatusForbidden, wantBody: "was not started in this browser"},
		{name: "the binding cookie of another device request", code: "code-kubectl", state: "OTHR-BRWS",
			wantStatus: http.StatusForbidden, wantBody: "was not started in this browser"},
		{name: "a forged cookie value", code: "code-kubectl", state: "KUBE-CTL1", cookie: &http.Cookie{Name: "__Host-dex_spectro_device", Value: otherBinding},
			wantStatus: http.StatusForbidden, wantBody: "was not started in this browser"},
		{name: "the cookie without the __Host- prefix an https issuer sets", code: "code-kubectl", state: "KUBE-CTL1", cookie: &http.Cookie{Name: "dex_spectro_device", Value: testBinding},
			wantStatus: http.StatusForbidden, wantBody: "was not started in this browser"},
		{name: "a device request entered in no browser", code: "code-kubectl", state: "NOTB-OUND",
			wantStatus: http.StatusForbidden, wantBody: "was not started in this browser"},
		{name: "a device request already complete", code: "code-kubectl", state: "DONE-DONE",
			wantStatus: http.StatusBadRequest, wantBody: "already complete"},
		{name: "missing code is Dex's to answer", state: "KUBE-CTL1", wantDex: true},
		{name: "missing state is Dex's to answer", code: "code-app", wantDex: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := deviceStore(t)
			reached := false
			next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				reached = true
				w.WriteHeader(http.StatusTeapot)
			})
			h := testDeviceFlow(t, next, s)
			q := url.Values{}
			if tt.code != "" {
				q.Set("code", tt.code)
			}
			if tt.state != "" {
				q.Set("state", tt.state)
			}
			rr := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, "/dex/device/callback?"+q.Encode(), nil)
			cookie := tt.cookie
			if cookie == nil {
				cookie = &http.Cookie{Name: "__Host-dex_spectro_device", Value: testBinding}
			}
			req.AddCookie(cookie)
			h.ServeHTTP(rr, req)
			if !answeredInFront(t, rr, reached, tt.wantDex, tt.wantStatus, tt.wantBody) {
				return
			}
			if tt.code != "" {
				assert.NotContains(t, rr.Body.String(), tt.code, "no code in the answer")
			}
			if _, err := s.GetAuthCode(context.Background(), tt.code); tt.code != "no-such-code" && tt.code != "" {
				assert.NoError(t, err, "the refused code is not consumed")
			}
		})
	}
}

// Only GET /device/callback is checked; other methods and paths reach
// Dex, which refuses what it does not serve.
func TestDeviceCallbackOtherRequests(t *testing.T) {
	for _, target := range []string{"/dex/device?user_code=x", "/dex/device/callbackx?code=code-app&state=KUBE-CTL1", "/dex/token"} {
		reached := false
		h := testDeviceFlow(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached = true }), deviceStore(t))
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, target, nil))
		assert.True(t, reached, target)
	}
}

// A storage failure fails closed: the request does not reach Dex.
func TestDeviceCallbackStorageFailure(t *testing.T) {
	s := failingStore{Storage: deviceStore(t)}
	h := testDeviceFlow(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("reached Dex") }), s)
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, httptest.NewRequest(http.MethodGet, "/dex/device/callback?code=code-kubectl&state=KUBE-CTL1", nil))
	assert.Equal(t, http.StatusInternalServerError, rr.Code)
}

type failingStore struct{ storage.Storage }

func (failingStore) GetDeviceRequest(context.Context, string) (storage.DeviceRequest, error) {
	return storage.DeviceRequest{}, errors.New("connection reset")
}

func TestEqualSecrets(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"", "", true},
		{"s3cret", "s3cret", true},
		{"s3cret", "s3creT", false},
		{"s3cret", "s3cret-longer", false},
		{"s3cret", "", false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, equalSecrets(tt.a, tt.b), "%q vs %q", tt.a, tt.b)
	}
}

// The redirect from the user-code form to /auth keeps every parameter but
// client_secret.
func TestVerifyCodeRedirectWithoutSecret(t *testing.T) {
	tests := []struct {
		name, location, want string
	}{
		{name: "Dex v2.45.1's redirect",
			location: "/dex/auth?client_id=ci-tool&client_secret=ci-tool-secret&redirect_uri=%2Fdevice%2Fcallback&response_type=code&scope=openid&state=CITO-OL01",
			want:     "/dex/auth?client_id=ci-tool&redirect_uri=%2Fdevice%2Fcallback&response_type=code&scope=openid&state=CITO-OL01"},
		{name: "public client's empty secret",
			location: "/dex/auth?client_id=kubectl&client_secret=&state=KUBE-CTL1",
			want:     "/dex/auth?client_id=kubectl&state=KUBE-CTL1"},
		{name: "no secret", location: "/dex/auth?client_id=kubectl&state=KUBE-CTL1", want: "/dex/auth?client_id=kubectl&state=KUBE-CTL1"},
		{name: "unparsable location is dropped", location: "/dex/auth?client_secret=x&%zz\x7f", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Location", tt.location)
				w.WriteHeader(http.StatusFound)
			})
			rr := httptest.NewRecorder()
			testDeviceFlow(t, next, deviceStore(t)).
				ServeHTTP(rr, httptest.NewRequest(http.MethodPost, "/dex/device/auth/verify_code", nil))
			assert.Equal(t, http.StatusFound, rr.Code)
			assert.Equal(t, tt.want, rr.Header().Get("Location"))
			assert.NotContains(t, rr.Header().Get("Location"), "secret")
		})
	}

	t.Run("the device page itself passes", func(t *testing.T) {
		next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte("<form>"))
		})
		rr := httptest.NewRecorder()
		testDeviceFlow(t, next, deviceStore(t)).
			ServeHTTP(rr, httptest.NewRequest(http.MethodPost, "/dex/device/auth/verify_code", nil))
		assert.Equal(t, http.StatusOK, rr.Code)
		assert.Empty(t, rr.Result().Cookies(), "no code was accepted: no binding")
		assert.Equal(t, "<form>", rr.Body.String())
	})
}

// When Dex accepts a user code entered on its device page, the browser
// gets a cookie whose value's digest is stored with the device request:
// the only browser that can complete it.
func TestVerifyCodeBindsTheBrowser(t *testing.T) {
	dexAccepts := func(authPath, userCode string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Location", authPath+"?client_id=kubectl&response_type=code&state="+userCode)
			w.WriteHeader(http.StatusFound)
		})
	}
	tests := []struct {
		issuer, name, path string
		secure             bool
	}{
		{issuer: testIssuer, name: "__Host-dex_spectro_device", path: "/", secure: true},
		{issuer: "http://127.0.0.1:5556/dex", name: "dex_spectro_device", path: "/dex/device"},
		{issuer: "http://127.0.0.1:5556", name: "dex_spectro_device", path: "/device"},
	}
	for _, tt := range tests {
		t.Run(tt.issuer, func(t *testing.T) {
			ctx := context.Background()
			s := deviceStore(t)
			routes, err := newDexRoutes(tt.issuer)
			require.NoError(t, err)
			h, err := newDeviceFlow(dexAccepts(routes.path("/auth"), "KUBE-CTL1"), s, routes, time.Now, slog.New(slog.DiscardHandler))
			require.NoError(t, err)
			verify := routes.path("/device/auth/verify_code")

			req := httptest.NewRequest(http.MethodPost, verify, nil)
			req.AddCookie(&http.Cookie{Name: tt.name, Value: otherBinding})
			rr := httptest.NewRecorder()
			h.ServeHTTP(rr, req)
			require.Equal(t, http.StatusFound, rr.Code)
			cookies := rr.Result().Cookies()
			require.Len(t, cookies, 1)
			c := cookies[0]
			assert.Equal(t, tt.name, c.Name)
			assert.Equal(t, tt.path, c.Path)
			assert.Equal(t, tt.secure, c.Secure)
			assert.True(t, c.HttpOnly)
			assert.Equal(t, http.SameSiteLaxMode, c.SameSite)
			assert.Positive(t, c.MaxAge)
			assert.LessOrEqual(t, c.MaxAge, 3601, "no longer than the device request")
			values := strings.Split(c.Value, ".")
			require.Len(t, values, 2, "the new value first, then the browser's earlier one")
			assert.Equal(t, otherBinding, values[1])

			token, err := s.GetDeviceToken(ctx, "dc-kubectl")
			require.NoError(t, err)
			assert.Equal(t, deviceTokenPending, token.Status)
			assert.Equal(t, []string{deviceBindingDigest(values[0]), deviceBindingDigest(testBinding)}, storedDeviceBindings(token.Token),
				"the new browser's digest, then the earlier browser's")
			assert.NotContains(t, token.Token, values[0], "only the digest is stored")

			cb := httptest.NewRequest(http.MethodGet, routes.path("/device/callback")+"?state=KUBE-CTL1&code=code-kubectl", nil)
			cb.AddCookie(c)
			assert.True(t, h.binding.bound(cb, token), "the browser completes its device request")
		})
	}

	t.Run("a device request already complete", func(t *testing.T) {
		h := testDeviceFlow(t, dexAccepts("/dex/auth", "DONE-DONE"), deviceStore(t))
		rr := httptest.NewRecorder()
		h.ServeHTTP(rr, httptest.NewRequest(http.MethodPost, "/dex/device/auth/verify_code", nil))
		assert.Equal(t, http.StatusBadRequest, rr.Code)
		assert.Contains(t, rr.Body.String(), "already complete")
		assert.Empty(t, rr.Result().Cookies())
	})

	t.Run("at most four device requests per browser, four browsers per device request", func(t *testing.T) {
		s := deviceStore(t)
		h := testDeviceFlow(t, dexAccepts("/dex/auth", "KUBE-CTL1"), s)
		var cookie *http.Cookie
		for range 6 {
			req := httptest.NewRequest(http.MethodPost, "/dex/device/auth/verify_code", nil)
			if cookie != nil {
				req.AddCookie(cookie)
			}
			rr := httptest.NewRecorder()
			h.ServeHTTP(rr, req)
			cookie = rr.Result().Cookies()[0]
		}
		assert.Len(t, strings.Split(cookie.Value, "."), maxDeviceBindings)
		token, err := s.GetDeviceToken(context.Background(), "dc-kubectl")
		require.NoError(t, err)
		assert.Len(t, storedDeviceBindings(token.Token), maxDeviceBindings)
	})
}

// The binding cookie's MaxAge is the device request's remaining lifetime
// by Dex's clock, which stamps the request's expiry, however far that clock
// is from the system's.
func TestDeviceBindingCookieMaxAge(t *testing.T) {
	for _, skew := range []time.Duration{-24 * time.Hour, 0, 24 * time.Hour} {
		t.Run(skew.String(), func(t *testing.T) {
			ctx := context.Background()
			clock := dextest.NewClock(time.Now().Add(skew))
			s := memory.New(slog.New(slog.DiscardHandler))
			expiry := clock.Now().Add(10 * time.Minute)
			require.NoError(t, s.CreateDeviceRequest(ctx, storage.DeviceRequest{UserCode: "KUBE-CTL1", DeviceCode: "dc-kubectl", ClientID: "kubectl", Expiry: expiry}))
			require.NoError(t, s.CreateDeviceToken(ctx, storage.DeviceToken{DeviceCode: "dc-kubectl", Status: deviceTokenPending, Expiry: expiry}))
			routes, err := newDexRoutes(testIssuer)
			require.NoError(t, err)
			h, err := newDeviceFlow(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Location", "/dex/auth?client_id=kubectl&response_type=code&state=KUBE-CTL1")
				w.WriteHeader(http.StatusFound)
			}), s, routes, clock.Now, slog.New(slog.DiscardHandler))
			require.NoError(t, err)

			clock.Advance(4 * time.Minute)
			rr := httptest.NewRecorder()
			h.ServeHTTP(rr, httptest.NewRequest(http.MethodPost, "/dex/device/auth/verify_code", nil))
			require.Equal(t, http.StatusFound, rr.Code)
			cookies := rr.Result().Cookies()
			require.Len(t, cookies, 1)
			assert.Equal(t, 6*60+1, cookies[0].MaxAge, "six minutes left by Dex's clock, rounded up")
		})
	}
}

// A user code sent to Dex's form from another site (an auto-submitting
// form would enter the attacker's code in the victim's browser) is
// refused, and no browser is bound.
func TestVerifyCodeFromAnotherSite(t *testing.T) {
	tests := []struct {
		name    string
		headers map[string]string
		want    bool // reaches Dex
	}{
		{name: "Dex's own device page", headers: map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "https://dex.example.com"}, want: true},
		{name: "the issuer's origin", headers: map[string]string{"Origin": "https://dex.example.com"}, want: true},
		{name: "a command-line client", want: true},
		{name: "another site", headers: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}},
		{name: "another host of the same site", headers: map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "https://evil.dex.example.com"}},
		{name: "another site, by Origin alone", headers: map[string]string{"Origin": "https://evil.example"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reached := false
			h := testDeviceFlow(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				reached = true
				w.Header().Set("Location", "/dex/auth?client_id=kubectl&state=KUBE-CTL1")
				w.WriteHeader(http.StatusFound)
			}), deviceStore(t))
			req := httptest.NewRequest(http.MethodPost, "https://dex.example.com/dex/device/auth/verify_code", strings.NewReader("user_code=KUBE-CTL1"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			rr := httptest.NewRecorder()
			h.ServeHTTP(rr, req)
			assert.Equal(t, tt.want, reached)
			if tt.want {
				assert.Equal(t, http.StatusFound, rr.Code)
				assert.Len(t, rr.Result().Cookies(), 1)
				return
			}
			assert.Equal(t, http.StatusForbidden, rr.Code)
			assert.Contains(t, rr.Body.String(), "from another site")
			assert.Empty(t, rr.Result().Cookies())
		})
	}
}
