package spectrocloud

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"golang.org/x/oauth2"
)

// Client authentication methods at the token endpoint, by their names in
// token_endpoint_auth_methods_supported.
const (
	authMethodBasic = "client_secret_basic"
	authMethodPost  = "client_secret_post"
)

// How the client authentication method of a token request was chosen.
const (
	authChosenByConfigPost     = "basicAuthUnsupported: true"
	authChosenByConfigBasic    = "basicAuthUnsupported: false"
	authChosenByDiscoveryPost  = "discovery lists client_secret_post in token_endpoint_auth_methods_supported"
	authChosenByDiscoveryBasic = "discovery lists client_secret_basic, and not client_secret_post, in token_endpoint_auth_methods_supported"
	authChosenByDefault        = "the default: discovery does not say which methods the token endpoint takes, and client_secret_post is the one known to work with Palette"
	authChosenByOverride       = "the default: providerDiscoveryOverrides.tokenURL is set, so discovery's methods do not apply, and client_secret_post is the one known to work with Palette"
	authChosenByMemory         = "it worked at an earlier sign-in, after the token endpoint had refused the other method"
)

// authMode is what basicAuthUnsupported asks for.
type authMode int

const (
	authAutomatic   authMode = iota // unset
	authAlwaysPost                  // true
	authAlwaysBasic                 // false
)

func authModeOf(basicAuthUnsupported *bool) authMode {
	switch {
	case basicAuthUnsupported == nil:
		return authAutomatic
	case *basicAuthUnsupported:
		return authAlwaysPost
	}
	return authAlwaysBasic
}

// clientAuth chooses how the connector authenticates at Palette's token
// endpoint. client_secret_post is the one method known to work with
// Palette; whether it takes client_secret_basic, and how it refuses it, is
// not known. basicAuthUnsupported decides when it is set (true: post,
// false: basic). Unset, the method is client_secret_basic only when
// discovery lists it and not client_secret_post, and client_secret_post
// otherwise (no discovery, no list, a list with both).
//
// A code is single use, and a token endpoint may use it up before it
// refuses the client, so each sign-in sends its code once, whatever the
// answer. When that answer says the method is wrong (invalid_client or an
// HTTP 401, or an invalid_request about the missing client_id or
// credentials), the error says which key to set, and, unset, the next
// sign-in (a new code) tries the other method; a method that worked once
// is never given up that way, since its refusal then means wrong
// credentials. It is safe for concurrent use.
type clientAuth struct {
	mode authMode

	mu     sync.Mutex
	first  authAttempt  // what discovery, or its absence, makes the method
	next   *authAttempt // after a refusal or a success that followed one
	worked string       // a method a token request succeeded with, "" before
}

func newClientAuth(mode authMode) *clientAuth {
	return &clientAuth{mode: mode, first: authAttempt{authMethodPost, authChosenByDefault}}
}

// authAttempt is one way of sending a token request.
type authAttempt struct {
	method string // authMethodBasic or authMethodPost
	why    string // how it was chosen
}

func (a authAttempt) style() oauth2.AuthStyle {
	if a.method == authMethodPost {
		return oauth2.AuthStyleInParams
	}
	return oauth2.AuthStyleInHeader
}

func otherMethod(method string) string {
	if method == authMethodPost {
		return authMethodBasic
	}
	return authMethodPost
}

// discovered records what a discovery document (nil when there is none)
// says about the token endpoint. tokenOverridden, true when
// providerDiscoveryOverrides.tokenURL replaces the document's token
// endpoint, makes the document's methods irrelevant.
func (a *clientAuth) discovered(doc *discoveryDoc, tokenOverridden bool) {
	first := authAttempt{authMethodPost, authChosenByDefault}
	switch {
	case doc != nil && tokenOverridden:
		first.why = authChosenByOverride
	case doc == nil:
	case contains(doc.TokenAuthMethods, authMethodPost):
		first.why = authChosenByDiscoveryPost
	case contains(doc.TokenAuthMethods, authMethodBasic):
		first = authAttempt{authMethodBasic, authChosenByDiscoveryBasic}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.first = first
}

// plan returns how the next token request authenticates.
func (a *clientAuth) plan() authAttempt {
	switch a.mode {
	case authAlwaysPost:
		return authAttempt{authMethodPost, authChosenByConfigPost}
	case authAlwaysBasic:
		return authAttempt{authMethodBasic, authChosenByConfigBasic}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.next != nil {
		return *a.next
	}
	return a.first
}

// tokenRequest is the outcome of one token request.
type tokenRequest struct {
	attempt authAttempt
	// refusal is set when the answer says the method or the credentials
	// are wrong.
	refusal *authRefusal
	// next is the method the next sign-in tries instead, "" when it does
	// not change.
	next string
}

// redeem sends the one token request of a sign-in, as plan says, and
// learns from its answer.
func (a *clientAuth) redeem(ctx context.Context, cfg *oauth2.Config, code string, opts []oauth2.AuthCodeOption) (*oauth2.Token, tokenRequest, error) {
	req := tokenRequest{attempt: a.plan()}
	c := *cfg
	c.Endpoint.AuthStyle = req.attempt.style()
	tok, err := c.Exchange(ctx, code, opts...)
	if err == nil {
		a.succeeded(req.attempt)
		return tok, req, nil
	}
	req.refusal = a.refusalOf(req.attempt, err)
	if req.refusal != nil && req.refusal.methodRefused {
		req.next = a.refused(req.attempt, req.refusal.answer)
		req.refusal.advise(a.mode, req.attempt, req.next)
	}
	return nil, req, err
}

func (a *clientAuth) succeeded(attempt authAttempt) {
	if a.mode != authAutomatic {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.worked = attempt.method
	if a.next != nil && a.next.method == attempt.method {
		a.next = &authAttempt{attempt.method, authChosenByMemory}
	}
}

// refused switches the next sign-in to the other method, unless the method
// is set by basicAuthUnsupported or has worked before. It returns the
// method the next sign-in tries instead, "" for none.
func (a *clientAuth) refused(attempt authAttempt, answer string) string {
	if a.mode != authAutomatic {
		return ""
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.worked == attempt.method {
		return ""
	}
	other := otherMethod(attempt.method)
	a.next = &authAttempt{other, fmt.Sprintf("switched: the token endpoint refused %s at an earlier sign-in (%s)", attempt.method, answer)}
	return other
}

// authRefusal is a token endpoint's answer that says the client
// authentication method, or the credentials, may be wrong.
type authRefusal struct {
	// answer names the answer: an OAuth error code, or an HTTP status.
	answer string
	// methodRefused is true when the answer is about the client's
	// authentication (it never is for invalid_grant).
	methodRefused bool
	// summary says what happened; advice what to do about it.
	summary, advice string
}

func (r *authRefusal) Error() string { return r.summary + ": " + r.advice }

// refusalOf reads a failed token request's answer. It returns nil for
// answers that say nothing about client authentication.
func (a *clientAuth) refusalOf(attempt authAttempt, err error) *authRefusal {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return nil
	}
	desc := ""
	if re.ErrorDescription != "" {
		desc = ": " + printable(re.ErrorDescription, 200)
	}
	switch {
	case re.ErrorCode == "invalid_client",
		re.ErrorCode == "" && re.Response != nil && re.Response.StatusCode == http.StatusUnauthorized:
		answer := "invalid_client"
		if re.ErrorCode == "" {
			answer = "HTTP 401"
		}
		return &authRefusal{answer: answer, methodRefused: true,
			summary: fmt.Sprintf("Palette refused the client credentials sent with %s (%s): %s%s", attempt.method, attempt.why, answer, desc)}
	case re.ErrorCode == "invalid_request" && attempt.method == authMethodBasic && aboutClientCredentials(re.ErrorDescription):
		return &authRefusal{answer: "invalid_request", methodRefused: true,
			summary: fmt.Sprintf("Palette did not read the client credentials sent with %s (%s): invalid_request%s", attempt.method, attempt.why, desc)}
	case re.ErrorCode == "invalid_grant" && attempt.method == authMethodBasic && !a.hasWorked(authMethodBasic):
		r := &authRefusal{answer: "invalid_grant",
			summary: fmt.Sprintf("Palette refused the code sent with %s (%s): invalid_grant%s", attempt.method, attempt.why, desc)}
		r.advice = "sign in again, and if every sign-in fails so, set basicAuthUnsupported: true, since Palette may use up the code before it refuses client_secret_basic"
		return r
	}
	return nil
}

func (a *clientAuth) hasWorked(method string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.worked == method
}

// aboutClientCredentials reports whether an invalid_request's description
// complains about the client's identity or credentials, as a token endpoint
// that does not read the Authorization header does.
func aboutClientCredentials(description string) bool {
	d := strings.ToLower(description)
	for _, s := range []string{"client_id", "client id", "client_secret", "client secret", "credential", "client authentication", "authorization header"} {
		if strings.Contains(d, s) {
			return true
		}
	}
	return false
}

// advise sets what an operator can do about a refused method: which key to
// set, and what the connector does on its own. next is the method the next
// sign-in tries instead, "" when it keeps this one.
func (r *authRefusal) advise(mode authMode, attempt authAttempt, next string) {
	var advice string
	switch {
	case r.answer == "invalid_request":
		advice = "Palette reads them from the form only: set basicAuthUnsupported: true (client_secret_post)"
		if next == authMethodPost {
			advice += ", which the next sign-in tries on its own"
		}
	case mode == authAlwaysPost:
		advice = "check clientID and clientSecret, and if they are right and Palette takes client_secret_basic only, set basicAuthUnsupported: false"
	case mode == authAlwaysBasic:
		advice = "check clientID and clientSecret, and if they are right, set basicAuthUnsupported: true (client_secret_post) or remove the key, since Palette may not take client_secret_basic"
	case next == "":
		advice = fmt.Sprintf("check clientID and clientSecret (%s worked at an earlier sign-in)", attempt.method)
	case next == authMethodPost:
		advice = "check clientID and clientSecret, and if they are right, Palette does not take client_secret_basic: the next sign-in tries client_secret_post, and basicAuthUnsupported: true makes it the rule"
	default:
		advice = "check clientID and clientSecret, and if they are right, Palette may take client_secret_basic only: the next sign-in tries it, and basicAuthUnsupported: false makes it the rule"
	}
	r.advice = advice + ", then sign in again"
}
