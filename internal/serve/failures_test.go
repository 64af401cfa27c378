package serve

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dexidp/dex/connector"
	"github.com/dexidp/dex/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud"
	"github.com/dex-spectro/dex-spectro/internal/connhook"
)

// fakeDex answers like Dex does when a connector fails: the connector
// records its error, final or not, in the request's Recorder (as the
// spectrocloud connector's Refresh and HandleCallback do), and Dex answers
// with its generic texts.
func fakeDex(connErr error, final bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if connErr != nil {
			connhook.RecordFailure(r.Context(), connErr, final)
			if strings.HasSuffix(r.URL.Path, "/token") {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusInternalServerError)
				_, _ = w.Write([]byte(`{"error":"server_error"}`))
				return
			}
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte("<html><p>Internal Server Error</p><p>" + server.ErrMsgAuthenticationFailed + "</p></html>"))
			return
		}
		w.Header().Set("X-Dex", "yes")
		w.WriteHeader(http.StatusFound)
	})
}

func TestConnectorFailures(t *testing.T) {
	expired := &spectrocloud.TokenExpiredError{}
	tests := []struct {
		name       string
		method     string
		path       string
		connErr    error
		final      bool
		wantStatus int
		wantBody   []string
		notBody    []string
	}{
		{name: "refresh after the Palette sign-in expired", method: http.MethodPost, path: "/dex/token", connErr: expired, final: true,
			wantStatus: http.StatusBadRequest, wantBody: []string{`"error":"invalid_grant"`, "sign in again"}},
		{name: "refresh while Palette is unreachable stays server_error", method: http.MethodPost, path: "/dex/token",
			connErr: &spectrocloud.UpstreamError{Endpoint: "jwks", Err: errors.New("connection refused")}, wantStatus: http.StatusInternalServerError, wantBody: []string{"server_error"}},
		{name: "sign-in refused for an unverified email", method: http.MethodGet, path: "/dex/callback",
			connErr: &spectrocloud.ClaimError{Claim: "email_verified", Reason: `is false: <b>not verified</b>`}, final: true,
			wantStatus: http.StatusForbidden, wantBody: []string{"Forbidden", "email_verified", "&lt;b&gt;not verified&lt;/b&gt;"},
			notBody: []string{server.ErrMsgAuthenticationFailed, "<b>", "Internal Server Error"}},
		{name: "sign-in failing on Palette shows the reason, stays 500", method: http.MethodGet, path: "/dex/callback",
			connErr:    &spectrocloud.UpstreamError{Endpoint: "token", Err: errors.New("Palette did not answer in time")},
			wantStatus: http.StatusInternalServerError, wantBody: []string{"did not answer in time"}},
		{name: "sign-in failing on Palette shows no internal address", method: http.MethodGet, path: "/dex/callback",
			connErr:    &spectrocloud.UpstreamError{Endpoint: "discovery", Err: errors.New("https://palette.internal:8443/v1/oidc/tenant/x/.well-known/openid-configuration: HTTP 502; set providerDiscoveryOverrides.jwksURL")},
			wantStatus: http.StatusInternalServerError, wantBody: []string{"HTTP 502", "an address shown in Dex&#39;s log", "providerDiscoveryOverrides.jwksURL"},
			notBody: []string{"palette.internal", "openid-configuration"}},
		{name: "a refused refresh names no catalog address", method: http.MethodPost, path: "/dex/token",
			connErr: &spectrocloud.SignInAgainError{Err: errors.New("the Backstage catalog at http://backstage.internal:7007 has no user entity")}, final: true,
			wantStatus: http.StatusBadRequest, wantBody: []string{"invalid_grant", "an address shown in Dex's log", "has no user entity"},
			notBody: []string{"backstage.internal"}},
		{name: "not in allowed groups keeps Dex's answer", method: http.MethodGet, path: "/dex/callback",
			connErr: &connector.UserNotInRequiredGroupsError{UserID: "u"}, final: true, wantStatus: http.StatusForbidden},
		{name: "success passes through", method: http.MethodGet, path: "/dex/callback", wantStatus: http.StatusFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := fakeDex(tt.connErr, tt.final)
			var groups *connector.UserNotInRequiredGroupsError
			if errors.As(tt.connErr, &groups) {
				next = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					connhook.RecordFailure(r.Context(), tt.connErr, tt.final)
					w.WriteHeader(http.StatusForbidden)
				})
			}
			rr := httptest.NewRecorder()
			connectorFailures(next, routesAt(t, "/dex")).ServeHTTP(rr, httptest.NewRequest(tt.method, tt.path, nil))
			require.Equal(t, tt.wantStatus, rr.Code, rr.Body.String())
			for _, want := range tt.wantBody {
				assert.Contains(t, rr.Body.String(), want)
			}
			for _, not := range tt.notBody {
				assert.NotContains(t, rr.Body.String(), not)
			}
		})
	}

	t.Run("other paths are not touched", func(t *testing.T) {
		rr := httptest.NewRecorder()
		connectorFailures(fakeDex(expired, true), routesAt(t, "/dex")).ServeHTTP(rr, httptest.NewRequest(http.MethodGet, "/dex/auth", nil))
		assert.Equal(t, http.StatusInternalServerError, rr.Code)
		assert.Contains(t, rr.Body.String(), server.ErrMsgAuthenticationFailed)
	})
}
