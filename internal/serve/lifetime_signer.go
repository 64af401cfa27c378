package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dexidp/dex/server/signer"
	"github.com/dexidp/dex/storage"

	"github.com/dex-spectro/dex-spectro/internal/connhook"
)

// lifetimeSigner signs as the signer it wraps, but caps the exp of every
// token Dex issues for an identity of a connector whose sign-ins end
// (connhook.Lifetime: the spectrocloud connector), ID tokens and access
// tokens alike, at the end of the upstream sign-in behind it, so that no
// Dex token outlives that sign-in. The end comes from the request (see
// signInLifetimes: recorded by the connector, or read from the code or auth
// request the request redeems) or, for a refresh Dex answers without asking
// the connector (a refresh token reused within
// expiry.refreshTokens.reuseInterval), from the offline session in storage.
// When it is not known, or already past, nothing is signed, and the reason
// is recorded for signInLifetimes to answer with.
type lifetimeSigner struct {
	signer.Signer
	store    storage.Storage
	conns    *connectorLookup
	now      func() time.Time
	subjects *dexPair
}

func newLifetimeSigner(s signer.Signer, store storage.Storage, conns *connectorLookup, now func() time.Time) (*lifetimeSigner, error) {
	subjects, err := newDexPair()
	if err != nil {
		return nil, fmt.Errorf("token subject format: %w", err)
	}
	return &lifetimeSigner{Signer: s, store: store, conns: conns, now: now, subjects: subjects}, nil
}

// Sign caps the payload's exp where it must, then signs it.
func (s *lifetimeSigner) Sign(ctx context.Context, payload []byte) (string, error) {
	capped, err := s.capExpiry(ctx, payload)
	if err != nil {
		return "", err
	}
	return s.Signer.Sign(ctx, capped)
}

func (s *lifetimeSigner) capExpiry(ctx context.Context, payload []byte) ([]byte, error) {
	// Only sub and exp are read; the whole payload is decoded and encoded
	// again only when exp must change.
	var head struct {
		Sub *string `json:"sub"`
		Exp *int64  `json:"exp"`
	}
	if err := json.Unmarshal(payload, &head); err != nil {
		return nil, fmt.Errorf("token lifetime: the payload is not a JSON object with a string sub and a numeric exp: %w", err)
	}
	if head.Sub == nil {
		return nil, errors.New("token lifetime: the payload has no subject")
	}
	userID, connID, err := s.subjects.decode(*head.Sub)
	if err != nil {
		return nil, fmt.Errorf("token lifetime: the subject is %w", err)
	}
	if connID == "" {
		return payload, nil // no connector: an identity without an upstream sign-in
	}
	lt, err := lookupAs[connhook.Lifetime](ctx, s.conns, connID)
	if err != nil {
		return nil, fmt.Errorf("token lifetime: %w", err)
	}
	if lt == nil {
		return payload, nil
	}
	end, err := s.signInEnd(ctx, lt, userID, connID)
	if err != nil {
		return nil, err
	}
	if !end.After(s.now()) {
		return nil, refuseToSign(ctx, fmt.Sprintf("the SpectroCloud sign-in expired at %s: sign in again", end.UTC().Format(time.RFC3339)), nil)
	}
	if head.Exp == nil {
		return nil, errors.New("token lifetime: the payload has no numeric exp")
	}
	if limit := end.Unix(); limit < *head.Exp {
		var claims map[string]json.RawMessage
		if err := json.Unmarshal(payload, &claims); err != nil {
			return nil, fmt.Errorf("token lifetime: the payload is not a JSON object: %w", err)
		}
		claims["exp"] = json.RawMessage(fmt.Sprint(limit))
		return json.Marshal(claims)
	}
	return payload, nil
}

// Why the signer refuses, as clients are told.
const (
	refusalUnknown    = "the end of the SpectroCloud sign-in behind this token is not known: sign in again"
	refusalUnreadable = "the stored SpectroCloud sign-in cannot be read: sign in again"
)

// signInEnd finds when the Palette sign-in behind a token ends: from the
// request (the code, auth request or Palette token it redeems), or, on the
// refresh grant only, from the user's offline session. Any other request
// gets no token: a request that the serve layer did not read the same way
// as Dex must not fall back on another sign-in of the user.
func (s *lifetimeSigner) signInEnd(ctx context.Context, lt connhook.Lifetime, userID, connID string) (time.Time, error) {
	sg := signingFrom(ctx)
	if sg != nil && sg.recorder != nil {
		if end, ok := sg.recorder.SignInEnd(); ok {
			return end, nil
		}
	}
	switch {
	case sg != nil && sg.storedErr != nil:
		return time.Time{}, refuseToSign(ctx, refusalUnreadable, sg.storedErr)
	case sg == nil || !sg.offlineSession:
		return time.Time{}, refuseToSign(ctx, refusalUnknown, fmt.Errorf("connector %q: no end recorded for this request", connID))
	}
	sess, err := s.store.GetOfflineSessions(ctx, userID, connID)
	switch {
	case err == nil:
		end, err := lt.SignInEnd(sess.ConnectorData)
		if err != nil {
			return time.Time{}, refuseToSign(ctx, refusalUnreadable, fmt.Errorf("connector %q: %w", connID, err))
		}
		return end, nil
	case errors.Is(err, storage.ErrNotFound):
		return time.Time{}, refuseToSign(ctx, refusalUnknown, fmt.Errorf("connector %q: no offline session", connID))
	default:
		return time.Time{}, fmt.Errorf("token lifetime: read the offline session: %w", err)
	}
}

// refuseToSign records msg as what the client is told (see signInLifetimes)
// and returns the error Dex logs.
func refuseToSign(ctx context.Context, msg string, cause error) error {
	signingFrom(ctx).refuse(msg)
	if cause != nil {
		return fmt.Errorf("token lifetime: %s: %w", msg, cause)
	}
	return errors.New("token lifetime: " + msg)
}
