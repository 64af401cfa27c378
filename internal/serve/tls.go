package serve

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
)

// tlsVersion maps the config's TLS version names to crypto/tls constants.
func tlsVersion(name string, fallback uint16) uint16 {
	switch name {
	case "1.2":
		return tls.VersionTLS12
	case "1.3":
		return tls.VersionTLS13
	default:
		return fallback
	}
}

// baseTLSConfig returns the TLS settings Dex uses for its listeners: TLS 1.2
// or later by default and forward-secret AEAD cipher suites.
func baseTLSConfig(minVersion, maxVersion string) *tls.Config {
	return &tls.Config{
		MinVersion: tlsVersion(minVersion, tls.VersionTLS12),
		MaxVersion: tlsVersion(maxVersion, 0),
		CipherSuites: []uint16{
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305,
			tls.TLS_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_RSA_WITH_AES_256_GCM_SHA384,
		},
	}
}

// loadTLS loads a certificate and key and, when caFile is set, requires
// client certificates signed by that CA.
func loadTLS(certFile, keyFile, caFile string, base *tls.Config) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load TLS key pair: %w", err)
	}
	cfg := base.Clone()
	cfg.Certificates = []tls.Certificate{cert}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("read client CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("parse client CA file: no PEM certificate found")
		}
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
		cfg.ClientCAs = pool
	}
	return cfg, nil
}

// tlsReloader serves a TLS configuration that is reloaded from its files on
// SIGHUP and whenever a file is created in their directories (as when a
// Kubernetes secret volume or cert-manager swaps them). A reload that fails
// keeps the previous configuration.
type tlsReloader struct {
	logger                    *slog.Logger
	certFile, keyFile, caFile string
	base                      *tls.Config
	current                   atomic.Pointer[tls.Config]
	watcher                   *fsnotify.Watcher
	signals                   chan os.Signal
	stop                      chan struct{}
	stopOnce                  sync.Once
	done                      sync.WaitGroup
}

// newTLSReloader loads the files once (failing on a bad configuration) and
// starts watching them. Close stops the watch.
func newTLSReloader(logger *slog.Logger, certFile, keyFile, caFile string, base *tls.Config) (*tlsReloader, error) {
	initial, err := loadTLS(certFile, keyFile, caFile, base)
	if err != nil {
		return nil, err
	}
	watcher, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("create TLS file watcher: %w", err)
	}
	dirs := map[string]bool{}
	for _, f := range []string{certFile, keyFile, caFile} {
		if f != "" {
			dirs[filepath.Dir(f)] = true
		}
	}
	for dir := range dirs {
		if err := watcher.Add(dir); err != nil {
			_ = watcher.Close()
			return nil, fmt.Errorf("watch TLS directory %s: %w", dir, err)
		}
	}
	r := &tlsReloader{
		logger:   logger,
		certFile: certFile, keyFile: keyFile, caFile: caFile,
		base:    base,
		watcher: watcher,
		signals: make(chan os.Signal, 1),
		stop:    make(chan struct{}),
	}
	r.current.Store(initial)
	signal.Notify(r.signals, syscall.SIGHUP)
	r.done.Add(1)
	go r.loop()
	return r, nil
}

// Config returns the TLS configuration to give a server. With a client CA
// (gRPC mTLS) the whole configuration is swapped per handshake; otherwise
// only the certificate is.
func (r *tlsReloader) Config() *tls.Config {
	cfg := r.current.Load().Clone()
	if r.caFile != "" {
		cfg.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) { return r.current.Load(), nil }
	} else {
		// crypto/tls ignores GetCertificate for clients that send no server
		// name (those that connect by IP address) while Certificates is set.
		cfg.Certificates = nil
		cfg.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return &r.current.Load().Certificates[0], nil
		}
	}
	return cfg
}

// reloadDelay coalesces the burst of file events one certificate renewal
// makes (several files, temporary names, symlink swaps) into one reload.
const reloadDelay = 100 * time.Millisecond

func (r *tlsReloader) loop() {
	defer r.done.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-r.signals:
			r.reload("SIGHUP")
		case ev, ok := <-r.watcher.Events:
			switch {
			case !ok:
				return
			case ev.Has(fsnotify.Create) || ev.Has(fsnotify.Write) || ev.Has(fsnotify.Rename):
				timer.Reset(reloadDelay)
			}
		case <-timer.C:
			r.reload("files changed")
		case err, ok := <-r.watcher.Errors:
			if !ok {
				return
			}
			r.logger.Error("TLS file watcher failed", "err", err)
		}
	}
}

func (r *tlsReloader) reload(reason string) {
	r.logger.Debug("reloading TLS files", "reason", reason)
	cfg, err := loadTLS(r.certFile, r.keyFile, r.caFile, r.base)
	if err != nil {
		r.logger.Warn("reloading TLS files failed, keeping the previous ones", "err", err)
		return
	}
	r.current.Store(cfg)
}

// Close stops watching. It is safe to call more than once.
func (r *tlsReloader) Close() {
	r.stopOnce.Do(func() {
		signal.Stop(r.signals)
		close(r.stop)
		_ = r.watcher.Close()
		r.done.Wait()
	})
}
