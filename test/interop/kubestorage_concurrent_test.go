package interop

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
	"github.com/dex-spectro/dex-spectro/internal/dextest"
)

// concurrentRefreshes is how many clients redeem one refresh token at once.
const concurrentRefreshes = 10

// Clients that redeem one refresh token at the same moment on two replicas
// of Dex's kubernetes storage, within reuseInterval (two Backstage tabs,
// kubectl and k9s), all get the same new pair. The values' 5s becomes a
// minute here: the test is not about the window's length, and its refreshes
// through kube-apiserver on a loaded machine may take longer than 5s.
func TestKubernetesStorageConcurrentRefresh(t *testing.T) {
	f := startKubeStorageFleet(t, configEdit{[]any{"expiry", "refreshTokens", "reuseInterval"}, "5s", "1m"})
	f.createCRDs(t)
	first, second := f.replica(t), f.replica(t)
	replicas := [2]string{"http://" + first.Addrs.HTTP + "/dex", "http://" + second.Addrs.HTTP + "/dex"}
	f.door.route(first)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	newRP := func() *dextest.RelyingParty { return f.relyingParty(t) }
	jane := spectrotest.User{Email: "jane@example.com", GivenName: "Jane"}
	f.palette.AddUser(jane)
	signedIn := f.signIn(t, newRP(), jane)

	var wg sync.WaitGroup
	results := make([]*dextest.Tokens, concurrentRefreshes)
	errs := make([]error, concurrentRefreshes)
	start := make(chan struct{})
	for i := range concurrentRefreshes {
		rp := newRP()
		rp.OAuth2.Endpoint.TokenURL = replicas[i%2] + "/token"
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i], errs[i] = rp.Refresh(ctx, signedIn.OAuth2.RefreshToken)
		}()
	}
	close(start)
	wg.Wait()

	pairs := make(map[string]bool)
	for i, err := range errs {
		if !assert.NoError(t, err, "refresh %d (replica %d)", i, i%2) {
			continue
		}
		pairs[results[i].OAuth2.RefreshToken] = true
	}
	assert.Len(t, pairs, 1, "one new refresh token for all")
}
