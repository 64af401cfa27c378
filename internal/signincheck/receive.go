package signincheck

import (
	"bufio"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxCallbackURL bounds a pasted or received callback URL.
const maxCallbackURL = 16 << 10

// parseRedirectURI parses the connector's redirectURI.
func parseRedirectURI(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("redirectURI %q is not an absolute URL", raw)
	}
	return u, nil
}

// receiver gets the URL Palette sent the browser back to: from a listener
// on redirectURI when possible, else from pasted input. The listener takes
// only a request that carries this sign-in's state: any other local page
// could send one, to end the check or to fake Palette's answer.
type receiver struct {
	redirect *url.URL
	state    string
	in       io.Reader

	// listening, when set: the server on redirectURI and what it received.
	ln        net.Listener
	srv       *http.Server
	got       chan *url.URL
	whyNotOwn string // why the check does not listen, for the instructions
}

func newReceiver(redirect *url.URL, state string, in io.Reader) *receiver {
	r := &receiver{redirect: redirect, state: state, in: in}
	addr, why := loopbackAddr(redirect)
	if addr == "" {
		r.whyNotOwn = why
		return r
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		r.whyNotOwn = fmt.Sprintf("cannot listen on %s (%v)", addr, err)
		return r
	}
	r.ln = ln
	r.got = make(chan *url.URL, 1)
	r.srv = &http.Server{
		Handler:           http.HandlerFunc(r.serveCallback),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       30 * time.Second,
		MaxHeaderBytes:    maxCallbackURL + 4<<10,
	}
	go func() { _ = r.srv.Serve(ln) }()
	return r
}

// loopbackAddr returns the address to listen on for redirectURI, or "" and
// why not: only plain-http loopback URLs are served here.
func loopbackAddr(u *url.URL) (string, string) {
	host := u.Hostname()
	ip := net.ParseIP(host)
	if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return "", "redirectURI is not a loopback address"
	}
	if u.Scheme != "http" {
		return "", "redirectURI is " + u.Scheme + ", and this check listens with plain http only"
	}
	port := u.Port()
	if port == "" {
		port = "80"
	}
	return net.JoinHostPort(host, port), ""
}

func (r *receiver) instructions(wait time.Duration) string {
	if r.ln != nil {
		return fmt.Sprintf("Waiting up to %s for the browser to come back to %s:\n"+
			"this check listens there (stop Dex first if it runs on that address).\n"+
			"If the browser runs on another machine, paste here the URL it was sent back to instead, then press Enter.",
			wait, r.redirect.String())
	}
	return fmt.Sprintf("This check cannot receive Palette's answer itself: %s.\n"+
		"After signing in, copy the URL the browser was sent back to from its address bar\n"+
		"(it starts with %s; the page itself may fail to load), paste it here and press Enter.\n"+
		"Waiting up to %s.", r.whyNotOwn, r.redirect.String(), wait)
}

// serveCallback takes the first request for redirectURI's path that
// carries this sign-in's state; it answers others with a short error page
// and keeps listening.
func (r *receiver) serveCallback(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path != r.redirect.Path || req.Method != http.MethodGet {
		http.NotFound(w, req)
		return
	}
	if got := req.URL.Query().Get("state"); subtle.ConstantTimeCompare([]byte(got), []byte(r.state)) != 1 {
		http.Error(w, "dex-spectro ignored this request: it does not carry the state of the sign-in being checked. "+
			"Open the URL the check printed, or paste into the terminal the URL Palette sent the browser back to.", http.StatusBadRequest)
		return
	}
	u := *req.URL
	u.Scheme, u.Host = r.redirect.Scheme, r.redirect.Host
	select {
	case r.got <- &u:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "dex-spectro received Palette's answer. Return to the terminal for the report; you can close this page.\n")
	default:
		http.Error(w, "dex-spectro already received an answer for this sign-in check.", http.StatusConflict)
	}
}

// receive waits for the callback URL until ctx ends: from the listener,
// if any, or pasted on the input, whichever comes first. While listening,
// an input that ends without a line is no error: the listener may still
// receive the answer.
func (r *receiver) receive(ctx context.Context) (*url.URL, error) {
	type line struct {
		s   string
		err error
	}
	lines := make(chan line, 1)
	go func() {
		s, err := readLine(r.in)
		lines <- line{s, err}
	}()
	for {
		select {
		case u := <-r.got: // nil channel without a listener
			return u, nil
		case l := <-lines:
			if l.err != nil {
				if r.ln != nil && errors.Is(l.err, errNoInput) {
					lines = nil
					continue
				}
				return nil, l.err
			}
			return parseCallback(l.s)
		case <-ctx.Done():
			return nil, waitError(ctx)
		}
	}
}

func waitError(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &Error{Status: StatusRefused, Err: errors.New("the browser did not come back in time: start the check again (--wait allows more time)")}
	}
	return &Error{Status: StatusRefused, Err: fmt.Errorf("sign-in check abandoned: %w", ctx.Err())}
}

// readLine reads the first non-blank line, at most maxCallbackURL bytes.
func readLine(in io.Reader) (string, error) {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 4096), maxCallbackURL)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			return s, nil
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return "", usageError("the pasted line is longer than %d bytes: paste only the URL the browser was sent back to", maxCallbackURL)
		}
		return "", usageError("read the pasted URL: %w", err)
	}
	return "", errNoInput
}

// errNoInput is the input ending without a line.
var errNoInput = &Error{Status: StatusUsage, Err: errors.New("no URL was pasted (standard input ended): paste the URL the browser was sent back to")}

// parseCallback parses a pasted callback URL.
func parseCallback(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, usageError("the pasted text is not a URL: paste the whole address the browser was sent back to, starting with http:// or https://")
	}
	return u, nil
}

// checkCallback checks that u is redirectURI with this sign-in's state, as
// Dex checks the state before it hands the request to the connector.
func checkCallback(u, redirect *url.URL, state string) error {
	if !strings.EqualFold(u.Scheme, redirect.Scheme) || !strings.EqualFold(u.Host, redirect.Host) || u.Path != redirect.Path {
		return usageError("the URL is not the connector's redirectURI %s: paste the address the browser was sent back to after signing in to Palette", redirect.String())
	}
	q := u.Query()
	switch got := q.Get("state"); {
	case got == "" && q.Get("error") != "":
		return &Error{Status: StatusRefused, Err: fmt.Errorf("Palette answered with the OAuth error %s, without the sign-in's state", oauthCode(q.Get("error")))}
	case got == "":
		return usageError("the URL has no state parameter: it is not Palette's answer to this sign-in")
	case got != state:
		return usageError("the URL's state does not match this sign-in, so it comes from another sign-in or an old browser tab: start the check again and use the URL it prints")
	}
	return nil
}

// oauthCode shows an OAuth error code only when it has the form of one.
func oauthCode(code string) string {
	if len(code) > 64 {
		return "(an unrecognised error)"
	}
	for _, r := range code {
		if !(r == '_' || r == '-' || r == '.' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return "(an unrecognised error)"
		}
	}
	return code
}

func (r *receiver) close() {
	if r.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = r.srv.Shutdown(ctx)
	}
}
