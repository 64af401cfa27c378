package spectrotest

import (
	"encoding/json"
	"net/http"
	"strings"
)

// writeJSON answers v as JSON with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encode response", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// allowMethods answers 405 and returns false unless the request's method is
// one of methods.
func allowMethods(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	return false
}

// oauthError is an OAuth 2.0 error response of the token endpoint (RFC 6749
// section 5.2).
type oauthError struct {
	status      int
	code        string
	description string
}

func (e *oauthError) Error() string { return e.code + ": " + e.description }

func invalidRequest(description string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_request", description}
}

func invalidGrant(description string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_grant", description}
}

func invalidClient(description string) *oauthError {
	return &oauthError{http.StatusUnauthorized, "invalid_client", description}
}

// write answers the error as JSON, never cached.
func (e *oauthError) write(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, e.status, map[string]string{"error": e.code, "error_description": e.description})
}

// singleValues returns the parameters as single values, or the name of the
// first parameter sent more than once (RFC 6749 section 3.1: parameters must
// not be repeated).
func singleValues(values map[string][]string) (map[string]string, string) {
	single := make(map[string]string, len(values))
	for name, vs := range values {
		if len(vs) != 1 {
			return nil, name
		}
		single[name] = vs[0]
	}
	return single, ""
}
