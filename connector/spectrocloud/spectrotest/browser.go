package spectrotest

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
)

// Authorize plays the browser for an authorization URL built by a client (for
// example a connector's login URL): it sends the GET to the tenant, without
// following redirects, and returns the redirect's Location, which is the
// client's callback URL with code and state, or with error and
// error_description. An answer that is not a redirect (such as the sign-in page
// when no auto-login user is set, or the error page for an unregistered
// redirect URI) is returned as an error with its status and the start of its
// body.
//
// The request is handled in process, through the Console's handler, so it works
// whatever server the Console is mounted in; it is counted and subject to faults
// like any other. authURL must be this tenant's authorization endpoint.
func (t *Tenant) Authorize(ctx context.Context, authURL string) (*url.URL, error) {
	u, err := t.checkAuthURL(authURL)
	if err != nil {
		return nil, err
	}
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	return t.browse(req)
}

// AuthorizeAs plays the browser on the sign-in page: it submits the form for
// the authorization URL's parameters with login=<login> (an email, or the
// subject of a user without email), as clicking that user's button does, and
// returns the redirect's Location like Authorize.
func (t *Tenant) AuthorizeAs(ctx context.Context, authURL, login string) (*url.URL, error) {
	u, err := t.checkAuthURL(authURL)
	if err != nil {
		return nil, err
	}
	form := u.Query()
	form.Set("login", login)
	u.RawQuery = ""
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return t.browse(req)
}

func (t *Tenant) checkAuthURL(authURL string) (*url.URL, error) {
	u, err := url.Parse(authURL)
	if err != nil {
		return nil, fmt.Errorf("spectrotest: parse authorization URL: %w", err)
	}
	want, err := url.Parse(t.AuthURL())
	if err != nil {
		return nil, fmt.Errorf("spectrotest: parse the tenant's authorization endpoint: %w", err)
	}
	if u.Scheme != want.Scheme || u.Host != want.Host || u.Path != want.Path {
		return nil, fmt.Errorf("spectrotest: %s is not the authorization endpoint of tenant %s (%s)",
			u.Scheme+"://"+u.Host+u.Path, t.uid, t.AuthURL())
	}
	return u, nil
}

// browse sends req to the console and returns the Location of a redirect.
func (t *Tenant) browse(req *http.Request) (*url.URL, error) {
	if err := req.Context().Err(); err != nil {
		return nil, fmt.Errorf("spectrotest: authorization request: %w", err)
	}
	rec := httptest.NewRecorder()
	t.console.ServeHTTP(rec, req)
	if err := req.Context().Err(); err != nil {
		return nil, fmt.Errorf("spectrotest: authorization request: %w", err)
	}
	res := rec.Result()
	location := res.Header.Get("Location")
	if res.StatusCode < 300 || res.StatusCode > 399 || location == "" {
		return nil, fmt.Errorf("spectrotest: authorization request answered %s, not a redirect: %s",
			res.Status, excerpt(res.Header.Get("Content-Type"), rec.Body.String()))
	}
	loc, err := req.URL.Parse(location)
	if err != nil {
		return nil, fmt.Errorf("spectrotest: parse redirect location: %w", err)
	}
	return loc, nil
}

// excerpt returns the start of a body on one line; of an HTML page, the start
// of its text.
func excerpt(contentType, body string) string {
	const limit = 300
	if strings.HasPrefix(contentType, "text/html") {
		body = htmlText(body)
	}
	body = strings.Join(strings.Fields(body), " ")
	if len(body) > limit {
		body = body[:limit] + "..."
	}
	return body
}

// htmlText returns the text of an HTML page's body, without markup.
func htmlText(page string) string {
	if _, after, ok := strings.Cut(page, "<body>"); ok {
		page = after
	}
	var text strings.Builder
	inTag := false
	for _, r := range page {
		switch {
		case r == '<':
			inTag = true
			text.WriteByte(' ')
		case r == '>':
			inTag = false
		case !inTag:
			text.WriteRune(r)
		}
	}
	return html.UnescapeString(text.String())
}
