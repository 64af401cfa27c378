package signincheck

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/dexidp/dex/connector"

	"github.com/dex-spectro/dex-spectro/internal/probe"
)

// trial runs a sign-in through a connector opened for the check, the way
// Dex does: LoginURL, then HandleCallback with the URL Palette sent the
// browser back to. The connector records what it saw (probe.SignIn);
// nothing the trial keeps holds token material: not the code, the ID
// token, the nonce or the PKCE verifier.
type trial struct {
	conn     probe.Connector
	settings probe.SignInSettings
}

func newTrial(conn probe.Connector) *trial {
	return &trial{conn: conn, settings: conn.SignInSettings()}
}

// trialScopes are the scopes of a trial sign-in: groups are reported.
var trialScopes = connector.Scopes{OfflineAccess: true, Groups: true}

// pendingSignIn is a sign-in started by start: the connector's data for
// it (its nonce and PKCE verifier), which the trial never reads.
type pendingSignIn struct {
	connData []byte
}

// start returns Palette's authorization URL for a new sign-in with this
// state, exactly as Dex's login page gets it from the connector.
func (t *trial) start(ctx context.Context, state string) (string, *pendingSignIn, error) {
	if _, err := t.conn.Endpoints(ctx); err != nil {
		return "", nil, err
	}
	authURL, connData, err := t.conn.LoginURL(trialScopes, t.settings.RedirectURI, state)
	if err != nil {
		return "", nil, err
	}
	return authURL, &pendingSignIn{connData: connData}, nil
}

// report is what a trial sign-in found.
type report struct {
	// endpoints are the endpoints used, with where each came from.
	endpoints probe.Endpoints
	// settings are the connector's PKCE and nonce settings.
	settings probe.SignInSettings
	// seen is what the connector recorded of the sign-in.
	seen *probe.SignIn
	// identity is the Dex identity that results; nil when err is set.
	identity *connector.Identity
	// err says why Dex would refuse this sign-in; nil when it would sign
	// the user in. Its message holds no token material.
	err error
}

// finish completes the sign-in with the URL Palette sent the browser back
// to (redirectURI with code and state, or with error), through the
// connector's HandleCallback. The caller checks state, as Dex does before
// it calls the connector.
func (t *trial) finish(ctx context.Context, p *pendingSignIn, callback *url.URL) *report {
	rep := &report{settings: t.settings, seen: &probe.SignIn{}}
	e, err := t.conn.Endpoints(ctx)
	if err != nil {
		rep.err = err
		return rep
	}
	rep.endpoints = *e
	ctx, rep.seen = probe.WithSignIn(ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, callback.String(), nil)
	if err != nil {
		rep.err = fmt.Errorf("spectrocloud: callback URL: %w", err)
		return rep
	}
	id, err := t.conn.HandleCallback(trialScopes, p.connData, req)
	if rep.err = err; err == nil {
		rep.identity = &id
	}
	return rep
}
