package serve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud"
)

// addressLike matches an IPv4 address, a port, a URL or the .invalid test
// domain: what must not reach a user.
var addressLike = regexp.MustCompile(`\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|:\d{2,5}\b|://|\.invalid|::1`)

// realFailure makes a real request to target and returns its error, as the
// connector's HTTP client would see it.
func realFailure(t *testing.T, client *http.Client, target string) error {
	t.Helper()
	resp, err := client.Get(target)
	if err == nil {
		_ = resp.Body.Close()
	}
	require.Error(t, err, target)
	return err
}

// Network failures reach users in plain words, whether the connector's
// error keeps Go's error in its chain or only its text; what remains that
// names an address is replaced.
func TestPublicMessageOfNetworkFailures(t *testing.T) {
	closed := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := l.Addr().String()
		require.NoError(t, l.Close())
		return addr
	}()
	silent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // never answers
	}))
	t.Cleanup(silent.Close)
	// A resolver whose DNS server refuses: Go names that server in its error.
	badDNS := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "udp", closed)
	}}
	dnsClient := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{Resolver: badDNS}).DialContext}}
	quick := &http.Client{Timeout: 200 * time.Millisecond}

	refused := realFailure(t, http.DefaultClient, "http://"+closed+"/v1/oidc/tenant/x/token")
	unresolved := realFailure(t, dnsClient, "http://palette.invalid:8443/keys")
	timedOut := realFailure(t, quick, silent.URL+"/keys")
	_, dialErr := net.Dial("tcp", closed)
	require.Error(t, dialErr)

	tests := []struct {
		name string
		err  error
		want string
		same bool // the message is left as it is
	}{
		{name: "connection refused, in the chain", err: &spectrocloud.UpstreamError{Endpoint: "jwks", Err: fmt.Errorf("fetch keys: %w", refused)},
			want: "spectrocloud: Palette jwks endpoint: fetch keys: could not be reached (connection refused)"},
		{name: "connection refused, as text", err: &spectrocloud.UpstreamError{Endpoint: "token", Err: fmt.Errorf("request failed: %s", refused)},
			want: "spectrocloud: Palette token endpoint: request failed: could not be reached (connection refused)"},
		{name: "a name that does not resolve, in the chain", err: &spectrocloud.UpstreamError{Endpoint: "jwks", Err: unresolved},
			want: "spectrocloud: Palette jwks endpoint: could not be reached"},
		{name: "a name that does not resolve, as text", err: errors.New("spectrocloud: Palette token endpoint: request failed: " + unresolved.Error()),
			want: "spectrocloud: Palette token endpoint: request failed: could not be reached"},
		{name: "no answer in time, in the chain", err: &spectrocloud.UpstreamError{Endpoint: "jwks", Err: timedOut},
			want: "spectrocloud: Palette jwks endpoint: did not answer in time"},
		{name: "a dial error alone", err: fmt.Errorf("catalog: %w", dialErr),
			want: "catalog: could not be reached (connection refused)"},
		{name: "the cluster's DNS server, as text", err: errors.New("spectrocloud: Palette token endpoint: request failed: Post \"https://palette.internal:8443/v1/oidc/tenant/x/token\": dial tcp: lookup palette.internal on 10.96.0.10:53: no such host"),
			want: "spectrocloud: Palette token endpoint: request failed: could not be reached (its host name does not resolve)"},
		{name: "a reset connection, as text", err: errors.New("x: read tcp 10.0.0.7:51756->10.0.0.9:8443: read: connection reset by peer"),
			want: "x: could not be reached (the connection was closed)"},
		{name: "an IPv6 address and a host with its port", err: errors.New("Palette at [fd00::1]:8443 and palette.internal:8443 and fd00::2 is down"),
			want: "Palette at " + addressHidden + " and " + addressHidden + " and " + addressHidden + " is down"},
		{name: "a URL", err: errors.New("the Backstage catalog at http://backstage.internal:7007 has no user entity"),
			want: "the Backstage catalog at " + addressHidden + " has no user entity"},
		{name: "times, emails and HTTP statuses stay", err: errors.New("the SpectroCloud sign-in of jane@example.com expired at 2026-12-02T14:15:08Z (HTTP 502): sign in again"),
			same: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := publicMessage(tt.err)
			if tt.same {
				assert.Equal(t, tt.err.Error(), got)
				return
			}
			assert.Contains(t, got, tt.want)
			assert.Empty(t, addressLike.FindAllString(got, -1), "%s\nfrom: %v", got, tt.err)
		})
	}
}

func TestNetworkWords(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&net.DNSError{Err: "no such host", Name: "p.invalid", Server: "10.96.0.10:53", IsNotFound: true}, "its host name does not resolve"},
		{&net.DNSError{Err: "i/o timeout", Name: "p.invalid", Server: "10.96.0.10:53", IsTimeout: true}, "looking up its host name timed out"},
		{&net.DNSError{Err: "server misbehaving", Name: "p.invalid", Server: "10.96.0.10:53"}, "could not be looked up"},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), "did not answer in time"},
		{&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("something new")}, "could not be reached"},
		{errors.New("not a network error"), ""},
	}
	for _, tt := range tests {
		got := networkWords(tt.err)
		if tt.want == "" {
			assert.Empty(t, got)
			continue
		}
		assert.Contains(t, got, tt.want, "%v", tt.err)
	}
}
