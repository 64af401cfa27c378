// Package etcdtest runs a real etcd server inside the test's process, from
// etcd's own server module (go.etcd.io/etcd/server/v3/embed): one member,
// listening on loopback ports, with its data in a temporary directory, until
// the test ends. Dex's etcd storage and kube-apiserver connect to it as they
// connect to any etcd.
//
//	srv := etcdtest.Start(t)
//	dex := harness.Start(t, dextest.DexConfig{Storage: srv.Storage(), ...}, nil)
//
// The server needs nothing outside the test binary, so it is never skipped.
package etcdtest

import (
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
)

// startTimeout bounds how long Start waits for the server to be ready.
const startTimeout = time.Minute

// Server is an etcd server running in the test's process.
type Server struct {
	etcd      *embed.Etcd
	endpoints []string
	logLevel  zap.AtomicLevel
	stopOnce  sync.Once
}

// Start starts a one-member etcd server on free ports of 127.0.0.1 with its
// data in a temporary directory, waits until it serves clients, and stops it
// when the test ends. Only its errors reach the test's output. The server
// skips fsync (its data is thrown away with the test); it is otherwise
// etcd's defaults. The test fails at once if the server does not start.
func Start(t testing.TB) *Server {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "etcd")

	cfg := embed.NewConfig()
	cfg.Name = "etcdtest"
	cfg.Dir = dir
	// Port 0 everywhere: the kernel picks free ports, which the member's
	// listeners report once started. The peer URL is advertised as given; a
	// single member never dials it.
	loopback := url.URL{Scheme: "http", Host: "127.0.0.1:0"}
	cfg.ListenClientUrls = []url.URL{loopback}
	cfg.AdvertiseClientUrls = []url.URL{loopback}
	cfg.ListenPeerUrls = []url.URL{loopback}
	cfg.AdvertisePeerUrls = []url.URL{loopback}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.UnsafeNoFsync = true
	// Errors only, and none once stopping: etcd reports its listeners'
	// closing as errors.
	level := zap.NewAtomicLevelAt(zap.ErrorLevel)
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zaptest.NewLogger(t, zaptest.Level(level)))

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Fatalf("start etcd: %v", err)
	}
	s := &Server{etcd: e, logLevel: level}
	t.Cleanup(s.Stop)

	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		t.Fatalf("etcd stopped while starting: %v", err)
	case <-time.After(startTimeout):
		t.Fatalf("etcd was not ready after %v", startTimeout)
	}
	for _, l := range e.Clients {
		s.endpoints = append(s.endpoints, "http://"+l.Addr().String())
	}
	if len(s.endpoints) == 0 {
		t.Fatal("etcd has no client listener")
	}
	return s
}

// Endpoints are the server's client URLs (http://127.0.0.1:<port>), as
// Dex's etcd storage (endpoints) and kube-apiserver (--etcd-servers) take
// them.
func (s *Server) Endpoints() []string {
	return append([]string(nil), s.endpoints...)
}

// Stop stops the server and waits until it has; its clients' requests fail
// from then on. It may be called more than once; the test's end calls it
// too.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		s.logLevel.SetLevel(zap.FatalLevel)
		s.etcd.Close()
	})
}

// Storage is Dex's storage section for the server, for a
// dextest.DexConfig.
func (s *Server) Storage() map[string]any {
	endpoints := make([]any, len(s.endpoints))
	for i, e := range s.endpoints {
		endpoints[i] = e
	}
	return map[string]any{"type": "etcd", "config": map[string]any{"endpoints": endpoints}}
}
