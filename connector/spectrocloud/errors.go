package spectrocloud

import (
	"fmt"
	"time"
)

// TokenExpiredError reports a Palette ID token past its expiry. During
// refresh it means the Dex session has reached the end of the upstream
// sign-in: the user must sign in again.
type TokenExpiredError struct {
	Expiry time.Time
}

func (e *TokenExpiredError) Error() string {
	return fmt.Sprintf("spectrocloud: the SpectroCloud sign-in expired at %s: sign in again", e.Expiry.UTC().Format(time.RFC3339))
}

// TokenErrorKind classifies an InvalidTokenError.
type TokenErrorKind string

// The kinds of InvalidTokenError.
const (
	KindMalformed        TokenErrorKind = "malformed"         // not a signed JWT, or a refused algorithm
	KindUnknownKey       TokenErrorKind = "unknown_key"       // no published key with its key ID
	KindInvalidSignature TokenErrorKind = "invalid_signature" // the signature does not verify
	KindInvalidClaims    TokenErrorKind = "invalid_claims"    // iss, aud, azp, iat, nbf or nonce is wrong
)

// InvalidTokenError reports a Palette ID token that failed verification for
// a reason other than expiry. Its message never contains token material.
type InvalidTokenError struct {
	Kind   TokenErrorKind
	Reason string
}

func (e *InvalidTokenError) Error() string {
	return "spectrocloud: invalid ID token: " + e.Reason
}

// UpstreamError reports a failed request to Palette: unreachable, timed out,
// an error status, or a body that is not what the endpoint must return.
type UpstreamError struct {
	Endpoint string // discovery, jwks, token
	Err      error
}

func (e *UpstreamError) Error() string {
	return fmt.Sprintf("spectrocloud: Palette %s endpoint: %v", e.Endpoint, e.Err)
}

func (e *UpstreamError) Unwrap() error { return e.Err }

// SignInAgainError wraps a refresh failure that no retry can fix: the user
// has to sign in again.
type SignInAgainError struct {
	Err error
}

func (e *SignInAgainError) Error() string {
	return fmt.Sprintf("%v: sign in again", e.Err)
}

func (e *SignInAgainError) Unwrap() error { return e.Err }
