package demo

import (
	"crypto/rand"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"golang.org/x/oauth2"
)

// app is the demo's relying party, in the role of Backstage or kubectl: it
// signs users in through Dex with the authorization-code flow (state, nonce,
// PKCE), shows the claims of Dex's ID token, refreshes it, and shows a
// kubeconfig entry for the same Dex.
type app struct {
	dex      *dexClient
	sessions *sessionStore
	pages    *template.Template
	logger   *slog.Logger
	// now is the clock for Dex's tokens (Options.Now).
	now func() time.Time
	// palette tells when the emulated Palette's ID tokens expire.
	palette *paletteExpiries
	site    siteInfo
}

// siteInfo is what every page shows about the demo.
type siteInfo struct {
	AppURL, Issuer, ConsoleURL, TenantIssuer string
	TokenLifetime, DexTokenLifetime          time.Duration
	Users                                    []User
	Kubeconfig                               string
}

// appConfig configures newApp.
type appConfig struct {
	endpoints     endpoints
	tenantIssuer  string
	opts          Options
	paletteExpiry *paletteExpiries
}

func newApp(c appConfig) (*app, error) {
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	e := c.endpoints
	return &app{
		dex: &dexClient{
			issuer:       e.issuer,
			clientID:     appClientID,
			clientSecret: appClientSecret,
			redirectURI:  e.appRedirectURI(),
			http:         &http.Client{Timeout: 15 * time.Second},
			now:          c.opts.Now,
		},
		sessions: newSessionStore(c.opts.Now),
		pages:    pages,
		logger:   c.opts.Logger.With("component", "demo-app"),
		now:      c.opts.Now,
		palette:  c.paletteExpiry,
		site: siteInfo{
			AppURL:           e.appURL,
			Issuer:           e.issuer,
			ConsoleURL:       e.consoleURL,
			TenantIssuer:     c.tenantIssuer,
			TokenLifetime:    c.opts.TokenLifetime,
			DexTokenLifetime: c.opts.dexIDTokenLifetime(),
			Users:            Users(),
			Kubeconfig:       kubeconfig(e.issuer),
		},
	}, nil
}

// handler routes the app's pages.
func (a *app) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("GET /login", a.login)
	mux.HandleFunc("GET /callback", a.callback)
	mux.HandleFunc("POST /refresh", a.refresh)
	mux.HandleFunc("POST /logout", a.logout)
	return securityHeaders(mux)
}

// home shows the claims when signed in, the sign-in page otherwise.
func (a *app) home(w http.ResponseWriter, r *http.Request) {
	sess, ok := a.sessions.get(r)
	if !ok || sess.signedIn == nil {
		notice, problem := sess.notice, sess.problem
		if ok && (notice != "" || problem != "") {
			sess.notice, sess.problem = "", ""
			a.sessions.put(sess)
		}
		a.render(w, http.StatusOK, "home.html", a.homeView(notice, problem))
		return
	}
	view := a.claimsView(sess)
	if sess.notice != "" || sess.problem != "" {
		sess.notice, sess.problem = "", ""
		a.sessions.put(sess)
	}
	a.render(w, http.StatusOK, "claims.html", view)
}

// login starts the authorization-code flow at Dex.
func (a *app) login(w http.ResponseWriter, r *http.Request) {
	sess := a.sessions.getOrCreate(w, r)
	sess.state, sess.nonce, sess.verifier = rand.Text(), rand.Text(), oauth2.GenerateVerifier()
	authURL, err := a.dex.authCodeURL(r.Context(), sess.state, sess.nonce, sess.verifier)
	if err != nil {
		a.logger.ErrorContext(r.Context(), "start sign-in", "err", err)
		a.renderProblem(w, http.StatusBadGateway, "Dex is not reachable",
			"The demo app could not reach Dex to start the sign-in: "+err.Error())
		return
	}
	a.sessions.put(sess)
	http.Redirect(w, r, authURL, http.StatusFound)
}

// callback finishes the sign-in: it checks state, redeems the code with
// the PKCE verifier and verifies the ID token and its nonce.
func (a *app) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sess, ok := a.sessions.get(r)
	if !ok || sess.state == "" || q.Get("state") != sess.state {
		a.renderProblem(w, http.StatusBadRequest, "Sign-in not recognised",
			"This sign-in was not started in this browser, or it has already finished. Sign in again.")
		return
	}
	nonce, verifier := sess.nonce, sess.verifier
	sess.state, sess.nonce, sess.verifier = "", "", ""
	a.sessions.put(sess)

	if e := q.Get("error"); e != "" {
		msg := "Dex answered " + e
		if d := q.Get("error_description"); d != "" {
			msg += ": " + d
		}
		a.renderProblem(w, http.StatusForbidden, "Sign-in refused", msg+". Sign in again.")
		return
	}
	tok, err := a.dex.exchange(r.Context(), q.Get("code"), verifier)
	if err == nil && tok.nonce != nonce {
		err = errors.New("the ID token's nonce does not match the sign-in")
	}
	if err != nil {
		a.logger.ErrorContext(r.Context(), "finish sign-in", "err", err)
		a.renderProblem(w, http.StatusBadGateway, "Sign-in failed", err.Error()+". Sign in again.")
		return
	}
	sess.signedIn = &signIn{
		idToken:      tok.idToken,
		refreshToken: tok.refreshToken,
		claims:       tok.claims,
		expiry:       tok.expiry,
	}
	sess.notice = "Signed in through Dex and SpectroCloud Palette."
	sess.problem = ""
	a.sessions.put(sess)
	a.logger.InfoContext(r.Context(), "signed in", "email", tok.claims["email"])
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// refresh runs Dex's refresh grant with the stored refresh token.
func (a *app) refresh(w http.ResponseWriter, r *http.Request) {
	sess, ok := a.sessions.get(r)
	if !ok || sess.signedIn == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	current := *sess.signedIn
	if current.refreshToken == "" {
		sess.problem = "Dex issued no refresh token (the offline_access scope was not granted). Sign in again."
		a.sessions.put(sess)
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	tok, err := a.dex.refresh(r.Context(), current.refreshToken)
	if err != nil {
		a.logger.InfoContext(r.Context(), "refresh refused", "err", err)
		current.ended = true
		sess.signedIn = &current
		sess.problem = a.refreshProblem(err, current)
		a.sessions.put(sess)
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	next := signIn{
		idToken:        tok.idToken,
		refreshToken:   tok.refreshToken,
		claims:         tok.claims,
		expiry:         tok.expiry,
		previousExpiry: current.expiry,
		refreshes:      current.refreshes + 1,
	}
	if next.refreshToken == "" {
		next.refreshToken = current.refreshToken
	}
	sess.signedIn = &next
	sess.notice = fmt.Sprintf("Refreshed: Dex re-checked the stored Palette ID token, without calling Palette, and issued an ID token that expires at %s (the previous one expired at %s).",
		clock(next.expiry), clock(current.expiry))
	a.sessions.put(sess)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// refreshProblem explains a refused refresh.
func (a *app) refreshProblem(err error, s signIn) string {
	answer := err.Error()
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		answer = "Dex answered " + re.ErrorCode
		if re.Response != nil {
			answer = fmt.Sprintf("Dex answered %d %s", re.Response.StatusCode, re.ErrorCode)
		}
		if re.ErrorDescription != "" {
			answer += ": " + re.ErrorDescription
		}
	}
	msg := "Refresh refused. " + answer + "."
	email, _ := s.claims["email"].(string)
	if exp, ok := a.palette.expiry(email); ok && !time.Now().Before(exp) {
		msg += fmt.Sprintf(" The Palette ID token behind this session expired at %s: Dex re-checks it on every refresh and never asks Palette for a new one.", clock(exp))
	}
	return msg + " Please sign in again."
}

// logout forgets the session.
func (a *app) logout(w http.ResponseWriter, r *http.Request) {
	a.sessions.delete(w, r)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// securityHeaders adds the headers every page gets.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}
