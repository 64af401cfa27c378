//go:build load && unix

package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dexidp/dex/storage"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/dextest"
)

// scaleCommand is how to run TestRefreshAtScale; docs/performance.md shows
// its figures.
const scaleCommand = "go test -tags load -run '^TestRefreshAtScale$' -count=1 -v -timeout 60m ./test/e2e/"

// TestRefreshAtScale measures how the cost of a refresh through the
// spectrocloud connector changes with the number of sessions stored, on
// each storage, in one run: two servers, one with 10² sessions stored and
// one with 10⁵ (DEX_SPECTRO_LOAD_SESSIONS), the rest other users', take
// turns at rounds of refreshes by the load's users. A refresh reads and
// writes its own user's rows only, so its cost must not grow with the
// others (target: at least 0.9 times the throughput, enforced with
// DEX_SPECTRO_LOAD_ENFORCE=true).
func TestRefreshAtScale(t *testing.T) {
	s := readLoadSettings(t)
	large := 100_000
	if v := os.Getenv("DEX_SPECTRO_LOAD_SESSIONS"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(t, err, "DEX_SPECTRO_LOAD_SESSIONS")
		large = n
	}
	var report strings.Builder
	fmt.Fprintf(&report, "command: %s\n\n| storage | refreshes/s, 100 sessions (rounds) | refreshes/s, %d sessions (rounds) | ratio of medians | filling took |\n| --- | --- | --- | ---: | ---: |\n", scaleCommand, large)
	for _, st := range s.storages {
		t.Run(st, func(t *testing.T) {
			small, big := newScaleSetup(t, s, st, 100), newScaleSetup(t, s, st, large)
			var smallRates, bigRates []float64
			for range 3 {
				smallRates = append(smallRates, small.round(t, s))
				bigRates = append(bigRates, big.round(t, s))
			}
			r := ratio(medianOf(bigRates), medianOf(smallRates))
			fmt.Fprintf(&report, "| %s | %s | %s | %.3f | %s |\n", st, rates(smallRates), rates(bigRates), r, big.fill.Round(time.Second))
			if s.enforce && r < 0.9 {
				t.Errorf("%s: refreshes with %d sessions stored at %.3f times the rate with 100 (target ≥ 0.9)", st, large, r)
			}
		})
	}
	t.Logf("refresh at scale\n%s", report.String())
}

// scaleSetup is a server whose storage holds a given number of sessions,
// of which s.concurrency are the load's users'.
type scaleSetup struct {
	kind   string
	rps    []*dextest.RelyingParty
	tokens []string
	fill   time.Duration
}

func newScaleSetup(t *testing.T, s loadSettings, kind string, sessions int) *scaleSetup {
	ctx := context.Background()
	p := StartPalette(t)
	p.AddUser("load@example.com", "platform")
	p.Tenant.SetAutoLogin("load@example.com")
	transport := &http.Transport{MaxIdleConnsPerHost: 2 * s.concurrency, IdleConnTimeout: time.Minute}
	t.Cleanup(transport.CloseIdleConnections)
	var clients []dextest.Client
	for w := range s.concurrency {
		clients = append(clients, dextest.Client{ID: fmt.Sprintf("load-%d", w), Name: "Load", Secret: "load-secret-" + strconv.Itoa(w), RedirectURIs: []string{RPRedirect}})
	}
	var db *dextest.Postgres
	var storageSection map[string]any
	if kind == "postgres" {
		pg := dextest.NewPostgres(t)
		db, storageSection = &pg, pg.Storage()
	} else {
		storageSection = loadStorage(t, kind)
	}
	dex := StartDex(t, DexConfig{
		Connectors: []dextest.ConnectorFunc{p.SpectroCloud("spectrocloud", nil)}, Clients: clients, Storage: storageSection,
		LogLevel: "info", LogFormat: "json", LogOutput: io.Discard,
	})
	su := &scaleSetup{kind: kind, rps: make([]*dextest.RelyingParty, len(clients)), tokens: make([]string, len(clients))}
	for w, c := range clients {
		rp, err := dextest.NewRelyingParty(ctx, dex.Issuer, c.ID, c.Secret, RPRedirect)
		require.NoError(t, err)
		rp.HTTPClient = &http.Client{Transport: transport, Timeout: time.Minute}
		signedIn, err := rp.SignIn(ctx, NewAgent("", transport))
		require.NoError(t, err)
		su.rps[w], su.tokens[w] = rp, signedIn.OAuth2.RefreshToken
	}
	// The other users' sessions hold a Palette sign-in as large as the
	// load user's.
	store := dex.Server.Storage()
	refreshes, err := store.ListRefreshTokens(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, refreshes)
	sess, err := store.GetOfflineSessions(ctx, refreshes[0].Claims.UserID, refreshes[0].ConnectorID)
	require.NoError(t, err)
	start := time.Now()
	seedSessions(t, store, 0, sessions-len(clients), sess.ConnectorData)
	if db != nil {
		// What autovacuum does after the tables grew: fresh statistics for
		// the planner.
		analyze(t, *db)
	}
	su.fill = time.Since(start)
	return su
}

// round runs one round of refreshes and returns its rate.
func (su *scaleSetup) round(t *testing.T, s loadSettings) float64 {
	ctx := context.Background()
	var r phaseResult
	refreshPhase(ctx, s, &r, su.rps, su.tokens)
	require.Zero(t, r.errs, "%s: %v", su.kind, r.firstErr)
	return r.perSecond()
}

// analyze updates the planner's statistics of the database.
func analyze(t *testing.T, p dextest.Postgres) {
	dsn := (&url.URL{Scheme: "postgres", User: url.UserPassword(p.User, p.Password), Host: net.JoinHostPort(p.Host, strconv.Itoa(p.Port)),
		Path: "/" + p.Database, RawQuery: "sslmode=" + p.SSLMode}).String()
	db, err := sql.Open("postgres", dsn)
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Exec("ANALYZE")
	require.NoError(t, err)
}

// seedSessions stores the sessions of users from to to: a refresh token and
// an offline session each, as Dex stores a sign-in's.
func seedSessions(t *testing.T, store storage.Storage, from, to int, data []byte) {
	ctx := context.Background()
	var next atomic.Int64
	next.Store(int64(from))
	var wg sync.WaitGroup
	var failed atomic.Value
	now := time.Now()
	for range 8 {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(to); i = next.Add(1) - 1 {
				user := fmt.Sprintf("seed-%d", i)
				id := storage.NewID()
				err := store.CreateRefresh(ctx, storage.RefreshToken{
					ID: id, Token: storage.NewID(), ClientID: "load-0", ConnectorID: "spectrocloud",
					Scopes: []string{"openid", "offline_access"}, CreatedAt: now, LastUsed: now,
					Claims: storage.Claims{UserID: user, Username: user, Email: user + "@example.com", EmailVerified: true},
				})
				if err == nil {
					err = store.CreateOfflineSessions(ctx, storage.OfflineSessions{
						UserID: user, ConnID: "spectrocloud", ConnectorData: data,
						Refresh: map[string]*storage.RefreshTokenRef{"load-0": {ID: id, ClientID: "load-0", CreatedAt: now, LastUsed: now}},
					})
				}
				if err != nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		t.Fatalf("seed sessions: %v", err)
	}
}

func rates(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf("%.0f", x)
	}
	return strings.Join(parts, ", ")
}
