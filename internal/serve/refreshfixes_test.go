package serve

import (
	"context"
	"encoding/base64"
	"encoding/json"
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

	"github.com/dex-spectro/dex-spectro/internal/sessions"
)

// answeredInFront requires that a request reached Dex (wantDex) or else
// was answered in front of Dex, with status, a body containing body, and no
// caching; it reports whether it was answered in front of Dex.
func answeredInFront(t *testing.T, rr *httptest.ResponseRecorder, reached, wantDex bool, status int, body string) bool {
	t.Helper()
	require.Equal(t, wantDex, reached, rr.Body.String())
	if wantDex {
		return false
	}
	assert.Equal(t, status, rr.Code)
	assert.Contains(t, rr.Body.String(), body)
	assert.Equal(t, "no-store", rr.Header().Get("Cache-Control"))
	return true
}

// encodeDexPair encodes a refresh token (ID, secret) or an ID token's
// subject (user ID, connector ID) as Dex v2.45.1 hands it out: both are the
// same two-field message, which sessions.Subject encodes.
func encodeDexPair(id, secret string) string {
	return sessions.Subject(id, secret)
}

func refreshStore(t *testing.T) storage.Storage {
	t.Helper()
	s := memory.New(slog.New(slog.DiscardHandler))
	seedRefresh(t, s)
	return s
}

// seedRefresh stores refresh token r1 (with a previous secret) and r2 of
// client app.
func seedRefresh(t testing.TB, s storage.Storage) {
	t.Helper()
	now := time.Now()
	require.NoError(t, s.CreateRefresh(context.Background(), storage.RefreshToken{
		ID: "r1", Token: "current-secret", ObsoleteToken: "previous-secret", ClientID: "app",
		CreatedAt: now, LastUsed: now, ConnectorID: "local",
	}))
	require.NoError(t, s.CreateRefresh(context.Background(), storage.RefreshToken{
		ID: "r2", Token: "only-secret", ClientID: "app", CreatedAt: now, LastUsed: now, ConnectorID: "local",
	}))
}

func TestRefreshTokenDecode(t *testing.T) {
	h, err := newRefreshTokens(http.NotFoundHandler(), refreshStore(t), routesAt(t, "/dex"), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	tests := []struct {
		name, raw, wantID, wantSecret string
	}{
		{name: "Dex's encoding", raw: encodeDexPair("r1", "s"), wantID: "r1", wantSecret: "s"},
		{name: "not base64: an old token's ID", raw: "r1.old", wantID: "r1.old"},
		{name: "not protobuf", raw: base64.RawURLEncoding.EncodeToString([]byte{0xff, 0xff}), wantID: base64.RawURLEncoding.EncodeToString([]byte{0xff, 0xff})},
		{name: "invalid UTF-8 in a proto3 string", raw: base64.RawURLEncoding.EncodeToString([]byte{0x0a, 0x01, 0xff}), wantID: "CgH_"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, secret := h.decode(tt.raw)
			assert.Equal(t, tt.wantID, id)
			assert.Equal(t, tt.wantSecret, secret)
		})
	}
}

// A refresh token whose secret is neither the current nor the previous one
// is refused before Dex compares it; the others reach Dex.
func TestRefreshTokenSecretComparedFirst(t *testing.T) {
	tests := []struct {
		name       string
		path       string
		form       url.Values
		basicAuth  []string
		wantDex    bool
		wantStatus int
		wantBody   string
	}{
		{name: "refresh with the current secret", path: "/dex/token", wantDex: true,
			form: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {encodeDexPair("r1", "current-secret")}, "client_id": {"app"}}},
		{name: "refresh with the previous secret (reuse interval is Dex's to judge)", path: "/dex/token", wantDex: true,
			form: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {encodeDexPair("r1", "previous-secret")}, "client_id": {"app"}}},
		{name: "refresh with a guessed secret", path: "/dex/token", wantStatus: http.StatusBadRequest, wantBody: `"error":"invalid_request"`,
			form: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {encodeDexPair("r1", "current-secreT")}, "client_id": {"app"}}},
		{name: "refresh with a guessed secret, client in basic auth", path: "/dex/token", wantStatus: http.StatusBadRequest, basicAuth: []string{"app", "app-secret"},
			form: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {encodeDexPair("r1", "x")}}},
		{name: "empty secret where there is no previous one", path: "/dex/token", wantStatus: http.StatusBadRequest,
			form: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {encodeDexPair("r2", "")}, "client_id": {"app"}}},
		{name: "another client's token: Dex refuses it without comparing", path: "/dex/token", wantDex: true,
			form: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {encodeDexPair("r1", "x")}, "client_id": {"other"}}},
		{name: "unknown token ID", path: "/dex/token", wantDex: true,
			form: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {encodeDexPair("nope", "x")}, "client_id": {"app"}}},
		{name: "other grants", path: "/dex/token", wantDex: true,
			form: url.Values{"grant_type": {"authorization_code"}, "code": {"c"}, "refresh_token": {encodeDexPair("r1", "x")}}},
		{name: "introspection with the current secret", path: "/dex/token/introspect", wantDex: true,
			form: url.Values{"token": {encodeDexPair("r1", "current-secret")}}},
		{name: "introspection with a guessed secret", path: "/dex/token/introspect", wantStatus: http.StatusOK, wantBody: `{"active":false}`,
			form: url.Values{"token": {encodeDexPair("r1", "guess")}}},
		{name: "introspection of an access token", path: "/dex/token/introspect", wantDex: true,
			form: url.Values{"token": {"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reached := false
			next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				reached = true
				assert.Equal(t, tt.form.Encode(), r.PostForm.Encode(), "Dex reads the same form")
				w.WriteHeader(http.StatusTeapot)
			})
			h, err := newRefreshTokens(next, refreshStore(t), routesAt(t, "/dex"), slog.New(slog.DiscardHandler))
			require.NoError(t, err)
			req := httptest.NewRequest(http.MethodPost, tt.path, strings.NewReader(tt.form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.basicAuth != nil {
				req.SetBasicAuth(tt.basicAuth[0], tt.basicAuth[1])
			}
			rr := httptest.NewRecorder()
			h.ServeHTTP(rr, req)
			if !answeredInFront(t, rr, reached, tt.wantDex, tt.wantStatus, tt.wantBody) {
				return
			}
			var doc map[string]any
			require.NoError(t, json.Unmarshal(rr.Body.Bytes(), &doc))
		})
	}

	t.Run("a body that does not parse", func(t *testing.T) {
		h, err := newRefreshTokens(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("reached Dex") }), refreshStore(t), routesAt(t, "/dex"), slog.New(slog.DiscardHandler))
		require.NoError(t, err)
		req := httptest.NewRequest(http.MethodPost, "/dex/token", strings.NewReader("grant_type=%zz"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rr := httptest.NewRecorder()
		h.ServeHTTP(rr, req)
		assert.Equal(t, http.StatusBadRequest, rr.Code)
	})

	t.Run("GET and other paths pass", func(t *testing.T) {
		for _, target := range []string{"/dex/token", "/dex/keys", "/dex/token/introspect"} {
			reached := false
			h, err := newRefreshTokens(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached = true }), refreshStore(t), routesAt(t, "/dex"), slog.New(slog.DiscardHandler))
			require.NoError(t, err)
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, target, nil))
			assert.True(t, reached, target)
		}
	})
}
