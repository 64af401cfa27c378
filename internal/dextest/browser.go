package dextest

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
)

// maxSteps bounds the pages and redirects of one walk.
const maxSteps = 30

// Browser is the tests' user agent, the user's browser: it keeps cookies,
// follows redirects between an application, Dex and Palette, picks a user
// on Palette's sign-in page, and fills in Dex's login and approval pages.
type Browser struct {
	// Client sends the requests; it must not follow redirects itself.
	Client *http.Client
	// Connector is the name of the connector to pick on Dex's login page.
	Connector string
	// Login and Password fill in Dex's password form.
	Login, Password string
	// Deny makes the browser refuse on the approval page.
	Deny bool
	// PaletteLogin is the email picked on Palette's sign-in page; empty
	// when Palette signs the user in at once (its auto-login).
	PaletteLogin string
	// BeforeRequest, when set, is called before each request of a walk.
	BeforeRequest func(*url.URL)
}

// NewBrowser returns a browser with an empty cookie jar.
func NewBrowser() *Browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		// cookiejar.New fails only for a bad PublicSuffixList.
		panic(err)
	}
	return &Browser{Client: &http.Client{
		Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

// Page is where a walk ended: a page that is not a redirect, or a URL it
// was to stop at (Status 0, no body).
type Page struct {
	URL    *url.URL
	Status int
	Body   string
}

var (
	connectorLinkRE = regexp.MustCompile(`(?s)<a href="([^"]+)"[^>]*>\s*<button[^>]*>.*?<span class="dex-btn-text">Log in with ([^<]+)</span>`)
	formActionRE    = regexp.MustCompile(`<form method="post" action="([^"]*)"`)
	approvalReqRE   = regexp.MustCompile(`<input type="hidden" name="req" value="([^"]*)"/>`)
	dexErrorRE      = regexp.MustCompile(`(?s)<h2 class="theme-heading">\s*(.*?)\s*</h2>\s*<p>\s*(.*?)\s*</p>`)
)

// Connectors returns the connector names a Dex login page lists, in order.
func (p *Page) Connectors() []string {
	var names []string
	for _, m := range connectorLinkRE.FindAllStringSubmatch(p.Body, -1) {
		names = append(names, html.UnescapeString(strings.TrimSpace(m[2])))
	}
	return names
}

// Message is the heading and message of a Dex error page ("Internal Server
// Error: Login error."), or else a snippet of the body.
func (p *Page) Message() string {
	if m := dexErrorRE.FindStringSubmatch(p.Body); m != nil {
		return html.UnescapeString(m[1]) + ": " + html.UnescapeString(m[2])
	}
	return snippet(p.Body)
}

// PageError reports a walk that ended on a page it did not expect: an
// error page, or another status than 200.
type PageError struct {
	Page *Page
}

func (e *PageError) Error() string {
	return fmt.Sprintf("ended on %s with status %d: %s", e.Page.URL.Redacted(), e.Page.Status, e.Page.Message())
}

// Get fetches rawURL, following redirects, and returns the page; another
// status than 200 is a *PageError.
func (b *Browser) Get(ctx context.Context, rawURL string) (*Page, error) {
	p, err := b.Walk(ctx, rawURL, "")
	if err == nil && p.Status != http.StatusOK {
		err = &PageError{Page: p}
	}
	return p, err
}

// Walk starts at rawURL and follows redirects, picking PaletteLogin on
// Palette's sign-in page on the way, until a URL starts with stopAt
// (returned with Status 0) or a page answers without a redirect.
func (b *Browser) Walk(ctx context.Context, rawURL, stopAt string) (*Page, error) {
	return b.walk(ctx, rawURL, nil, stopAt, false)
}

// Submit posts form to rawURL, as a browser submits a form, and follows
// the redirects of the answer as Walk does, to the first page that is not
// a redirect.
func (b *Browser) Submit(ctx context.Context, rawURL string, form url.Values) (*Page, error) {
	if form == nil {
		form = url.Values{}
	}
	return b.walk(ctx, rawURL, form, "", false)
}

// Authorize starts at a relying party's authorization URL and plays the
// user until Dex redirects to redirectURI, whose URL (with code and state,
// or error) it returns. On the way it picks b.Connector on the login page,
// fills in the password form and approves (or denies) the client. A page
// other than those is a *PageError.
func (b *Browser) Authorize(ctx context.Context, authURL, redirectURI string) (*url.URL, error) {
	p, err := b.walk(ctx, authURL, nil, redirectURI, true)
	if err != nil {
		return nil, err
	}
	if p.Status != 0 {
		return nil, &PageError{Page: p}
	}
	return p.URL, nil
}

// walk requests rawURL (a POST of form, when not nil), follows redirects
// and, with dex, plays the user on Dex's pages.
func (b *Browser) walk(ctx context.Context, rawURL string, form url.Values, stopAt string, dex bool) (*Page, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("parse URL: %w", err)
	}
	method := http.MethodGet
	if form != nil {
		method = http.MethodPost
	}
	for range maxSteps {
		if stopAt != "" && strings.HasPrefix(u.String(), stopAt) {
			return &Page{URL: u}, nil
		}
		if b.BeforeRequest != nil {
			b.BeforeRequest(u)
		}
		resp, body, err := b.do(ctx, method, u, form)
		if err != nil {
			return nil, err
		}
		sent := method
		method, form = http.MethodGet, nil
		if loc := resp.Header.Get("Location"); isRedirect(resp.StatusCode) && loc != "" {
			if u, err = u.Parse(loc); err != nil {
				return nil, fmt.Errorf("parse redirect: %w", err)
			}
			continue
		}
		p := &Page{URL: u, Status: resp.StatusCode, Body: body}
		if b.PaletteLogin != "" && p.Status == http.StatusOK && sent == http.MethodGet &&
			strings.HasSuffix(u.Path, "/auth") && strings.Contains(body, `name="login"`) {
			// Palette's sign-in page: post the authorization request back
			// with the chosen user, as clicking the user's button does.
			form = u.Query()
			form.Set("login", b.PaletteLogin)
			next := *u
			next.RawQuery = ""
			u, method = &next, http.MethodPost
			continue
		}
		if !dex || p.Status != http.StatusOK {
			return p, nil
		}
		next, nextForm, err := b.respond(p)
		if err != nil {
			return nil, err
		}
		u = next
		if nextForm != nil {
			method, form = http.MethodPost, nextForm
		}
	}
	return nil, errors.New("too many redirects and pages")
}

// respond decides what the user does on a page: the next URL and, for a
// form submission, the form.
func (b *Browser) respond(p *Page) (*url.URL, url.Values, error) {
	switch {
	case strings.Contains(p.Body, `name="password"`):
		m := formActionRE.FindStringSubmatch(p.Body)
		if m == nil {
			return nil, nil, errors.New("password page without form action")
		}
		next, err := p.URL.Parse(html.UnescapeString(m[1]))
		if err != nil {
			return nil, nil, fmt.Errorf("parse form action: %w", err)
		}
		return next, url.Values{"login": {b.Login}, "password": {b.Password}}, nil
	case strings.Contains(p.Body, `name="approval"`):
		m := approvalReqRE.FindStringSubmatch(p.Body)
		if m == nil {
			return nil, nil, errors.New("approval page without request ID")
		}
		decision := "approve"
		if b.Deny {
			decision = "rejected"
		}
		return p.URL, url.Values{"req": {html.UnescapeString(m[1])}, "approval": {decision}}, nil
	case len(p.Connectors()) > 0:
		for _, m := range connectorLinkRE.FindAllStringSubmatch(p.Body, -1) {
			if html.UnescapeString(strings.TrimSpace(m[2])) == b.Connector {
				next, err := p.URL.Parse(html.UnescapeString(m[1]))
				if err != nil {
					return nil, nil, fmt.Errorf("parse connector link: %w", err)
				}
				return next, nil, nil
			}
		}
		return nil, nil, fmt.Errorf("connector %q not on the login page (found %q)", b.Connector, p.Connectors())
	default:
		return nil, nil, fmt.Errorf("unexpected page at %s: %s", p.URL.Redacted(), snippet(p.Body))
	}
}

func (b *Browser) do(ctx context.Context, method string, u *url.URL, form url.Values) (*http.Response, string, error) {
	return Do(ctx, b.Client, method, u, form)
}

// Do sends one request, with form (if not nil) as its url-encoded body, and
// returns the response with its body read (at most 1 MiB) and closed.
func Do(ctx context.Context, client *http.Client, method string, u *url.URL, form url.Values) (*http.Response, string, error) {
	req, err := newRequest(ctx, method, u.String(), form)
	if err != nil {
		return nil, "", err
	}
	return send(client, req)
}

// PostToken posts form to the token endpoint of the Dex at issuer, as the
// confidential client clientID (client_secret_basic), and returns the
// answer's status and body (at most 1 MiB).
func PostToken(ctx context.Context, client *http.Client, issuer, clientID, clientSecret string, form url.Values) (int, string, error) {
	req, err := newRequest(ctx, http.MethodPost, issuer+"/token", form)
	if err != nil {
		return 0, "", err
	}
	req.SetBasicAuth(clientID, clientSecret)
	resp, body, err := send(client, req)
	if err != nil {
		return 0, "", err
	}
	return resp.StatusCode, body, nil
}

// newRequest builds a request with form (if not nil) as its url-encoded
// body.
func newRequest(ctx context.Context, method, rawURL string, form url.Values) (*http.Request, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, body)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return req, nil
}

// send sends req and returns the response with its body read (at most
// 1 MiB) and closed.
func send(client *http.Client, req *http.Request) (*http.Response, string, error) {
	resp, err := client.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("%s %s: %w", req.Method, req.URL.Redacted(), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, "", fmt.Errorf("read %s: %w", req.URL.Redacted(), err)
	}
	return resp, string(data), nil
}

func isRedirect(status int) bool {
	return status >= 300 && status < 400
}

func snippet(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}
