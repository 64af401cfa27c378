package serve

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIsLocalPath(t *testing.T) {
	tests := []struct {
		back string
		want bool
	}{
		{"/dex/auth?client_id=app&state=s1", true},
		{"/", true},
		{"/dex/auth/%2F%2Fevil.example", true},
		{"", false},
		{"https://evil.example/", false},
		{"HTTPS://evil.example", false},
		{"//evil.example/path", false},
		{"/\\evil.example", false},
		{"\\\\evil.example", false},
		{"/\t/evil.example", false},
		{"/\n/evil.example", false},
		{"javascript:alert(1)", false},
		{"evil.example", false},
		{"dex/auth", false},
		{"/%zz", false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, isLocalPath(tt.back), "%q", tt.back)
	}
}

// The back link reaches Dex's password login handler only when it is a
// path on this origin; Dex then renders no link for a dropped one.
func TestBackLinks(t *testing.T) {
	tests := []struct {
		name, target string
		wantBack     []string // nil: no back parameter reaches Dex
	}{
		{name: "Dex's own back link", target: "/dex/auth/local/login?state=abc&back=%2Fdex%2Fauth%3Fclient_id%3Dapp",
			wantBack: []string{"/dex/auth?client_id=app"}},
		{name: "another site", target: "/dex/auth/local/login?state=abc&back=https%3A%2F%2Fevil.example"},
		{name: "protocol-relative", target: "/dex/auth/local/login?state=abc&back=%2F%2Fevil.example"},
		{name: "backslash", target: "/dex/auth/local/login?state=abc&back=%2F%5Cevil.example"},
		{name: "tab the browser strips", target: "/dex/auth/local/login?state=abc&back=%2F%09%2Fevil.example"},
		{name: "scheme", target: "/dex/auth/ldap/login?state=abc&back=javascript%3Aalert(1)"},
		{name: "two values, the second Dex would not read", target: "/dex/auth/local/login?state=abc&back=%2Fok&back=https%3A%2F%2Fevil.example"},
		{name: "POST of the password form", target: "/dex/auth/local/login?state=abc&back=https%3A%2F%2Fevil.example"},
		{name: "other paths are not touched", target: "/dex/auth?back=https%3A%2F%2Felsewhere.example",
			wantBack: []string{"https://elsewhere.example"}},
		{name: "a connector called login is still a connector", target: "/dex/auth/login/login?back=%2F%2Fevil.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *http.Request
			h := backLinks(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = r }), routesAt(t, "/dex"))
			method := http.MethodGet
			if tt.name == "POST of the password form" {
				method = http.MethodPost
			}
			req := httptest.NewRequest(method, tt.target, nil)
			h.ServeHTTP(httptest.NewRecorder(), req)
			require.NotNil(t, got)
			assert.Equal(t, tt.wantBack, got.URL.Query()["back"])
			assert.Equal(t, got.URL.RequestURI(), got.RequestURI)
			u, err := url.Parse(tt.target)
			require.NoError(t, err)
			assert.Equal(t, u.Query().Get("state"), got.URL.Query().Get("state"), "other parameters reach Dex")
			assert.Equal(t, tt.target, req.URL.RequestURI(), "the caller's request is not changed")
		})
	}

	t.Run("issuer at the root", func(t *testing.T) {
		var got *http.Request
		h := backLinks(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = r }), routesAt(t, ""))
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/auth/local/login?back=%2F%2Fevil.example", nil))
		assert.Empty(t, got.URL.Query()["back"])
	})
}
