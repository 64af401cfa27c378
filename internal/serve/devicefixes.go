package serve

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/dexidp/dex/storage"
)

// deviceCallbackPath is where Dex's device flow sends the browser with the
// auth code, below the issuer's path.
const deviceCallbackPath = "/device/callback"

// deviceFlow closes the holes of Dex v2.45.1's device authorization flow
// that Dex main fixes in dexidp/dex#4928 and dexidp/dex#4927, and one that
// Dex main still has (see deviceBinding):
//
//   - POST /device/auth/verify_code redirects the browser to /auth with the
//     device request's client_secret in the query (browser history, Referer,
//     proxy logs). /auth never reads it; it is removed from the redirect.
//     Dex still authenticates the client later, against the secret it
//     stored with the device request.
//   - GET /device/callback takes any auth code: one minted for client A (and
//     A's redirect URI) completes client B's device request, and B's device
//     poll receives the user's tokens. The code must belong to the device
//     request's client and to the device callback redirect URI; otherwise the
//     browser gets an error page and nothing is consumed.
//   - GET /device/callback completes a device request in any browser: the
//     browser must be one that entered the request's user code on Dex's
//     device page (deviceBinding).
//   - The same callback compares the client secret with != (timing). It is
//     compared here in constant time first; Dex's own comparison then only
//     ever sees equal secrets.
type deviceFlow struct {
	next    http.Handler
	store   storage.Storage
	logger  *slog.Logger
	binding *deviceBinding
	verify  string          // path of the user-code form's target
	auth    string          // path of the authorization endpoint
	page    string          // path of the device page
	cbPath  string          // path of the device callback
	cbURIs  map[string]bool // redirect URIs Dex stores on device-flow auth codes
}

// newDeviceFlow wraps next, Dex's handler at routes, over Dex's storage s;
// now is Dex's clock.
func newDeviceFlow(next http.Handler, s storage.Storage, routes dexRoutes, now func() time.Time, logger *slog.Logger) (*deviceFlow, error) {
	binding, err := newDeviceBinding(s, routes, now)
	if err != nil {
		return nil, err
	}
	cbPath := routes.path(deviceCallbackPath)
	return &deviceFlow{
		next:    next,
		store:   s,
		logger:  logger,
		binding: binding,
		verify:  routes.path("/device/auth/verify_code"),
		auth:    routes.path("/auth"),
		page:    routes.path("/device"),
		cbPath:  cbPath,
		// Dex v2.45.1 sends the browser to /auth with redirect_uri
		// "/device/callback"; a public client's code carries the issuer's
		// path joined to it, a confidential client's the value as sent (it
		// must be registered as is). Dex main sends the joined path to both
		// (dexidp/dex#4597), so a client may already have registered it.
		cbURIs: map[string]bool{
			deviceCallbackPath: true,
			cbPath:             true,
		},
	}, nil
}

func (d *deviceFlow) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == d.verify && r.Method == http.MethodPost:
		d.verifyUserCode(w, r)
	case r.URL.Path == d.cbPath && r.Method == http.MethodGet:
		if d.checkCallback(w, r) {
			d.next.ServeHTTP(w, r)
		}
	default:
		d.next.ServeHTTP(w, r)
	}
}

// verifyUserCode passes a user code entered on Dex's device page to Dex,
// unless another site sent it. When Dex accepts the code (it redirects to
// its authorization endpoint with the user code as state), the client
// secret is removed from that redirect and the device request is bound to
// the browser.
func (d *deviceFlow) verifyUserCode(w http.ResponseWriter, r *http.Request) {
	if d.binding.crossSite(r) {
		d.logger.WarnContext(r.Context(), "device flow: refused a user code sent from another site",
			"origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"))
		writeErrorPage(w, http.StatusForbidden, "The code was sent to this page from another site. Open "+d.page+" and enter the code your device shows there.")
		return
	}
	rec := &recorder{header: make(http.Header)}
	d.next.ServeHTTP(rec, r)
	if loc := rec.header.Get("Location"); rec.status >= 300 && rec.status < 400 && loc != "" {
		loc = stripClientSecret(loc)
		rec.header.Set("Location", loc)
		if userCode := d.authState(loc); userCode != "" {
			if err := d.binding.bind(r.Context(), rec, r, userCode); err != nil {
				if errors.Is(err, errDeviceTokenIssued) {
					writeErrorPage(w, http.StatusBadRequest, "This device sign-in is already complete.")
					return
				}
				d.logger.ErrorContext(r.Context(), "device flow: bind the device request to the browser", "err", err)
				writeErrorPage(w, http.StatusInternalServerError, "The device sign-in could not be started. Enter the code again.")
				return
			}
		}
	}
	rec.flush(w)
}

// authState returns the state (the user code) of a redirect to Dex's
// authorization endpoint, or "".
func (d *deviceFlow) authState(loc string) string {
	u, err := url.Parse(loc)
	if err != nil || u.Path != d.auth {
		return ""
	}
	return u.Query().Get("state")
}

// checkCallback checks that the auth code of a device callback belongs to
// the device request named by state, that the browser is one that entered
// its user code, and that the client secret given with the device request
// is the client's. It answers the request itself and
// returns false when a check fails. Requests Dex refuses before it reads
// storage (a missing parameter, an error from the authorization endpoint)
// are left to Dex.
func (d *deviceFlow) checkCallback(w http.ResponseWriter, r *http.Request) bool {
	ctx := r.Context()
	userCode, code := r.FormValue("state"), r.FormValue("code")
	if userCode == "" || code == "" || r.FormValue("error") != "" {
		return true
	}

	authCode, err := d.store.GetAuthCode(ctx, code)
	if err != nil {
		d.storageFailure(w, r, "auth code", err, "Invalid or expired auth code.")
		return false
	}
	deviceReq, err := d.store.GetDeviceRequest(ctx, userCode)
	if err != nil {
		d.storageFailure(w, r, "device request", err, "Invalid or expired user code.")
		return false
	}
	if authCode.ClientID != deviceReq.ClientID || !d.cbURIs[authCode.RedirectURI] {
		d.logger.WarnContext(ctx, "device callback: refused an auth code that does not belong to the device request",
			"auth_code_client_id", authCode.ClientID, "device_client_id", deviceReq.ClientID,
			"redirect_uri_is_device_callback", d.cbURIs[authCode.RedirectURI])
		writeErrorPage(w, http.StatusBadRequest, "Invalid or expired auth code.")
		return false
	}
	deviceToken, err := d.store.GetDeviceToken(ctx, deviceReq.DeviceCode)
	if err != nil {
		d.storageFailure(w, r, "device token", err, "Invalid or expired device code.")
		return false
	}
	if deviceToken.Status != deviceTokenPending {
		writeErrorPage(w, http.StatusBadRequest, "This device sign-in is already complete.")
		return false
	}
	if !d.binding.bound(r, deviceToken) {
		d.logger.WarnContext(ctx, "device callback: refused a browser that did not enter the user code",
			"client_id", deviceReq.ClientID, "binding_cookie", len(d.binding.values(r)) > 0)
		writeErrorPage(w, http.StatusForbidden, "This device sign-in was not started in this browser, so it was stopped. "+
			"To sign in a device, open "+d.page+" in the browser you sign in with and enter the code the device shows. "+
			"If you did not start a device sign-in, close this page: the link you followed may have tried to sign you in on someone else's device.")
		return false
	}

	client, err := d.store.GetClient(ctx, deviceReq.ClientID)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			writeTokenError(w, http.StatusUnauthorized, "invalid_client", "Invalid client credentials.")
			return false
		}
		d.logger.ErrorContext(ctx, "device callback: get client", "err", err)
		writeTokenError(w, http.StatusInternalServerError, "server_error", "")
		return false
	}
	if !equalSecrets(client.Secret, deviceReq.ClientSecret) {
		d.logger.WarnContext(ctx, "device callback: wrong client secret on the device request", "client_id", client.ID)
		writeTokenError(w, http.StatusUnauthorized, "invalid_client", "Invalid client credentials.")
		return false
	}
	return true
}

// storageFailure answers a failed lookup of what: 400 with msg when it is
// not there, 500 otherwise.
func (d *deviceFlow) storageFailure(w http.ResponseWriter, r *http.Request, what string, err error, msg string) {
	if errors.Is(err, storage.ErrNotFound) {
		writeErrorPage(w, http.StatusBadRequest, msg)
		return
	}
	d.logger.ErrorContext(r.Context(), "device callback: get "+what, "err", err)
	writeErrorPage(w, http.StatusInternalServerError, "Database error.")
}

// equalSecrets compares two secrets in time that depends on neither their
// contents nor their lengths.
func equalSecrets(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

// stripClientSecret returns loc without client_secret in its query. A
// location that does not parse is replaced by nothing rather than passed on
// with the secret.
func stripClientSecret(loc string) string {
	u, err := url.Parse(loc)
	if err != nil {
		return ""
	}
	q := u.Query()
	if _, ok := q["client_secret"]; !ok {
		return loc
	}
	q.Del("client_secret")
	u.RawQuery = q.Encode()
	return u.String()
}

// writeTokenError answers with an OAuth 2.0 error document, as Dex's
// device callback does for client authentication failures.
func writeTokenError(w http.ResponseWriter, status int, code, description string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	doc := map[string]string{"error": code}
	if description != "" {
		doc["error_description"] = description
	}
	_ = json.NewEncoder(w).Encode(doc)
}

// writeErrorPage answers a browser with a short HTML error page.
func writeErrorPage(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	text := html.EscapeString(http.StatusText(status))
	_, _ = fmt.Fprintf(w, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>%s</title></head>\n<body><h2>%s</h2><p>%s</p></body></html>\n",
		text, text, html.EscapeString(msg))
}
