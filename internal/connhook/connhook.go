// Package connhook is what dex-spectro's server asks of a connector beyond
// Dex's connector interfaces, and how it finds the connectors Dex opened.
//
// Dex opens connectors itself and hands the server none of them; it hides
// their errors from users; and it calls a connector's Refresh inside its
// storage transaction. The server therefore:
//
//   - gives each request a Recorder (WithRecorder), in which a connector
//     records when the upstream sign-in behind the identity it returns ends
//     (RecordSignInEnd), and why it failed and whether that failure needs a
//     new sign-in (RecordFailure);
//   - finds the connector Dex opened for an ID in a Hub, which Dex's
//     connector factories fill as Dex opens connectors, and through which
//     the connectors read the clock the server gives them (Clock);
//   - asks a connector that implements Lifetime when the sign-in behind
//     stored connector data ends, and one that implements RefreshPreparer to
//     do its network work for a refresh before Dex opens the transaction.
//
// A connector that implements none of this works as in Dex.
package connhook

import (
	"context"
	"time"
)

// Lifetime is implemented by connectors whose identities come from an
// upstream sign-in that ends at a known time.
type Lifetime interface {
	// SignInEnd returns when the upstream sign-in behind connectorData
	// ends. connectorData is what the connector returned to Dex, as Dex
	// stored it with an auth code, an auth request or an offline session;
	// data the connector did not make is an error.
	SignInEnd(connectorData []byte) (time.Time, error)
}

// RefreshPreparer is implemented by connectors whose Refresh needs data
// from the network (signing keys, a directory).
type RefreshPreparer interface {
	// PrepareRefresh fetches, with network access and outside any storage
	// transaction, what a Refresh of connectorData needs, and returns the
	// context to run the request on: a Refresh given that context answers
	// from memory and never waits on the network. A failure to prepare is
	// not an error here: Refresh then fails or answers from what it has,
	// as its own rules say.
	PrepareRefresh(ctx context.Context, connectorData []byte) context.Context
}

// APIConfigChecker is implemented by connector configurations that may
// come from the configuration file but not, as they are, from Dex's gRPC
// API, which anyone who reaches it can call: for example one that reads a
// file on Dex's host and sends its content to an address the configuration
// names.
type APIConfigChecker interface {
	// CheckAPIConfig returns an error naming the key that the
	// configuration may not hold when it comes through the API.
	CheckAPIConfig() error
}
