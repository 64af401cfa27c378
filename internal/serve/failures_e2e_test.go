package serve_test

import (
	"context"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/dextest"
	"github.com/dex-spectro/dex-spectro/internal/dextest/harness"
)

// addressShaped matches what names a host on the network: an IPv4 address,
// an IPv6 address in brackets, a port, a URL, a name of the .invalid test
// domain.
var addressShaped = regexp.MustCompile(`\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[[0-9a-fA-F:]+\]|:\d{2,5}\b|://|\.invalid`)

// When the sign-in fails because Palette cannot be reached, the browser's
// error page says so in plain words, and names no address: not Palette's,
// not the cluster's DNS server's. Dex's log has the whole error.
func TestSignInErrorPageNamesNoAddress(t *testing.T) {
	closed := harness.FreeAddr(t) // nothing listens there
	tests := []struct {
		name, override, want string
	}{
		{name: "the token endpoint refuses connections", override: "tokenURL: http://" + closed + "/token", want: "could not be reached"},
		{name: "the token endpoint's host name does not resolve", override: "tokenURL: http://palette.invalid:8443/token", want: "could not be reached"},
		{name: "the keys' endpoint refuses connections", override: "jwksURL: http://" + closed + "/keys", want: "could not be reached"},
		{name: "the keys' endpoint's host name does not resolve", override: "jwksURL: http://palette.invalid/keys", want: "could not be reached"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			l := listen(t)
			palette, _, _ := lifetimePalette(t, "http://"+l.Addr().String()+"/dex")
			cfg := lifetimeConfig(palette.URL, "upstreamTimeout: 5s\nproviderDiscoveryOverrides:\n  "+tt.override)
			dex := harness.Start(t, cfg, l)

			b := dextest.NewBrowser()
			callback, err := b.Authorize(ctx, authURL(dex.Issuer, "backstage"), dex.Issuer+"/callback")
			require.NoError(t, err)
			start := time.Now()
			resp, body, err := dextest.Do(ctx, b.Client, http.MethodGet, callback, nil)
			require.NoError(t, err)
			require.Less(t, time.Since(start), 5*time.Second, "a failure, not a timeout")
			assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
			assert.Contains(t, body, tt.want)
			assert.Contains(t, body, "Palette", "the page says what failed")
			assert.Empty(t, addressShaped.FindAllString(body, -1), "no address on the page:\n%s", body)
		})
	}
}
