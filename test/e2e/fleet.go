package e2e

import (
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/dextest"
	"github.com/dex-spectro/dex-spectro/internal/dextest/harness"
)

// ReplicaHeader pins a request sent to a Fleet's issuer to one replica:
// its value is the replica's index. The proxy removes it.
const ReplicaHeader = "X-Test-Replica"

// Fleet is several dex-spectro processes serving one issuer from shared
// storage, behind a reverse proxy at the issuer's address that spreads
// requests over them in turn, as a Kubernetes Service does.
type Fleet struct {
	// Issuer is the proxy's URL with Dex's path: every replica's issuer.
	Issuer string

	next atomic.Uint64
}

// StartFleet starts n processes of bin from cfg, each listening on an
// address of its own, and the proxy in front of them. cfg.Storage must be
// shared storage; the processes have no telemetry listener.
func StartFleet(t testing.TB, bin string, cfg DexConfig, n int) *Fleet {
	t.Helper()
	l := harness.Listen(t)
	f := &Fleet{Issuer: "http://" + l.Addr().String() + "/dex"}
	targets := make([]*url.URL, n)
	for i := range n {
		// The process's own address answers for the shared issuer: Dex
		// routes by path.
		err := dextest.StartOnFreeAddr(t, func(addr string) ([]byte, error) {
			targets[i] = &url.URL{Scheme: "http", Host: addr}
			p, err := tryStartProcess(t, bin, cfg.WriteConfig(t, f.Issuer, addr, ""), "http://"+addr+"/dex", "")
			return []byte(p.Logs.String()), err
		})
		require.NoError(t, err, "start replica %d", i)
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			i := int(f.next.Add(1)-1) % n
			if v := r.In.Header.Get(ReplicaHeader); v != "" {
				if pinned, err := strconv.Atoi(v); err == nil && pinned >= 0 && pinned < n {
					i = pinned
				}
			}
			r.Out.Header.Del(ReplicaHeader)
			r.SetURL(targets[i])
			r.Out.Host = r.In.Host
		},
		Transport: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: time.Minute},
	}
	srv := &http.Server{Handler: proxy, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return f
}

// Pinned returns a transport that sends every request to replica i,
// through base (http.DefaultTransport when nil).
func Pinned(i int, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return pinned{replica: strconv.Itoa(i), base: base}
}

type pinned struct {
	replica string
	base    http.RoundTripper
}

func (p pinned) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(ReplicaHeader, p.replica)
	return p.base.RoundTrip(r)
}
