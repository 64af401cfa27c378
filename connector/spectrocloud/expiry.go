package spectrocloud

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Expiry carries, for one HTTP request, when the Palette sign-in behind the
// identity the request handles ends: the exp of the Palette ID token. An HTTP
// layer that puts an Expiry in the request's context (WithExpiry) can cap the
// lifetime of the tokens Dex issues in that request, so that no Dex token
// outlives the Palette sign-in it was made from. The connector records the
// expiry when it verifies a token: at sign-in, refresh and token exchange.
type Expiry struct {
	mu  sync.Mutex
	at  time.Time
	set bool
}

type expiryKey struct{}

// WithExpiry returns a context in which the connector records the expiry of
// the Palette sign-in it verifies, and the Expiry that receives it.
func WithExpiry(ctx context.Context) (context.Context, *Expiry) {
	e := &Expiry{}
	return context.WithValue(ctx, expiryKey{}, e), e
}

// ExpiryFrom returns the Expiry of ctx, if it has one.
func ExpiryFrom(ctx context.Context) (*Expiry, bool) {
	e, ok := ctx.Value(expiryKey{}).(*Expiry)
	return e, ok
}

// Set records t; of several times recorded, the earliest is kept.
func (e *Expiry) Set(t time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.set || t.Before(e.at) {
		e.at, e.set = t, true
	}
}

// Get returns the recorded expiry, and false when none was recorded.
func (e *Expiry) Get() (time.Time, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.at, e.set
}

// recordExpiry records t in the Expiry of ctx, if ctx has one.
func recordExpiry(ctx context.Context, t time.Time) {
	if e, ok := ExpiryFrom(ctx); ok {
		e.Set(t)
	}
}

// SessionExpiry returns the exp of the Palette ID token held in connector
// data that this connector returned and Dex stored (an auth code's, an auth
// request's or an offline session's). It reads the stored token without
// verifying it again: the connector verified it before handing it to Dex,
// and storage is trusted. Data that is not this connector's is an error.
func SessionExpiry(connectorData []byte) (time.Time, error) {
	raw, err := decodeSession(connectorData)
	if err != nil {
		return time.Time{}, err
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return time.Time{}, errBadSession
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}, errBadSession
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		return time.Time{}, errBadSession
	}
	exp, err := numericDate(claims, "exp")
	if err != nil {
		return time.Time{}, fmt.Errorf("spectrocloud: stored session: %w", err)
	}
	return exp, nil
}
