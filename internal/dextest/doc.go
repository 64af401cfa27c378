// Package dextest is the project's test kit: what every package's tests
// use instead of helpers of their own.
//
//   - DexConfig builds a dex-spectro configuration in Go (clients, connectors
//     made for the issuer such as SpectroCloud and MockCallback, sections,
//     With for sections written as YAML) and renders it to YAML or a file;
//     TenantUID and PaletteClientID are the tests' Palette tenant and OAuth
//     client. No test writes YAML with placeholders to replace.
//   - Browser is the user's browser (cookies, redirects, Palette's sign-in
//     page, Dex's login and approval pages), RelyingParty an OIDC
//     application signing in with it; PostToken is a raw request to Dex's
//     token endpoint as a confidential client.
//   - Clock is the one fake clock. A test that moves time gives its server
//     a Clock of its own, for Dex (serve.WithClock) or for the connectors
//     the server opens (serve.WithConnectorClock): no clock is shared by a
//     whole test process.
//   - LogBuffer is the one log sink safe for concurrent writes.
//   - NewPostgres is a database of a test's own, NewCA a certificate
//     authority for servers on 127.0.0.1.
//   - RequireReturns waits, with a bound, for a stopped run to return.
//   - Unavailable skips a test whose server, program or packages are
//     missing, or fails it when CI=true.
//   - FreeAddr is a port for a process that listens itself, StartOnFreeAddr
//     starts one there and tries another port when the first was taken.
//
// Subpackage harness runs dex-spectro itself in the test's process
// (harness.Start serves a DexConfig), and its Main is the TestMain of every
// package whose tests load a configuration; etcdtest runs an etcd server,
// and kubetest kube-apiserver.
//
// The package imports nothing of this module, so that the tests of every
// package, the connector's, the emulator's and the resolver's included, can
// use it.
package dextest
