package resolver

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// Options carries what a Chain needs from its host. Every field is optional.
type Options struct {
	// HTTPClient makes the catalog requests. Nil: a client of its own with
	// the catalog timeout. Each request is also bound by the catalog timeout
	// through its context.
	HTTPClient *http.Client
	// Logger receives debug records about resolver decisions; never tokens.
	// Nil: no logging.
	Logger *slog.Logger
	// Now is the clock for the catalog cache. Nil: time.Now.
	Now func() time.Time
	// ObserveCatalog, when set, is called after each request to the catalog
	// (not for answers from the cache) with its error, nil on success, and
	// how long it took; for metrics.
	ObserveCatalog func(err error, elapsed time.Duration)
}

// Input is what the resolvers decide on.
type Input struct {
	// Claims are the verified ID token claims, as decoded from JSON.
	Claims map[string]any
	// Email is the connector's mapped email claim, empty when there is none.
	Email string
}

// Result is a resolved user.
type Result struct {
	// UserName is the user's name in the organisation, for
	// preferred_username.
	UserName string
	// EntityRef is the user's catalog entity ref, user:<namespace>/<name> in
	// Backstage's canonical (lower-case) form; empty when no catalog was
	// involved.
	EntityRef string
	// Groups are the groups the catalog user entity is a member of, as
	// group:<namespace>/<name>, sorted; set only with
	// signIn.catalog.groupsFromMembership.
	Groups []string
	// Resolver names the resolver that resolved the user.
	Resolver string
}

// Chain is an ordered list of resolvers built from a Config. It is safe for
// concurrent use.
type Chain struct {
	resolvers []resolver
	logger    *slog.Logger
}

// resolver is one entry of the chain.
type resolver interface {
	// name is the resolver's configured name.
	name() string
	// timeout bounds one call to resolve; 0 for resolvers that never block.
	timeout() time.Duration
	// resolve decides on in. An error is a failure that ends the sign-in.
	resolve(ctx context.Context, in Input) (outcome, error)
}

// verdict is what a resolver decided.
type verdict int

const (
	notResolved verdict = iota
	resolved
	denied
)

// outcome is a resolver's decision: a result, or why it did not match or
// denied the user.
type outcome struct {
	verdict verdict
	result  Result
	// detail explains a notResolved or denied verdict, with the account's
	// values (its email, a claim's value); public explains it without
	// them, for messages that reach clients and browsers.
	detail, public string
}

// miss is a resolver that does not match, for the reason public gives;
// detail, when not empty, gives it with the account's values.
func miss(public, detail string) outcome {
	return outcome{verdict: notResolved, public: public, detail: orPublic(detail, public)}
}

// deny is a resolver that denies the user; see miss.
func deny(public, detail string) outcome {
	return outcome{verdict: denied, public: public, detail: orPublic(detail, public)}
}

func orPublic(detail, public string) string {
	if detail == "" {
		return public
	}
	return detail
}

func hit(r Result) outcome {
	return outcome{verdict: resolved, result: r}
}

// New validates cfg and builds the chain: it compiles the expressions, reads
// the catalog tokenFile, and sets up the catalog client and its cache.
func New(cfg Config, opts Options) (*Chain, error) {
	env, asts, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	var catalog *catalogClient
	if cfg.Catalog != nil {
		c, err := newCatalogClient(cfg.Catalog, opts.HTTPClient, now, logger, opts.ObserveCatalog)
		if err != nil {
			return nil, err
		}
		catalog = c
	}
	chain := &Chain{logger: logger}
	usesCatalog := false
	for i, rc := range cfg.Resolvers {
		key := resolverKey(i)
		switch rc.Resolver {
		case EmailMatchingUserEntityProfileEmail, EmailLocalPartMatchingUserEntityName:
			r, err := newEmailResolver(key, rc, catalog)
			if err != nil {
				return nil, err
			}
			if catalog == nil && rc.DangerouslyAllowSignInWithoutUserInCatalog {
				logger.Warn("sign-in resolver option has no effect without signIn.catalog",
					"key", key+".dangerouslyAllowSignInWithoutUserInCatalog")
			}
			usesCatalog = usesCatalog || catalog != nil
			chain.resolvers = append(chain.resolvers, r)
		case ClaimResolver:
			chain.resolvers = append(chain.resolvers, newClaimResolver(rc.Claim))
		case ExpressionResolver:
			r, err := newExpressionResolver(env, asts[i], key+".expression", rc.Expression, ExpressionCostLimit, ExpressionTimeout)
			if err != nil {
				return nil, err
			}
			chain.resolvers = append(chain.resolvers, r)
		}
	}
	if catalog != nil && !usesCatalog {
		logger.Warn("signIn.catalog is set but no email resolver uses it")
	}
	return chain, nil
}

// Resolve tries the resolvers in order and returns the first result. A
// resolver that does not match hands over to the next one. The sign-in is
// refused with a *DeniedError when a resolver denies the user or when none
// matches, with a *CatalogError when the catalog cannot answer, with an
// *ExpressionError when an expression fails, and with the context's error
// when ctx ends.
func (c *Chain) Resolve(ctx context.Context, in Input) (Result, error) {
	var tried, publicTried []string
	for _, r := range c.resolvers {
		if err := ctx.Err(); err != nil {
			return Result{}, fmt.Errorf("resolver: sign-in abandoned: %w", err)
		}
		out, err := runResolver(ctx, r, in)
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return Result{}, fmt.Errorf("resolver: sign-in abandoned: %w", ctxErr)
			}
			return Result{}, err
		}
		switch out.verdict {
		case resolved:
			out.result.Resolver = r.name()
			if c.debug(ctx) {
				c.logger.DebugContext(ctx, "sign-in resolved", "resolver", r.name(),
					"user", out.result.UserName, "entityRef", out.result.EntityRef)
			}
			return out.result, nil
		case denied:
			tried = append(tried, r.name()+": "+out.detail)
			publicTried = append(publicTried, r.name()+": "+out.public)
			if c.debug(ctx) {
				c.logger.DebugContext(ctx, "sign-in resolver denied the user", "resolver", r.name(), "reason", out.detail)
			}
			return Result{}, &DeniedError{Reason: out.detail, Resolver: r.name(), Tried: tried,
				publicReason: out.public, publicTried: publicTried}
		default:
			tried = append(tried, r.name()+": "+out.detail)
			publicTried = append(publicTried, r.name()+": "+out.public)
			if c.debug(ctx) {
				c.logger.DebugContext(ctx, "sign-in resolver did not match", "resolver", r.name(), "reason", out.detail)
			}
		}
	}
	const noMatch = "no sign-in resolver matched this account"
	return Result{}, &DeniedError{Reason: noMatch, Tried: tried, publicReason: noMatch, publicTried: publicTried}
}

// runResolver calls r under its time bound.
func runResolver(ctx context.Context, r resolver, in Input) (outcome, error) {
	if d := r.timeout(); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	return r.resolve(ctx, in)
}

func (c *Chain) debug(ctx context.Context) bool {
	return c.logger.Enabled(ctx, slog.LevelDebug)
}
