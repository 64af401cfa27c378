// Package harness runs dex-spectro's real serve path in the test's process:
// a dextest.DexConfig (or a configuration file) loaded strictly, as
// `dex-spectro serve` loads it, handed to serve.New and served by Run on
// listeners of 127.0.0.1, with the server's logs in the test's output, until
// the test ends (Start, Serve). Main is the TestMain of every package whose
// tests load a configuration.
//
//	dex := harness.Start(t, dextest.DexConfig{...}, nil, serve.WithConnectorClock(clock.Now))
//	rp, err := dextest.NewRelyingParty(ctx, dex.Issuer, "app", "secret", redirectURI)
//
// It is kept apart from package dextest because it imports internal/serve,
// and through it the spectrocloud connector and the resolver, whose own
// tests use dextest.
package harness
