package serve

import (
	"bytes"
	"encoding/json"
	"html"
	"net/http"

	"github.com/dexidp/dex/server"

	"github.com/dex-spectro/dex-spectro/internal/connhook"
)

// connectorFailures makes the failures a connector records
// (connhook.RecordFailure: the spectrocloud connector's) visible where Dex
// hides them:
//   - a refresh grant that fails because the user must sign in again (the
//     Palette sign-in expired, its key was withdrawn, the user is no longer
//     allowed) is answered invalid_grant with the reason, where Dex answers
//     server_error to every connector refresh failure;
//   - a failed sign-in shows the connector's reason on Dex's error page
//     (403 when the user may not sign in), where Dex shows a generic text.
//
// The connector's messages never contain token material; the addresses
// they name, and the network errors behind them, are told in plain words or
// left to the log (see publicMessage). Other requests and answers pass through unchanged.
func connectorFailures(next http.Handler, routes dexRoutes) http.Handler {
	token := routes.path("/token")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := r.Method == http.MethodPost && r.URL.Path == token
		callback := routes.isCallback(r.URL.Path)
		if !token && !callback {
			next.ServeHTTP(w, r)
			return
		}
		ctx, recorded := connhook.WithRecorder(r.Context())
		rec := &recorder{header: make(http.Header)}
		next.ServeHTTP(rec, r.WithContext(ctx))
		err, final := recorded.Failure()
		switch {
		case err != nil && token && final && rec.status == http.StatusInternalServerError:
			writeInvalidGrant(w, publicMessage(err))
			return
		case err != nil && callback && rec.status == http.StatusInternalServerError:
			page := rec.body.Bytes()
			generic := []byte(server.ErrMsgAuthenticationFailed)
			if bytes.Contains(page, generic) {
				page = bytes.Replace(page, generic, []byte(html.EscapeString(publicMessage(err))), 1)
				if final {
					rec.status = http.StatusForbidden
					page = bytes.Replace(page, []byte(http.StatusText(http.StatusInternalServerError)), []byte(http.StatusText(http.StatusForbidden)), 1)
				}
				rec.body.Reset()
				rec.body.Write(page)
				rec.header.Del("Content-Length")
			}
		}
		rec.flush(w)
	})
}

func writeInvalidGrant(w http.ResponseWriter, description string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant", "error_description": description})
}

// recorder holds an answer (a small JSON document or HTML page) until it is
// known whether it is to be replaced.
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

func (r *recorder) flush(w http.ResponseWriter) {
	for k, v := range r.header {
		w.Header()[k] = v
	}
	if r.status == 0 {
		r.status = http.StatusOK
	}
	w.WriteHeader(r.status)
	_, _ = w.Write(r.body.Bytes())
}
