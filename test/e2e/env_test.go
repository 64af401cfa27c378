package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/dextest"
	"github.com/dex-spectro/dex-spectro/internal/serve"
)

// connectorID is the ID of the spectrocloud connector in the tests.
const connectorID = "spectrocloud"

// refetchInterval is the connector's minimum spacing of JWKS fetches
// triggered by unknown key IDs (minRefetchInterval in
// connector/spectrocloud/keyset.go). Tests that need a second refetch move
// the connectors' clock (serve.WithConnectorClock) past it.
const refetchInterval = 10 * time.Second

// env is an emulated Palette tenant, dex-spectro in-process with a
// spectrocloud connector for it, and an application.
type env struct {
	palette *Palette
	dex     *Dex
	rp      *dextest.RelyingParty
}

// newEnv starts Palette and Dex; extra adds connector configuration.
func newEnv(t *testing.T, extra map[string]any, opts ...serve.Option) *env {
	t.Helper()
	p := StartPalette(t)
	return newEnvFor(t, p, DexConfig{Connectors: []dextest.ConnectorFunc{p.SpectroCloud(connectorID, extra)}}, opts...)
}

func newEnvFor(t *testing.T, p *Palette, cfg DexConfig, opts ...serve.Option) *env {
	t.Helper()
	dex := StartDex(t, cfg, opts...)
	rp, err := dextest.NewRelyingParty(context.Background(), dex.Issuer, ClientID, ClientSecret, RPRedirect)
	require.NoError(t, err)
	return &env{palette: p, dex: dex, rp: rp}
}

// signIn signs login in with a fresh browser and requires success.
func (e *env) signIn(t *testing.T, login string) *dextest.Tokens {
	t.Helper()
	s, err := e.rp.SignIn(context.Background(), NewAgent(login, nil))
	require.NoError(t, err, "sign in as %s", login)
	return s
}

// refresh redeems a refresh token and requires success.
func (e *env) refresh(t *testing.T, refreshToken string) *dextest.Tokens {
	t.Helper()
	r, err := e.rp.Refresh(context.Background(), refreshToken)
	require.NoError(t, err)
	return r
}
