package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dexidp/dex/server/signer"
	"github.com/dexidp/dex/storage"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud"
	"github.com/dex-spectro/dex-spectro/internal/connectors"
)

// lifetimeSigner signs as the signer it wraps, but caps the exp of every
// token Dex issues for an identity of a spectrocloud connector (ID tokens and
// access tokens alike) at the end of the Palette sign-in behind it, so that
// no Dex token outlives that sign-in. The end comes from the request's
// context (see signInLifetimes and spectrocloud.WithExpiry) or, for a
// refresh Dex answers without asking the connector (a refresh token reused
// within expiry.refreshTokens.reuseInterval), from the offline session in
// storage. When it is not known, or already past, nothing is signed.
type lifetimeSigner struct {
	signer.Signer
	store    storage.Storage
	now      func() time.Time
	subjects *dexPair
}

func newLifetimeSigner(s signer.Signer, store storage.Storage, now func() time.Time) (*lifetimeSigner, error) {
	subjects, err := newDexPair()
	if err != nil {
		return nil, fmt.Errorf("token subject format: %w", err)
	}
	return &lifetimeSigner{Signer: s, store: store, now: now, subjects: subjects}, nil
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
	var claims map[string]json.RawMessage
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, fmt.Errorf("token lifetime: the payload is not a JSON object: %w", err)
	}
	var sub string
	if err := json.Unmarshal(claims["sub"], &sub); err != nil {
		return nil, errors.New("token lifetime: the payload has no subject")
	}
	userID, connID, err := s.subjects.decode(sub)
	if err != nil {
		return nil, fmt.Errorf("token lifetime: the subject is %w", err)
	}
	if connID == "" {
		return payload, nil // no connector: not a spectrocloud identity
	}
	ours, err := isSpectroCloud(ctx, s.store, connID)
	if err != nil || !ours {
		return payload, err
	}
	end, err := s.signInEnd(ctx, userID, connID)
	if err != nil {
		return nil, err
	}
	if !end.After(s.now()) {
		return nil, fmt.Errorf("token lifetime: the SpectroCloud sign-in behind this token ended at %s: sign in again", end.UTC().Format(time.RFC3339))
	}
	var exp int64
	if err := json.Unmarshal(claims["exp"], &exp); err != nil {
		return nil, errors.New("token lifetime: the payload has no numeric exp")
	}
	if limit := end.Unix(); limit < exp {
		claims["exp"] = json.RawMessage(fmt.Sprint(limit))
		return json.Marshal(claims)
	}
	return payload, nil
}

// signInEnd finds when the Palette sign-in behind a token ends.
func (s *lifetimeSigner) signInEnd(ctx context.Context, userID, connID string) (time.Time, error) {
	if e, ok := spectrocloud.ExpiryFrom(ctx); ok {
		if end, ok := e.Get(); ok {
			return end, nil
		}
	}
	sess, err := s.store.GetOfflineSessions(ctx, userID, connID)
	switch {
	case err == nil:
		end, err := spectrocloud.SessionExpiry(sess.ConnectorData)
		if err != nil {
			return time.Time{}, fmt.Errorf("token lifetime: connector %q: %w", connID, err)
		}
		return end, nil
	case errors.Is(err, storage.ErrNotFound):
		return time.Time{}, fmt.Errorf("token lifetime: refusing to sign a token for connector %q: the end of the SpectroCloud sign-in behind it is not known", connID)
	default:
		return time.Time{}, fmt.Errorf("token lifetime: read the offline session: %w", err)
	}
}

// isSpectroCloud reports whether the connector with this ID is a
// spectrocloud connector (static or created through the API).
func isSpectroCloud(ctx context.Context, store storage.Storage, connID string) (bool, error) {
	conn, err := store.GetConnector(ctx, connID)
	if err != nil {
		return false, fmt.Errorf("token lifetime: look up connector %q: %w", connID, err)
	}
	return conn.Type == connectors.SpectroCloud, nil
}
