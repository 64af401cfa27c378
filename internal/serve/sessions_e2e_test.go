package serve_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/dextest"
	"github.com/dex-spectro/dex-spectro/internal/dextest/harness"
	"github.com/dex-spectro/dex-spectro/internal/serve"
	"github.com/dex-spectro/dex-spectro/internal/sessions"
)

// sessionsServer is lifetimeConfig's server (Backstage and kubelogin) with
// its gRPC API behind mutual TLS, with files in dir, and the directory.
func sessionsServer(consoleURL, dir string) dextest.DexConfig {
	cfg := lifetimeConfig(consoleURL, directoryBlock(""))
	cfg.Sections["grpc"] = map[string]any{"addr": "127.0.0.1:0", "tlsCert": filepath.Join(dir, "grpc.crt"),
		"tlsKey": filepath.Join(dir, "grpc.key"), "tlsClientCA": filepath.Join(dir, "ca.crt")}
	return cfg
}

// The kill switch, against a real server over its gRPC API with mutual
// TLS: sessions list finds every refresh token of a user named by email,
// user ID or subject; sessions revoke ends them all at once, and the user's
// refreshes fail in every client.
func TestSessionsKillSwitchEndToEnd(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ca := newTestCA(t)
	serverCert, serverKey := ca.issue(t, 2, "server")
	clientCert, clientKey := ca.issue(t, 3, "operator")
	writeFile(t, filepath.Join(dir, "grpc.crt"), serverCert)
	writeFile(t, filepath.Join(dir, "grpc.key"), serverKey)
	writeFile(t, filepath.Join(dir, "ca.crt"), ca.pem)
	writeFile(t, filepath.Join(dir, "client.crt"), clientCert)
	writeFile(t, filepath.Join(dir, "client.key"), clientKey)

	l := listen(t)
	palette, _ := directoryPalette(t, l)

	// The directory turns an email into the user's Palette UID.
	cfg := loadConfig(t, sessionsServer(palette.URL, dir), l)
	dex := harness.Serve(t, cfg, serve.WithListener(serve.ListenerHTTP, l))

	signIn := func(client, secret string) (*dextest.RelyingParty, *dextest.Tokens) {
		rp, err := dextest.NewRelyingParty(ctx, dex.Issuer, client, secret, rpRedirect)
		require.NoError(t, err)
		var tokens *dextest.Tokens
		require.Eventually(t, func() bool {
			tokens, err = rp.SignIn(ctx, dextest.NewBrowser())
			return err == nil
		}, 15*time.Second, 100*time.Millisecond, "a sign-in once the directory is read: %v", err)
		return rp, tokens
	}
	backstage, backstageTokens := signIn("backstage", "backstage-secret")
	kubelogin, kubeloginTokens := signIn("kubelogin", "kubelogin-secret")
	subject := sessions.Subject("64a1b2c3d4e5f60718293a4b", "spectrocloud")
	require.Equal(t, backstageTokens.IDToken.Subject, subject, "Subject encodes as Dex does")

	mtls := sessions.GRPC{Addr: dex.Addrs.GRPC, CACert: filepath.Join(dir, "ca.crt"),
		ClientCert: filepath.Join(dir, "client.crt"), ClientKey: filepath.Join(dir, "client.key")}
	run := func(do func(context.Context, sessions.Options) error, who sessions.Who, grpc sessions.GRPC, connectorIDs ...string) (string, error) {
		var out bytes.Buffer
		err := do(ctx, sessions.Options{Who: who, Connectors: connectorIDs, Config: cfg, GRPC: grpc, Out: &out})
		return out.String(), err
	}

	for _, who := range []sessions.Who{{Email: "Jane@Example.com"}, {UserID: "64a1b2c3d4e5f60718293a4b"}, {Subject: subject}} {
		out, err := run(sessions.List, who, mtls)
		require.NoError(t, err, out)
		assert.Contains(t, out, ": 2 refresh tokens\n", "%+v", who)
		assert.Contains(t, out, `client "backstage": created `)
		assert.Contains(t, out, `client "kubelogin": created `)
	}
	out, err := run(sessions.List, sessions.Who{Email: "jane@example.com"}, mtls)
	require.NoError(t, err)
	assert.Contains(t, out, `connector "spectrocloud", user ID "64a1b2c3d4e5f60718293a4b" (the Palette UID of jane@example.com in the directory`)
	out, err = run(sessions.List, sessions.Who{UserID: "64a1b2c3d4e5f60718293a4b"}, mtls, "another")
	require.NoError(t, err)
	assert.Contains(t, out, `connector "another", user ID "64a1b2c3d4e5f60718293a4b": no refresh tokens`)

	withoutClientCert := mtls
	withoutClientCert.ClientCert, withoutClientCert.ClientKey = "", ""
	_, err = run(sessions.List, sessions.Who{Subject: subject}, withoutClientCert)
	require.Error(t, err, "the API requires a client certificate")

	// The server's certificate is verified against --ca-cert: with another
	// CA's, nothing is sent and nothing is revoked.
	writeFile(t, filepath.Join(dir, "other-ca.crt"), newTestCA(t).pem)
	otherCA := mtls
	otherCA.CACert = filepath.Join(dir, "other-ca.crt")
	out, err = run(sessions.Revoke, sessions.Who{Subject: subject}, otherCA)
	require.Error(t, err, "the server's certificate is not of the CA given")
	assert.Contains(t, err.Error(), "certificate signed by unknown authority")
	assert.NotContains(t, out, "revoked")
	out, err = run(sessions.List, sessions.Who{Subject: subject}, mtls)
	require.NoError(t, err)
	assert.Contains(t, out, ": 2 refresh tokens\n", "nothing was revoked")

	out, err = run(sessions.Revoke, sessions.Who{Email: "jane@example.com"}, mtls)
	require.NoError(t, err, out)
	assert.Contains(t, out, `: revoked 2 refresh tokens (clients "backstage", "kubelogin")`)
	assert.Contains(t, out, "Tokens Dex issued before stay valid until they expire")
	_, err = backstage.Refresh(ctx, backstageTokens.OAuth2.RefreshToken)
	require.Error(t, err, "Backstage's session is over")
	_, err = kubelogin.Refresh(ctx, kubeloginTokens.OAuth2.RefreshToken)
	require.Error(t, err, "kubelogin's session is over")
	assert.True(t, strings.Contains(err.Error(), "invalid_request") || strings.Contains(err.Error(), "invalid_grant"), "%v", err)

	out, err = run(sessions.List, sessions.Who{Subject: subject}, mtls)
	require.NoError(t, err)
	assert.Contains(t, out, "no refresh tokens")
	out, err = run(sessions.Revoke, sessions.Who{Subject: subject}, mtls)
	require.NoError(t, err)
	assert.Contains(t, out, "no refresh tokens to revoke")
}
