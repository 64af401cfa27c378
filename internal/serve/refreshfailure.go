package serve

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud"
)

// refreshFailures answers invalid_grant, with the connector's reason, when a
// refresh grant fails because the user must sign in again (the Palette
// sign-in expired, its key was withdrawn, the user is no longer allowed).
// Dex itself answers server_error for every connector refresh failure, which
// clients treat as a passing fault. Other answers pass through unchanged.
func refreshFailures(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/token") {
			next.ServeHTTP(w, r)
			return
		}
		ctx, failure := spectrocloud.WithRefreshFailure(r.Context())
		rec := &recorder{header: make(http.Header)}
		next.ServeHTTP(rec, r.WithContext(ctx))
		if err := failure.Err(); err != nil && rec.status == http.StatusInternalServerError {
			h := w.Header()
			h.Set("Content-Type", "application/json")
			h.Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant", "error_description": err.Error()})
			return
		}
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		w.WriteHeader(rec.status)
		_, _ = w.Write(rec.body.Bytes())
	})
}

// recorder holds a token endpoint answer (small JSON) until it is known
// whether it is to be replaced.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
