package serve

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// BenchmarkDexFixes measures what the fixes add to a request, next to the
// same request served by the wrapped handler alone: a request none of them
// is about (pass-through), a refresh grant (form parsed, one storage read,
// two constant-time comparisons) and a device callback (four storage
// reads, the browser's binding compared).
func BenchmarkDexFixes(b *testing.B) {
	s := deviceStore(b)
	seedRefresh(b, s)
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		w.WriteHeader(http.StatusNoContent)
	})
	routes, err := newDexRoutes(testIssuer)
	if err != nil {
		b.Fatal(err)
	}
	fixes, err := dexFixes(next, s, routes, time.Now, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	refreshForm := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {encodeDexPair("r1", "current-secret")}, "client_id": {"app"}}.Encode()
	requests := []struct {
		name string
		req  func() *http.Request
	}{
		{name: "keys", req: func() *http.Request { return httptest.NewRequest(http.MethodGet, "/dex/keys", nil) }},
		{name: "refresh", req: func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/dex/token", strings.NewReader(refreshForm))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}},
		{name: "device-callback", req: func() *http.Request {
			r := httptest.NewRequest(http.MethodGet, "/dex/device/callback?code=code-ci&state=CITO-OL01", nil)
			r.AddCookie(&http.Cookie{Name: "__Host-dex_spectro_device", Value: testBinding})
			return r
		}},
	}
	for _, rq := range requests {
		for _, h := range []struct {
			name    string
			handler http.Handler
		}{{"baseline", next}, {"fixes", fixes}} {
			b.Run(rq.name+"/"+h.name, func(b *testing.B) {
				for b.Loop() {
					rr := httptest.NewRecorder()
					h.handler.ServeHTTP(rr, rq.req())
					if rr.Code != http.StatusNoContent {
						b.Fatalf("status %d: %s", rr.Code, rr.Body)
					}
				}
			})
		}
	}
}
