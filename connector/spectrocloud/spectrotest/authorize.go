package spectrotest

import (
	"crypto/sha256"
	"encoding/base64"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// maxAuthRequestBytes bounds the body of a sign-in form submission.
const maxAuthRequestBytes = 64 << 10

// authRequest is a validated authorization request.
type authRequest struct {
	params          map[string]string // as received, without login
	client          Client
	redirectURI     string // exactly as registered
	redirectURL     *url.URL
	state           string
	nonce           string
	prompts         []string
	challenge       string
	challengeMethod string
}

// handleAuth serves the authorization endpoint. GET starts a sign-in; POST is
// the sign-in page's form, carrying the original parameters plus login=<email>.
//
// Until client_id and redirect_uri are known to be good, errors are shown as an
// HTML page (400) and never redirected; after that, errors are redirected to
// the client as RFC 6749 section 4.1.2.1 says.
func (t *Tenant) handleAuth(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodGet, http.MethodPost) {
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	raw, ok := t.authValues(w, r)
	if !ok {
		return
	}
	req, problem := t.checkClient(raw)
	if problem != "" {
		t.renderError(w, http.StatusBadRequest, "Invalid request", problem)
		return
	}
	req.state = raw.Get("state")
	if code, desc := t.checkAuthParams(raw, req); code != "" {
		redirectTo(w, req.redirectURL, map[string]string{"error": code, "error_description": desc, "state": req.state})
		return
	}

	t.mu.Lock()
	autoLogin := t.autoLogin
	t.mu.Unlock()
	var login string
	switch _, posted := raw["login"]; {
	case r.Method == http.MethodPost && posted:
		login = raw.Get("login")
	case autoLogin != "":
		login = autoLogin
	case slices.Contains(req.prompts, "none"):
		redirectTo(w, req.redirectURL, map[string]string{
			"error": "login_required", "error_description": "the user is not signed in", "state": req.state,
		})
		return
	default:
		t.renderSignIn(w, r, req)
		return
	}
	user, ok := t.lookupUser(login)
	if !ok {
		t.renderError(w, http.StatusUnauthorized, "Unknown user", "unknown user: "+login)
		return
	}
	code := t.issueCode(codeGrant{
		clientID:        req.client.ID,
		redirectURI:     req.redirectURI,
		user:            userKey(user),
		nonce:           req.nonce,
		challenge:       req.challenge,
		challengeMethod: req.challengeMethod,
	}, user.Sub)
	redirectTo(w, req.redirectURL, map[string]string{"code": code, "state": req.state})
}

// authValues returns the request's parameters: the query of a GET, the form
// body of a POST.
func (t *Tenant) authValues(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	if r.Method == http.MethodGet {
		return r.URL.Query(), true
	}
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/x-www-form-urlencoded" {
		t.renderError(w, http.StatusBadRequest, "Invalid request", "the form must be application/x-www-form-urlencoded")
		return nil, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxAuthRequestBytes)
	if err := r.ParseForm(); err != nil {
		t.renderError(w, http.StatusBadRequest, "Invalid request", "the form cannot be parsed")
		return nil, false
	}
	return r.PostForm, true
}

// checkClient validates client_id and redirect_uri, which must be sent once and
// match a registered client and one of its redirect URIs exactly.
func (t *Tenant) checkClient(raw url.Values) (*authRequest, string) {
	ids, uris := raw["client_id"], raw["redirect_uri"]
	switch {
	case len(ids) == 0 || ids[0] == "":
		return nil, "client_id is missing"
	case len(ids) > 1:
		return nil, "client_id is repeated"
	}
	t.mu.Lock()
	client, known := t.clients[ids[0]]
	t.mu.Unlock()
	switch {
	case !known:
		return nil, "unknown client_id " + ids[0]
	case len(uris) == 0 || uris[0] == "":
		return nil, "redirect_uri is missing"
	case len(uris) > 1:
		return nil, "redirect_uri is repeated"
	case !slices.Contains(client.RedirectURIs, uris[0]):
		return nil, "redirect_uri " + uris[0] + " is not registered for client " + client.ID
	}
	u, err := url.Parse(uris[0])
	if err != nil || !u.IsAbs() {
		return nil, "the registered redirect_uri " + uris[0] + " is not an absolute URL"
	}
	return &authRequest{client: client, redirectURI: uris[0], redirectURL: u}, ""
}

// checkAuthParams validates the other parameters into req, or returns the OAuth
// error code and description to redirect with.
func (t *Tenant) checkAuthParams(raw url.Values, req *authRequest) (code, description string) {
	params, repeated := singleValues(raw)
	if repeated != "" {
		return "invalid_request", "parameter " + repeated + " is repeated"
	}
	delete(params, "login")
	req.params = params
	req.nonce = params["nonce"]

	switch rt := params["response_type"]; rt {
	case "code":
	case "":
		return "invalid_request", "response_type is missing"
	default:
		return "unsupported_response_type", "response_type " + rt + " is not supported; use code"
	}
	if !slices.Contains(strings.Fields(params["scope"]), "openid") {
		return "invalid_scope", "scope must contain openid"
	}
	req.prompts = strings.Fields(params["prompt"])
	for _, p := range req.prompts {
		switch p {
		case "none", "login", "consent", "select_account":
		default:
			return "invalid_request", "prompt " + p + " is not supported"
		}
	}
	if slices.Contains(req.prompts, "none") && len(req.prompts) > 1 {
		return "invalid_request", "prompt none cannot be combined with other values"
	}

	t.mu.Lock()
	pkce := t.pkce
	t.mu.Unlock()
	if !pkce {
		return "", ""
	}
	challenge, method := params["code_challenge"], params["code_challenge_method"]
	if challenge == "" {
		if method != "" {
			return "invalid_request", "code_challenge_method sent without code_challenge"
		}
		return "", ""
	}
	if method == "" {
		method = "plain" // RFC 7636 section 4.3
	}
	switch method {
	case "S256":
		if hash, err := base64.RawURLEncoding.DecodeString(challenge); err != nil || len(hash) != sha256.Size {
			return "invalid_request", "code_challenge is not a base64url-encoded SHA-256 hash"
		}
	case "plain":
		if !validPKCEValue(challenge) {
			return "invalid_request", "code_challenge must be 43 to 128 unreserved characters"
		}
	default:
		return "invalid_request", "code_challenge_method " + method + " is not supported"
	}
	req.challenge, req.challengeMethod = challenge, method
	return "", ""
}

// redirectTo answers 302 to base with params added to its query; empty values
// are left out.
func redirectTo(w http.ResponseWriter, base *url.URL, params map[string]string) {
	u := *base
	q := u.Query()
	for name, value := range params {
		if value != "" {
			q.Set(name, value)
		}
	}
	u.RawQuery = q.Encode()
	w.Header().Set("Location", u.String())
	w.WriteHeader(http.StatusFound)
}
