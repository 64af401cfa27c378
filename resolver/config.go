package resolver

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/google/cel-go/cel"
)

// Names of the resolvers, as written in signIn.resolvers[].resolver. They are
// Backstage's names for the same decisions.
const (
	// EmailMatchingUserEntityProfileEmail resolves the User entity whose
	// spec.profile.email equals the email; without a catalog, the email itself
	// is the user name.
	EmailMatchingUserEntityProfileEmail = "emailMatchingUserEntityProfileEmail"
	// EmailLocalPartMatchingUserEntityName resolves the User entity whose
	// metadata.name equals the local part of the email; without a catalog, the
	// local part is the user name.
	EmailLocalPartMatchingUserEntityName = "emailLocalPartMatchingUserEntityName"
	// ClaimResolver takes the user name from one ID token claim.
	ClaimResolver = "claim"
	// ExpressionResolver computes the user name with a CEL expression.
	ExpressionResolver = "expression"
)

// Defaults of the catalog settings, and the fixed limits of the resolvers.
const (
	// DefaultCatalogTimeout bounds one catalog request.
	DefaultCatalogTimeout = 5 * time.Second
	// DefaultCatalogCacheTTL is how long a catalog answer is reused.
	DefaultCatalogCacheTTL = time.Minute
	// CatalogCacheMaxEntries bounds the number of cached catalog answers.
	CatalogCacheMaxEntries = 10000
	// CatalogMaxResponseBytes bounds the size of a catalog response body.
	CatalogMaxResponseBytes = 1 << 20
	// ExpressionCostLimit bounds the runtime cost of one CEL evaluation, in
	// cel-go's cost units. Mapping claims to a user name costs well under a
	// thousand; the limit stops runaway comprehensions after tens of
	// milliseconds of work.
	ExpressionCostLimit = 100_000
	// ExpressionTimeout bounds the wall-clock time of one CEL evaluation.
	ExpressionTimeout = time.Second
)

// keyPrefix is where this configuration sits in the connector's config.
const keyPrefix = "signIn"

// Config is the signIn section of the connector's configuration.
type Config struct {
	// Resolvers are tried in order; the first one that resolves the user
	// wins. At least one is required.
	Resolvers []ResolverConfig `json:"resolvers"`
	// Catalog, when set, makes the email resolvers look users up in a
	// Backstage catalog.
	Catalog *CatalogConfig `json:"catalog,omitempty"`
}

// ResolverConfig configures one entry of signIn.resolvers. Which options are
// allowed depends on Resolver.
type ResolverConfig struct {
	// Resolver is the resolver's name, one of the constants of this package.
	Resolver string `json:"resolver"`
	// AllowedDomains, for the email resolvers, lists the email domains that
	// may sign in (case-insensitive). A user from another domain is denied.
	// Absent: any domain.
	AllowedDomains []string `json:"allowedDomains,omitempty"`
	// DangerouslyAllowSignInWithoutUserInCatalog, for the email resolvers,
	// signs a user in with the name derived from the email when the catalog
	// has no matching User entity.
	DangerouslyAllowSignInWithoutUserInCatalog bool `json:"dangerouslyAllowSignInWithoutUserInCatalog,omitempty"`
	// Claim, for the claim resolver, names the claim whose string value is
	// the user name.
	Claim string `json:"claim,omitempty"`
	// Expression, for the expression resolver, is a CEL expression over the
	// variable claims that evaluates to the user name.
	Expression string `json:"expression,omitempty"`
}

// CatalogConfig configures the Backstage catalog that the email resolvers
// query.
type CatalogConfig struct {
	// BaseURL is Backstage's backend URL, such as https://backstage.example.com;
	// requests go to <BaseURL>/api/catalog/entities/by-query.
	BaseURL string `json:"baseURL"`
	// Token is a Backstage static external-access token, sent as a bearer
	// token. Exactly one of Token and TokenFile is required.
	Token string `json:"token,omitempty"`
	// TokenFile is a file holding the token, read once at construction
	// (surrounding whitespace is ignored).
	TokenFile string `json:"tokenFile,omitempty"`
	// Timeout bounds one catalog request. Default: 5s.
	Timeout Duration `json:"timeout,omitempty"`
	// CacheTTL is how long a catalog answer, including "no such user", is
	// reused. Default: 60s.
	CacheTTL Duration `json:"cacheTTL,omitempty"`
	// GroupsFromMembership adds the groups the user entity is a member of to
	// the result, as group:<namespace>/<name>.
	GroupsFromMembership bool `json:"groupsFromMembership,omitempty"`
}

// resolverNames lists the valid resolver names, sorted, for messages.
func resolverNames() []string {
	return []string{
		ClaimResolver,
		EmailLocalPartMatchingUserEntityName,
		EmailMatchingUserEntityProfileEmail,
		ExpressionResolver,
	}
}

// Validate checks the configuration without touching the network or the file
// system: resolver names, which options each resolver takes, the CEL
// expressions (compiled and type-checked), and the catalog settings. Every
// problem is reported, each naming its key, such as
// signIn.resolvers[1].expression.
func (c *Config) Validate() error {
	_, _, err := c.validate()
	return err
}

// validate checks the configuration and returns the expressions compiled by
// resolver index, with their environment, so that New compiles each
// expression once.
func (c *Config) validate() (*expressionEnv, map[int]*cel.Ast, error) {
	asts := make(map[int]*cel.Ast)
	var errs []error
	if len(c.Resolvers) == 0 {
		errs = append(errs, fmt.Errorf("%s.resolvers: at least one resolver is required (one of %s)",
			keyPrefix, strings.Join(resolverNames(), ", ")))
	}
	var env *expressionEnv
	for i := range c.Resolvers {
		rc := &c.Resolvers[i]
		errs = append(errs, rc.validate(resolverKey(i))...)
		if rc.Resolver == ExpressionResolver && rc.Expression != "" {
			if env == nil {
				e, err := newExpressionEnv()
				if err != nil {
					return nil, nil, err
				}
				env = e
			}
			ast, err := env.compile(resolverKey(i)+".expression", rc.Expression)
			if err != nil {
				errs = append(errs, err)
			}
			asts[i] = ast
		}
	}
	if c.Catalog != nil {
		errs = append(errs, c.Catalog.validate(keyPrefix+".catalog")...)
	}
	return env, asts, errors.Join(errs...)
}

func resolverKey(i int) string {
	return fmt.Sprintf("%s.resolvers[%d]", keyPrefix, i)
}

func (rc *ResolverConfig) validate(key string) []error {
	var errs []error
	notAnOption := func(option string) {
		errs = append(errs, fmt.Errorf("%s.%s: not an option of resolver %s", key, option, rc.Resolver))
	}
	switch rc.Resolver {
	case EmailMatchingUserEntityProfileEmail, EmailLocalPartMatchingUserEntityName:
		if rc.Claim != "" {
			notAnOption("claim")
		}
		if rc.Expression != "" {
			notAnOption("expression")
		}
		if _, err := normaliseDomains(key+".allowedDomains", rc.AllowedDomains); err != nil {
			errs = append(errs, err)
		}
	case ClaimResolver:
		rc.ownOption(key, "claim", rc.Claim, "the name of an ID token claim", &errs, notAnOption)
		if rc.Expression != "" {
			notAnOption("expression")
		}
	case ExpressionResolver:
		rc.ownOption(key, "expression", rc.Expression, "a CEL expression over claims", &errs, notAnOption)
		if rc.Claim != "" {
			notAnOption("claim")
		}
	case "":
		errs = append(errs, fmt.Errorf("%s.resolver: required: use one of %s", key, strings.Join(resolverNames(), ", ")))
	default:
		errs = append(errs, fmt.Errorf("%s.resolver: unknown resolver %q: use one of %s", key, rc.Resolver, strings.Join(resolverNames(), ", ")))
	}
	return errs
}

// ownOption checks a resolver that takes one option of its own, value
// (what describes it): it is required (an error added to errs), and the
// email resolvers' options are reported as not the resolver's.
func (rc *ResolverConfig) ownOption(key, option, value, what string, errs *[]error, notAnOption func(string)) {
	if strings.TrimSpace(value) == "" {
		*errs = append(*errs, fmt.Errorf("%s.%s: required for resolver %s (%s)", key, option, rc.Resolver, what))
	}
	if rc.AllowedDomains != nil {
		notAnOption("allowedDomains")
	}
	if rc.DangerouslyAllowSignInWithoutUserInCatalog {
		notAnOption("dangerouslyAllowSignInWithoutUserInCatalog")
	}
}

// normaliseDomains checks allowedDomains and returns the set of lower-cased
// domains, or nil when the option is absent (any domain).
func normaliseDomains(key string, domains []string) (map[string]struct{}, error) {
	if domains == nil {
		return nil, nil
	}
	if len(domains) == 0 {
		return nil, fmt.Errorf("%s: empty list: list at least one domain, or remove the key to allow any domain", key)
	}
	set := make(map[string]struct{}, len(domains))
	for i, d := range domains {
		switch {
		case d == "":
			return nil, fmt.Errorf("%s[%d]: empty domain", key, i)
		case strings.ContainsAny(d, "@ \t\r\n"):
			return nil, fmt.Errorf("%s[%d]: %q is not a domain (write example.com, without @ or spaces)", key, i, d)
		}
		set[strings.ToLower(d)] = struct{}{}
	}
	return set, nil
}

func (cc *CatalogConfig) validate(key string) []error {
	var errs []error
	if _, err := parseBaseURL(cc.BaseURL); err != nil {
		errs = append(errs, fmt.Errorf("%s.baseURL: %w", key, err))
	}
	switch {
	case cc.Token != "" && cc.TokenFile != "":
		errs = append(errs, fmt.Errorf("%s: token and tokenFile are mutually exclusive: set one", key))
	case cc.Token == "" && cc.TokenFile == "":
		errs = append(errs, fmt.Errorf("%s.token: required (or tokenFile): a Backstage static external-access token", key))
	case cc.Token != "":
		if err := checkToken(cc.Token); err != nil {
			errs = append(errs, fmt.Errorf("%s.token: %w", key, err))
		}
	}
	if cc.Timeout < 0 {
		errs = append(errs, fmt.Errorf("%s.timeout: must not be negative, got %s", key, cc.Timeout))
	}
	if cc.CacheTTL < 0 {
		errs = append(errs, fmt.Errorf("%s.cacheTTL: must not be negative, got %s", key, cc.CacheTTL))
	}
	return errs
}

// parseBaseURL checks that s is an absolute http(s) URL without query or
// fragment, and returns it without a trailing slash.
func parseBaseURL(s string) (string, error) {
	if s == "" {
		return "", errors.New("required: Backstage's backend URL, such as https://backstage.example.com")
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("not a URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%q must be an absolute http or https URL", s)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("%q must not carry credentials, a query or a fragment", s)
	}
	return strings.TrimRight(s, "/"), nil
}

// timeoutOrDefault returns the catalog request timeout in force.
func (cc *CatalogConfig) timeoutOrDefault() time.Duration {
	if cc.Timeout == 0 {
		return DefaultCatalogTimeout
	}
	return time.Duration(cc.Timeout)
}

// cacheTTLOrDefault returns the catalog cache lifetime in force.
func (cc *CatalogConfig) cacheTTLOrDefault() time.Duration {
	if cc.CacheTTL == 0 {
		return DefaultCatalogCacheTTL
	}
	return time.Duration(cc.CacheTTL)
}
