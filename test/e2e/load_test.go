//go:build load && unix

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/dextest"
)

// loadCommand is how to run this test; the defaults are those of the
// figures in docs/reliability.md (Load).
const loadCommand = "go test -tags load -run '^TestLoad$' -count=1 -v -timeout 30m ./test/e2e/"

// loadSettings bound the load test in count and time. Each is read from
// the environment variable named in its comment.
type loadSettings struct {
	concurrency int           // DEX_SPECTRO_LOAD_CONCURRENCY: simultaneous users (and OAuth clients)
	logins      int           // DEX_SPECTRO_LOAD_LOGINS: sign-ins per setup and round
	refreshes   int           // DEX_SPECTRO_LOAD_REFRESHES: refreshes per setup and round
	rounds      int           // DEX_SPECTRO_LOAD_ROUNDS: rounds, each running every setup once
	timeout     time.Duration // DEX_SPECTRO_LOAD_PHASE_TIMEOUT: limit of one phase of one setup
	enforce     bool          // DEX_SPECTRO_LOAD_ENFORCE: fail when a throughput target is missed
	storages    []string      // DEX_SPECTRO_LOAD_STORAGES: comma-separated, of memory and postgres
}

func readLoadSettings(t *testing.T) loadSettings {
	s := loadSettings{concurrency: 8, logins: 100, refreshes: 500, rounds: 10, timeout: 5 * time.Minute}
	for name, dst := range map[string]*int{
		"DEX_SPECTRO_LOAD_CONCURRENCY": &s.concurrency,
		"DEX_SPECTRO_LOAD_LOGINS":      &s.logins,
		"DEX_SPECTRO_LOAD_REFRESHES":   &s.refreshes,
		"DEX_SPECTRO_LOAD_ROUNDS":      &s.rounds,
	} {
		if v := os.Getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			require.NoError(t, err, name)
			require.Positive(t, n, name)
			*dst = n
		}
	}
	if v := os.Getenv("DEX_SPECTRO_LOAD_PHASE_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		require.NoError(t, err, "DEX_SPECTRO_LOAD_PHASE_TIMEOUT")
		s.timeout = d
	}
	s.enforce = os.Getenv("DEX_SPECTRO_LOAD_ENFORCE") == "true"
	s.storages = []string{"memory", "postgres"}
	if v := os.Getenv("DEX_SPECTRO_LOAD_STORAGES"); v != "" {
		s.storages = strings.Split(v, ",")
	}
	return s
}

// loadSetup is one Dex under test: dex-spectro with one connector, with one
// OAuth client, relying party and browser per simultaneous user.
type loadSetup struct {
	name    string
	dex     *Dex
	rps     []*dextest.RelyingParty
	agents  []*dextest.Browser
	refresh []string // each user's current refresh token
	logins  phaseResult
	refrs   phaseResult
	// rounds holds each round's sign-ins/s and refreshes/s, in round order.
	rounds [][2]float64
}

// phaseResult accumulates one kind of operation over the rounds.
type phaseResult struct {
	ops, errs int
	wall      time.Duration
	cpu       time.Duration // user and system CPU time of the whole process
	latencies []time.Duration
	firstErr  error
}

// add adds the operations of o to r.
func (r *phaseResult) add(o *phaseResult) {
	r.ops += o.ops
	r.errs += o.errs
	r.wall += o.wall
	r.cpu += o.cpu
	r.latencies = append(r.latencies, o.latencies...)
	if r.firstErr == nil {
		r.firstErr = o.firstErr
	}
}

func (r *phaseResult) perSecond() float64 {
	if r.wall <= 0 {
		return 0
	}
	return float64(r.ops) / r.wall.Seconds()
}

// cpuPerOp is the process's CPU time per operation: Dex, the emulated
// Palette, browsers and relying parties together.
func (r *phaseResult) cpuPerOp() time.Duration {
	if r.ops == 0 {
		return 0
	}
	return r.cpu / time.Duration(r.ops)
}

func (r *phaseResult) percentile(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	sorted := slices.Clone(r.latencies)
	slices.Sort(sorted)
	i := int(float64(len(sorted)-1) * p)
	return sorted[i]
}

// TestLoad drives full sign-ins (browser through Dex and Palette, code
// exchange, ID token verification) and refreshes, concurrently and over
// real HTTP on loopback, against three Dex setups in the same process and
// run: dex-spectro's spectrocloud connector, Dex's own oidc connector
// against the same emulated tenant (in standard-refresh mode, which real
// Palette lacks), and Dex's mockCallback connector, the floor of what Dex
// itself costs. Rounds interleave the setups so that drift in the
// machine's load hits all of them alike. It reports throughput, p50/p99
// latency and errors; errors fail the test, throughput targets only with
// DEX_SPECTRO_LOAD_ENFORCE=true.
func TestLoad(t *testing.T) {
	s := readLoadSettings(t)
	for _, st := range s.storages {
		t.Run(st, func(t *testing.T) { runLoad(t, s, st) })
	}
}

// loadStorage returns a fresh storage section of the kind named.
func loadStorage(t *testing.T, kind string) map[string]any {
	switch kind {
	case "memory":
		return nil
	case "postgres":
		return dextest.NewPostgres(t).Storage()
	}
	t.Fatalf("DEX_SPECTRO_LOAD_STORAGES: unknown storage %q (memory, postgres)", kind)
	return nil
}

// runLoad is TestLoad on one kind of storage, each setup on a fresh one.
func runLoad(t *testing.T, s loadSettings, storage string) {
	ctx := context.Background()
	loadBefore := readFirstLine("/proc/loadavg")

	p := StartPalette(t)
	p.Tenant.EnableStandardRefreshGrant(true)
	p.AddUser("load@example.com", "platform")
	p.Tenant.SetAutoLogin("load@example.com")

	transport := &http.Transport{MaxIdleConns: 4 * s.concurrency, MaxIdleConnsPerHost: 2 * s.concurrency, IdleConnTimeout: time.Minute}
	t.Cleanup(transport.CloseIdleConnections)
	// One OAuth client per user: Dex keeps one refresh token per user,
	// connector and client, and every setup signs the same user in.
	var clients []dextest.Client
	for w := range s.concurrency {
		clients = append(clients, dextest.Client{ID: fmt.Sprintf("load-%d", w), Name: "Load", Secret: "load-secret-" + strconv.Itoa(w), RedirectURIs: []string{RPRedirect}})
	}
	var setups []*loadSetup
	for _, c := range []struct {
		name string
		conn dextest.ConnectorFunc
	}{
		{"spectrocloud", p.SpectroCloud("spectrocloud", nil)},
		{"oidc", p.OIDC("oidc")},
		{"mockCallback", dextest.MockCallback("mock", "Mock")},
	} {
		dex := StartDex(t, DexConfig{
			Connectors: []dextest.ConnectorFunc{c.conn}, Clients: clients, Storage: loadStorage(t, storage),
			LogLevel: "info", LogFormat: "json", LogOutput: io.Discard,
		})
		su := &loadSetup{name: c.name, dex: dex, refresh: make([]string, s.concurrency)}
		for w, client := range clients {
			rp, err := dextest.NewRelyingParty(ctx, dex.Issuer, client.ID, client.Secret, RPRedirect)
			require.NoError(t, err)
			rp.HTTPClient = &http.Client{Transport: transport, Timeout: time.Minute}
			su.rps = append(su.rps, rp)
			su.agents = append(su.agents, NewAgent("", transport))
			// Warm up: discovery, keys, connections; every user gets a session.
			signedIn, err := rp.SignIn(ctx, su.agents[w])
			require.NoError(t, err, "%s: warm-up sign-in", c.name)
			r, err := rp.Refresh(ctx, signedIn.OAuth2.RefreshToken)
			require.NoError(t, err, "%s: warm-up refresh", c.name)
			su.refresh[w] = r.OAuth2.RefreshToken
		}
		setups = append(setups, su)
	}

	for round := range s.rounds {
		// Each round runs the setups in another order, each phase of one
		// setup next to the same phase of the others.
		order := append(slices.Clone(setups[round%len(setups):]), setups[:round%len(setups)]...)
		for _, su := range order {
			var r phaseResult
			runPhase(ctx, s, &r, s.logins, func(w int) error {
				signedIn, err := su.rps[w].SignIn(ctx, su.agents[w])
				if err == nil {
					su.refresh[w] = signedIn.OAuth2.RefreshToken
				}
				return err
			})
			su.logins.add(&r)
			su.rounds = append(su.rounds, [2]float64{r.perSecond()})
		}
		for _, su := range order {
			var r phaseResult
			refreshPhase(ctx, s, &r, su.rps, su.refresh)
			su.refrs.add(&r)
			su.rounds[round][1] = r.perSecond()
		}
	}
	loadAfter := readFirstLine("/proc/loadavg")

	byName := make(map[string]*loadSetup)
	for _, su := range setups {
		byName[su.name] = su
	}
	ours, oidc, mock := byName["spectrocloud"], byName["oidc"], byName["mockCallback"]
	var report strings.Builder
	fmt.Fprintf(&report, "machine: %d CPUs (nproc), %s, GOMAXPROCS %d, %s %s/%s\n", runtime.NumCPU(), cpuModel(), runtime.GOMAXPROCS(0), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(&report, "load average before: %s; after: %s\n", loadBefore, loadAfter)
	fmt.Fprintf(&report, "settings: %s storage; %d simultaneous users; per setup and round %d sign-ins and %d refreshes; %d rounds\n", storage, s.concurrency, s.logins, s.refreshes, s.rounds)
	fmt.Fprintf(&report, "command: %s\n\n", loadCommand)
	fmt.Fprintln(&report, "| connector | sign-ins/s | sign-in p50 | sign-in p99 | CPU/sign-in | refreshes/s | refresh p50 | refresh p99 | CPU/refresh | operations | errors |")
	fmt.Fprintln(&report, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, su := range setups {
		fmt.Fprintf(&report, "| %s | %.1f | %s | %s | %s | %.1f | %s | %s | %s | %d | %d |\n", su.name,
			su.logins.perSecond(), ms(su.logins.percentile(0.5)), ms(su.logins.percentile(0.99)), ms(su.logins.cpuPerOp()),
			su.refrs.perSecond(), ms(su.refrs.percentile(0.5)), ms(su.refrs.percentile(0.99)), ms(su.refrs.cpuPerOp()),
			su.logins.ops+su.refrs.ops, su.logins.errs+su.refrs.errs)
	}
	fmt.Fprintln(&report, "\nper round (sign-ins/s, refreshes/s):")
	for _, su := range setups {
		var rounds []string
		for _, r := range su.rounds {
			rounds = append(rounds, fmt.Sprintf("%.1f, %.1f", r[0], r[1]))
		}
		fmt.Fprintf(&report, "- %s: %s\n", su.name, strings.Join(rounds, "; "))
	}

	// Targets are judged on the median over the rounds of the ratio within
	// a round, which a passing burst of load on the machine moves least.
	// The CPU ratio (the baseline's CPU time per operation over ours) is
	// what the throughput ratio tends to on a machine that runs nothing else.
	type kind int
	const signIns, refreshes kind = 0, 1
	phase := func(su *loadSetup, k kind) *phaseResult {
		if k == signIns {
			return &su.logins
		}
		return &su.refrs
	}
	targets := []struct {
		what   string
		a, b   *loadSetup
		kind   kind
		target string
		met    func(float64) bool // nil: no target
	}{
		{what: "spectrocloud refreshes/s ÷ mockCallback's", a: ours, b: mock, kind: refreshes, target: "≥ 0.95", met: func(r float64) bool { return r >= 0.95 }},
		{what: "spectrocloud refreshes/s ÷ oidc's", a: ours, b: oidc, kind: refreshes, target: "> 1", met: func(r float64) bool { return r > 1 }},
		{what: "spectrocloud sign-ins/s ÷ oidc's", a: ours, b: oidc, kind: signIns, target: "≥ 1.0", met: func(r float64) bool { return r >= 1.0 }},
		{what: "spectrocloud sign-ins/s ÷ mockCallback's", a: ours, b: mock, kind: signIns},
	}
	fmt.Fprintln(&report, "\n| ratio | all rounds | median of rounds | CPU ratio | target (on the median) |")
	fmt.Fprintln(&report, "| --- | ---: | ---: | ---: | --- |")
	var missed []string
	for _, tg := range targets {
		var perRound []float64
		for i := range tg.a.rounds {
			perRound = append(perRound, ratio(tg.a.rounds[i][tg.kind], tg.b.rounds[i][tg.kind]))
		}
		median := medianOf(perRound)
		a, b := phase(tg.a, tg.kind), phase(tg.b, tg.kind)
		verdict := "none"
		if tg.met != nil {
			verdict = tg.target + ": met"
			if !tg.met(median) {
				verdict = tg.target + ": MISSED"
				missed = append(missed, fmt.Sprintf("%s %.3f (%s)", tg.what, median, tg.target))
			}
		}
		fmt.Fprintf(&report, "| %s | %.3f | %.3f | %.3f | %s |\n", tg.what,
			ratio(a.perSecond(), b.perSecond()), median, ratio(float64(b.cpuPerOp()), float64(a.cpuPerOp())), verdict)
	}
	t.Logf("load test results\n%s", report.String())

	for _, su := range setups {
		for _, r := range []*phaseResult{&su.logins, &su.refrs} {
			if r.errs > 0 {
				t.Errorf("%s: %d errors; first: %v", su.name, r.errs, r.firstErr)
			}
		}
	}
	if s.enforce && len(missed) > 0 {
		t.Errorf("throughput targets missed: %s", strings.Join(missed, "; "))
	}
}

// refreshPhase runs s.refreshes refreshes: worker w refreshes tokens[w]
// with rps[w] and keeps the refresh token it gets in its place.
func refreshPhase(ctx context.Context, s loadSettings, r *phaseResult, rps []*dextest.RelyingParty, tokens []string) {
	runPhase(ctx, s, r, s.refreshes, func(w int) error {
		refreshed, err := rps[w].Refresh(ctx, tokens[w])
		if err == nil {
			tokens[w] = refreshed.OAuth2.RefreshToken
		}
		return err
	})
}

// runPhase runs n operations on s.concurrency workers (worker w always
// acts as user w) and adds their count, errors, latencies and wall time to
// r.
func runPhase(ctx context.Context, s loadSettings, r *phaseResult, n int, op func(w int) error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var next atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	start, cpuStart := time.Now(), processCPU()
	for w := range s.concurrency {
		wg.Go(func() {
			var local []time.Duration
			var errs int
			var firstErr error
			for next.Add(1) <= int64(n) && ctx.Err() == nil {
				t0 := time.Now()
				err := op(w)
				local = append(local, time.Since(t0))
				if err != nil {
					errs++
					if firstErr == nil {
						firstErr = err
					}
				}
			}
			mu.Lock()
			defer mu.Unlock()
			r.ops += len(local)
			r.errs += errs
			r.latencies = append(r.latencies, local...)
			if r.firstErr == nil {
				r.firstErr = firstErr
			}
		})
	}
	wg.Wait()
	r.wall += time.Since(start)
	r.cpu += processCPU() - cpuStart
	if err := ctx.Err(); err != nil && r.firstErr == nil {
		r.firstErr = fmt.Errorf("phase stopped after %s: %w", s.timeout, err)
		r.errs++
	}
}

// processCPU returns the user and system CPU time the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func medianOf(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sorted := slices.Clone(xs)
	slices.Sort(sorted)
	if n := len(sorted); n%2 == 0 {
		return (sorted[n/2-1] + sorted[n/2]) / 2
	}
	return sorted[len(sorted)/2]
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000)
}

// cpuModel returns the CPU's model name from /proc/cpuinfo.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if name, value, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(name) == "model name" {
			return strings.TrimSpace(value)
		}
	}
	return "unknown CPU"
}

func readFirstLine(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "unknown"
	}
	line, _, _ := strings.Cut(string(data), "\n")
	return strings.TrimSpace(line)
}
