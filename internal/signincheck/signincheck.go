// Package signincheck runs one real sign-in through a configured
// spectrocloud connector from an operator's terminal, as Dex would run it,
// and reports what Palette sent and what Dex would make of it: the logic of
// `dex-spectro check --sign-in`.
//
// The sign-in goes through the connector's own LoginURL and HandleCallback,
// on a connector opened for the check (probe.Prober): nonce, PKCE, client
// authentication,
// verification, claim mapping, claimModifications, the sign-in resolvers
// with their catalog, and allowedGroups. The code reaches it either at the
// connector's redirectURI, when that is a loopback http URL this process
// can listen on, or as the URL the browser was sent back to, pasted on
// standard input. Nothing printed holds a token, the code, the client
// secret or a catalog token.
package signincheck

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/dex-spectro/dex-spectro/internal/config"
	"github.com/dex-spectro/dex-spectro/internal/connectors"
	"github.com/dex-spectro/dex-spectro/internal/probe"
)

// Exit statuses of a sign-in check.
const (
	// StatusSignedIn: Dex would sign the user in.
	StatusSignedIn = 0
	// StatusRefused: Dex would refuse the sign-in, or it could not be
	// completed with Palette.
	StatusRefused = 1
	// StatusUsage: the check could not be run as asked (command line,
	// configuration, or what came back from the browser).
	StatusUsage = 2
)

// DefaultWait is how long Run waits for the browser by default.
const DefaultWait = 5 * time.Minute

// Error is a check that did not end with a sign-in; Status is the exit
// status it calls for.
type Error struct {
	Status int
	Err    error
}

func (e *Error) Error() string { return e.Err.Error() }

func (e *Error) Unwrap() error { return e.Err }

// ExitCode returns the process exit status for this error.
func (e *Error) ExitCode() int { return e.Status }

func usageError(format string, args ...any) error {
	return &Error{Status: StatusUsage, Err: fmt.Errorf(format, args...)}
}

// Options control Run.
type Options struct {
	// ConnectorID selects the spectrocloud connector; empty selects the
	// only one.
	ConnectorID string
	// Wait bounds the time for the browser to come back. Zero means
	// DefaultWait.
	Wait time.Duration
	// In is where the pasted callback URL is read from when the check
	// cannot listen on redirectURI.
	In io.Reader
	// Out receives the instructions and the report.
	Out io.Writer
	// Logger receives the connector's log records; nil discards them.
	Logger *slog.Logger
}

// Run runs the sign-in check for a loaded configuration. It returns nil
// when Dex would sign the user in, and otherwise an *Error with the exit
// status and the reason; the report is written to opts.Out either way
// once the sign-in has come back.
func Run(ctx context.Context, cfg *config.Config, opts Options) error {
	if opts.Wait <= 0 {
		opts.Wait = DefaultWait
	}
	if opts.In == nil {
		opts.In = strings.NewReader("")
	}
	conn, err := pickConnector(cfg, opts.ConnectorID)
	if err != nil {
		return err
	}
	prober, ok := conn.Config.(probe.Prober)
	if !ok {
		return usageError("connector %q: unexpected configuration type %T", conn.ID, conn.Config)
	}
	p, err := prober.Probe(conn.ID, opts.Logger)
	if err != nil {
		return usageError("connector %q: %w", conn.ID, err)
	}
	trial := newTrial(p)
	redirect, err := parseRedirectURI(trial.settings.RedirectURI)
	if err != nil {
		return usageError("connector %q: %w", conn.ID, err)
	}
	state, err := randomState()
	if err != nil {
		return err
	}
	authURL, pending, err := trial.start(ctx, state)
	if err != nil {
		return &Error{Status: StatusRefused, Err: fmt.Errorf("connector %q: cannot start a sign-in: %w", conn.ID, err)}
	}
	dir := readDirectory(ctx, p) // while the user signs in
	defer dir.stop()

	recv := newReceiver(redirect, state, opts.In)
	defer recv.close()
	fmt.Fprintf(opts.Out, "Sign-in check of connector %q (%s).\n", conn.ID, clean(conn.Name))
	fmt.Fprintln(opts.Out, "Open this URL in a browser and sign in to Palette:")
	fmt.Fprintln(opts.Out)
	fmt.Fprintln(opts.Out, authURL)
	fmt.Fprintln(opts.Out)
	fmt.Fprintln(opts.Out, recv.instructions(opts.Wait))

	wctx, cancel := context.WithTimeout(ctx, opts.Wait)
	defer cancel()
	callback, err := recv.receive(wctx)
	if err != nil {
		return err
	}
	if err := checkCallback(callback, redirect, state); err != nil {
		return err
	}
	fmt.Fprintln(opts.Out, "Palette sent the browser back; completing the sign-in as Dex would.")
	fmt.Fprintln(opts.Out)

	dir.wait()
	rep := trial.finish(ctx, pending, callback)
	writeReport(opts.Out, conn, cfg.Expiry, rep, func(w io.Writer) { writeDirectory(w, dir, rep.seen.Directory) })
	if rep.err != nil {
		return &Error{Status: StatusRefused, Err: fmt.Errorf("Dex would refuse this sign-in: %s", clean(rep.err.Error()))}
	}
	return nil
}

// pickConnector finds the spectrocloud connector to check: the one with
// this ID, or the only one when id is empty.
func pickConnector(cfg *config.Config, id string) (*config.Connector, error) {
	var found []*config.Connector
	for i := range cfg.StaticConnectors {
		c := &cfg.StaticConnectors[i]
		switch {
		case id != "" && c.ID == id && c.Type != connectors.SpectroCloud:
			return nil, usageError("connector %q is of type %s: --sign-in checks spectrocloud connectors only", id, c.Type)
		case id != "" && c.ID == id:
			return c, nil
		case c.Type == connectors.SpectroCloud:
			found = append(found, c)
		}
	}
	ids := make([]string, len(found))
	for i, c := range found {
		ids[i] = c.ID
	}
	sort.Strings(ids)
	switch {
	case len(found) == 0:
		return nil, usageError("the configuration has no spectrocloud connector to sign in with")
	case id != "":
		return nil, usageError("no spectrocloud connector with ID %q in the configuration (spectrocloud connectors: %s)", id, strings.Join(ids, ", "))
	case len(found) > 1:
		return nil, usageError("the configuration has several spectrocloud connectors (%s): choose one with --connector", strings.Join(ids, ", "))
	}
	return found[0], nil
}

func randomState() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate state: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}
