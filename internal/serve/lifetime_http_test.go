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
	h := signInLifetimes(dex, routesAt(t, "/dex"), store, conns, func() time.Time { return now }, slog.New(slog.DiscardHandler))

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

// Only a refresh grant at the token endpoint may take the end of the sign-in
// from the user's offline session: any other request in which Dex signs a
// token for the user, without an end recorded for that request, gets none,
// though the user has a live offline session.
func TestSignInLifetimesOfflineSessionOnlyOnRefresh(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	store := storage.WithStaticConnectors(memory.New(slog.New(slog.DiscardHandler)), []storage.Connector{
		{ID: "spectrocloud", Type: "spectrocloud", Name: "SpectroCloud"},
	})
	require.NoError(t, store.CreateOfflineSessions(context.Background(), storage.OfflineSessions{
		UserID: "u", ConnID: "spectrocloud", Refresh: map[string]*storage.RefreshTokenRef{},
		ConnectorData: sessionData(now.Add(10 * time.Minute)),
	}))
	conns := testLookup(t, store, map[string]connector.Connector{"spectrocloud": sessionConnector{}})
	signer, err := newLifetimeSigner(recordingSigner{}, store, conns, func() time.Time { return now })
	require.NoError(t, err)

	// dex signs a token for the user whatever the request, as Dex would for
	// a request the serve layer did not read the way Dex does: nothing
	// records the end of the sign-in behind it.
	var signed string
	dex := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		payload := fmt.Sprintf(`{"sub":%q,"exp":%d}`, encodeDexPair("u", "spectrocloud"), now.Add(time.Hour).Unix())
		s, err := signer.Sign(r.Context(), []byte(payload))
		if err != nil {
			writeTokenError(w, http.StatusInternalServerError, "server_error", "")
			return
		}
		signed = s
		w.WriteHeader(http.StatusOK)
	})
	h := signInLifetimes(dex, routesAt(t, "/dex"), store, conns, func() time.Time { return now }, slog.New(slog.DiscardHandler))

	post := func(target string, form url.Values) *http.Request {
		r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return r
	}
	tests := []struct {
		name string
		req  *http.Request
		ok   bool
	}{
		{name: "a refresh grant", req: post("/dex/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"r"}}), ok: true},
		{name: "an authorization code grant", req: post("/dex/token", url.Values{"grant_type": {"authorization_code"}, "code": {"not-stored"}, "redirect_uri": {"https://rp/cb"}})},
		{name: "a token exchange", req: post("/dex/token", url.Values{
			"grant_type":         {"urn:ietf:params:oauth:grant-type:token-exchange"},
			"subject_token":      {"t"},
			"subject_token_type": {"urn:ietf:params:oauth:token-type:id_token"},
			"connector_id":       {"spectrocloud"},
		})},
		{name: "a password grant", req: post("/dex/token", url.Values{"grant_type": {"password"}, "username": {"u"}, "password": {"p"}})},
		{name: "the device flow's poll", req: post("/dex/device/token", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {"d"}})},
		{name: "a refresh grant's form at the device flow's poll", req: post("/dex/device/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"r"}})},
		// Dex reads the grant type from the body only.
		{name: "a refresh grant in the query", req: post("/dex/token?grant_type=refresh_token&refresh_token=r", url.Values{"code": {"not-stored"}})},
		{name: "the device callback", req: httptest.NewRequest(http.MethodGet, "/dex/device/callback?state=s&code=not-stored", nil)},
		{name: "an approval", req: post("/dex/approval?req=not-stored&hmac=x", url.Values{"approval": {"approve"}})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			signed = ""
			rr := httptest.NewRecorder()
			h.ServeHTTP(rr, tt.req)
			if tt.ok {
				require.Equal(t, http.StatusOK, rr.Code, rr.Body.String())
				assert.Contains(t, signed, fmt.Sprintf(`"exp":%d`, now.Add(10*time.Minute).Unix()), "capped at the offline session's sign-in")
				return
			}
			assert.Empty(t, signed, "no token from the offline session")
			assert.NotEqual(t, http.StatusOK, rr.Code)
			assert.Contains(t, rr.Body.String(), refusalUnknown)
		})
	}
}
