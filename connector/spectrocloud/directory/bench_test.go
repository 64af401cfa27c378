package directory

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
	"github.com/dex-spectro/dex-spectro/internal/dextest"
)

// benchTenant is the tenant size the documentation quotes: 10,000 users,
// each in two of 500 teams.
const (
	benchUsers = 10_000
	benchTeams = 500
	benchKey   = "palette-api-key-0123456789abcdef"
)

func benchPalette(b *testing.B) *spectrotest.Server {
	b.Helper()
	srv := spectrotest.NewServer()
	b.Cleanup(srv.Close)
	tenant := srv.AddTenant(dextest.TenantUID)
	tenant.AddAPIKey(benchKey)
	for i := range benchUsers {
		tenant.AddUser(spectrotest.User{Sub: fmt.Sprintf("%024x", i), Email: fmt.Sprintf("user%05d@example.com", i),
			Groups: []string{fmt.Sprintf("team-%03d", i%benchTeams), fmt.Sprintf("team-%03d", (i*7+1)%benchTeams)}})
	}
	return srv
}

func benchClient(b *testing.B, base string, rate float64) *Client {
	b.Helper()
	c, err := New(Config{BaseURL: base, APIKey: func() (string, error) { return benchKey, nil },
		HTTPClient: &http.Client{Timeout: 30 * time.Second}, RequestsPerSecond: rate})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkSync measures what one sync of 10,000 users and 500 teams costs
// this process, without the pace (which makes a real sync last 21 s at ten
// requests a second) and without the emulator's work: the 210 answers of
// one real sync are recorded and replayed. "fetch" only requests them (the
// baseline: HTTP on loopback), "sync" also decodes them and builds the
// snapshot. retained-B is the heap the snapshot holds.
//
//	go test -run '^$' -bench 'BenchmarkSync$' -benchtime 20x -count 3 ./connector/spectrocloud/directory/
func BenchmarkSync(b *testing.B) {
	pages, order := recordSync(b)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(pages[r.URL.RequestURI()])
	}))
	b.Cleanup(srv.Close)
	b.Run("fetch", func(b *testing.B) {
		client := &http.Client{}
		b.ReportAllocs()
		for b.Loop() {
			for _, uri := range order {
				req, _ := http.NewRequest(http.MethodGet, srv.URL+uri, nil)
				req.Header.Set("ApiKey", benchKey)
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
		b.ReportMetric(float64(len(order)), "requests/op")
	})
	b.Run("sync", func(b *testing.B) {
		c := benchClient(b, srv.URL, MaxRequestsPerSecond)
		c.pace.interval = 0
		var s *Snapshot
		b.ReportAllocs()
		for b.Loop() {
			var err error
			if s, err = c.Sync(context.Background(), time.Now(), nil); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		if s.Stats.Users != benchUsers || s.Stats.Teams != benchTeams {
			b.Fatalf("read %d users and %d teams", s.Stats.Users, s.Stats.Teams)
		}
		b.ReportMetric(float64(s.Stats.Requests), "requests/op")
		b.ReportMetric(float64(retained(func() any { s2, _ := c.Sync(context.Background(), time.Now(), nil); return s2 })), "retained-B")
	})
}

// recordSync runs one sync against the emulator and returns its answers by
// request URI, and the URIs in order.
func recordSync(b *testing.B) (map[string][]byte, []string) {
	b.Helper()
	palette := benchPalette(b)
	palette.SetAPIRateLimit(0, 0)
	pages := map[string][]byte{}
	var order []string
	var mu sync.Mutex
	rec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp := httptest.NewRecorder()
		palette.ServeHTTP(resp, r)
		mu.Lock()
		pages[r.URL.RequestURI()] = resp.Body.Bytes()
		order = append(order, r.URL.RequestURI())
		mu.Unlock()
		w.WriteHeader(resp.Code)
		_, _ = w.Write(resp.Body.Bytes())
	}))
	defer rec.Close()
	c := benchClient(b, rec.URL, MaxRequestsPerSecond)
	c.pace.interval = 0
	if _, err := c.Sync(context.Background(), time.Now(), nil); err != nil {
		b.Fatal(err)
	}
	return pages, order
}

// retained returns the heap that what make returns keeps alive.
func retained(make func() any) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	v := make()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(v)
	if after.HeapAlloc < before.HeapAlloc {
		return 0
	}
	return after.HeapAlloc - before.HeapAlloc
}

// BenchmarkSyncPaced is one real sync of 10,000 users and 500 teams against
// the emulator's enforcement of Palette's rate limit (10/s per source,
// burst 5), at the default pace and at the limit: the wall time and the
// 429s an operator will see.
//
//	go test -run '^$' -bench BenchmarkSyncPaced -benchtime 1x ./connector/spectrocloud/directory/
func BenchmarkSyncPaced(b *testing.B) {
	srv := benchPalette(b)
	for _, rate := range []float64{DefaultRequestsPerSecond, MaxRequestsPerSecond} {
		b.Run(fmt.Sprintf("%v-per-second", rate), func(b *testing.B) {
			c := benchClient(b, srv.URL, rate)
			for b.Loop() {
				s, err := c.Sync(context.Background(), time.Now(), nil)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(s.Stats.Requests), "requests/op")
				b.ReportMetric(float64(s.Stats.RateLimited), "429/op")
				b.ReportMetric(s.Stats.Duration.Seconds(), "s/sync")
			}
		})
	}
}
