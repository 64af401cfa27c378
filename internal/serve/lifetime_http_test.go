package serve

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dexidp/dex/connector"
	"github.com/dexidp/dex/storage"
	"github.com/dexidp/dex/storage/memory"
)

// What signInLifetimes gives Dex for a request that redeems a code or an
// approval: the end of the Palette sign-in stored with it, read from the
// form as Dex reads it. It answers nothing before Dex: a code whose
// sign-in has ended, or whose stored sign-in cannot be read, is refused
// only when Dex, having authenticated the client, asks to sign.
func TestSignInLifetimesBeforeDex(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	store := storage.WithStaticConnectors(memory.New(slog.New(slog.DiscardHandler)), []storage.Connector{
		{ID: "spectrocloud", Type: "spectrocloud", Name: "SpectroCloud"},
		{ID: "mock", Type: "mockCallback", Name: "Mock"},
	})
	ctx := context.Background()
	for id, c := range map[string]struct {
		connID string
		data   []byte
	}{
		"live":    {"spectrocloud", sessionData(now.Add(40 * time.Second))},
		"ended":   {"spectrocloud", sessionData(now)},
		"corrupt": {"spectrocloud", []byte(`{"v":1,"idToken":"not-a-jwt"}`)},
		"mock":    {"mock", []byte(`anything`)},
	} {
		require.NoError(t, store.CreateAuthCode(ctx, storage.AuthCode{
			ID: id, ClientID: "c", RedirectURI: "https://rp/cb", ConnectorID: c.connID, ConnectorData: c.data,
			Expiry: now.Add(time.Minute), Claims: storage.Claims{UserID: "u"},
		}))
		require.NoError(t, store.CreateAuthRequest(ctx, storage.AuthRequest{
			ID: "req-" + id, ClientID: "c", LoggedIn: true, ConnectorID: c.connID, ConnectorData: c.data,
			Expiry: now.Add(time.Minute), Claims: storage.Claims{UserID: "u"},
		}))
	}
	conns := testLookup(t, store, map[string]connector.Connector{"spectrocloud": sessionConnector{}, "mock": plainConnector{}})
	signer, err := newLifetimeSigner(recordingSigner{}, store, conns, func() time.Time { return now })
	require.NoError(t, err)

	// dex reads the code or auth request as Dex's handlers do and signs a
	// token for its user, unless the client "fails authentication".
	var seen time.Time
	var reached bool
	dex := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached = true
		seen = time.Time{}
		if sg := signingFrom(r.Context()); sg != nil {
			seen, _ = sg.recorder.SignInEnd()
		}
		if r.Header.Get("X-Client") == "wrong" {
			writeTokenError(w, http.StatusUnauthorized, "invalid_client", "Invalid client credentials.")
			return
		}
		id := r.FormValue("code")
		if strings.HasSuffix(r.URL.Path, "/approval") {
			id = strings.TrimPrefix(r.FormValue("req"), "req-")
		}
		ac, err := store.GetAuthCode(r.Context(), id)
		if err != nil {
			writeTokenError(w, http.StatusBadRequest, "invalid_grant", "Invalid or expired code parameter.")
			return
		}
		payload := fmt.Sprintf(`{"sub":%q,"exp":%d}`, encodeDexPair(ac.Claims.UserID, ac.ConnectorID), now.Add(time.Hour).Unix())
		if _, err := signer.Sign(r.Context(), []byte(payload)); err != nil {
			writeTokenError(w, http.StatusInternalServerError, "server_error", "")
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	h := signInLifetimes(dex, dexRoutes{base: "/dex"}, store, conns, func() time.Time { return now }, slog.New(slog.DiscardHandler))

	approval := func(target string, body url.Values) func() *http.Request {
		return func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}
	}
	tests := []struct {
		name       string
		req        func() *http.Request
		wantStatus int
		wantBody   string
		wantEnd    time.Time
	}{
		{name: "a live code: Dex issues tokens ending with the sign-in", req: tokenRequest("live"), wantStatus: 200, wantEnd: now.Add(40 * time.Second)},
		{name: "a code whose sign-in ended, redeemed by its client", req: tokenRequest("ended"), wantStatus: 400, wantBody: `"error_description":"the SpectroCloud sign-in expired at`, wantEnd: now},
		{name: "a code whose sign-in ended, for a client Dex refuses", req: withHeader(tokenRequest("ended"), "X-Client", "wrong"), wantStatus: 401, wantBody: `"invalid_client"`, wantEnd: now},
		{name: "unreadable connector data, redeemed by its client", req: tokenRequest("corrupt"), wantStatus: 400, wantBody: "cannot be read: sign in again"},
		{name: "unreadable connector data, for a client Dex refuses", req: withHeader(tokenRequest("corrupt"), "X-Client", "wrong"), wantStatus: 401, wantBody: `"invalid_client"`},
		{name: "another connector's code", req: tokenRequest("mock"), wantStatus: 200},
		{name: "an unknown code is Dex's to refuse", req: tokenRequest("nope"), wantStatus: 400, wantBody: "Invalid or expired code parameter."},
		{name: "the device callback with unreadable data shows a page", req: func() *http.Request {
			return httptest.NewRequest(http.MethodGet, "/dex/device/callback?state=s&code=corrupt", nil)
		}, wantStatus: 403, wantBody: "cannot be read: sign in again"},
		{name: "the device callback with a live code", req: func() *http.Request {
			return httptest.NewRequest(http.MethodGet, "/dex/device/callback?state=s&code=live", nil)
		}, wantStatus: 200, wantEnd: now.Add(40 * time.Second)},
		{name: "an approval of a live sign-in", req: approval("/dex/approval?req=req-live&hmac=x", url.Values{"approval": {"approve"}}),
			wantStatus: 200, wantEnd: now.Add(40 * time.Second)},
		{name: "an approval of an ended sign-in", req: approval("/dex/approval?req=req-ended&hmac=x", url.Values{"approval": {"approve"}}),
			wantStatus: 403, wantBody: "sign in again", wantEnd: now},
		{name: "an approval with a query Go cannot fully parse is read as Dex reads it", req: approval("/dex/approval?req=req-live&hmac=x&a;b", url.Values{"approval": {"approve"}}),
			wantStatus: 200, wantEnd: now.Add(40 * time.Second)},
		{name: "an approval of an ended sign-in with such a query", req: approval("/dex/approval?req=req-ended&hmac=x&a;b", url.Values{"approval": {"approve"}}),
			wantStatus: 403, wantBody: "sign in again", wantEnd: now},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reached, seen = false, time.Time{}
			rr := httptest.NewRecorder()
			h.ServeHTTP(rr, tt.req())
			assert.Equal(t, tt.wantStatus, rr.Code, rr.Body.String())
			assert.Contains(t, rr.Body.String(), tt.wantBody)
			assert.True(t, reached, "Dex sees every request")
			assert.True(t, tt.wantEnd.Equal(seen), "end of the sign-in given to Dex's signer: %s", seen)
		})
	}
}

func withHeader(req func() *http.Request, name, value string) func() *http.Request {
	return func() *http.Request {
		r := req()
		r.Header.Set(name, value)
		return r
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
