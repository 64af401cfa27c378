package e2e

import (
	"context"
	"crypto/rand"
	"database/sql"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	_ "github.com/mattn/go-sqlite3" // the driver Dex's sqlite3 storage uses
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/dextest"
	"github.com/dex-spectro/dex-spectro/internal/dextest/harness"
)

func testSIGKILLOnSQLite(t *testing.T, bin string) {
	file := filepath.Join(t.TempDir(), "dex.db")
	testSIGKILLMidSignIn(t, bin, SQLiteStorage(file), func(t *testing.T) {
		db, err := sql.Open("sqlite3", file)
		require.NoError(t, err)
		defer db.Close()
		var result string
		require.NoError(t, db.QueryRow("PRAGMA integrity_check").Scan(&result))
		assert.Equal(t, "ok", result, "sqlite3 integrity check after SIGKILL")
	})
}

func testSIGKILLOnPostgres(t *testing.T, bin string) {
	// PostgreSQL's own crash safety is not in question (its server is not
	// killed); what the restart shows is that Dex left no half-written
	// state behind that would stop it, or a session, from working.
	testSIGKILLMidSignIn(t, bin, dextest.NewPostgres(t).Storage(), nil)
}

// testSIGKILLMidSignIn kills dex-spectro with SIGKILL while one sign-in
// waits in its code exchange with Palette and others sign in and refresh,
// then restarts it on the same storage: sessions completed before the kill
// keep refreshing, ID tokens issued before it still verify (the signing
// keys were stored), the interrupted sign-in succeeds when retried, and
// checkStorage, when set, finds the storage intact.
func testSIGKILLMidSignIn(t *testing.T, bin string, storage map[string]any, checkStorage func(t *testing.T)) {
	ctx := context.Background()
	p := StartPalette(t)
	// Users unique to this run: a shared database may hold sessions of
	// earlier runs, or of a concurrent one.
	run := strings.ToLower(rand.Text()[:8])
	email := func(name string) string { return name + "-" + run + "@example.com" }
	for _, name := range []string{"alice", "bob", "carol", "churn0", "churn1"} {
		p.AddUser(email(name))
	}
	httpAddr, telemetryAddr := harness.FreeAddr(t), harness.FreeAddr(t)
	issuer := "http://" + httpAddr + "/dex"
	cfg := DexConfig{
		Storage:    storage,
		Telemetry:  true,
		Connectors: []dextest.ConnectorFunc{p.SpectroCloud(connectorID, map[string]any{"upstreamTimeout": "1m"})},
	}
	configFile := cfg.WriteConfig(t, issuer, httpAddr, telemetryAddr)
	proc := StartProcess(t, bin, configFile, issuer, telemetryAddr)
	rp, err := dextest.NewRelyingParty(ctx, issuer, ClientID, ClientSecret, RPRedirect)
	require.NoError(t, err)
	signIn := func(name string) *dextest.Tokens {
		t.Helper()
		s, err := rp.SignIn(ctx, NewAgent(email(name), nil))
		require.NoError(t, err, "sign in as %s", name)
		return s
	}

	alice := signIn("alice")
	bob := signIn("bob")
	refreshed, err := rp.Refresh(ctx, alice.OAuth2.RefreshToken)
	require.NoError(t, err)
	aliceRT := refreshed.OAuth2.RefreshToken

	// Carol's sign-in stops inside Dex's code exchange: Palette holds the
	// token request until Dex is gone.
	entered, release := make(chan struct{}), make(chan struct{})
	var enterOnce, releaseOnce sync.Once
	releaseAll := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(releaseAll)
	p.Tenant.SetIDTokenHook(func(claims map[string]any) {
		if claims["email"] == email("carol") {
			enterOnce.Do(func() { close(entered) })
			<-release
		}
	})

	// Meanwhile others sign in and refresh, so that writes are in flight.
	churnCtx, stopChurn := context.WithCancel(ctx)
	var churned atomic.Int64
	var churn sync.WaitGroup
	for _, name := range []string{"churn0", "churn1"} {
		churn.Go(func() {
			for churnCtx.Err() == nil {
				s, err := rp.SignIn(churnCtx, NewAgent(email(name), nil))
				if err != nil {
					return
				}
				rt := s.OAuth2.RefreshToken
				for range 3 {
					r, err := rp.Refresh(churnCtx, rt)
					if err != nil {
						return
					}
					rt = r.OAuth2.RefreshToken
				}
				churned.Add(1)
			}
		})
	}
	carolErr := make(chan error, 1)
	go func() {
		_, err := rp.SignIn(ctx, NewAgent(email("carol"), nil))
		carolErr <- err
	}()
	select {
	case <-entered:
	case <-time.After(30 * time.Second):
		t.Fatal("carol's sign-in did not reach Palette's token endpoint")
	}
	require.Eventually(t, func() bool { return churned.Load() >= 2 }, 30*time.Second, 10*time.Millisecond)

	proc.Kill(t)
	stopChurn()
	churn.Wait()
	releaseAll()
	require.Error(t, <-carolErr, "the sign-in in progress failed with the process")
	p.Tenant.SetIDTokenHook(nil)

	if checkStorage != nil {
		checkStorage(t)
	}

	StartProcess(t, bin, configFile, issuer, telemetryAddr)

	// Sessions completed before the kill keep refreshing.
	r, err := rp.Refresh(ctx, aliceRT)
	require.NoError(t, err, "alice's session survives")
	assert.Equal(t, alice.IDToken.Subject, r.IDToken.Subject)
	_, err = rp.Refresh(ctx, bob.OAuth2.RefreshToken)
	require.NoError(t, err, "bob's session survives")

	// ID tokens issued before the kill verify against the keys the new
	// process publishes: the signing keys were stored, not lost.
	fresh := oidc.NewVerifier(issuer, oidc.NewRemoteKeySet(ctx, issuer+"/keys"), &oidc.Config{ClientID: ClientID})
	_, err = fresh.Verify(ctx, alice.RawIDToken())
	require.NoError(t, err)

	// The interrupted sign-in is simply retried.
	carol := signIn("carol")
	_, err = rp.Refresh(ctx, carol.OAuth2.RefreshToken)
	require.NoError(t, err)
}
