package resolver

import (
	"fmt"
	"net/http"
	"strings"
)

// DeniedError reports a sign-in that the resolvers refused: either a resolver
// denied the user (an email domain that is not allowed, a catalog match that
// is not unique), or no resolver matched. Match it with errors.As. Its
// message carries no token material, but names the account's values (its
// email, a claim's value) for the log and the operator; Public says the
// same without them, for clients and browsers.
type DeniedError struct {
	// Reason says why the sign-in was refused.
	Reason string
	// Resolver names the resolver that denied the user; empty when no
	// resolver matched.
	Resolver string
	// Tried lists each resolver tried, in order, with why it did not match,
	// as "<resolver>: <why>".
	Tried []string

	// publicReason and publicTried are Reason and Tried without the
	// account's values.
	publicReason string
	publicTried  []string
}

// Error returns "sign-in denied: <reason>", followed by the resolvers tried.
func (e *DeniedError) Error() string {
	return deniedMessage(e.Reason, e.Tried)
}

// Public returns the message without the account's values: "sign-in
// denied: <reason>", followed by the resolvers tried and why they did not
// match, in words that name no email, domain or claim value.
func (e *DeniedError) Public() string {
	if e.publicReason == "" {
		return "sign-in denied by the sign-in resolvers"
	}
	return deniedMessage(e.publicReason, e.publicTried)
}

func deniedMessage(reason string, tried []string) string {
	var b strings.Builder
	b.WriteString("sign-in denied: ")
	b.WriteString(reason)
	if len(tried) > 0 {
		b.WriteString(" (tried ")
		b.WriteString(strings.Join(tried, "; "))
		b.WriteString(")")
	}
	return b.String()
}

// CatalogErrorKind says how a catalog lookup failed.
type CatalogErrorKind int

// The ways a catalog lookup can fail.
const (
	// CatalogUnavailable: the catalog could not be reached, timed out, or
	// answered with a server error.
	CatalogUnavailable CatalogErrorKind = iota + 1
	// CatalogTokenRejected: the catalog answered 401 or 403 to the token.
	CatalogTokenRejected
	// CatalogBadResponse: the catalog answered, but not with a usable
	// by-query response (another status, a body that is not the expected
	// JSON, or one larger than CatalogMaxResponseBytes).
	CatalogBadResponse
)

// CatalogError reports that the Backstage catalog could not answer a lookup.
// The sign-in is refused (the chain fails closed); this is an outage or a
// misconfiguration, not a decision about the user. Its message names the base
// URL, never the token.
type CatalogError struct {
	// Kind says how the lookup failed.
	Kind CatalogErrorKind
	// BaseURL is the configured catalog base URL.
	BaseURL string
	// StatusCode is the HTTP status the catalog answered, or 0 when no
	// response arrived.
	StatusCode int
	// Err is the underlying cause, if any.
	Err error
}

// Error describes the failure and says that sign-in was refused.
func (e *CatalogError) Error() string {
	switch e.Kind {
	case CatalogTokenRejected:
		return fmt.Sprintf("resolver: the Backstage catalog at %s rejected the token (HTTP %d %s), so the sign-in was refused: check signIn.catalog.token or tokenFile",
			e.BaseURL, e.StatusCode, http.StatusText(e.StatusCode))
	case CatalogBadResponse:
		return fmt.Sprintf("resolver: the Backstage catalog at %s gave an unusable answer (%s), so the sign-in was refused", e.BaseURL, e.cause())
	default:
		return fmt.Sprintf("resolver: the Backstage catalog at %s could not be reached (%s), so the sign-in was refused: try again later", e.BaseURL, e.cause())
	}
}

func (e *CatalogError) cause() string {
	switch {
	case e.Err != nil && e.StatusCode != 0:
		return fmt.Sprintf("HTTP %d: %v", e.StatusCode, e.Err)
	case e.Err != nil:
		return e.Err.Error()
	case e.StatusCode != 0:
		return fmt.Sprintf("HTTP %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	default:
		return "unknown cause"
	}
}

// Unwrap returns the underlying cause.
func (e *CatalogError) Unwrap() error {
	return e.Err
}

// ExpressionError reports a CEL expression that does not compile or
// type-check (from New or Config.Validate), or whose evaluation failed for a
// reason other than an absent claim: a result that is not a string, the cost
// limit, the time bound, or another runtime error. At sign-in it ends the
// sign-in, like a denial.
type ExpressionError struct {
	// Key is the configuration key, such as signIn.resolvers[2].expression.
	Key string
	// Expression is the CEL source.
	Expression string
	// Compile is true when the expression was rejected at construction.
	Compile bool
	// Err is the compiler's or the evaluator's error.
	Err error
}

// Error names the key and the expression, and gives the cause.
func (e *ExpressionError) Error() string {
	if e.Compile {
		return fmt.Sprintf("%s: invalid expression %q: %v", e.Key, e.Expression, e.Err)
	}
	return fmt.Sprintf("resolver: %s: sign-in refused: evaluating %q failed: %v", e.Key, e.Expression, e.Err)
}

// Unwrap returns the underlying cause.
func (e *ExpressionError) Unwrap() error {
	return e.Err
}
