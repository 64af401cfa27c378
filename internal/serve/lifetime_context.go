package serve

import (
	"context"
	"sync"

	"github.com/dex-spectro/dex-spectro/internal/connhook"
)

// signing is what signInLifetimes tells lifetimeSigner about the request
// Dex signs tokens in, through the request's context, and what the signer
// tells back: why it refused to sign.
type signing struct {
	// recorder is the request's: the connector records there the end of
	// the sign-in it verified, and signInLifetimes the end it read from the
	// code or auth request the request redeems.
	recorder *connhook.Recorder
	// offlineSession allows the signer to take the end of the sign-in from
	// the user's offline session when the request carries none: only the
	// refresh grant needs it, when Dex answers a refresh token reused within
	// expiry.refreshTokens.reuseInterval without asking the connector.
	offlineSession bool
	// storedErr is why the sign-in stored with the code or auth request the
	// request redeems could not be read.
	storedErr error

	mu      sync.Mutex
	refusal string // set by the signer: a message for the client, no internal detail
}

type signingKey struct{}

// withSigning returns ctx carrying s.
func withSigning(ctx context.Context, s *signing) context.Context {
	return context.WithValue(ctx, signingKey{}, s)
}

// signingFrom returns the signing of ctx, or nil when the request did not
// pass through signInLifetimes.
func signingFrom(ctx context.Context) *signing {
	s, _ := ctx.Value(signingKey{}).(*signing)
	return s
}

// refuse records why the signer refused to sign; the first reason stays.
func (s *signing) refuse(msg string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refusal == "" {
		s.refusal = msg
	}
}

// refused returns the recorded refusal, or "".
func (s *signing) refused() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refusal
}
