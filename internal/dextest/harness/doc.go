// Package harness runs dex-spectro's real serve path in the test's process:
// a configuration loaded strictly, as `dex-spectro serve` loads it, handed
// to serve.New and served by Run on listeners of 127.0.0.1, with the
// server's logs in the test's output, until the test ends.
//
// It is kept apart from package dextest because it imports internal/serve,
// and through it the spectrocloud connector and the resolver, whose own
// tests use dextest's clock.
package harness
