//go:build load && unix

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/dextest"
)

// fleetLoadCommand is how to run TestFleetLoad; docs/performance.md shows
// its figures.
const fleetLoadCommand = "go test -tags load -run '^TestFleetLoad$' -count=1 -v -timeout 30m ./test/e2e/"

// buildStockDex builds Dex v2.45.1's own command from its module (see
// testdata/stockdex), for a comparison on the same storage.
func buildStockDex(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "dex")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/dexidp/dex/cmd/dex")
	cmd.Dir = filepath.Join("testdata", "stockdex")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "build stock Dex: %s", out)
	return bin
}

// fleetWorkload is one way clients use a fleet at once.
type fleetWorkload struct {
	name string
	run  func(ctx context.Context, t *testing.T, f *Fleet, p *Palette, setup string) (ops int, errs []error)
}

// TestFleetLoad runs the same concurrent workloads on two replicas of stock
// Dex v2.45.1 and of dex-spectro, each on a PostgreSQL database of its own,
// and counts the failed requests: a failed refresh there is a session lost.
func TestFleetLoad(t *testing.T) {
	ctx := context.Background()
	stock, ours := buildStockDex(t), BuildBinary(t)
	p := StartPalette(t)
	p.Tenant.EnableStandardRefreshGrant(true) // for Dex's oidc connector
	clients := make([]dextest.Client, 8)
	for i := range clients {
		clients[i] = dextest.Client{ID: fmt.Sprintf("client-%d", i), Name: "Load", Secret: fmt.Sprintf("client-secret-%d", i), RedirectURIs: []string{RPRedirect}}
	}

	setups := []struct {
		name string
		bin  string
		conn dextest.ConnectorFunc
	}{
		{"stock Dex v2.45.1, oidc connector", stock, p.OIDC("palette")},
		{"dex-spectro, oidc connector", ours, p.OIDC("palette")},
		{"dex-spectro, spectrocloud connector", ours, p.SpectroCloud("palette", nil)},
	}
	workloads := []fleetWorkload{
		{"8 users, each signing in and refreshing", eightUsers},
		{"1 user on 8 clients at once", oneUserEightClients},
		{"50 refreshes of one token at once", fiftyRefreshesOfOneToken},
	}

	var report strings.Builder
	fmt.Fprintf(&report, "command: %s\n\n| setup | workload | operations | failed | first failure |\n| --- | --- | ---: | ---: | --- |\n", fleetLoadCommand)
	for _, su := range setups {
		f := StartFleet(t, su.bin, DexConfig{
			Connectors: []dextest.ConnectorFunc{su.conn},
			Clients:    clients,
			Storage:    dextest.NewPostgres(t).Storage(),
			Expiry:     replicaExpiry,
			LogLevel:   "info",
		}, 2)
		for _, wl := range workloads {
			ops, errs := wl.run(ctx, t, f, p, su.name)
			first := ""
			if len(errs) > 0 {
				first = withoutQueries(errs[0].Error())
			}
			fmt.Fprintf(&report, "| %s | %s | %d | %d | %s |\n", su.name, wl.name, ops, len(errs), first)
			if strings.HasPrefix(su.name, "dex-spectro") {
				assert.Empty(t, errs, "%s: %s", su.name, wl.name)
			}
		}
	}
	t.Logf("fleet load results\n%s", report.String())
}

// fleetClient is one OAuth client of a user against a fleet.
func fleetClient(t *testing.T, f *Fleet, c dextest.Client, login string, transport http.RoundTripper) *fleetUser {
	t.Helper()
	rp, err := dextest.NewRelyingParty(context.Background(), f.Issuer, c.ID, c.Secret, RPRedirect)
	require.NoError(t, err)
	rp.HTTPClient = &http.Client{Transport: transport, Timeout: time.Minute}
	return &fleetUser{agent: NewAgent(login, transport), rp: rp}
}

// errorList collects failures from many goroutines.
type errorList struct {
	mu   sync.Mutex
	errs []error
	ops  int
}

func (l *errorList) done(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ops++
	if err != nil {
		l.errs = append(l.errs, err)
	}
}

// signInAndRefresh signs u in, then refreshes n times with the newest
// refresh token, recording every operation in l.
func signInAndRefresh(ctx context.Context, u *fleetUser, n int, l *errorList) {
	signedIn, err := u.rp.SignIn(ctx, u.agent)
	l.done(err)
	if err != nil {
		return
	}
	rt := signedIn.OAuth2.RefreshToken
	for range n {
		refreshed, err := u.rp.Refresh(ctx, rt)
		l.done(err)
		if err != nil {
			return
		}
		rt = refreshed.OAuth2.RefreshToken
	}
}

func eightUsers(ctx context.Context, t *testing.T, f *Fleet, p *Palette, setup string) (int, []error) {
	return eightClients(ctx, t, f, 8, func(w int) string {
		login := fmt.Sprintf("user-%d-%s@example.com", w, slug(setup))
		p.AddUser(login, "team")
		return login
	})
}

func oneUserEightClients(ctx context.Context, t *testing.T, f *Fleet, p *Palette, setup string) (int, []error) {
	login := "shared-" + slug(setup) + "@example.com"
	p.AddUser(login, "team")
	return eightClients(ctx, t, f, 4, func(int) string { return login })
}

// eightClients has clients client-0 to client-7 sign their users in
// (login(w) for client w) at once, rounds times each, refreshing 4 times
// after each sign-in.
func eightClients(ctx context.Context, t *testing.T, f *Fleet, rounds int, login func(w int) string) (int, []error) {
	var l errorList
	var wg sync.WaitGroup
	for w := range 8 {
		u := fleetClient(t, f, dextest.Client{ID: fmt.Sprintf("client-%d", w), Secret: fmt.Sprintf("client-secret-%d", w)}, login(w), nil)
		wg.Go(func() {
			for range rounds {
				signInAndRefresh(ctx, u, 4, &l)
			}
		})
	}
	wg.Wait()
	return l.ops, l.errs
}

func fiftyRefreshesOfOneToken(ctx context.Context, t *testing.T, f *Fleet, p *Palette, setup string) (int, []error) {
	login := "tabs-" + slug(setup) + "@example.com"
	p.AddUser(login, "team")
	c := dextest.Client{ID: "client-0", Secret: "client-secret-0"}
	u := fleetClient(t, f, c, login, nil)
	signedIn, err := u.rp.SignIn(ctx, u.agent)
	if err != nil {
		return 1, []error{err}
	}
	var l errorList
	var wg sync.WaitGroup
	for i := range 50 {
		client := fleetClient(t, f, c, login, Pinned(i%2, nil))
		wg.Go(func() {
			_, err := client.rp.Refresh(ctx, signedIn.OAuth2.RefreshToken)
			l.done(err)
		})
	}
	wg.Wait()
	return l.ops, l.errs
}

// queryPattern matches the query of a URL in an error message: a failed
// sign-in names the page it ended on, whose query holds Palette's code.
var queryPattern = regexp.MustCompile(`\?[^\s"']*`)

// withoutQueries returns msg without URL queries, for a table cell.
func withoutQueries(msg string) string {
	return strings.ReplaceAll(queryPattern.ReplaceAllString(msg, ""), "|", "/")
}

// slug turns a setup's name into a part of an email address.
func slug(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, strings.ToLower(s))
}
