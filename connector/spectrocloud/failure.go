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

// Err returns the recorded failure, or nil. Its message may be shown to
// clients and browsers.
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

// RecordFailure records err in the Failure of ctx, if ctx has one, in the
// form its message may take outside Dex's log: without the account's user
// ID, email or claim values, or the allowedGroups list, which the
// connector's log keeps. The connector records its own sign-in and refresh
// failures.
func RecordFailure(ctx context.Context, err error) {
	f, ok := ctx.Value(failureKey{}).(*Failure)
	if !ok {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err, f.final = publicError(err), isFinal(err)
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

// publicError returns err in the form its message may take outside Dex's
// log, on a client's invalid_grant or a browser's error page: a refusal
// that names the account (its user ID and the allowedGroups list, or its
// email and claim values in a sign-in resolver's denial) gets a message
// without them, and still matches the same types with errors.As. Other
// errors are returned as they are; their messages name no account.
func publicError(err error) error {
	var notIn *connector.UserNotInRequiredGroupsError
	if errors.As(err, &notIn) {
		return &publicMessage{msg: "spectrocloud: this account is in none of the groups allowed to sign in (allowedGroups)", err: err}
	}
	var denied *resolver.DeniedError
	if errors.As(err, &denied) {
		return &publicMessage{msg: "spectrocloud: " + denied.Public(), err: err}
	}
	return err
}

// publicMessage is an error shown with a message of its own.
type publicMessage struct {
	msg string
	err error
}

func (e *publicMessage) Error() string { return e.msg }

func (e *publicMessage) Unwrap() error { return e.err }
