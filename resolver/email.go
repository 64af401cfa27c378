package resolver

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// emailResolver implements both email resolvers: it derives a value from the
// email (the whole email, or its local part), checks allowedDomains, and, with
// a catalog, looks the value up in a field of User entities.
type emailResolver struct {
	resolverName string
	// localPart selects emailLocalPartMatchingUserEntityName.
	localPart bool
	// allowed is the set of lower-cased allowed domains; nil allows any.
	allowed map[string]struct{}
	// fallback is dangerouslyAllowSignInWithoutUserInCatalog.
	fallback bool
	// catalog is nil when no catalog is configured.
	catalog *catalogClient
}

func newEmailResolver(key string, rc ResolverConfig, catalog *catalogClient) (*emailResolver, error) {
	allowed, err := normaliseDomains(key+".allowedDomains", rc.AllowedDomains)
	if err != nil {
		return nil, err
	}
	return &emailResolver{
		resolverName: rc.Resolver,
		localPart:    rc.Resolver == EmailLocalPartMatchingUserEntityName,
		allowed:      allowed,
		fallback:     rc.DangerouslyAllowSignInWithoutUserInCatalog,
		catalog:      catalog,
	}, nil
}

func (r *emailResolver) name() string { return r.resolverName }

// timeout is 0: the catalog client bounds each request by the catalog
// timeout itself, so that answers from the cache cost no timer.
func (r *emailResolver) timeout() time.Duration { return 0 }

// field is the User entity field the value is matched against.
func (r *emailResolver) field() string {
	if r.localPart {
		return "metadata.name"
	}
	return "spec.profile.email"
}

func (r *emailResolver) resolve(ctx context.Context, in Input) (outcome, error) {
	email := in.Email
	if email == "" {
		return miss("no email claim", ""), nil
	}
	local, domain, ok := splitEmail(email)
	if !ok {
		return miss("the email is not of the form local@domain", fmt.Sprintf("email %q is not of the form local@domain", email)), nil
	}
	if r.allowed != nil {
		if _, ok := r.allowed[strings.ToLower(domain)]; !ok {
			return deny("the email domain is not in allowedDomains", fmt.Sprintf("email domain %q is not in allowedDomains", domain)), nil
		}
	}
	value := email
	if r.localPart {
		value = local
	}
	if r.catalog == nil {
		return hit(Result{UserName: value}), nil
	}
	if problem := filterValueProblem(value); problem != "" {
		return miss(fmt.Sprintf("this account's %s %s, so it cannot be looked up in the catalog", r.field(), problem),
			fmt.Sprintf("%s %q %s, so it cannot be looked up in the catalog", r.field(), value, problem)), nil
	}
	ans, err := r.catalog.findUser(ctx, r.field(), value)
	if err != nil {
		return outcome{}, err
	}
	switch {
	case ans.matches == 1:
		return hit(ans.user.result()), nil
	case ans.matches > 1:
		return deny(fmt.Sprintf("more than one User entity in the catalog has this account's %s, and the match must be unique", r.field()),
			fmt.Sprintf("more than one User entity in the catalog has %s %q, and the match must be unique", r.field(), value)), nil
	case r.fallback:
		return hit(Result{UserName: value, EntityRef: canonicalRef("user", defaultNamespace, value)}), nil
	default:
		return miss(fmt.Sprintf("no User entity in the catalog has this account's %s", r.field()),
			fmt.Sprintf("no User entity in the catalog has %s %q", r.field(), value)), nil
	}
}

// splitEmail splits an address at its last @, which separates the domain
// from a local part that may itself be quoted and contain @.
func splitEmail(email string) (local, domain string, ok bool) {
	at := strings.LastIndexByte(email, '@')
	if at <= 0 || at == len(email)-1 {
		return "", "", false
	}
	return email[:at], email[at+1:], true
}
