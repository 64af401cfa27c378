package spectrotest

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"mime"
	"net/http"
	"net/url"
	"slices"
)

// maxTokenRequestBytes bounds the body of a token request.
const maxTokenRequestBytes = 64 << 10

// tokenResponse is the successful token response, as Palette's: its
// published API schema has no token_type (SetTokenType adds one).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type,omitempty"`
	ExpiresIn    int64  `json:"expires_in"`
	IDToken      string `json:"id_token"`
	RefreshToken string `json:"refresh_token"`
}

// handleToken serves the token endpoint: POST, form-encoded, client
// authentication by client_secret_basic or client_secret_post.
func (t *Tenant) handleToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		(&oauthError{http.StatusMethodNotAllowed, "invalid_request", "the token endpoint accepts POST only"}).write(w)
		return
	}
	resp, oerr := t.token(w, r)
	if oerr != nil {
		if oerr.status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="`+t.Issuer()+`"`)
		}
		oerr.write(w)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, resp)
}

func (t *Tenant) token(w http.ResponseWriter, r *http.Request) (*tokenResponse, *oauthError) {
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/x-www-form-urlencoded" {
		return nil, invalidRequest("the request body must be application/x-www-form-urlencoded")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxTokenRequestBytes)
	if err := r.ParseForm(); err != nil {
		return nil, invalidRequest("the request body is not a valid form")
	}
	form, repeated := singleValues(r.PostForm)
	if repeated != "" {
		return nil, invalidRequest("parameter " + repeated + " is repeated")
	}
	if t.redeemsBeforeRefusingBasic(r) {
		// This endpoint looks at the code before it authenticates the
		// client: the code is used up, then the client refused.
		if form["grant_type"] == "authorization_code" && form["code"] != "" {
			_, _ = t.redeemCode(form["code"])
		}
		return nil, invalidClient(AuthMethodBasic + " is not accepted by this token endpoint")
	}
	client, oerr := t.authenticateClient(r, form)
	if oerr != nil {
		return nil, oerr
	}
	switch grant := form["grant_type"]; grant {
	case "authorization_code":
		return t.authorizationCodeGrant(client, form)
	case "refresh_token":
		return t.refreshTokenGrant(client, form)
	case "":
		return nil, invalidRequest("grant_type is missing")
	default:
		return nil, &oauthError{http.StatusBadRequest, "unsupported_grant_type", "grant type " + grant + " is not supported"}
	}
}

// redeemsBeforeRefusingBasic reports whether r carries a Basic header that
// this endpoint refuses after looking at the code (RedeemThenRefuseBasic).
func (t *Tenant) redeemsBeforeRefusingBasic(r *http.Request) bool {
	if r.Header.Get("Authorization") == "" {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return !t.quirks.acceptsAuthMethod(AuthMethodBasic) && t.quirks.basicRefusal == RedeemThenRefuseBasic
}

// authenticateClient checks client_secret_basic (with the id and secret
// form-urlencoded inside the Basic credentials, RFC 6749 section 2.3.1) or
// client_secret_post. Using both at once is an error. A Basic header that
// the endpoint does not accept is refused, or ignored, as SetBasicRefusal
// says.
func (t *Tenant) authenticateClient(r *http.Request, form map[string]string) (Client, *oauthError) {
	id, secret := form["client_id"], form["client_secret"]
	_, postSecret := form["client_secret"]
	method := AuthMethodPost
	if r.Header.Get("Authorization") != "" {
		method = AuthMethodBasic
	}
	t.mu.Lock()
	accepted, refusal := t.quirks.acceptsAuthMethod(method), t.quirks.basicRefusal
	t.mu.Unlock()
	switch {
	case !accepted && method == AuthMethodBasic && refusal == IgnoreBasic:
		// The header is not read: the client is whatever the form says.
		if id == "" {
			return Client{}, invalidRequest("client_id is required")
		}
		method = AuthMethodPost
	case !accepted:
		// Checked before the code is looked at: a client that retries with
		// another method can still redeem it.
		return Client{}, invalidClient(method + " is not accepted by this token endpoint")
	}
	if method == AuthMethodBasic {
		basicID, basicSecret, ok := r.BasicAuth()
		if !ok {
			return Client{}, invalidClient("unsupported or malformed Authorization header")
		}
		if postSecret {
			return Client{}, invalidRequest("use one client authentication method, not both")
		}
		var errID, errSecret error
		basicID, errID = url.QueryUnescape(basicID)
		basicSecret, errSecret = url.QueryUnescape(basicSecret)
		if errID != nil || errSecret != nil {
			return Client{}, invalidClient("malformed client credentials")
		}
		if id != "" && id != basicID {
			return Client{}, invalidRequest("client_id does not match the authenticated client")
		}
		id, secret = basicID, basicSecret
	}
	if id == "" {
		return Client{}, invalidClient("client authentication is required")
	}
	t.mu.Lock()
	client, known := t.clients[id]
	t.mu.Unlock()
	if !known || client.Secret == "" ||
		subtle.ConstantTimeCompare([]byte(secret), []byte(client.Secret)) != 1 {
		return Client{}, invalidClient("client authentication failed")
	}
	return client, nil
}

func (t *Tenant) authorizationCodeGrant(client Client, form map[string]string) (*tokenResponse, *oauthError) {
	code := form["code"]
	if code == "" {
		return nil, invalidRequest("code is missing")
	}
	g, oerr := t.redeemCode(code)
	if oerr != nil {
		return nil, oerr
	}
	if g.clientID != client.ID {
		return nil, invalidGrant("the authorization code was issued to another client")
	}
	if form["redirect_uri"] != g.redirectURI {
		return nil, invalidGrant("redirect_uri does not match the authorization request")
	}
	t.mu.Lock()
	pkce := t.pkce
	t.mu.Unlock()
	verifier, sentVerifier := form["code_verifier"]
	switch {
	case g.challenge != "":
		if !sentVerifier {
			return nil, invalidGrant("code_verifier is required")
		}
		if !validPKCEValue(verifier) || !verifyPKCE(g.challengeMethod, g.challenge, verifier) {
			return nil, invalidGrant("code_verifier does not match the code challenge")
		}
	case sentVerifier && pkce:
		return nil, invalidGrant("code_verifier sent, but the authorization request had no code_challenge")
	}
	user, ok := t.lookupUser(g.user)
	if !ok {
		return nil, invalidGrant("the user no longer exists")
	}
	return t.issueTokens(client.ID, user, g.nonce, g.sessionID)
}

func (t *Tenant) refreshTokenGrant(client Client, form map[string]string) (*tokenResponse, *oauthError) {
	t.mu.Lock()
	standard := t.standardRefresh
	t.mu.Unlock()
	if !standard {
		return nil, invalidGrant("the refresh_token grant is not supported; sign in again")
	}
	tok := form["refresh_token"]
	if tok == "" {
		return nil, invalidRequest("refresh_token is missing")
	}
	g, oerr := t.redeemRefreshToken(tok, client.ID)
	if oerr != nil {
		return nil, oerr
	}
	user, ok := t.lookupUser(g.user)
	if !ok {
		return nil, invalidGrant("the user no longer exists")
	}
	return t.issueTokens(client.ID, user, "", g.sessionID)
}

// issueTokens builds a token response for user: an ID token (claims from
// Claims, then the hook, signed per SetIDTokenMint), a random access token and
// a session token as refresh token.
func (t *Tenant) issueTokens(clientID string, user User, nonce, sessionID string) (*tokenResponse, *oauthError) {
	t.mu.Lock()
	if !t.echoNonce {
		nonce = ""
	}
	hook, opts, lifetime, tokenType := t.idTokenHook, slices.Clone(t.idTokenMint), t.idTokenLifetime, t.quirks.tokenType
	t.mu.Unlock()

	claims := t.Claims(user, clientID, nonce)
	if hook != nil {
		hook(claims)
	}
	idToken, err := t.mint(claims, opts)
	if err != nil {
		return nil, &oauthError{http.StatusInternalServerError, "server_error", "cannot sign the ID token"}
	}
	refresh := t.issueRefreshToken(refreshGrant{clientID: clientID, user: userKey(user), sessionID: sessionID}, user.Sub)
	return &tokenResponse{
		AccessToken:  randomToken(),
		TokenType:    tokenType,
		ExpiresIn:    int64(lifetime.Seconds()),
		IDToken:      idToken,
		RefreshToken: refresh,
	}, nil
}

// validPKCEValue reports whether s is a well-formed code verifier or plain
// challenge (RFC 7636 section 4.1): 43 to 128 unreserved characters.
func validPKCEValue(s string) bool {
	if len(s) < 43 || len(s) > 128 {
		return false
	}
	for _, r := range s {
		if !isUnreserved(r) {
			return false
		}
	}
	return true
}

// verifyPKCE checks a code verifier against the recorded challenge.
func verifyPKCE(method, challenge, verifier string) bool {
	want := verifier
	if method == "S256" {
		sum := sha256.Sum256([]byte(verifier))
		want = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	return subtle.ConstantTimeCompare([]byte(want), []byte(challenge)) == 1
}

// randomToken returns an opaque access token.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails since Go 1.24
	return b64(b)
}
