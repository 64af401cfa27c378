package demo

import (
	"context"
	"html"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/dextest"
	"github.com/dex-spectro/dex-spectro/internal/dextest/harness"
)

// testOptions are options with free ports and a logger that writes
// warnings and errors to the test log.
func testOptions(t *testing.T) Options {
	t.Helper()
	return Options{TokenLifetime: time.Minute, Logger: harness.Logger(t, slog.LevelWarn)}
}

// startDemo runs a demo until the test ends, and returns its URLs.
func startDemo(t *testing.T, opts Options) URLs {
	t.Helper()
	d, err := New(opts)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	out := &dextest.LogBuffer{}
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, out) }()
	t.Cleanup(func() {
		cancel()
		dextest.RequireReturns(t, done, 15*time.Second, "the demo")
	})
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "Press Ctrl-C") }, 10*time.Second, 10*time.Millisecond)
	return d.URLs()
}

// userAgent is the tests' browser (dextest.Browser) for the demo: it keeps
// cookies, follows redirects, and fails the test when a request fails.
type userAgent struct {
	t *testing.T
	b *dextest.Browser
}

func newUserAgent(t *testing.T) *userAgent {
	b := dextest.NewBrowser()
	b.Client.Timeout = 20 * time.Second
	return &userAgent{t: t, b: b}
}

// page is a response after redirects.
type page struct {
	status int
	url    *url.URL
	body   string
}

func pageOf(p *dextest.Page) page { return page{status: p.Status, url: p.URL, body: p.Body} }

func (ua *userAgent) get(rawURL string) page {
	ua.t.Helper()
	p, err := ua.b.Walk(ua.t.Context(), rawURL, "")
	require.NoError(ua.t, err)
	return pageOf(p)
}

func (ua *userAgent) post(rawURL string, form url.Values) page {
	ua.t.Helper()
	p, err := ua.b.Submit(ua.t.Context(), rawURL, form)
	require.NoError(ua.t, err)
	return pageOf(p)
}

var (
	formActionRE = regexp.MustCompile(`<form method="post" action="([^"]*)"`)
	hiddenRE     = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
	buttonRE     = regexp.MustCompile(`<button type="submit" name="login" value="([^"]*)">`)
)

// signInPage follows "Sign in" from the demo app to the emulated Palette's
// sign-in page.
func (ua *userAgent) signInPage(urls URLs) page {
	ua.t.Helper()
	p := ua.get(urls.App + "/login")
	require.Equal(ua.t, http.StatusOK, p.status, p.body)
	require.True(ua.t, strings.HasPrefix(p.url.String(), urls.Tenant+"/auth"), "landed on %s", p.url)
	return p
}

// pickUser submits the emulated Palette's sign-in form as login.
func (ua *userAgent) pickUser(signIn page, login string) page {
	ua.t.Helper()
	m := formActionRE.FindStringSubmatch(signIn.body)
	require.NotNil(ua.t, m, "no form on the sign-in page")
	action, err := signIn.url.Parse(html.UnescapeString(m[1]))
	require.NoError(ua.t, err)
	form := url.Values{}
	for _, h := range hiddenRE.FindAllStringSubmatch(signIn.body, -1) {
		form.Set(html.UnescapeString(h[1]), html.UnescapeString(h[2]))
	}
	form.Set("login", login)
	return ua.post(action.String(), form)
}

// signInAs signs in through the demo app as login and returns the page the
// browser ends on.
func (ua *userAgent) signInAs(urls URLs, login string) page {
	ua.t.Helper()
	return ua.pickUser(ua.signInPage(urls), login)
}

// listedUsers returns the logins the sign-in page offers.
func listedUsers(p page) []string {
	var logins []string
	for _, m := range buttonRE.FindAllStringSubmatch(p.body, -1) {
		logins = append(logins, html.UnescapeString(m[1]))
	}
	return logins
}

// elementText returns the text of the element with this id, tags removed.
func elementText(t *testing.T, body, id string) string {
	t.Helper()
	re := regexp.MustCompile(`(?s)<(\w+)[^>]* id="` + regexp.QuoteMeta(id) + `"[^>]*>(.*?)</(\w+)>`)
	m := re.FindStringSubmatch(body)
	require.NotNil(t, m, "no element #%s", id)
	return html.UnescapeString(strings.TrimSpace(regexp.MustCompile(`<[^>]*>`).ReplaceAllString(m[2], " ")))
}

// datetimeOf returns the datetime attribute of the <time> element with
// this id.
func datetimeOf(t *testing.T, body, id string) time.Time {
	t.Helper()
	m := regexp.MustCompile(`<time id="` + regexp.QuoteMeta(id) + `" datetime="([^"]+)"`).FindStringSubmatch(body)
	require.NotNil(t, m, "no <time id=%q>", id)
	v, err := time.Parse(time.RFC3339, m[1])
	require.NoError(t, err)
	return v
}

// groupsOf returns the groups the claims page shows.
func groupsOf(body string) []string {
	var groups []string
	for _, m := range regexp.MustCompile(`<span class="group">([^<]*)</span>`).FindAllStringSubmatch(body, -1) {
		groups = append(groups, html.UnescapeString(m[1]))
	}
	return groups
}
