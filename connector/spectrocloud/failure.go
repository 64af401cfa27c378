package spectrocloud

import (
	"context"
	"errors"

	"github.com/dexidp/dex/connector"

	"github.com/dex-spectro/dex-spectro/internal/connhook"
	"github.com/dex-spectro/dex-spectro/resolver"
)

// recordFailure records why a sign-in or a refresh failed, for the server
// (connhook.RecordFailure). Dex hides connector errors from users: a failed
// sign-in shows a generic page, and every failed refresh is answered
// server_error, which clients take for a passing fault. With the failure
// recorded, the server shows the connector's message and answers
// invalid_grant to a refresh that no retry can fix, so that clients such as
// kubelogin and Backstage sign the user in again. The message recorded is
// the public one (see publicError): it names no account and holds no token
// material.
func recordFailure(ctx context.Context, err error) {
	connhook.RecordFailure(ctx, publicError(err), isFinal(err))
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
