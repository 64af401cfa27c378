package serve

import (
	"log/slog"
	"net/http"

	"github.com/dexidp/dex/api/v2"
	"github.com/dexidp/dex/server"
)

// UnprotectedHandler is s's web handler without dexFixes: Dex v2.45.1's
// handler as it is (with the token lifetimes capped and the connector's
// failures shown), for tests that reproduce the holes dexFixes closes.
func UnprotectedHandler(s *Server) http.Handler { return s.capped }

// UnprotectedAPI is Dex v2.45.1's gRPC API over s's storage, without the
// checks dex-spectro's API server adds, for tests that reproduce the holes
// they close.
func UnprotectedAPI(s *Server) api.DexServer {
	return server.NewAPI(s.store, slog.New(slog.DiscardHandler), "test", s.dex)
}
