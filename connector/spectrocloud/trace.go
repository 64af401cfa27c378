package spectrocloud

import (
	"context"

	"github.com/dex-spectro/dex-spectro/resolver"
)

// signInTrace records, during one HandleCallback, what a Trial reports and
// HandleCallback does not return. Only a Trial puts one into a request's
// context; without it, recording does nothing. The raw ID token it holds
// never leaves the package.
type signInTrace struct {
	authRequest tokenRequest
	authOK      bool
	authSent    bool
	rawIDToken  string
	tokenOK     bool // the ID token passed verification (before the nonce check)
	resolved    *resolver.Result
}

type traceKey struct{}

func withTrace(ctx context.Context) (context.Context, *signInTrace) {
	t := &signInTrace{}
	return context.WithValue(ctx, traceKey{}, t), t
}

// traceFrom returns the trace of ctx, or nil. The methods of a nil trace
// do nothing.
func traceFrom(ctx context.Context) *signInTrace {
	t, _ := ctx.Value(traceKey{}).(*signInTrace)
	return t
}

func (t *signInTrace) clientAuth(r tokenRequest, ok bool) {
	if t != nil {
		t.authRequest, t.authOK, t.authSent = r, ok, true
	}
}

func (t *signInTrace) idToken(raw string) {
	if t != nil {
		t.rawIDToken = raw
	}
}

func (t *signInTrace) resolvedBy(r resolver.Result) {
	if t != nil {
		t.resolved = &r
	}
}

func (t *signInTrace) verified() {
	if t != nil {
		t.tokenOK = true
	}
}
