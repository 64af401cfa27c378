package signincheck

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	serveharness "github.com/dex-spectro/dex-spectro/internal/dextest/harness"
)

// The listener answers only a GET of redirectURI's path, takes the first
// one that carries the sign-in's state, and shows a page that does not echo
// the code.
func TestReceiverListener(t *testing.T) {
	redirect, err := url.Parse("http://" + serveharness.FreeAddr(t) + "/dex/callback")
	require.NoError(t, err)
	r := newReceiver(redirect, "s", strings.NewReader(""))
	t.Cleanup(r.close)
	require.NotNil(t, r.ln, r.whyNotOwn)

	get := func(method, path string) (int, string) {
		req, err := http.NewRequest(method, "http://"+redirect.Host+path, nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	status, _ := get(http.MethodGet, "/favicon.ico")
	assert.Equal(t, http.StatusNotFound, status)
	status, _ = get(http.MethodPost, "/dex/callback?code=secret-code&state=s")
	assert.Equal(t, http.StatusNotFound, status)
	for _, query := range []string{"error=access_denied", "code=forged&state=other", "code=forged&state=s2", "code=forged"} {
		status, body := get(http.MethodGet, "/dex/callback?"+query)
		assert.Equal(t, http.StatusBadRequest, status, query)
		assert.Contains(t, body, "does not carry the state of the sign-in being checked", query)
	}

	status, body := get(http.MethodGet, "/dex/callback?code=secret-code&state=s")
	assert.Equal(t, http.StatusOK, status)
	assert.NotContains(t, body, "secret-code")
	status, _ = get(http.MethodGet, "/dex/callback?code=other&state=s")
	assert.Equal(t, http.StatusConflict, status, "only the first answer is taken")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u, err := r.receive(ctx)
	require.NoError(t, err)
	assert.Equal(t, redirect.Scheme+"://"+redirect.Host+"/dex/callback?code=secret-code&state=s", u.String())
}

// Where the check listens, and where it does not.
func TestLoopbackAddr(t *testing.T) {
	tests := []struct {
		uri, addr, why string
	}{
		{"http://127.0.0.1:5556/dex/callback", "127.0.0.1:5556", ""},
		{"http://localhost:5556/callback", "localhost:5556", ""},
		{"http://[::1]:5556/callback", "[::1]:5556", ""},
		{"http://127.0.0.1/callback", "127.0.0.1:80", ""},
		{"https://127.0.0.1:5556/callback", "", "plain http only"},
		{"https://dex.example.com/callback", "", "not a loopback address"},
		{"http://10.0.0.1:5556/callback", "", "not a loopback address"},
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			u, err := url.Parse(tt.uri)
			require.NoError(t, err)
			addr, why := loopbackAddr(u)
			assert.Equal(t, tt.addr, addr)
			if tt.why != "" {
				assert.Contains(t, why, tt.why)
			}
		})
	}
}

// A pasted line is bounded in size.
func TestPastedLineTooLong(t *testing.T) {
	_, err := readLine(strings.NewReader(strings.Repeat("a", maxCallbackURL+1) + "\n"))
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, StatusUsage, e.Status)
	assert.Contains(t, err.Error(), "longer than")
}

func TestOAuthCode(t *testing.T) {
	assert.Equal(t, "access_denied", oauthCode("access_denied"))
	assert.Equal(t, "(an unrecognised error)", oauthCode("<script>"))
	assert.Equal(t, "(an unrecognised error)", oauthCode(strings.Repeat("a", 65)))
}
