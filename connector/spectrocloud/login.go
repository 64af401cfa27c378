package spectrocloud

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dexidp/dex/connector"
	"golang.org/x/oauth2"
)

// loginVersion is the version of the login state format.
const loginVersion = 1

// loginState is the per-sign-in secret state carried in Dex's auth request
// (connData) from LoginURL to HandleCallback. Nothing is kept in memory.
type loginState struct {
	Version  int    `json:"v"`
	Nonce    string `json:"nonce"`
	Verifier string `json:"pkceVerifier,omitempty"`
}

// LoginURL returns Palette's authorization URL with state, a fresh nonce,
// a PKCE challenge (unless pkceChallenge is none) and the configured prompt
// and scopes.
func (c *spectroConnector) LoginURL(_ connector.Scopes, callbackURL, state string) (string, []byte, error) {
	if callbackURL != c.s.redirectURI {
		return "", nil, fmt.Errorf("spectrocloud: Dex's callback URL %q differs from redirectURI %q: set redirectURI to Dex's issuer followed by /callback", callbackURL, c.s.redirectURI)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.s.timeout)
	defer cancel()
	prov, err := c.providers.get(ctx)
	if err != nil {
		c.metrics.login(outcomeOf(err))
		return "", nil, err
	}
	nonce, err := randomToken()
	if err != nil {
		return "", nil, err
	}
	ls := loginState{Version: loginVersion, Nonce: nonce}
	opts := []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("nonce", nonce)}
	switch c.s.pkce {
	case pkceS256:
		ls.Verifier = oauth2.GenerateVerifier()
		opts = append(opts, oauth2.S256ChallengeOption(ls.Verifier))
	case pkcePlain:
		ls.Verifier = oauth2.GenerateVerifier()
		opts = append(opts,
			oauth2.SetAuthURLParam("code_challenge", ls.Verifier),
			oauth2.SetAuthURLParam("code_challenge_method", pkcePlain))
	}
	if c.s.prompt != "" {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", c.s.prompt))
	}
	data, err := json.Marshal(ls)
	if err != nil {
		return "", nil, fmt.Errorf("spectrocloud: encode login state: %w", err)
	}
	return prov.oauth2.AuthCodeURL(state, opts...), data, nil
}

// randomToken returns 128 random bits, base64url-encoded.
func randomToken() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("spectrocloud: generate nonce: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// errBadLoginState is returned for login state that is missing, corrupt or
// from another connector.
var errBadLoginState = errors.New("spectrocloud: the sign-in state is missing or corrupt: start the sign-in again")

// decodeLoginState reads connData strictly.
func (c *spectroConnector) decodeLoginState(data []byte) (loginState, error) {
	var ls loginState
	if len(data) == 0 || len(data) > 4096 {
		return ls, errBadLoginState
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ls); err != nil || dec.More() {
		return ls, errBadLoginState
	}
	if ls.Version != loginVersion || len(ls.Nonce) < 22 {
		return ls, errBadLoginState
	}
	if c.s.pkce != "" && ls.Verifier == "" {
		return ls, errBadLoginState
	}
	return ls, nil
}
