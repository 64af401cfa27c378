// Package check inspects the spectrocloud connectors of a configuration:
// for each, it resolves the issuer, fetches discovery and the signing keys,
// and reports the endpoints the connector will use.
package check

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/dex-spectro/dex-spectro/internal/config"
	"github.com/dex-spectro/dex-spectro/internal/connectors"
	"github.com/dex-spectro/dex-spectro/internal/probe"
)

// Result is the outcome of inspecting one spectrocloud connector.
type Result struct {
	// ID and Name are the connector's.
	ID, Name string
	// Endpoints are the endpoints found; nil when Err is set.
	Endpoints *probe.Endpoints
	// KeyIDs are the key IDs of the signing keys published.
	KeyIDs []string
	// Warnings are the connector's insecure settings.
	Warnings []probe.Warning
	// Err says why the connector cannot sign users in.
	Err error
	// Directory is what a read of the connector's directory found; nil
	// without a directory block or when DirectoryErr is set.
	Directory *probe.DirectoryRead
	// DirectoryErr says why the directory cannot be read.
	DirectoryErr error
}

// Connectors inspects every spectrocloud connector of cfg, in file order,
// giving each at most timeout.
func Connectors(ctx context.Context, cfg *config.Config, timeout time.Duration) []Result {
	var results []Result
	for _, c := range cfg.StaticConnectors {
		if c.Type != connectors.SpectroCloud {
			continue
		}
		results = append(results, inspect(ctx, c, timeout))
	}
	return results
}

// inspect inspects one connector, through the probe its configuration
// opens (probe.Prober).
func inspect(ctx context.Context, c config.Connector, timeout time.Duration) Result {
	r := Result{ID: c.ID, Name: c.Name}
	prober, ok := c.Config.(probe.Prober)
	if !ok {
		r.Err = fmt.Errorf("unexpected configuration type %T", c.Config)
		return r
	}
	p, err := prober.Probe(c.ID, nil)
	if err != nil {
		r.Err = c.ExplainUnset(err)
		return r
	}
	r.Warnings = p.Warnings()
	cctx, cancel := context.WithTimeout(ctx, timeout)
	r.Endpoints, r.Err = p.Endpoints(cctx)
	if r.Err == nil {
		r.KeyIDs, r.Err = p.KeyIDs(cctx)
	}
	cancel()
	if r.Err = c.ExplainUnset(r.Err); r.Err != nil {
		r.Endpoints = nil
	}
	if p.Directory() != nil {
		// Not bounded by timeout, which is meant for the OIDC endpoints:
		// a tenant of 10,000 users takes longer at Palette's rate limit.
		// The connector bounds the read by directory.maxStaleness.
		r.Directory, r.DirectoryErr = p.ReadDirectory(ctx)
		r.DirectoryErr = c.ExplainUnset(r.DirectoryErr)
	}
	return r
}

// Write prints the results and returns an error naming the connectors
// that failed, if any.
func Write(w io.Writer, results []Result) error {
	if len(results) == 0 {
		fmt.Fprintln(w, "no spectrocloud connectors to inspect")
		return nil
	}
	var failed []string
	for _, r := range results {
		for _, warning := range r.Warnings {
			fmt.Fprintf(w, "connector %q (%s): WARNING: %s\n", r.ID, r.Name, warning)
		}
		if r.Err != nil {
			fmt.Fprintf(w, "connector %q (%s): FAILED: %v\n", r.ID, r.Name, r.Err)
			failed = append(failed, fmt.Sprintf("%q", r.ID))
			continue
		}
		if r.DirectoryErr != nil {
			fmt.Fprintf(w, "connector %q (%s): FAILED: %v\n", r.ID, r.Name, r.DirectoryErr)
			failed = append(failed, fmt.Sprintf("%q", r.ID))
			continue
		}
		e := r.Endpoints
		discovery := "no (endpoints from configuration)"
		if e.FromDiscovery {
			discovery = "yes"
		}
		fmt.Fprintf(w, "connector %q (%s): OK\n", r.ID, r.Name)
		fmt.Fprintf(w, "  issuer:                 %s\n", e.Issuer)
		fmt.Fprintf(w, "  discovery:              %s\n", discovery)
		fmt.Fprintf(w, "  authorization endpoint: %s\n", e.AuthURL)
		fmt.Fprintf(w, "  token endpoint:         %s\n", e.TokenURL)
		fmt.Fprintf(w, "  JWKS:                   %s\n", e.JWKSURL)
		fmt.Fprintf(w, "  signing algorithms:     %s\n", listOrNone(e.Algorithms))
		fmt.Fprintf(w, "  signing key IDs:        %s\n", listOrNone(printableKeyIDs(r.KeyIDs)))
		writeDirectory(w, r.Directory)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d spectrocloud connectors failed the check: %s",
			len(failed), len(results), strings.Join(failed, ", "))
	}
	return nil
}

// printableKeyIDs returns the key IDs of Palette's key set for printing:
// one that holds a character a terminal would act on (an escape sequence, a
// line break) or that could pass for several is quoted, its characters
// escaped.
func printableKeyIDs(kids []string) []string {
	out := make([]string, len(kids))
	for i, kid := range kids {
		out[i] = kid
		if kid == "" || strings.ContainsAny(kid, ", \"") || strings.IndexFunc(kid, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
			out[i] = strconv.Quote(kid)
		}
	}
	return out
}

func listOrNone(items []string) string {
	if len(items) == 0 {
		return "(none)"
	}
	return strings.Join(items, ", ")
}
