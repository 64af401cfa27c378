// Package check inspects the spectrocloud connectors of a configuration:
// for each, it resolves the issuer, fetches discovery and the signing keys,
// and reports the endpoints the connector will use.
package check

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud"
	"github.com/dex-spectro/dex-spectro/internal/config"
	"github.com/dex-spectro/dex-spectro/internal/connectors"
)

// Result is the outcome of inspecting one spectrocloud connector.
type Result struct {
	// ID and Name are the connector's.
	ID, Name string
	// Endpoints are the endpoints found; nil when Err is set.
	Endpoints *spectrocloud.Endpoints
	// Err says why the connector cannot sign users in.
	Err error
}

// Connectors inspects every spectrocloud connector of cfg, in file order,
// giving each at most timeout.
func Connectors(ctx context.Context, cfg *config.Config, timeout time.Duration) []Result {
	var results []Result
	for _, c := range cfg.StaticConnectors {
		if c.Type != connectors.SpectroCloud {
			continue
		}
		r := Result{ID: c.ID, Name: c.Name}
		sc, ok := c.Config.(*spectrocloud.Config)
		if !ok {
			r.Err = fmt.Errorf("unexpected configuration type %T", c.Config)
			results = append(results, r)
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, timeout)
		r.Endpoints, r.Err = sc.Inspect(cctx)
		cancel()
		if r.Err == nil && r.Endpoints == nil {
			r.Err = errors.New("inspection returned no endpoints")
		}
		results = append(results, r)
	}
	return results
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
		if r.Err != nil {
			fmt.Fprintf(w, "connector %q (%s): FAILED: %v\n", r.ID, r.Name, r.Err)
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
		fmt.Fprintf(w, "  signing key IDs:        %s\n", listOrNone(e.KeyIDs))
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d spectrocloud connectors failed the check: %s",
			len(failed), len(results), strings.Join(failed, ", "))
	}
	return nil
}

func listOrNone(items []string) string {
	if len(items) == 0 {
		return "(none)"
	}
	return strings.Join(items, ", ")
}
