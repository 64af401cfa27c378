package demo

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/dextest"
)

// screenshotDirEnv names the directory that receives the screenshot of the
// claims page; the test's temporary directory when unset.
const screenshotDirEnv = "DEMO_SCREENSHOT_DIR"

// chromiumPath finds Chromium. Without it the test is skipped, except
// under CI=true, where it fails.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	dextest.Unavailable(t, "chromium is not installed (Debian: apt-get install chromium): the browser test needs it")
	return ""
}

// newBrowser starts headless Chromium with a fresh profile and returns a
// tab's context.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath(t)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1100, 1300),
	)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	// Start the browser now, with a context that has no deadline: the first
	// Run's context is the browser's lifetime.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate("about:blank")), "start chromium")
	return ctx
}

// step runs actions with a timeout, so that a missing element fails the
// test instead of hanging it.
func step(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	require.NoError(t, chromedp.Do(ctx, actions...), what)
}

// read runs one action that returns a value, with a timeout.
func read[T any](t *testing.T, ctx context.Context, what string, action chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, action)
	require.NoError(t, err, what)
	return v
}

// userButton selects a user's button on the emulated Palette's sign-in page.
func userButton(email string) chromedp.CSS {
	return chromedp.CSS(`button[name="login"][value="` + email + `"]`)
}

func TestBrowser(t *testing.T) {
	ctx := newBrowser(t)
	clock := &dextest.Clock{}
	opts := testOptions(t)
	opts.Now = clock.Now
	opts.TokenLifetime = DefaultTokenLifetime
	urls := startDemo(t, opts)

	// Sign in as Alice: demo app → Dex → emulated Palette → Dex → demo app.
	step(t, ctx, "open the demo app and click Sign in",
		chromedp.Navigate(urls.App),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(userButton("alice@example.com")),
	)
	assert.True(t, strings.HasPrefix(read(t, ctx, "location", chromedp.Location()), urls.Tenant+"/auth"))
	step(t, ctx, "pick Alice", chromedp.Click(userButton("alice@example.com")), chromedp.WaitVisible(chromedp.ID("email")))

	assert.Equal(t, urls.App+"/", read(t, ctx, "location", chromedp.Location()))
	assert.Equal(t, "alice@example.com", read(t, ctx, "email", chromedp.Text(chromedp.ID("email"))))
	groups := read(t, ctx, "groups", chromedp.Text(chromedp.ID("groups")))
	assert.Contains(t, groups, "platform-team")
	assert.Contains(t, groups, "sre")
	assert.Equal(t, "alice", read(t, ctx, "preferred_username", chromedp.Text(chromedp.ID("preferred-username"))))
	assert.Contains(t, read(t, ctx, "kubeconfig", chromedp.Text(chromedp.ID("kubeconfig"))), "--oidc-issuer-url="+urls.Issuer)
	before := expiryShown(t, ctx)

	saveScreenshot(t, ctx)

	// Refresh: Dex issues a new ID token with a later expiry.
	clock.Advance(20 * time.Second)
	step(t, ctx, "press Refresh", chromedp.Click(chromedp.ID("refresh")), chromedp.WaitVisible(chromedp.ID("previous-expiry")))
	assert.Contains(t, read(t, ctx, "notice", chromedp.Text(chromedp.ID("notice"))), "Refreshed")
	after := expiryShown(t, ctx)
	assert.True(t, after.After(before), "the expiry did not move: %s, then %s", before, after)

	// The refused users end on Dex's error page.
	refused := []struct {
		email, status, message string
	}{
		{"carol@example.com", "Forbidden", "the email address is not verified in Palette"},
		{"dave@partner.example", "Forbidden", "You are not a member of any of the required groups"},
	}
	for _, r := range refused {
		step(t, ctx, "sign in as "+r.email,
			chromedp.Navigate(urls.App),
			chromedp.Click(chromedp.ID("signin")),
			chromedp.Click(userButton(r.email)),
			chromedp.WaitVisible(chromedp.CSS(".theme-panel")),
		)
		assert.True(t, strings.HasPrefix(read(t, ctx, "location", chromedp.Location()), urls.Issuer+"/callback"))
		panel := read(t, ctx, "error page", chromedp.Text(chromedp.CSS(".theme-panel")))
		assert.Contains(t, panel, r.status, r.email)
		assert.Contains(t, panel, r.message, r.email)
	}
}

// expiryShown reads the ID token expiry the claims page shows.
func expiryShown(t *testing.T, ctx context.Context) time.Time {
	t.Helper()
	attr := read(t, ctx, "expiry", chromedp.AttributeValue(chromedp.ID("expiry"), "datetime"))
	require.True(t, attr.Exists, "the expiry has no datetime")
	v, err := time.Parse(time.RFC3339, attr.Value)
	require.NoError(t, err)
	return v
}

// saveScreenshot saves the visible part of the page as a PNG.
func saveScreenshot(t *testing.T, ctx context.Context) {
	t.Helper()
	dir := os.Getenv(screenshotDirEnv)
	if dir == "" {
		dir = t.TempDir()
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	png := read(t, ctx, "screenshot", chromedp.CaptureScreenshot())
	require.NotEmpty(t, png)
	path := filepath.Join(dir, "demo-claims.png")
	require.NoError(t, os.WriteFile(path, png, 0o644))
	t.Logf("screenshot of the claims page: %s (%d bytes)", path, len(png))
}
