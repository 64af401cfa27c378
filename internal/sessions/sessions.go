// Package sessions lists and ends the Dex sessions of a user through Dex's
// gRPC API: the logic of `dex-spectro sessions list|revoke`, the kill switch
// for what cannot wait for Palette's directory to be read again.
//
// Dex's API knows a user by the subject of its ID tokens, which encodes the
// user ID the connector gave and the connector's ID (ListRefresh and
// RevokeRefresh take it). A user is named by that subject, by a user ID with
// the connectors to look in (given, or every spectrocloud connector of the
// configuration), or by an email, which the configuration's spectrocloud
// connectors turn into user IDs (the email itself when it is the user ID,
// or the user's Palette UID through the connector's directory). Revoking
// deletes every refresh token of the user, for every client, at once.
package sessions

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/dexidp/dex/api/v2"

	"github.com/dex-spectro/dex-spectro/internal/config"
	"github.com/dex-spectro/dex-spectro/internal/connectors"
	"github.com/dex-spectro/dex-spectro/internal/probe"
)

// UsageError is a command line that cannot be run as given.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }

func (e *UsageError) Unwrap() error { return e.Err }

// ExitCode is 2, as for every usage error of dex-spectro.
func (e *UsageError) ExitCode() int { return 2 }

func usage(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// Who names the user whose sessions to list or end: exactly one of Email,
// UserID and Subject.
type Who struct {
	// Email is resolved to user IDs by the configuration's spectrocloud
	// connectors.
	Email string
	// UserID is the user ID a connector gave (the Palette ID token's sub,
	// or the claim userIDKey names).
	UserID string
	// Subject is the sub of the user's Dex ID tokens, which names the
	// connector too.
	Subject string
}

// Options control List and Revoke.
type Options struct {
	Who Who
	// Connectors limits the search to these connector IDs; empty means
	// every spectrocloud connector of Config.
	Connectors []string
	// Config is the server's configuration; required for Email, and for
	// UserID without Connectors.
	Config *config.Config
	// GRPC says how to reach Dex's API.
	GRPC GRPC
	// Out receives the report.
	Out io.Writer
}

// target is one subject to look up: a user of a connector.
type target struct {
	subject   string
	connector string // "" when given as a subject
	userID    string // "" when given as a subject
	source    string // where the user ID comes from
}

func (t target) String() string {
	if t.connector == "" {
		return fmt.Sprintf("subject %q", t.subject)
	}
	s := fmt.Sprintf("connector %q, user ID %q", t.connector, t.userID)
	if t.source != "" {
		s += " (" + t.source + ")"
	}
	return s
}

// List prints every refresh token of the user: the client it was issued to,
// when it was created and last used.
func List(ctx context.Context, opts Options) error {
	return run(ctx, opts, func(ctx context.Context, client api.DexClient, t target, refs []*api.RefreshTokenRef) error {
		if len(refs) == 0 {
			fmt.Fprintf(opts.Out, "%s: no refresh tokens\n", t)
			return nil
		}
		fmt.Fprintf(opts.Out, "%s: %d refresh tokens\n", t, len(refs))
		for _, r := range refs {
			fmt.Fprintf(opts.Out, "  client %q: created %s, last used %s\n", r.GetClientId(), unix(r.GetCreatedAt()), unix(r.GetLastUsed()))
		}
		return nil
	})
}

// Revoke deletes every refresh token of the user, for every client: the
// user's next refresh fails, in every application, and a new sign-in is
// needed. Tokens already issued stay valid until they expire. A client
// whose token cannot be revoked does not stop the others: Revoke prints
// what it revoked and returns the failures together.
func Revoke(ctx context.Context, opts Options) error {
	revoked := 0
	err := run(ctx, opts, func(ctx context.Context, client api.DexClient, t target, refs []*api.RefreshTokenRef) error {
		if len(refs) == 0 {
			fmt.Fprintf(opts.Out, "%s: no refresh tokens to revoke\n", t)
			return nil
		}
		var clients []string
		var errs []error
		for _, r := range refs {
			resp, err := client.RevokeRefresh(ctx, &api.RevokeRefreshReq{UserId: t.subject, ClientId: r.GetClientId()})
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: revoke the refresh token of client %q: %w", t, r.GetClientId(), err))
				continue
			}
			if !resp.GetNotFound() {
				clients = append(clients, fmt.Sprintf("%q", r.GetClientId()))
			}
		}
		revoked += len(clients)
		if len(clients) > 0 || len(errs) == 0 {
			fmt.Fprintf(opts.Out, "%s: revoked %d refresh tokens (clients %s)\n", t, len(clients), strings.Join(clients, ", "))
		}
		return errors.Join(errs...)
	})
	if revoked > 0 {
		fmt.Fprintln(opts.Out, "Tokens Dex issued before stay valid until they expire (at most expiry.idTokens): "+
			"clusters and applications accept them until then; the user's next refresh fails.")
	}
	return err
}

// run resolves the targets, connects to Dex's API, lists each target's
// refresh tokens and hands them to do. It goes on after a target fails,
// and returns the errors together.
func run(ctx context.Context, opts Options, do func(context.Context, api.DexClient, target, []*api.RefreshTokenRef) error) error {
	targets, errs := resolve(ctx, opts)
	if len(targets) == 0 {
		if len(errs) == 0 {
			errs = append(errs, errors.New("no user to look for"))
		}
		return errors.Join(errs...)
	}
	conn, err := opts.GRPC.dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	client := api.NewDexClient(conn)
	for _, t := range targets {
		resp, err := client.ListRefresh(ctx, &api.ListRefreshReq{UserId: t.subject})
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: list refresh tokens at %s: %w", t, opts.GRPC.Addr, err))
			continue
		}
		refs := resp.GetRefreshTokens() // from a map in Dex: in no order
		slices.SortFunc(refs, func(a, b *api.RefreshTokenRef) int { return strings.Compare(a.GetClientId(), b.GetClientId()) })
		if err := do(ctx, client, t, refs); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// resolve turns Who into targets. Errors of single connectors (an email
// that a connector cannot resolve) are returned beside the targets of the
// others.
func resolve(ctx context.Context, opts Options) ([]target, []error) {
	w := opts.Who
	given := 0
	for _, v := range []string{w.Email, w.UserID, w.Subject} {
		if v != "" {
			given++
		}
	}
	if given != 1 {
		return nil, []error{usage("name the user with exactly one of --email, --user-id and --subject")}
	}
	if w.Subject != "" {
		if len(opts.Connectors) > 0 {
			return nil, []error{usage("--connector is not used with --subject, which names the connector")}
		}
		return []target{{subject: w.Subject}}, nil
	}
	ids, err := connectorIDs(opts)
	if err != nil {
		return nil, []error{err}
	}
	if w.UserID != "" {
		targets := make([]target, 0, len(ids))
		for _, id := range ids {
			targets = append(targets, target{subject: Subject(w.UserID, id), connector: id, userID: w.UserID})
		}
		return targets, nil
	}
	var targets []target
	var errs []error
	for _, id := range ids {
		p, err := probeConnector(opts.Config, id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		candidates, err := p.UserIDsForEmail(ctx, w.Email)
		if err != nil {
			errs = append(errs, fmt.Errorf("connector %q: %w", id, err))
			continue
		}
		if len(candidates) == 0 {
			fmt.Fprintf(opts.Out, "connector %q: no user with the email %s in Palette's directory\n", id, w.Email)
		}
		for _, c := range candidates {
			targets = append(targets, target{subject: Subject(c.UserID, id), connector: id, userID: c.UserID, source: c.Source})
		}
	}
	return targets, errs
}

// connectorIDs returns the connectors to look in.
func connectorIDs(opts Options) ([]string, error) {
	if len(opts.Connectors) > 0 {
		return opts.Connectors, nil
	}
	if opts.Config == nil {
		return nil, usage("without a configuration file, name the connector with --connector")
	}
	var ids []string
	for _, c := range opts.Config.StaticConnectors {
		if c.Type == connectors.SpectroCloud {
			ids = append(ids, c.ID)
		}
	}
	if len(ids) == 0 {
		return nil, usage("the configuration has no spectrocloud connector: name the connector with --connector")
	}
	return ids, nil
}

// probeConnector opens the connector with this ID for the command
// (probe.Prober), to find users by email.
func probeConnector(cfg *config.Config, id string) (probe.Connector, error) {
	if cfg == nil {
		return nil, usage("--email needs the configuration file, whose connectors find the user by email")
	}
	for _, c := range cfg.StaticConnectors {
		if c.ID != id {
			continue
		}
		prober, ok := c.Config.(probe.Prober)
		if !ok {
			return nil, fmt.Errorf("connector %q is of type %s, and only spectrocloud connectors find users by email: use --user-id", id, c.Type)
		}
		p, err := prober.Probe(id, nil)
		if err != nil {
			return nil, fmt.Errorf("connector %q: %w", id, err)
		}
		return p, nil
	}
	return nil, usage("no connector with ID %q in the configuration", id)
}

// Subject returns the sub of the Dex ID tokens of a connector's user, as
// Dex v2.45.1 encodes it: base64url (unpadded) of a protobuf message with
// the user ID in field 1 and the connector ID in field 2. Dex's API names
// users by it.
func Subject(userID, connectorID string) string {
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, userID)
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendString(b, connectorID)
	return base64.RawURLEncoding.EncodeToString(b)
}

func unix(sec int64) string {
	if sec == 0 {
		return "never"
	}
	return time.Unix(sec, 0).UTC().Format(time.RFC3339)
}
