package serve

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dexidp/dex/storage"
	"github.com/dexidp/dex/storage/memory"
)

const testIssuer = "https://dex.example.com/dex"

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
	} {
		require.NoError(t, s.CreateDeviceRequest(ctx, r))
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
		wantDex           bool // the request reaches Dex
		wantStatus        int
		wantBody          string
	}{
		{name: "public client's own code", code: "code-kubectl", state: "KUBE-CTL1", wantDex: true},
		{name: "confidential client's own code", code: "code-ci", state: "CITO-OL01", wantDex: true},
		{name: "code for the full callback URL, which Dex never sends", code: "code-ci-full-url", state: "CITO-OL01", wantStatus: http.StatusBadRequest},
		{name: "another client's code", code: "code-app", state: "KUBE-CTL1", wantStatus: http.StatusBadRequest, wantBody: "Invalid or expired auth code."},
		{name: "another device client's code", code: "code-ci", state: "KUBE-CTL1", wantStatus: http.StatusBadRequest, wantBody: "Invalid or expired auth code."},
		{name: "own client, redirect URI not the device callback", code: "code-kubectl-loopback", state: "KUBE-CTL1", wantStatus: http.StatusBadRequest},
		{name: "own client, device callback path on another site", code: "code-ci-other-site", state: "CITO-OL01", wantStatus: http.StatusBadRequest},
		{name: "unknown code", code: "no-such-code", state: "KUBE-CTL1", wantStatus: http.StatusBadRequest, wantBody: "Invalid or expired auth code."},
		{name: "unknown user code", code: "code-kubectl", state: "NOPE-NOPE", wantStatus: http.StatusBadRequest, wantBody: "Invalid or expired user code."},
		{name: "wrong client secret on the device request", code: "code-ci", state: "CITO-OL02", wantStatus: http.StatusUnauthorized, wantBody: `"error":"invalid_client"`},
		{name: "client deleted since", code: "code-gone", state: "GONE-CLNT", wantStatus: http.StatusUnauthorized, wantBody: `"error":"invalid_client"`},
		{name: "missing code is Dex's to answer", state: "KUBE-CTL1", wantDex: true},
		{name: "missing state is Dex's to answer", code: "code-app", wantDex: true},
	}
	routes, err := newDexRoutes(testIssuer)
	require.NoError(t, err)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := deviceStore(t)
			reached := false
			next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				reached = true
				w.WriteHeader(http.StatusTeapot)
			})
			h := newDeviceFlow(next, s, routes, slog.New(slog.DiscardHandler))
			q := url.Values{}
			if tt.code != "" {
				q.Set("code", tt.code)
			}
			if tt.state != "" {
				q.Set("state", tt.state)
			}
			rr := httptest.NewRecorder()
			h.ServeHTTP(rr, httptest.NewRequest(http.MethodGet, "/dex/device/callback?"+q.Encode(), nil))
			require.Equal(t, tt.wantDex, reached, rr.Body.String())
			if tt.wantDex {
				return
			}
			assert.Equal(t, tt.wantStatus, rr.Code)
			assert.Contains(t, rr.Body.String(), tt.wantBody)
			assert.Equal(t, "no-store", rr.Header().Get("Cache-Control"))
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
	routes, err := newDexRoutes(testIssuer)
	require.NoError(t, err)
	for _, target := range []string{"/dex/device?user_code=x", "/dex/device/callbackx?code=code-app&state=KUBE-CTL1", "/dex/token"} {
		reached := false
		h := newDeviceFlow(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached = true }), deviceStore(t), routes, slog.New(slog.DiscardHandler))
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, target, nil))
		assert.True(t, reached, target)
	}
}

// A storage failure fails closed: the request does not reach Dex.
func TestDeviceCallbackStorageFailure(t *testing.T) {
	routes, err := newDexRoutes(testIssuer)
	require.NoError(t, err)
	s := failingStore{Storage: deviceStore(t)}
	h := newDeviceFlow(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("reached Dex") }), s, routes, slog.New(slog.DiscardHandler))
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
	routes, err := newDexRoutes(testIssuer)
	require.NoError(t, err)
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
			newDeviceFlow(next, deviceStore(t), routes, slog.New(slog.DiscardHandler)).
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
		newDeviceFlow(next, deviceStore(t), routes, slog.New(slog.DiscardHandler)).
			ServeHTTP(rr, httptest.NewRequest(http.MethodPost, "/dex/device/auth/verify_code", nil))
		assert.Equal(t, http.StatusOK, rr.Code)
		assert.Equal(t, "<form>", rr.Body.String())
	})
}
