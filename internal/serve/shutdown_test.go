package serve_test

import (
	"context"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/serve"
)

// httpClientNoRetry makes single requests on fresh connections.
var httpClientNoRetry = http.Client{
	Transport: &http.Transport{DisableKeepAlives: true},
	Timeout:   10 * time.Second,
}

// blockingCollector holds a /metrics scrape until released, giving the
// tests an in-flight request of controlled length.
type blockingCollector struct {
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func newBlockingCollector() *blockingCollector {
	return &blockingCollector{entered: make(chan struct{}), release: make(chan struct{})}
}

var blockingDesc = prometheus.NewDesc("test_blocking", "Blocks scrapes.", nil, nil)

func (c *blockingCollector) Describe(ch chan<- *prometheus.Desc) { ch <- blockingDesc }

func (c *blockingCollector) Collect(ch chan<- prometheus.Metric) {
	c.once.Do(func() { close(c.entered) })
	<-c.release
	ch <- prometheus.MustNewConstMetric(blockingDesc, prometheus.GaugeValue, 1)
}

type result struct {
	status int
	body   string
	err    error
}

func scrape(url string) <-chan result {
	out := make(chan result, 1)
	go func() {
		resp, err := httpClientNoRetry.Get(url)
		if err != nil {
			out <- result{err: err}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		out <- result{status: resp.StatusCode, body: string(body), err: err}
	}()
	return out
}

// On shutdown the server stops accepting connections but lets an in-flight
// request finish, then closes storage and returns nil.
func TestShutdownFinishesInFlightRequests(t *testing.T) {
	reg := prometheus.NewRegistry()
	blocker := newBlockingCollector()
	reg.MustRegister(blocker)
	dex := startDex(t, basicConfig(storageSection(t, "sqlite3")), "", serve.WithRegistry(reg))

	inFlight := scrape("http://" + dex.Addrs.Telemetry + "/metrics")
	<-blocker.entered

	dex.Cancel()
	// New connections are refused once the listeners are closed.
	require.Eventually(t, func() bool {
		_, err := httpClientNoRetry.Get(dex.URL("/healthz"))
		return err != nil
	}, 5*time.Second, 10*time.Millisecond)

	select {
	case <-dex.Done():
		t.Fatalf("Run returned (%v) with a request in flight", dex.Stop())
	case <-time.After(100 * time.Millisecond):
	}

	close(blocker.release)
	r := <-inFlight
	require.NoError(t, r.err)
	assert.Equal(t, 200, r.status)
	assert.Contains(t, r.body, "test_blocking 1")
	require.NoError(t, dex.Stop())
}

// A request that outlasts the shutdown timeout is cut off, so shutdown is
// bounded.
func TestShutdownIsBounded(t *testing.T) {
	reg := prometheus.NewRegistry()
	blocker := newBlockingCollector()
	reg.MustRegister(blocker)
	t.Cleanup(func() { close(blocker.release) })
	dex := startDex(t, basicConfig(nil), "",
		serve.WithRegistry(reg), serve.WithShutdownTimeout(200*time.Millisecond))

	inFlight := scrape("http://" + dex.Addrs.Telemetry + "/metrics")
	<-blocker.entered

	start := time.Now()
	require.NoError(t, dex.Stop())
	assert.Less(t, time.Since(start), 5*time.Second)
	r := <-inFlight
	assert.Error(t, r.err, "the connection was closed")
}

// Run returns after its context is cancelled even when it was never given
// any traffic, and a server that is closed without running releases its
// listeners.
func TestCloseWithoutRun(t *testing.T) {
	dex := startDex(t, basicConfig(nil), "")
	require.NoError(t, dex.Stop())

	l := listen(t)
	addr := l.Addr().String()
	cfg := loadConfig(t, basicConfig(nil), l)
	srv, err := serve.New(context.Background(), cfg, serve.WithListener(serve.ListenerHTTP, l), serve.WithLogger(testLogger(t)))
	require.NoError(t, err)
	require.NoError(t, srv.Close())
	_, err = httpClientNoRetry.Get("http://" + addr + "/dex/healthz")
	require.Error(t, err)
	require.Error(t, srv.Run(context.Background()), "Run after Close")
}
