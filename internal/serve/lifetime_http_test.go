package serve

import (
	"context"
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

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud"
)

// What signInLifetimes does before Dex sees a code: it reads the end of the
// Palette sign-in stored with it, refuses a code whose sign-in has ended,
// and fails closed on connector data it cannot read.
func TestSignInLifetimesBeforeDex(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	store := storage.WithStaticConnectors(memory.New(slog.New(slog.DiscardHandler)), []storage.Connector{
		{ID: "spectrocloud", Type: "spectrocloud", Name: "SpectroCloud"},
		{ID: "mock", Type: "mockCallback", Name: "Mock"},
	})
	for id, c := range map[string]struct {
		connID string
		data   []byte
	}{
		"live":    {"spectrocloud", sessionData(now.Add(40 * time.Second))},
		"ended":   {"spectrocloud", sessionData(now)},
		"corrupt": {"spectrocloud", []byte(`{"v":1,"idToken":"not-a-jwt"}`)},
		"mock":    {"mock", []byte(`anything`)},
	} {
		require.NoError(t, store.CreateAuthCode(context.Background(), storage.AuthCode{
			ID: id, ClientID: "c", RedirectURI: "https://rp/cb", ConnectorID: c.connID, ConnectorData: c.data,
			Expiry: now.Add(time.Minute), Claims: storage.Claims{UserID: "u"},
		}))
	}
	var seen time.Time
	var reached bool
	dex := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached = true
		seen = time.Time{}
		if e, ok := spectrocloud.ExpiryFrom(r.Context()); ok {
			seen, _ = e.Get()
		}
		w.WriteHeader(http.StatusOK)
	})
	h := signInLifetimes(dex, dexRoutes{base: "/dex"}, store, func() time.Time { return now }, slog.New(slog.DiscardHandler))

	tests := []struct {
		name       string
		req        func() *http.Request
		wantStatus int
		wantBody   string
		wantEnd    time.Time
		wantDex    bool
	}{
		{name: "a live code: Dex issues tokens ending with the sign-in", req: tokenRequest("live"), wantStatus: 200, wantEnd: now.Add(40 * time.Second), wantDex: true},
		{name: "a code whose sign-in ended", req: tokenRequest("ended"), wantStatus: 400, wantBody: `"invalid_grant"`},
		{name: "unreadable connector data", req: tokenRequest("corrupt"), wantStatus: 400, wantBody: "cannot be read: sign in again"},
		{name: "another connector's code", req: tokenRequest("mock"), wantStatus: 200, wantDex: true},
		{name: "an unknown code is Dex's to refuse", req: tokenRequest("nope"), wantStatus: 200, wantDex: true},
		{name: "the device callback with unreadable data shows a page", req: func() *http.Request {
			return httptest.NewRequest(http.MethodGet, "/dex/device/callback?state=s&code=corrupt", nil)
		}, wantStatus: 500, wantBody: "cannot be read"},
		{name: "the device callback with a live code", req: func() *http.Request {
			return httptest.NewRequest(http.MethodGet, "/dex/device/callback?state=s&code=live", nil)
		}, wantStatus: 200, wantEnd: now.Add(40 * time.Second), wantDex: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reached, seen = false, time.Time{}
			rr := httptest.NewRecorder()
			h.ServeHTTP(rr, tt.req())
			assert.Equal(t, tt.wantStatus, rr.Code, rr.Body.String())
			assert.Contains(t, rr.Body.String(), tt.wantBody)
			assert.Equal(t, tt.wantDex, reached, "whether Dex saw the request")
			assert.True(t, tt.wantEnd.Equal(seen), "end of the sign-in given to Dex's signer: %s", seen)
		})
	}
}

func tokenRequest(code string) func() *http.Request {
	return func() *http.Request {
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"https://rp/cb"}}
		r := httptest.NewRequest(http.MethodPost, "/dex/token", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return r
	}
}
