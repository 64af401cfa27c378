package spectrocloud

import (
	"errors"
	"io"
	"net/url"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Transport failures at the token endpoint are named for what they are, not
// as Go's error texts with the request URL.
func TestDescribeTokenErrorTransport(t *testing.T) {
	post := func(err error) error {
		return &url.Error{Op: "Post", URL: "https://palette/v1/oidc/tenant/x/token", Err: err}
	}
	for name, tt := range map[string]struct {
		err  error
		want string
	}{
		"refused":                {post(syscall.ECONNREFUSED), "Palette could not be reached (connection refused)"},
		"reset":                  {post(syscall.ECONNRESET), "Palette could not be reached (the connection was closed)"},
		"EOF":                    {post(io.ErrUnexpectedEOF), "Palette could not be reached (the connection was closed)"},
		"kept-alive conn closed": {post(errors.New("http: server closed idle connection")), "Palette could not be reached (the connection was closed)"},
		"something else":         {post(errors.New("tls: handshake failure")), "request failed: "},
	} {
		t.Run(name, func(t *testing.T) {
			assert.Contains(t, describeTokenError(tt.err).Error(), tt.want)
		})
	}
}

// With basicAuthUnsupported, credentials Palette refuses are named as such,
// not as a refused code.
func TestInvalidClientWithForcedPost(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.BasicAuthUnsupported, c.ClientSecret = boolPtr(true), "wrong-secret" })
	_, err := f.login(f.open(), allScopes)
	var upstream *UpstreamError
	if assert.ErrorAs(t, err, &upstream) {
		assert.Contains(t, err.Error(), "Palette refused the client credentials sent with client_secret_post")
		assert.Contains(t, err.Error(), "check clientID and clientSecret")
		assert.NotContains(t, err.Error(), "refused the code")
		assert.NotContains(t, err.Error(), "wrong-secret")
	}
}
