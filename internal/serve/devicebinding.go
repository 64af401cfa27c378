package serve

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/dexidp/dex/storage"
)

// Dex v2.45.1's device flow does not check that the browser completing a
// device request is the one that entered its user code: a link to
// /auth?client_id=<a device client>&redirect_uri=/device/callback&state=<the
// attacker's user code>, opened by anyone signed in upstream, completes the
// attacker's device request with that person's identity (with one connector
// and skipApprovalScreen, without a page to click). Dex main has the same
// hole.
//
// deviceBinding ties each device request to the browsers that entered its
// user code on Dex's device page:
//   - POST /device/auth/verify_code is refused when it comes from another
//     site (an auto-submitted form would otherwise enter the attacker's code
//     in the victim's browser), by Sec-Fetch-Site or Origin, as
//     http.CrossOriginProtection judges it;
//   - when Dex accepts the code, a random value goes to the browser in an
//     HttpOnly, SameSite=Lax cookie (Secure, and with the __Host- prefix,
//     when the issuer is https) and its SHA-256 is stored with the device
//     request's pending token in Dex's storage, which every replica shares;
//   - GET /device/callback completes the request only for a browser whose
//     cookie holds a value whose digest is stored there.
//
// The value lives in the Token field of the pending device token, which Dex
// does not read until it writes the issued tokens there (and which its GC
// removes with the request): no key is created, kept or rotated, and a
// value is good for one device request only.
type deviceBinding struct {
	store  storage.Storage
	now    func() time.Time // Dex's clock, which Dex checks the device requests' expiry against
	cookie string           // the cookie's name
	path   string           // the cookie's path
	secure bool
	origin *http.CrossOriginProtection
}

const (
	// deviceBindingPrefix marks the digests stored in a pending device
	// token; the digests follow, comma-separated.
	deviceBindingPrefix = "dex-spectro/device-binding/v1:"
	// maxDeviceBindings bounds the values one cookie holds (one per device
	// request the browser entered a code for, newest first), and the
	// digests one device request keeps (one per browser that entered it).
	maxDeviceBindings = 4
	// deviceTokenPending is Dex's status of a device token not yet issued.
	deviceTokenPending = "authorization_pending"
)

// errDeviceTokenIssued is returned when the device request was already
// completed.
var errDeviceTokenIssued = errors.New("the device request is already complete")

// newDeviceBinding returns the binding for an issuer served at routes over
// storage s, by Dex's clock now.
func newDeviceBinding(s storage.Storage, routes dexRoutes, now func() time.Time) (*deviceBinding, error) {
	b := &deviceBinding{store: s, now: now, cookie: "dex_spectro_device", path: routes.path("/device"), origin: http.NewCrossOriginProtection()}
	if routes.origin != "" {
		if err := b.origin.AddTrustedOrigin(routes.origin); err != nil {
			return nil, fmt.Errorf("device flow: issuer origin: %w", err)
		}
	}
	if routes.secure {
		// __Host- cookies cannot be set by another host of the domain, nor
		// over plain HTTP; they must have Path=/.
		b.cookie, b.path, b.secure = "__Host-dex_spectro_device", "/", true
	}
	return b, nil
}

// crossSite reports whether r is a browser request sent by another site.
func (b *deviceBinding) crossSite(r *http.Request) bool {
	return b.origin.Check(r) != nil
}

// bind ties the device request of userCode to the browser behind r: it
// stores the digest of a new random value with the request's pending token
// and sets the cookie that carries the value on w.
func (b *deviceBinding) bind(ctx context.Context, w http.ResponseWriter, r *http.Request, userCode string) error {
	req, err := b.store.GetDeviceRequest(ctx, userCode)
	if err != nil {
		return fmt.Errorf("get device request: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return fmt.Errorf("random value: %w", err)
	}
	value := base64.RawURLEncoding.EncodeToString(raw)
	digest := deviceBindingDigest(value)
	err = b.store.UpdateDeviceToken(ctx, req.DeviceCode, func(t storage.DeviceToken) (storage.DeviceToken, error) {
		if t.Status != deviceTokenPending {
			return t, errDeviceTokenIssued
		}
		digests := append([]string{digest}, storedDeviceBindings(t.Token)...)
		t.Token = deviceBindingPrefix + strings.Join(digests[:min(len(digests), maxDeviceBindings)], ",")
		return t, nil
	})
	if err != nil {
		return fmt.Errorf("store the device binding: %w", err)
	}
	values := append([]string{value}, b.values(r)...)
	http.SetCookie(w, &http.Cookie{
		Name:  b.cookie,
		Value: strings.Join(values[:min(len(values), maxDeviceBindings)], "."),
		Path:  b.path,
		// As long as Dex, by its clock, accepts the device request.
		MaxAge:   max(int(req.Expiry.Sub(b.now()).Seconds())+1, 1),
		Secure:   b.secure,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
	return nil
}

// bound reports whether the browser behind r entered the user code of the
// device request whose pending token is t.
func (b *deviceBinding) bound(r *http.Request, t storage.DeviceToken) bool {
	digests := storedDeviceBindings(t.Token)
	found := false
	for _, v := range b.values(r) {
		d := deviceBindingDigest(v)
		for _, stored := range digests {
			// Every comparison runs, so the time taken says nothing of
			// which value matched.
			if subtle.ConstantTimeCompare([]byte(d), []byte(stored)) == 1 {
				found = true
			}
		}
	}
	return found
}

// values returns the well-formed values of the binding cookies r carries.
func (b *deviceBinding) values(r *http.Request) []string {
	var out []string
	for _, c := range r.CookiesNamed(b.cookie) {
		for v := range strings.SplitSeq(c.Value, ".") {
			if raw, err := base64.RawURLEncoding.DecodeString(v); err == nil && len(raw) == 32 && len(out) < maxDeviceBindings {
				out = append(out, v)
			}
		}
	}
	return out
}

// storedDeviceBindings returns the digests stored in a pending device
// token's Token field; none when it holds anything else.
func storedDeviceBindings(token string) []string {
	list, ok := strings.CutPrefix(token, deviceBindingPrefix)
	if !ok || list == "" {
		return nil
	}
	return strings.Split(list, ",")
}

func deviceBindingDigest(value string) string {
	sum := sha256.Sum256([]byte(value))
	return hex.EncodeToString(sum[:])
}
