package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
	"github.com/dex-spectro/dex-spectro/internal/config"
	"github.com/dex-spectro/dex-spectro/internal/connectors"
	"github.com/dex-spectro/dex-spectro/internal/serve"
)

// shutdownTimeout bounds how long stopping waits for in-flight requests.
const shutdownTimeout = 5 * time.Second

// URLs are where the demo's servers are reachable.
type URLs struct {
	// App is the demo app, the page to open.
	App string
	// Issuer is Dex's issuer.
	Issuer string
	// Console is the emulated Palette console.
	Console string
	// Tenant is the emulated Palette tenant's issuer.
	Tenant string
}

// Demo is a demo with its ports bound and its configuration loaded, ready
// to run. Call Run, or Close to release it without running.
type Demo struct {
	opts       Options
	clockSet   bool // Options.Now was given
	ls         *listeners
	urls       URLs
	configYAML []byte
	cfg        *config.Config
	console    *spectrotest.Console
	app        *app

	once sync.Once // Run or Close, whichever comes first
}

// Run starts the demo, prints the URL to open to out, and serves until ctx
// is cancelled; then it stops every server and returns nil. It returns an
// error when the demo cannot start (a port in use is a *PortInUseError) or
// a server fails.
func Run(ctx context.Context, opts Options, out io.Writer) error {
	d, err := New(opts)
	if err != nil {
		return err
	}
	return d.Run(ctx, out)
}

// New binds the demo's ports, renders its Dex configuration and loads it as
// `dex-spectro serve --strict` would, and sets up the emulated Palette
// tenant and the demo app. Nothing is served until Run. The spectrocloud
// connector type must have been registered with connectors.Register.
func New(opts Options) (*Demo, error) {
	if !connectors.Registered() {
		return nil, errors.New("demo: the spectrocloud connector type is not registered: call connectors.Register first")
	}
	if err := opts.validate(); err != nil {
		return nil, err
	}
	clockSet := opts.Now != nil
	opts = opts.withDefaults()

	ls, err := listen(opts)
	if err != nil {
		return nil, err
	}
	d, err := build(opts, ls)
	if err != nil {
		ls.close()
		return nil, err
	}
	d.clockSet = clockSet
	return d, nil
}

// build configures the demo for the bound listeners.
func build(opts Options, ls *listeners) (*Demo, error) {
	e := newEndpoints(listenerPort(ls.dex), listenerPort(ls.palette), listenerPort(ls.app))
	data, err := renderConfig(e, opts)
	if err != nil {
		return nil, err
	}
	cfg, err := loadConfig(data)
	if err != nil {
		return nil, err
	}
	console := spectrotest.NewConsole(e.consoleURL)
	tenant := newTenant(console, e.dexCallback(), opts)
	expiries := newPaletteExpiries()
	tenant.SetIDTokenHook(expiries.record)

	a, err := newApp(appConfig{endpoints: e, tenantIssuer: tenant.Issuer(), opts: opts, paletteExpiry: expiries})
	if err != nil {
		return nil, err
	}
	return &Demo{
		opts:       opts,
		ls:         ls,
		urls:       URLs{App: e.appURL, Issuer: e.issuer, Console: e.consoleURL, Tenant: tenant.Issuer()},
		configYAML: data,
		cfg:        cfg,
		console:    console,
		app:        a,
	}, nil
}

// URLs returns where the demo's servers are reachable.
func (d *Demo) URLs() URLs { return d.urls }

// Config returns the Dex configuration file the demo runs Dex with.
func (d *Demo) Config() []byte { return append([]byte(nil), d.configYAML...) }

// Close releases a demo that was never run. After Run it does nothing.
func (d *Demo) Close() error {
	d.once.Do(d.ls.close)
	return nil
}

// Run serves the demo until ctx is cancelled, as the package-level Run.
// Run may be called once.
func (d *Demo) Run(ctx context.Context, out io.Writer) error {
	err := errors.New("demo: Run called more than once, or after Close")
	d.once.Do(func() { err = d.run(ctx, out) })
	return err
}

func (d *Demo) run(ctx context.Context, out io.Writer) error {
	logger := d.opts.Logger
	runCtx, stop := context.WithCancel(ctx)
	defer stop()

	palette := newHTTPServer(d.console, logger)
	app := newHTTPServer(d.app.handler(), logger)
	failures := make(chan error, 3)
	var serving sync.WaitGroup
	serveHTTP := func(name string, srv *http.Server, l net.Listener) {
		serving.Add(1)
		go func() {
			defer serving.Done()
			if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
				failures <- fmt.Errorf("demo: serve %s: %w", name, err)
			}
		}()
	}

	// Palette first: the connector looks it up when Dex opens it.
	serveHTTP("the Palette emulator", palette, d.ls.palette)
	dexLogger, dexStarted := newQuietStartup(logger)
	dexOpts := []serve.Option{
		serve.WithListener(serve.ListenerHTTP, d.ls.dex),
		serve.WithLogger(dexLogger),
		serve.WithShutdownTimeout(shutdownTimeout),
	}
	if d.clockSet {
		dexOpts = append(dexOpts, serve.WithClock(d.opts.Now), serve.WithConnectorClock(d.opts.Now))
	}
	dex, err := serve.New(runCtx, d.cfg, dexOpts...)
	if err != nil {
		_ = d.ls.app.Close()
		shutdown(logger, palette)
		serving.Wait()
		return fmt.Errorf("demo: start Dex: %w", err)
	}
	dexStarted.Store(true)
	dexDone := make(chan error, 1)
	go func() { dexDone <- dex.Run(runCtx) }()
	serveHTTP("the demo app", app, d.ls.app)

	d.printBanner(out)
	logger.Info("demo running", "app", d.urls.App, "issuer", d.urls.Issuer, "palette", d.urls.Tenant)

	var failure error
	dexStopped := false
	select {
	case <-ctx.Done():
	case failure = <-failures:
	case failure = <-dexDone:
		dexStopped = true
		if failure == nil {
			failure = errors.New("demo: Dex stopped unexpectedly")
		}
	}
	stop()
	shutdown(logger, app, palette)
	serving.Wait()
	if !dexStopped {
		if err := <-dexDone; err != nil && failure == nil {
			failure = err
		}
	}
	if failure != nil {
		return failure
	}
	fmt.Fprintln(out, "dex-spectro demo stopped.")
	return nil
}

// printBanner tells the user what runs where and what to open.
func (d *Demo) printBanner(out io.Writer) {
	fmt.Fprintf(out, `dex-spectro demo: Dex with the spectrocloud connector and an emulated Palette tenant

  Open %s in your browser.

  demo app (relying party)   %s
  Dex issuer                 %s
  Palette tenant (emulated)  %s

Palette ID tokens last %s: Dex refreshes sessions until then, and asks to sign in again after.
Press Ctrl-C to stop.
`, d.urls.App, d.urls.App, d.urls.Issuer, d.urls.Tenant, friendlyDuration(d.opts.TokenLifetime))
}

func newHTTPServer(h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// shutdown stops the servers, waiting up to shutdownTimeout for in-flight
// requests before closing their connections.
func shutdown(logger *slog.Logger, servers ...*http.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	for _, srv := range servers {
		if err := srv.Shutdown(ctx); err != nil {
			logger.Warn("demo: graceful shutdown incomplete, closing connections", "err", err)
			_ = srv.Close()
		}
	}
}
