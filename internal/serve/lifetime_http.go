package serve

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dexidp/dex/storage"

	"github.com/dex-spectro/dex-spectro/internal/connhook"
)

// lifetimeRoute names the requests in which Dex issues tokens.
type lifetimeRoute int

const (
	routeOther          lifetimeRoute = iota
	routeToken                        // POST /token: every grant, the device code grant included
	routeDeviceToken                  // POST /device/token: the device flow's poll
	routeDeviceCallback               // GET /device/callback: Dex redeems the device flow's code
	routeApproval                     // /approval: the implicit and hybrid flows' tokens
	routeCallback                     // /callback: the same, when the approval screen is skipped
)

// signInLifetimes prepares the requests in which Dex issues tokens for
// lifetimeSigner, which caps those tokens at the end of the Palette sign-in
// behind them:
//   - it puts the request's connhook.Recorder in its context, in which the
//     connector records the end of the sign-in when it verifies a Palette
//     token (sign-in, refresh, token exchange);
//   - for a code redeemed at the token endpoint or the device callback, and
//     for an approval, it reads the end of the sign-in from the connector
//     data Dex stored with the code or auth request (storage is shared by
//     the replicas, so this holds wherever the code is redeemed). It reads
//     the request's form with the accessors Dex's handler uses, before Dex,
//     so that Dex finds the form parsed and redeems the very code or auth
//     request whose end was read;
//   - it answers nothing itself: Dex authenticates the client and checks
//     the code (or the approval's MAC) first, and only when Dex then asks to
//     sign does the signer refuse a sign-in that has ended or cannot be
//     read. That refusal is the answer (invalid_grant at the token endpoint,
//     a page in the browser), so a client that is not authenticated learns
//     nothing about a code;
//   - it lowers expires_in in token responses, and in the fragment of the
//     implicit flow's redirect, so that it agrees with the capped tokens.
func signInLifetimes(next http.Handler, routes dexRoutes, store storage.Storage, conns *connectorLookup, now func() time.Time, logger *slog.Logger) http.Handler {
	byPath := map[string]lifetimeRoute{
		routes.path("/token"):           routeToken,
		routes.path("/device/token"):    routeDeviceToken,
		routes.path("/device/callback"): routeDeviceCallback,
		routes.path("/approval"):        routeApproval,
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route := byPath[r.URL.Path]
		if route == routeOther && routes.isCallback(r.URL.Path) {
			route = routeCallback
		}
		if route == routeOther {
			next.ServeHTTP(w, r)
			return
		}
		ctx, recorded := connhook.WithRecorder(r.Context())
		sg := &signing{recorder: recorded}
		r = r.WithContext(withSigning(ctx, sg))
		end, known, err := storedSignInEnd(ctx, route, r, store, conns)
		switch {
		case err != nil:
			logger.ErrorContext(ctx, "token lifetime: the stored SpectroCloud sign-in cannot be read", "err", err)
			sg.storedErr = err
		case known:
			connhook.RecordSignInEnd(ctx, end)
		}
		sg.offlineSession = route == routeToken && r.PostFormValue("grant_type") == "refresh_token"
		rec := &recorder{header: make(http.Header)}
		next.ServeHTTP(rec, r)
		if msg := sg.refused(); msg != "" && rec.status == http.StatusInternalServerError {
			if route == routeToken {
				writeInvalidGrant(w, msg)
			} else {
				writeErrorPage(w, http.StatusForbidden, msg)
			}
			return
		}
		switch route {
		case routeToken, routeDeviceToken:
			lowerExpiresInBody(rec, now())
		default:
			lowerExpiresInFragment(rec, now())
		}
		rec.flush(w)
	})
}

// storedSignInEnd reads the end of the upstream sign-in from the connector
// data Dex stored for the code or auth request this request redeems; known
// is false when the request redeems none, or one of a connector whose
// sign-ins have no known end.
func storedSignInEnd(ctx context.Context, route lifetimeRoute, r *http.Request, store storage.Storage, conns *connectorLookup) (end time.Time, known bool, err error) {
	var connID string
	var data []byte
	// Each route's form is read as Dex's handler for it reads it: the token
	// endpoint with ParseForm and PostFormValue (Dex refuses a form that
	// does not parse before it signs anything), the device callback and the
	// approval with FormValue, which goes on past a query it cannot fully
	// parse (a ";") and reads multipart bodies. Dex then finds the form
	// parsed and reads the same values.
	switch route {
	case routeToken, routeDeviceCallback:
		var code string
		if route == routeToken {
			if r.ParseForm() != nil || r.PostFormValue("grant_type") != "authorization_code" {
				return time.Time{}, false, nil
			}
			code = r.PostFormValue("code")
		} else if r.Method == http.MethodGet {
			code = r.FormValue("code")
		}
		if code == "" {
			return time.Time{}, false, nil // Dex answers for a missing code
		}
		ac, err := store.GetAuthCode(ctx, code)
		if err != nil {
			return time.Time{}, false, nil // Dex answers for an unknown code
		}
		connID, data = ac.ConnectorID, ac.ConnectorData
	case routeApproval:
		id := r.FormValue("req")
		if id == "" {
			return time.Time{}, false, nil
		}
		ar, err := store.GetAuthRequest(ctx, id)
		if err != nil || !ar.LoggedIn {
			return time.Time{}, false, nil // Dex answers for it
		}
		connID, data = ar.ConnectorID, ar.ConnectorData
	default:
		return time.Time{}, false, nil
	}
	lt, err := lookupAs[connhook.Lifetime](ctx, conns, connID)
	if err != nil || lt == nil {
		return time.Time{}, false, err
	}
	end, err = lt.SignInEnd(data)
	if err != nil {
		return time.Time{}, false, err
	}
	return end, true, nil
}

// lowerExpiresInBody makes expires_in of a JSON token response agree with
// the exp of the tokens it carries.
func lowerExpiresInBody(rec *recorder, now time.Time) {
	if rec.status != http.StatusOK || !strings.HasPrefix(rec.header.Get("Content-Type"), "application/json") {
		return
	}
	var resp map[string]json.RawMessage
	if err := json.Unmarshal(rec.body.Bytes(), &resp); err != nil {
		return
	}
	var expiresIn int64
	if err := json.Unmarshal(resp["expires_in"], &expiresIn); err != nil {
		return
	}
	var tokens []string
	for _, name := range []string{"id_token", "access_token"} {
		var tok string
		if json.Unmarshal(resp[name], &tok) == nil {
			tokens = append(tokens, tok)
		}
	}
	left, ok := secondsLeft(tokens, now)
	if !ok || left >= expiresIn {
		return
	}
	resp["expires_in"] = json.RawMessage(strconv.FormatInt(left, 10))
	body, err := json.Marshal(resp)
	if err != nil {
		return
	}
	rec.body.Reset()
	rec.body.Write(body)
	rec.header.Del("Content-Length")
}

// lowerExpiresInFragment does the same for the implicit flow's redirect,
// whose tokens and expires_in travel in the fragment of its Location.
func lowerExpiresInFragment(rec *recorder, now time.Time) {
	loc := rec.header.Get("Location")
	if loc == "" || !strings.Contains(loc, "#") {
		return
	}
	u, err := url.Parse(loc)
	if err != nil {
		return
	}
	v, err := url.ParseQuery(u.Fragment)
	if err != nil || v.Get("expires_in") == "" {
		return
	}
	expiresIn, err := strconv.ParseInt(v.Get("expires_in"), 10, 64)
	if err != nil {
		return
	}
	left, ok := secondsLeft([]string{v.Get("id_token"), v.Get("access_token")}, now)
	if !ok || left >= expiresIn {
		return
	}
	v.Set("expires_in", strconv.FormatInt(left, 10))
	u.Fragment, u.RawFragment = v.Encode(), ""
	rec.header.Set("Location", u.String())
	// Dex's redirect page repeats the Location in its body.
	rec.body.Reset()
	rec.header.Del("Content-Length")
}

// secondsLeft returns the seconds until the earliest exp of the JWTs given
// (empty strings are skipped); false when none has an exp. The tokens are
// the ones Dex just signed, so their payload is read without verification.
func secondsLeft(tokens []string, now time.Time) (int64, bool) {
	var earliest int64
	found := false
	for _, tok := range tokens {
		exp, err := jwtExpiry(tok)
		if err != nil {
			continue
		}
		if !found || exp < earliest {
			earliest, found = exp, true
		}
	}
	if !found {
		return 0, false
	}
	return max(earliest-now.Unix(), 0), true
}

func jwtExpiry(tok string) (int64, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return 0, errors.New("not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return 0, err
	}
	var claims struct {
		Exp *int64 `json:"exp"`
	}
	if err := json.NewDecoder(bytes.NewReader(payload)).Decode(&claims); err != nil || claims.Exp == nil {
		return 0, errors.New("no exp")
	}
	return *claims.Exp, nil
}
