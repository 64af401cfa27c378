package serve

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/pprof"
	"time"

	gosundheit "github.com/AppsFlyer/go-sundheit"
	"github.com/AppsFlyer/go-sundheit/checks"
	gosundheithttp "github.com/AppsFlyer/go-sundheit/http"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dexidp/dex/storage"

	"github.com/dex-spectro/dex-spectro/internal/buildinfo"
)

// register registers c on reg, accepting a collector that an equal one
// already provides (for a registry shared with the caller).
func register(reg prometheus.Registerer, c prometheus.Collector) error {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			return nil
		}
		return err
	}
	return nil
}

// registerBaseMetrics registers build information, Go runtime and process
// metrics, as Dex does, plus dex-spectro's own build information.
func registerBaseMetrics(reg prometheus.Registerer, info buildinfo.Info) error {
	dexBuild := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "dex",
		Name:      "build_info",
		Help:      "A metric with a constant '1' value labeled by version from which Dex was built.",
	}, []string{"version", "go_version", "platform"})
	dexBuild.WithLabelValues(info.DexVersion, info.GoVersion, info.Platform).Set(1)

	ourBuild := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "dex_spectro",
		Name:      "build_info",
		Help:      "A metric with a constant '1' value labeled by the versions dex-spectro was built from.",
	}, []string{"version", "dex_version", "go_version", "platform"})
	ourBuild.WithLabelValues(info.Version, info.DexVersion, info.GoVersion, info.Platform).Set(1)

	for _, c := range []struct {
		what string
		c    prometheus.Collector
	}{
		{"build info", dexBuild},
		{"build info", ourBuild},
		{"Go runtime metrics", collectors.NewGoCollector()},
		{"process metrics", collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})},
	} {
		if err := register(reg, c.c); err != nil {
			return fmt.Errorf("register %s: %w", c.what, err)
		}
	}
	return nil
}

// newHealthChecker returns a health checker that checks storage every 15
// seconds, as Dex's does.
func newHealthChecker(s storage.Storage, now func() time.Time) (gosundheit.Health, error) {
	h := gosundheit.New()
	err := h.RegisterCheck(
		&checks.CustomCheck{CheckName: "storage", CheckFunc: storage.NewCustomHealthCheckFunc(s, now)},
		gosundheit.ExecutionPeriod(15*time.Second),
		gosundheit.InitiallyPassing(true),
	)
	if err != nil {
		return nil, fmt.Errorf("register storage health check: %w", err)
	}
	return h, nil
}

// telemetryHandler serves /metrics, /healthz, /healthz/live, /healthz/ready
// and, when profiling is enabled, /debug/pprof/.
func telemetryHandler(reg *prometheus.Registry, health gosundheit.Health, profiling bool) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	healthJSON := gosundheithttp.HandleHealthJSON(health)
	mux.Handle("/healthz", healthJSON)
	mux.HandleFunc("/healthz/live", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok"))
	})
	mux.Handle("/healthz/ready", healthJSON)
	if profiling {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return mux
}

// conflictMetrics count the storage writes that collided with concurrent
// writes and were run again (see storageretry).
type conflictMetrics struct {
	conflicts *prometheus.CounterVec
	retries   *prometheus.CounterVec
}

func newConflictMetrics(reg prometheus.Registerer) (*conflictMetrics, error) {
	m := &conflictMetrics{
		conflicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "dex_spectro",
			Name:      "storage_conflicts_total",
			Help:      "Storage writes that conflicted with concurrent writes, by operation and outcome (retried: succeeded when run again; failed: still conflicting, or another error, after the retries).",
		}, []string{"operation", "outcome"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "dex_spectro",
			Name:      "storage_conflict_retries_total",
			Help:      "Times a storage write was run again after a conflict, by operation.",
		}, []string{"operation"}),
	}
	for _, c := range []prometheus.Collector{m.conflicts, m.retries} {
		if err := register(reg, c); err != nil {
			return nil, fmt.Errorf("register storage conflict metrics: %w", err)
		}
	}
	return m, nil
}

func (m *conflictMetrics) observe(operation string, attempts int, succeeded bool) {
	outcome := "retried"
	if !succeeded {
		outcome = "failed"
	}
	m.conflicts.WithLabelValues(operation, outcome).Inc()
	m.retries.WithLabelValues(operation).Add(float64(attempts - 1))
}
