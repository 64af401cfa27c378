package spectrocloud

import (
	"context"
	"errors"
	"io"
	"net/url"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Transport failures at the token endpoint are named for what they are, not
// as Go's error texts with the request URL; the failure stays in the error's
// chain, for errors.Is and errors.As.
func TestDescribeTokenErrorTransport(t *testing.T) {
	post := func(err error) error {
		return &url.Error{Op: "Post", URL: "https://palette/v1/oidc/tenant/x/token", Err: err}
	}
	handshake := errors.New("tls: handshake failure")
	closedIdle := errors.New("http: server closed idle connection")
	for name, tt := range map[string]struct {
		err   error
		want  string
		cause error
	}{
		"refused":                {post(syscall.ECONNREFUSED), "Palette could not be reached (connection refused)", syscall.ECONNREFUSED},
		"reset":                  {post(syscall.ECONNRESET), "Palette could not be reached (the connection was closed)", syscall.ECONNRESET},
		"EOF":                    {post(io.ErrUnexpectedEOF), "Palette could not be reached (the connection was closed)", io.ErrUnexpectedEOF},
		"kept-alive conn closed": {post(closedIdle), "Palette could not be reached (the connection was closed)", closedIdle},
		"timeout":                {post(context.DeadlineExceeded), "Palette did not answer in time", context.DeadlineExceeded},
		"something else":         {post(handshake), "request failed: ", handshake},
	} {
		t.Run(name, func(t *testing.T) {
			err := describeTokenError(tt.err)
			assert.Contains(t, err.Error(), tt.want)
			assert.ErrorIs(t, err, tt.cause)
			if name != "something else" {
				assert.NotContains(t, err.Error(), "palette/v1", "the message names the failure, not the request")
			}
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
