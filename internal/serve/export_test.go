package serve

import "net/http"

// UnprotectedHandler is s's web handler without dexFixes: Dex v2.45.1's
// handler as it is (with the token lifetimes capped and the connector's
// failures shown), for tests that reproduce the holes dexFixes closes.
func UnprotectedHandler(s *Server) http.Handler { return s.capped }
