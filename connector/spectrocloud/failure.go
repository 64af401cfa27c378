package spectrocloud

import (
	"context"
	"errors"
	"sync"

	"github.com/dexidp/dex/connector"

	"github.com/dex-spectro/dex-spectro/resolver"
)

// Failure carries, for one HTTP request, why a sign-in or a refresh by this
// connector failed. Dex hides connector errors from users: a failed sign-in
// shows a generic page, and every failed refresh is answered server_error,
// which clients take for a passing fault. An HTTP layer that puts a Failure
// in the request's context (WithFailure) can show the connector's message,
// which never holds token material, and answer invalid_grant to a refresh
// that no retry can fix, so that clients such as kubelogin and Backstage
// sign the user in again.
type Failure struct {
	mu    sync.Mutex
	err   error
	final bool
}

type failureKey struct{}

// WithFailure returns a context in which HandleCallback and Refresh record
// their failure, and the Failure that receives it.
func WithFailure(ctx context.Context) (context.Context, *Failure) {
	f := &Failure{}
	return context.WithValue(ctx, failureKey{}, f), f
}

// Err returns the recorded failure, or nil.
func (f *Failure) Err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// Final reports whether the recorded failure needs a new sign-in: the
// Palette sign-in expired, its key was withdrawn, the session data is
// unusable, or the user is not (or no longer) allowed. Passing failures,
// such as Palette or the catalog being unreachable, are not final.
func (f *Failure) Final() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.final
}

// RecordFailure records err in the Failure of ctx, if ctx has one. The
// connector records its own sign-in and refresh failures.
func RecordFailure(ctx context.Context, err error) {
	f, ok := ctx.Value(failureKey{}).(*Failure)
	if !ok {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err, f.final = err, isFinal(err)
}

// isFinal reports whether an error means the user must sign in again (or
// may not sign in at all), as opposed to a passing failure.
func isFinal(err error) bool {
	var (
		expired *TokenExpiredError
		again   *SignInAgainError
		invalid *InvalidTokenError
		claim   *ClaimError
		notIn   *connector.UserNotInRequiredGroupsError
		denied  *resolver.DeniedError
	)
	return errors.As(err, &expired) || errors.As(err, &again) || errors.As(err, &invalid) || errors.As(err, &claim) ||
		errors.As(err, &notIn) || errors.As(err, &denied) || isFinalDirectoryRefusal(err)
}
