package spectrocloud

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"github.com/dexidp/dex/connector"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
)

// BenchmarkRefreshDirectory is what the directory adds to a refresh: the
// same refresh of the same session, without a directory (the baseline) and
// with the copy of a directory of 10,000 users and 500 teams, groups from
// the directory (a lookup and the groups passed through the claim rules
// again). The directory is read once before, at Palette's pace (about 21 s).
//
//	go test -run '^$' -bench BenchmarkRefreshDirectory -benchtime 2s -count 3 ./connector/spectrocloud/
func BenchmarkRefreshDirectory(b *testing.B) {
	f := benchFixture(b)
	f.tenant.AddAPIKey(testAPIKey)
	for i := range 10_000 {
		f.tenant.AddUser(spectrotest.User{Sub: fmt.Sprintf("%024x", i), Email: fmt.Sprintf("user%05d@example.com", i),
			Groups: []string{fmt.Sprintf("team-%03d", i%500), fmt.Sprintf("team-%03d", (i*7+1)%500)}})
	}
	plain := f.cfg
	withDir := f.cfg
	withDirectory()(&withDir)
	// Both connectors are opened, and the directory read, before either
	// runs: the same heap for both.
	type run struct {
		name string
		c    *spectroConnector
		id   connector.Identity
	}
	var runs []run
	for _, tc := range []struct {
		name string
		cfg  Config
	}{{"no-directory", plain}, {"directory-10000-users", withDir}} {
		c, err := tc.cfg.open("spectrocloud", f.logger(slog.DiscardHandler))
		require.NoError(b, err)
		if c.dir != nil {
			_, err := c.dir.readOnce(context.Background())
			require.NoError(b, err)
		}
		id, err := signInOnce(f, c)
		require.NoError(b, err)
		runs = append(runs, run{tc.name, c, id})
	}
	for _, r := range runs {
		b.Run(r.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.c.Refresh(context.Background(), allScopes, r.id); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
