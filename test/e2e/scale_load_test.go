//go:build load && unix

package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
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
// each storage, in one run: the load's users refresh with 10² sessions
// stored, then the storage is filled to 10⁵ (DEX_SPECTRO_LOAD_SESSIONS)
// sessions of other users, and they refresh again. A refresh reads and
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
			small, big, fill := refreshAtScale(t, s, st, 100, large)
			r := ratio(medianOf(big), medianOf(small))
			fmt.Fprintf(&report, "| %s | %s | %s | %.3f | %s |\n", st, rates(small), rates(big), r, fill.Round(time.Second))
			if s.enforce && r < 0.9 {
				t.Errorf("%s: refreshes with %d sessions stored at %.3f times the rate with 100 (target ≥ 0.9)", st, large, r)
			}
		})
	}
	t.Logf("refresh at scale\n%s", report.String())
}

// refreshAtScale returns the refresh rates of rounds with small and then
// large sessions stored, and how long filling the storage took.
func refreshAtScale(t *testing.T, s loadSettings, kind string, small, large int) ([]float64, []float64, time.Duration) {
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
	dex := StartDex(t, DexConfig{
		Connectors: []dextest.ConnectorFunc{p.SpectroCloud("spectrocloud", nil)}, Clients: clients, Storage: loadStorage(t, kind),
		LogLevel: "info", LogFormat: "json", LogOutput: io.Discard,
	})
	rps := make([]*dextest.RelyingParty, len(clients))
	tokens := make([]string, len(clients))
	var sessionData []byte
	for w, c := range clients {
		rp, err := dextest.NewRelyingParty(ctx, dex.Issuer, c.ID, c.Secret, RPRedirect)
		require.NoError(t, err)
		rp.HTTPClient = &http.Client{Transport: transport, Timeout: time.Minute}
		signedIn, err := rp.SignIn(ctx, NewAgent("", transport))
		require.NoError(t, err)
		rps[w], tokens[w] = rp, signedIn.OAuth2.RefreshToken
		if sessionData == nil {
			sess, err := dex.Server.Storage().GetOfflineSessions(ctx, signedIn.IDToken.Subject, "spectrocloud")
			if err == nil {
				sessionData = sess.ConnectorData
			}
		}
	}
	store := dex.Server.Storage()
	rounds := func() []float64 {
		var rates []float64
		for range 3 {
			var r phaseResult
			runPhase(ctx, s, &r, s.refreshes, func(w int) error {
				refreshed, err := rps[w].Refresh(ctx, tokens[w])
				if err == nil {
					tokens[w] = refreshed.OAuth2.RefreshToken
				}
				return err
			})
			require.Zero(t, r.errs, "%s: %v", kind, r.firstErr)
			rates = append(rates, r.perSecond())
		}
		return rates
	}

	seedSessions(t, store, 0, small-len(clients), sessionData)
	smallRates := rounds()
	start := time.Now()
	seedSessions(t, store, small-len(clients), large-len(clients), sessionData)
	fill := time.Since(start)
	return smallRates, rounds(), fill
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
