package spectrocloud

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dexidp/dex/connector"

	"github.com/dex-spectro/dex-spectro/internal/connhook"
)

// tokenTypeIDToken is the RFC 8693 token type of a Palette ID token.
const tokenTypeIDToken = "urn:ietf:params:oauth:token-type:id_token"

// errBadSession is returned for ConnectorData that is corrupt or not ours.
var errBadSession = &SignInAgainError{Err: errors.New("spectrocloud: the stored session is not a SpectroCloud session or is corrupt")}

// Refresh re-verifies the stored Palette ID token against Palette's current
// signing keys (issuer, audience, expiry) and derives the identity again
// with the current configuration. It makes no request to Palette when the
// keys are cached. Once the ID token has expired, or its key is withdrawn,
// the user has to sign in again.
//
// Dex calls Refresh inside its storage transaction. Given the context
// PrepareRefresh returned, it answers from what PrepareRefresh fetched and
// never waits on the network; given any other, it fetches what it needs.
func (c *spectroConnector) Refresh(ctx context.Context, s connector.Scopes, ident connector.Identity) (connector.Identity, error) {
	id, end, err := c.refresh(ctx, s, ident.ConnectorData)
	outcome := outcomeOf(err)
	c.metrics.refresh(outcome)
	if err != nil {
		c.logger.Info("refresh failed", "outcome", outcome, "user_id", ident.UserID, "err", err)
		recordFailure(ctx, err)
		return connector.Identity{}, err
	}
	connhook.RecordSignInEnd(ctx, end)
	c.logger.Info("refresh", "outcome", outcome, "user_id", id.UserID)
	return id, nil
}

// refresh derives the identity from the Palette ID token in connectorData,
// verified again, and returns it with the token's expiry.
func (c *spectroConnector) refresh(ctx context.Context, s connector.Scopes, connectorData []byte) (connector.Identity, time.Time, error) {
	raw, err := decodeSession(connectorData)
	if err != nil {
		return connector.Identity{}, time.Time{}, err
	}
	prov, err := c.providers.get(ctx)
	if err != nil {
		return connector.Identity{}, time.Time{}, err
	}
	tok, err := prov.verifier.verify(ctx, raw, fromPalette)
	if err != nil {
		var invalid *InvalidTokenError
		if errors.As(err, &invalid) {
			return connector.Identity{}, time.Time{}, &SignInAgainError{Err: err}
		}
		return connector.Identity{}, time.Time{}, err
	}
	// The identity carries no connector data. Dex keeps one offline session
	// per user and connector, shared by all clients, and overwrites its
	// connector data with what Refresh returns. The token just verified is
	// never newer than the one stored there, so returning it would let a
	// client's refresh replace the user's newest sign-in with an older one.
	// Returning none leaves the session holding the latest sign-in, which
	// every refresh token follows after its first refresh.
	id, err := c.identityFrom(ctx, s, tok)
	if err != nil {
		return connector.Identity{}, time.Time{}, err
	}
	return id, tok.expiry, nil
}

// decodeSession reads ConnectorData strictly.
func decodeSession(data []byte) (string, error) {
	if len(data) == 0 || len(data) > maxIDTokenBytes+64 {
		return "", errBadSession
	}
	var sess session
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sess); err != nil || dec.More() {
		return "", errBadSession
	}
	if sess.Version != sessionVersion || sess.IDToken == "" {
		return "", errBadSession
	}
	return sess.IDToken, nil
}

// TokenIdentity implements Dex's RFC 8693 token exchange for Palette ID
// tokens: the token is verified like at sign-in, without a nonce, and mapped
// to an identity.
func (c *spectroConnector) TokenIdentity(ctx context.Context, subjectTokenType, subjectToken string) (connector.Identity, error) {
	start := time.Now()
	id, err := c.tokenIdentity(ctx, subjectTokenType, subjectToken)
	outcome := outcomeOf(err)
	c.metrics.exchange(outcome, start)
	if err != nil {
		c.logger.Info("token exchange failed", "outcome", outcome, "err", err)
		return connector.Identity{}, err
	}
	c.logger.Info("token exchange", "outcome", outcome, "user_id", id.UserID)
	return id, nil
}

func (c *spectroConnector) tokenIdentity(ctx context.Context, subjectTokenType, subjectToken string) (connector.Identity, error) {
	if subjectTokenType != tokenTypeIDToken {
		return connector.Identity{}, fmt.Errorf("spectrocloud: token exchange accepts only Palette ID tokens (subject_token_type %s), not %q", tokenTypeIDToken, printable(subjectTokenType, 100))
	}
	prov, err := c.providers.get(ctx)
	if err != nil {
		return connector.Identity{}, err
	}
	tok, err := prov.verifier.verify(ctx, subjectToken, fromOutside)
	if err != nil {
		return connector.Identity{}, err
	}
	return c.signedIn(ctx, connector.Scopes{Groups: true}, tok, subjectToken)
}
