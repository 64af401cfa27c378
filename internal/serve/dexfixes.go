package serve

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/dexidp/dex/storage"
)

// dexFixes wraps next, Dex's HTTP handler for issuer over storage s, with
// the fixes dex-spectro carries on top of Dex v2.45.1 until a Dex release
// includes them (see buildinfo.Fixes): the device flow's (deviceFlow), the
// refresh token comparison (refreshTokens) and the password login page's
// back link (backLinks). Each leaves the requests it is not about to Dex
// unchanged.
func dexFixes(next http.Handler, s storage.Storage, issuer string, logger *slog.Logger) (http.Handler, error) {
	u, err := url.Parse(issuer)
	if err != nil {
		return nil, fmt.Errorf("invalid config: issuer: %w", err)
	}
	refresh, err := newRefreshTokens(next, s, u.Path, logger)
	if err != nil {
		return nil, err
	}
	return backLinks(newDeviceFlow(refresh, s, u, logger), u.Path), nil
}
