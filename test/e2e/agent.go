package e2e

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/oauth2"

	"github.com/dex-spectro/dex-spectro/internal/dextest"
)

// NewAgent returns the user's browser (dextest.Browser) with an empty
// cookie jar, signing in to Palette as login and giving up on a request
// after a minute. Dex runs with skipApprovalScreen and one connector, so
// it shows no page on the way of a successful sign-in. A nil transport
// uses http.DefaultTransport.
func NewAgent(login string, transport http.RoundTripper) *dextest.Browser {
	b := dextest.NewBrowser()
	b.PaletteLogin = login
	b.Client.Transport = transport
	b.Client.Timeout = time.Minute
	return b
}

// TokenExchange redeems a Palette ID token at Dex's token endpoint with
// the RFC 8693 grant and returns the answer's status and body.
func TokenExchange(ctx context.Context, client *http.Client, issuer, connectorID, subjectToken string) (int, string, error) {
	form := url.Values{
		"grant_type":           {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"subject_token_type":   {"urn:ietf:params:oauth:token-type:id_token"},
		"requested_token_type": {"urn:ietf:params:oauth:token-type:access_token"},
		"subject_token":        {subjectToken},
		"connector_id":         {connectorID},
		"scope":                {"openid email"},
	}
	return dextest.PostToken(ctx, client, issuer, ClientID, ClientSecret, form)
}

// RetrieveError returns the OAuth error of a failed token request.
func RetrieveError(err error) (*oauth2.RetrieveError, bool) {
	var re *oauth2.RetrieveError
	ok := errors.As(err, &re)
	return re, ok
}
