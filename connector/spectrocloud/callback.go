package spectrocloud

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"syscall"
	"time"
	"unicode"

	"github.com/dexidp/dex/connector"
	"golang.org/x/oauth2"

	"github.com/dex-spectro/dex-spectro/internal/probe"
)

// HandleCallback completes a sign-in: it exchanges the code (client secret,
// sent as clientAuth decides, and PKCE verifier), verifies the ID token
// including its nonce, and maps its claims to an identity. Palette's refresh_token, its internal session
// token, is dropped unread.
func (c *spectroConnector) HandleCallback(s connector.Scopes, connData []byte, r *http.Request) (connector.Identity, error) {
	id, err := c.handleCallback(r.Context(), s, connData, r)
	outcome := outcomeOf(err)
	c.metrics.login(outcome)
	if err != nil {
		attrs := []any{"outcome", outcome, "err", err}
		var authErr *AuthorizationError
		if errors.As(err, &authErr) && authErr.Description != "" {
			attrs = append(attrs, "palette_error_description", printable(authErr.Description, 200))
		}
		c.logger.Info("sign-in failed", attrs...)
		recordFailure(r.Context(), err)
		return connector.Identity{}, err
	}
	c.logger.Info("sign-in", "outcome", outcome, "user_id", id.UserID, "email", id.Email)
	return id, nil
}

func (c *spectroConnector) handleCallback(ctx context.Context, s connector.Scopes, connData []byte, r *http.Request) (connector.Identity, error) {
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		return connector.Identity{}, &AuthorizationError{Code: e, Description: q.Get("error_description")}
	}
	code := q.Get("code")
	if code == "" {
		return connector.Identity{}, errors.New("spectrocloud: Palette's answer has neither a code nor an error: start the sign-in again")
	}
	ls, err := c.decodeLoginState(connData)
	if err != nil {
		return connector.Identity{}, err
	}
	prov, err := c.providers.get(ctx)
	if err != nil {
		return connector.Identity{}, err
	}
	var opts []oauth2.AuthCodeOption
	if ls.Verifier != "" {
		opts = append(opts, oauth2.VerifierOption(ls.Verifier))
	}
	raw, err := c.exchange(ctx, prov, code, opts)
	if err != nil {
		return connector.Identity{}, err
	}
	tok, err := prov.verifier.verify(ctx, raw, fromPalette)
	if rec := probe.SignInFrom(ctx); rec != nil {
		rec.Token = describeIDToken(raw, c.s.claims, err == nil, ls.Nonce)
	}
	if err != nil {
		return connector.Identity{}, err
	}
	if err := tok.checkNonce(ls.Nonce, c.s.insecureAllowMissingNonce); err != nil {
		return connector.Identity{}, err
	}
	return c.signedIn(ctx, s, tok, raw)
}

// exchange redeems the code at Palette's token endpoint, with one request,
// and returns the raw ID token. Errors describe the failure without echoing
// the response body.
func (c *spectroConnector) exchange(ctx context.Context, prov *provider, code string, opts []oauth2.AuthCodeOption) (string, error) {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, c.client)
	start := time.Now()
	tok, req, err := c.auth.redeem(ctx, prov.oauth2, code, opts)
	c.metrics.upstream("token", start, err)
	if rec := probe.SignInFrom(ctx); rec != nil {
		rec.ClientAuth = &probe.ClientAuth{Method: req.attempt.method, Choice: req.attempt.why, Accepted: err == nil}
		if req.refusal != nil {
			rec.ClientAuth.Refusal, rec.ClientAuth.Advice = req.refusal.summary, req.refusal.advice
		}
	}
	if err != nil {
		attrs := []any{"client_auth", req.attempt.method, "client_auth_choice", req.attempt.why}
		if req.refusal == nil {
			c.logger.Debug("palette token request failed", attrs...)
			return "", &UpstreamError{Endpoint: "token", Err: describeTokenError(err)}
		}
		attrs = append(attrs, "answer", req.refusal.answer)
		if req.next != "" {
			attrs = append(attrs, "next_client_auth", req.next)
			c.logger.Warn("palette's token endpoint refused the client authentication method; the next sign-in tries the other one", attrs...)
		} else {
			c.logger.Info("palette's token endpoint refused the client authentication", attrs...)
		}
		return "", &UpstreamError{Endpoint: "token", Err: req.refusal}
	}
	c.logger.Debug("palette token request", "client_auth", req.attempt.method, "client_auth_choice", req.attempt.why)
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return "", &UpstreamError{Endpoint: "token", Err: errNoIDToken}
	}
	return raw, nil
}

// describeTokenError turns an x/oauth2 error into a message with the OAuth
// error code or the HTTP status, never the body (which may be large, HTML,
// or echo request material).
func describeTokenError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		if re.ErrorCode != "" {
			msg := "Palette refused the code: " + printable(re.ErrorCode, 64)
			if re.ErrorDescription != "" {
				msg += " (" + printable(re.ErrorDescription, 200) + ")"
			}
			return errors.New(msg)
		}
		if re.Response != nil {
			return fmt.Errorf("unexpected answer HTTP %d", re.Response.StatusCode)
		}
	}
	if errors.Is(err, errResponseTooLarge) {
		return errResponseTooLarge
	}
	if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		return &describedError{msg: "Palette did not answer in time", err: err}
	}
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return &describedError{msg: "Palette could not be reached (connection refused)", err: err}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET):
		return &describedError{msg: "Palette could not be reached (the connection was closed)", err: err}
	}
	msg := err.Error()
	if strings.Contains(msg, "server closed idle connection") {
		// net/http's error for a kept-alive connection that Palette closed
		// as the request went out; it has no exported type.
		return &describedError{msg: "Palette could not be reached (the connection was closed)", err: err}
	}
	if strings.Contains(msg, "oauth2: cannot parse json") || strings.Contains(msg, "oauth2: cannot parse response") {
		return errors.New("the answer is not a valid token response")
	}
	if strings.Contains(msg, "server response missing access_token") {
		return errors.New("the answer has no access_token")
	}
	return &describedError{msg: "request failed: " + printable(msg, 200), err: err}
}

// describedError is a failed token request told in a message of its own,
// which keeps the failure it describes for errors.Is and errors.As (a
// timeout, a refused connection) without printing it.
type describedError struct {
	msg string
	err error
}

func (e *describedError) Error() string { return e.msg }
func (e *describedError) Unwrap() error { return e.err }

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// printable keeps printable characters of s, at most n runes.
func printable(s string, n int) string {
	var b strings.Builder
	for _, r := range s {
		if n == 0 {
			b.WriteString("…")
			break
		}
		if unicode.IsPrint(r) {
			b.WriteRune(r)
			n--
		}
	}
	return b.String()
}

// AuthorizationError is an error Palette returned to the callback instead of
// a code, such as access_denied.
//
// Anyone can craft a callback URL with any error and description, and the
// message is shown on Dex's error page, so Error names only an error code of
// the OAuth form (letters, digits, '_', '.', '-'); the description is for
// the log.
type AuthorizationError struct {
	Code        string
	Description string
}

var oauthErrorCodeRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

func (e *AuthorizationError) Error() string {
	code := e.Code
	if !oauthErrorCodeRE.MatchString(code) {
		code = "an unrecognised error"
	}
	return "spectrocloud: Palette did not sign you in: " + code
}
