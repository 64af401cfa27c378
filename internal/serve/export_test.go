package serve

import "net/http"

// UnprotectedHandler is s's web handler without dexFixes: Dex v2.45.1's
// handler as it is, for tests that reproduce the holes dexFixes closes.
func UnprotectedHandler(s *Server) http.Handler { return connectorFailures(s.dex, s.routes) }
