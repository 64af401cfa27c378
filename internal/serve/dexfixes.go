package serve

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/dexidp/dex/storage"
)

// dexFixes wraps next, Dex's HTTP handler at routes over storage s, with
// the fixes dex-spectro carries on top of Dex v2.45.1 until a Dex release
// includes them (see buildinfo.Fixes): the device flow's (deviceFlow), the
// refresh token comparison (refreshTokens) and the password login page's
// back link (backLinks). Each leaves the requests it is not about to Dex
// unchanged. now is Dex's clock.
func dexFixes(next http.Handler, s storage.Storage, routes dexRoutes, now func() time.Time, logger *slog.Logger) (http.Handler, error) {
	refresh, err := newRefreshTokens(next, s, routes, logger)
	if err != nil {
		return nil, err
	}
	device, err := newDeviceFlow(refresh, s, routes, now, logger)
	if err != nil {
		return nil, err
	}
	return backLinks(device, routes), nil
}
