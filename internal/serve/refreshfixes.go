package serve

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/dexidp/dex/storage"
)

// refreshTokens compares the secret of a refresh token in constant time
// before Dex does.
//
// Dex v2.45.1 checks a refresh token (its ID and secret, encoded together)
// by looking the ID up and comparing the secret with != (timing), on the
// refresh grant of POST /token and on POST /token/introspect, which needs
// no client authentication at all. Here the secret is compared with the
// stored one, and with the previous one Dex still accepts within the
// reuse interval, in constant time; a token that matches neither is
// refused as Dex refuses it (invalid_request on /token, inactive on
// introspection), so Dex's own comparison only ever sees a secret that
// matches. Dex main compares in constant time (dexidp/dex#4927).
type refreshTokens struct {
	next       http.Handler
	store      storage.Storage
	logger     *slog.Logger
	token      string // path of the token endpoint
	introspect string // path of the introspection endpoint
	tokens     *dexPair
}

// newRefreshTokens wraps next, Dex's handler at routes, over Dex's storage
// s.
func newRefreshTokens(next http.Handler, s storage.Storage, routes dexRoutes, logger *slog.Logger) (*refreshTokens, error) {
	tokens, err := newDexPair()
	if err != nil {
		return nil, fmt.Errorf("refresh token format: %w", err)
	}
	return &refreshTokens{
		next:       next,
		store:      s,
		logger:     logger,
		token:      routes.path("/token"),
		introspect: routes.path("/token/introspect"),
		tokens:     tokens,
	}, nil
}

func (t *refreshTokens) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || (r.URL.Path != t.token && r.URL.Path != t.introspect) {
		t.next.ServeHTTP(w, r)
		return
	}
	// Dex parses the same form again; Go's form parsing then keeps what is
	// parsed here (with its size limit).
	if err := r.ParseForm(); err != nil {
		writeTokenError(w, http.StatusBadRequest, "invalid_request", "Couldn't parse data")
		return
	}
	introspect := r.URL.Path == t.introspect
	var raw, clientID string
	if introspect {
		raw = r.PostForm.Get("token")
	} else {
		if r.PostFormValue("grant_type") != "refresh_token" {
			t.next.ServeHTTP(w, r)
			return
		}
		raw = r.PostFormValue("refresh_token")
		var ok bool
		if clientID, ok = requestClientID(r); !ok {
			t.next.ServeHTTP(w, r) // Dex refuses the client before it reads the token
			return
		}
	}
	if raw == "" {
		t.next.ServeHTTP(w, r)
		return
	}
	if ok, current := t.matches(r, raw, clientID, introspect); ok {
		if current != nil && !introspect {
			// For prepareRefreshes: the token whose refresh Dex will ask
			// the connector for.
			r = r.WithContext(withStoredRefresh(r.Context(), *current))
		}
		t.next.ServeHTTP(w, r)
		return
	}
	if introspect {
		writeInactive(w)
		return
	}
	writeTokenError(w, http.StatusBadRequest, "invalid_request", "Refresh token is invalid or has already been claimed by another client.")
}

// matches reports whether the refresh token raw may reach Dex: its secret
// is the stored one or the previous one, or Dex refuses it without
// comparing secrets (an unknown ID, another client's token, a storage
// error). When the secret is the stored one, the stored token is returned
// too.
func (t *refreshTokens) matches(r *http.Request, raw, clientID string, introspect bool) (bool, *storage.RefreshToken) {
	id, secret := t.decode(raw)
	stored, err := t.store.GetRefresh(r.Context(), id)
	if err != nil {
		return true, nil
	}
	if !introspect && stored.ClientID != clientID {
		return true, nil
	}
	current := equalSecrets(stored.Token, secret)
	previous := stored.ObsoleteToken != "" && equalSecrets(stored.ObsoleteToken, secret)
	switch {
	case current:
		return true, &stored
	case previous:
		return true, nil
	}
	t.logger.WarnContext(r.Context(), "refresh token with a wrong secret refused", "token_id", stored.ID, "client_id", stored.ClientID, "introspection", introspect)
	return false, nil
}

// decode splits a refresh token into its ID and secret as Dex v2.45.1
// does: base64url (unpadded) of a protobuf message with the ID in field 1
// and the secret in field 2; a value that does not decode is taken as the
// ID of a token from an old Dex, without a secret.
func (t *refreshTokens) decode(raw string) (id, secret string) {
	id, secret, err := t.tokens.decode(raw)
	if err != nil {
		return raw, ""
	}
	return id, secret
}

// requestClientID returns the client ID of a token request as Dex reads
// it: from HTTP basic authentication (URL-encoded) or else the form; false
// when Dex refuses its encoding.
func requestClientID(r *http.Request) (string, bool) {
	if id, _, ok := r.BasicAuth(); ok {
		id, err := url.QueryUnescape(id)
		return id, err == nil
	}
	return r.PostFormValue("client_id"), true
}

// writeInactive answers an introspection request for a token that is not
// active, as Dex does.
func writeInactive(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(map[string]bool{"active": false})
}
