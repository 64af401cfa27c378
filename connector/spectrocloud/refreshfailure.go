package spectrocloud

import (
	"context"
	"errors"
	"sync"

	"github.com/dexidp/dex/connector"

	"github.com/dex-spectro/dex-spectro/resolver"
)

// RefreshFailure carries, for one HTTP request, the reason a refresh failed
// when no retry can succeed. Dex answers every connector refresh failure
// with server_error; an HTTP layer that puts a RefreshFailure in the
// request's context (WithRefreshFailure) can answer invalid_grant instead,
// which tells clients such as kubelogin and Backstage to sign the user in
// again.
type RefreshFailure struct {
	mu  sync.Mutex
	err error
}

type refreshFailureKey struct{}

// WithRefreshFailure returns a context in which Refresh records a final
// failure, and the RefreshFailure that receives it.
func WithRefreshFailure(ctx context.Context) (context.Context, *RefreshFailure) {
	f := &RefreshFailure{}
	return context.WithValue(ctx, refreshFailureKey{}, f), f
}

// Err returns the recorded failure: the Palette sign-in expired, its key was
// withdrawn, the session data is unusable, or the user is no longer allowed.
// It returns nil when no refresh failed for good.
func (f *RefreshFailure) Err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

func recordRefreshFailure(ctx context.Context, err error) {
	f, ok := ctx.Value(refreshFailureKey{}).(*RefreshFailure)
	if !ok || !isFinal(err) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

// isFinal reports whether a refresh error means the user must sign in again,
// as opposed to a passing failure (Palette or the catalog unreachable).
func isFinal(err error) bool {
	var (
		expired *TokenExpiredError
		again   *SignInAgainError
		claim   *ClaimError
		notIn   *connector.UserNotInRequiredGroupsError
		denied  *resolver.DeniedError
	)
	return errors.As(err, &expired) || errors.As(err, &again) || errors.As(err, &claim) ||
		errors.As(err, &notIn) || errors.As(err, &denied)
}
