package resolver

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// decision is what a one-resolver chain decided, for table tests.
type decision struct {
	user string // resolved user name; "" when not resolved
	ref  string
	// denied: the resolver itself denied; else a miss ends in "no resolver
	// matched". detail must appear in the denial's message.
	denied bool
	detail string
}

func checkDecision(t *testing.T, res Result, err error, want decision, resolverName string) {
	t.Helper()
	if want.user != "" {
		require.NoError(t, err)
		assert.Equal(t, want.user, res.UserName)
		assert.Equal(t, want.ref, res.EntityRef)
		assert.Equal(t, resolverName, res.Resolver)
		return
	}
	var de *DeniedError
	require.ErrorAs(t, err, &de)
	assert.Contains(t, de.Error(), want.detail)
	require.Len(t, de.Tried, 1)
	assert.Contains(t, de.Tried[0], resolverName+": ")
	if want.denied {
		assert.Equal(t, resolverName, de.Resolver)
		assert.Equal(t, "sign-in denied: "+de.Reason+" (tried "+de.Tried[0]+")", de.Error())
	} else {
		assert.Empty(t, de.Resolver)
		assert.Contains(t, de.Error(), "sign-in denied: no sign-in resolver matched this account (tried "+resolverName+": ")
	}
}

func TestEmailResolversWithoutCatalog(t *testing.T) {
	tests := []struct {
		name     string
		resolver ResolverConfig
		email    string
		want     decision
	}{
		{name: "profile email: the email is the user name",
			resolver: ResolverConfig{Resolver: EmailMatchingUserEntityProfileEmail},
			email:    "Jane.Doe@Example.com", want: decision{user: "Jane.Doe@Example.com"}},
		{name: "local part: the local part is the user name",
			resolver: ResolverConfig{Resolver: EmailLocalPartMatchingUserEntityName},
			email:    "jane.doe@example.com", want: decision{user: "jane.doe"}},
		{name: "local part with @ inside a quoted local part",
			resolver: ResolverConfig{Resolver: EmailLocalPartMatchingUserEntityName},
			email:    `"a@b"@example.com`, want: decision{user: `"a@b"`}},
		{name: "allowed domain, case-insensitive",
			resolver: ResolverConfig{Resolver: EmailMatchingUserEntityProfileEmail, AllowedDomains: []string{"other.org", "EXAMPLE.com"}},
			email:    "jane@Example.COM", want: decision{user: "jane@Example.COM"}},
		{name: "domain not allowed is denied",
			resolver: ResolverConfig{Resolver: EmailMatchingUserEntityProfileEmail, AllowedDomains: []string{"example.com"}},
			email:    "jane@evil.com", want: decision{denied: true, detail: `email domain "evil.com" is not in allowedDomains`}},
		{name: "subdomain is not the domain",
			resolver: ResolverConfig{Resolver: EmailLocalPartMatchingUserEntityName, AllowedDomains: []string{"example.com"}},
			email:    "jane@eu.example.com", want: decision{denied: true, detail: `email domain "eu.example.com" is not in allowedDomains`}},
		{name: "domain is taken after the last @",
			resolver: ResolverConfig{Resolver: EmailLocalPartMatchingUserEntityName, AllowedDomains: []string{"example.com"}},
			email:    "jane@example.com@evil.com", want: decision{denied: true, detail: `"evil.com"`}},
		{name: "no email",
			resolver: ResolverConfig{Resolver: EmailMatchingUserEntityProfileEmail},
			email:    "", want: decision{detail: "emailMatchingUserEntityProfileEmail: no email claim"}},
		{name: "not an address",
			resolver: ResolverConfig{Resolver: EmailLocalPartMatchingUserEntityName},
			email:    "jane", want: decision{detail: `email "jane" is not of the form local@domain`}},
		{name: "empty local part",
			resolver: ResolverConfig{Resolver: EmailLocalPartMatchingUserEntityName},
			email:    "@example.com", want: decision{detail: "is not of the form local@domain"}},
		{name: "empty domain",
			resolver: ResolverConfig{Resolver: EmailMatchingUserEntityProfileEmail, AllowedDomains: []string{"example.com"}},
			email:    "jane@", want: decision{detail: "is not of the form local@domain"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustChain(t, Config{Resolvers: []ResolverConfig{tt.resolver}}, Options{})
			res, err := resolveIn(t, c, Input{Email: tt.email, Claims: map[string]any{"email": "ignored@claims.example"}})
			checkDecision(t, res, err, tt.want, tt.resolver.Resolver)
			if err == nil {
				assert.Empty(t, res.Groups)
			}
		})
	}
}

func TestClaimResolver(t *testing.T) {
	claims := map[string]any{
		"sub":    "5f7c0a1b",
		"upn":    "jane@example.com",
		"empty":  "",
		"number": 42.0,
		"list":   []any{"a"},
		"object": map[string]any{"a": "b"},
		"null":   nil,
		"bool":   true,
	}
	tests := []struct {
		claim string
		want  decision
	}{
		{claim: "sub", want: decision{user: "5f7c0a1b"}},
		{claim: "upn", want: decision{user: "jane@example.com"}},
		{claim: "absent", want: decision{detail: `claim: claim "absent" is absent`}},
		{claim: "null", want: decision{detail: `claim "null" is absent`}},
		{claim: "empty", want: decision{detail: `claim "empty" is empty`}},
		{claim: "number", want: decision{detail: `claim "number" is not a string but a number`}},
		{claim: "list", want: decision{detail: `claim "list" is not a string but a list`}},
		{claim: "object", want: decision{detail: `claim "object" is not a string but an object`}},
		{claim: "bool", want: decision{detail: `claim "bool" is not a string but a boolean`}},
	}
	for _, tt := range tests {
		t.Run(tt.claim, func(t *testing.T) {
			c := mustChain(t, Config{Resolvers: []ResolverConfig{{Resolver: ClaimResolver, Claim: tt.claim}}}, Options{})
			res, err := resolveIn(t, c, Input{Claims: claims})
			checkDecision(t, res, err, tt.want, ClaimResolver)
		})
	}
	t.Run("nil claims", func(t *testing.T) {
		c := mustChain(t, Config{Resolvers: []ResolverConfig{{Resolver: ClaimResolver, Claim: "sub"}}}, Options{})
		res, err := resolveIn(t, c, Input{})
		checkDecision(t, res, err, decision{detail: `claim "sub" is absent`}, ClaimResolver)
	})
}

func TestChainOrder(t *testing.T) {
	claims := map[string]any{"sub": "s-1", "tenant": "acme"}
	tests := []struct {
		name      string
		resolvers []ResolverConfig
		email     string
		wantUser  string
		wantBy    string
		// wantDenied holds substrings of the denial; empty: resolved.
		wantDenied []string
		wantTried  int
	}{
		{
			name: "first success wins",
			resolvers: []ResolverConfig{
				{Resolver: ClaimResolver, Claim: "sub"},
				{Resolver: EmailLocalPartMatchingUserEntityName},
			},
			email: "jane@example.com", wantUser: "s-1", wantBy: ClaimResolver,
		},
		{
			name: "not resolved falls through to the next",
			resolvers: []ResolverConfig{
				{Resolver: ClaimResolver, Claim: "preferred_username"},
				{Resolver: ExpressionResolver, Expression: `claims.missing + "x"`},
				{Resolver: EmailLocalPartMatchingUserEntityName},
				{Resolver: ClaimResolver, Claim: "sub"},
			},
			email: "jane@example.com", wantUser: "jane", wantBy: EmailLocalPartMatchingUserEntityName,
		},
		{
			name: "a denial stops the chain",
			resolvers: []ResolverConfig{
				{Resolver: ClaimResolver, Claim: "preferred_username"},
				{Resolver: EmailMatchingUserEntityProfileEmail, AllowedDomains: []string{"example.com"}},
				{Resolver: ClaimResolver, Claim: "sub"},
			},
			email: "jane@evil.com",
			wantDenied: []string{
				`sign-in denied: email domain "evil.com" is not in allowedDomains`,
				`claim: claim "preferred_username" is absent; emailMatchingUserEntityProfileEmail: email domain "evil.com" is not in allowedDomains`,
			},
			wantTried: 2,
		},
		{
			name: "no resolver matched names every resolver and why",
			resolvers: []ResolverConfig{
				{Resolver: ClaimResolver, Claim: "preferred_username"},
				{Resolver: EmailMatchingUserEntityProfileEmail},
				{Resolver: ExpressionResolver, Expression: `claims.?nickname.orValue("")`},
			},
			email: "",
			wantDenied: []string{
				`sign-in denied: no sign-in resolver matched this account (tried claim: claim "preferred_username" is absent; emailMatchingUserEntityProfileEmail: no email claim; expression: expression evaluated to an empty string)`,
			},
			wantTried: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustChain(t, Config{Resolvers: tt.resolvers}, Options{})
			res, err := resolveIn(t, c, Input{Claims: claims, Email: tt.email})
			if len(tt.wantDenied) == 0 {
				require.NoError(t, err)
				assert.Equal(t, tt.wantUser, res.UserName)
				assert.Equal(t, tt.wantBy, res.Resolver)
				return
			}
			var de *DeniedError
			require.ErrorAs(t, err, &de)
			for _, want := range tt.wantDenied {
				assert.Contains(t, err.Error(), want)
			}
			assert.Len(t, de.Tried, tt.wantTried)
		})
	}
}

func TestChainContext(t *testing.T) {
	c := mustChain(t, Config{Resolvers: []ResolverConfig{{Resolver: ClaimResolver, Claim: "sub"}}}, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Resolve(ctx, Input{Claims: map[string]any{"sub": "x"}})
	require.ErrorIs(t, err, context.Canceled)
	var de *DeniedError
	assert.False(t, errors.As(err, &de), "an abandoned sign-in is not a denial")
}

func TestChainConcurrentUse(t *testing.T) {
	cat := newFakeCatalog(t, userEntity("", "jane", "jane@example.com", []string{"team-a"}))
	cfg := Config{
		Resolvers: []ResolverConfig{
			{Resolver: ExpressionResolver, Expression: `claims.?nickname.orValue("")`},
			{Resolver: EmailMatchingUserEntityProfileEmail},
		},
		Catalog: &CatalogConfig{BaseURL: cat.URL(), Token: testToken, GroupsFromMembership: true},
	}
	c := mustChain(t, cfg, Options{})
	done := make(chan error)
	for i := 0; i < 16; i++ {
		go func() {
			for j := 0; j < 20; j++ {
				res, err := c.Resolve(context.Background(), Input{Email: "jane@example.com", Claims: map[string]any{}})
				if err != nil {
					done <- err
					return
				}
				if res.UserName != "jane" || len(res.Groups) != 1 {
					done <- errors.New("unexpected result")
					return
				}
				res.Groups[0] = "mutated"
			}
			done <- nil
		}()
	}
	for i := 0; i < 16; i++ {
		require.NoError(t, <-done)
	}
}

func TestChainLogging(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cat := newFakeCatalog(t, userEntity("", "jane", "jane@example.com", nil))
	c := mustChain(t, Config{
		Resolvers: []ResolverConfig{
			{Resolver: ClaimResolver, Claim: "upn"},
			{Resolver: EmailMatchingUserEntityProfileEmail},
			{Resolver: EmailLocalPartMatchingUserEntityName, AllowedDomains: []string{"example.com"}},
		},
		Catalog: catalogConfig(cat.URL()),
	}, Options{Logger: logger})
	for range 2 {
		_, err := resolveIn(t, c, Input{Email: "jane@example.com"})
		require.NoError(t, err)
	}
	_, err := resolveIn(t, c, Input{Email: "nobody@evil.com"})
	require.Error(t, err)
	out := buf.String()
	assert.Contains(t, out, `"msg":"sign-in resolver did not match","resolver":"claim"`)
	assert.Contains(t, out, `"msg":"catalog lookup","filter":"kind=user,spec.profile.email=jane@example.com","cached":false`)
	assert.Contains(t, out, `"cached":true`)
	assert.Contains(t, out, `"msg":"sign-in resolved","resolver":"emailMatchingUserEntityProfileEmail","user":"jane","entityRef":"user:default/jane"`)
	assert.Contains(t, out, `"msg":"sign-in resolver denied the user","resolver":"emailLocalPartMatchingUserEntityName"`)
	assert.NotContains(t, out, testToken)

	buf.Reset()
	mustChain(t, Config{Resolvers: []ResolverConfig{
		{Resolver: EmailMatchingUserEntityProfileEmail, DangerouslyAllowSignInWithoutUserInCatalog: true},
	}}, Options{Logger: logger})
	assert.Contains(t, buf.String(), "signIn.resolvers[0].dangerouslyAllowSignInWithoutUserInCatalog")
	buf.Reset()
	mustChain(t, Config{Resolvers: []ResolverConfig{{Resolver: ClaimResolver, Claim: "sub"}}, Catalog: catalogConfig(cat.URL())}, Options{Logger: logger})
	assert.Contains(t, buf.String(), "signIn.catalog is set but no email resolver uses it")
}

func TestChainContextEndsDuringLookup(t *testing.T) {
	cat := newFakeCatalog(t)
	cat.block = make(chan struct{})
	t.Cleanup(func() { close(cat.block) })
	c := mustChain(t, Config{
		Resolvers: []ResolverConfig{{Resolver: EmailMatchingUserEntityProfileEmail}},
		Catalog:   catalogConfig(cat.URL()),
	}, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Resolve(ctx, Input{Email: "jane@example.com"})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "resolver: sign-in abandoned")
	var ce *CatalogError
	assert.False(t, errors.As(err, &ce), "the caller's own deadline is not a catalog outage")
}

// A denial's public message names no value of the account (its email,
// local part, domain or a claim's value), while Error keeps them for the
// log and the operator.
func TestDeniedErrorPublic(t *testing.T) {
	cat := newFakeCatalog(t,
		userEntity("", "twin", "twin@secret-corp.example", nil),
		userEntity("other", "twin", "twin@secret-corp.example", nil))
	tests := []struct {
		name      string
		resolvers []ResolverConfig
		email     string
		claims    map[string]any
		values    []string // the account's values, in Error, never in Public
		public    string
	}{
		{name: "domain not allowed", email: "jane.doe@secret-corp.example",
			resolvers: []ResolverConfig{{Resolver: EmailMatchingUserEntityProfileEmail, AllowedDomains: []string{"example.com"}}},
			values:    []string{"secret-corp.example"},
			public:    "sign-in denied: the email domain is not in allowedDomains (tried emailMatchingUserEntityProfileEmail: the email domain is not in allowedDomains)"},
		{name: "not in the catalog", email: "jane.doe@secret-corp.example",
			resolvers: []ResolverConfig{{Resolver: EmailMatchingUserEntityProfileEmail}, {Resolver: EmailLocalPartMatchingUserEntityName}},
			values:    []string{"jane.doe@secret-corp.example", "jane.doe"},
			public: "sign-in denied: no sign-in resolver matched this account (tried emailMatchingUserEntityProfileEmail: no User entity in the catalog has this account's spec.profile.email; " +
				"emailLocalPartMatchingUserEntityName: no User entity in the catalog has this account's metadata.name)"},
		{name: "several catalog users", email: "twin@secret-corp.example",
			resolvers: []ResolverConfig{{Resolver: EmailLocalPartMatchingUserEntityName}},
			values:    []string{"twin"},
			public:    "sign-in denied: more than one User entity in the catalog has this account's metadata.name, and the match must be unique"},
		{name: "not an email", email: "jane.doe-at-secret-corp",
			resolvers: []ResolverConfig{{Resolver: EmailMatchingUserEntityProfileEmail}},
			values:    []string{"jane.doe-at-secret-corp"},
			public:    "the email is not of the form local@domain"},
		{name: "a value that cannot be looked up", email: "jane, doe@secret-corp.example",
			resolvers: []ResolverConfig{{Resolver: EmailMatchingUserEntityProfileEmail}},
			values:    []string{"jane, doe"},
			public:    "this account's spec.profile.email contains a comma, so it cannot be looked up in the catalog"},
		{name: "expression on an absent claim", claims: map[string]any{"sub": "u-123"},
			resolvers: []ResolverConfig{{Resolver: ExpressionResolver, Expression: `claims.employee_id`}},
			values:    []string{"employee_id"},
			public:    "expression refers to an absent claim"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Resolvers: tt.resolvers}
			if tt.email != "" {
				cfg.Catalog = catalogConfig(cat.URL())
			}
			c := mustChain(t, cfg, Options{})
			_, err := resolveIn(t, c, Input{Email: tt.email, Claims: tt.claims})
			var de *DeniedError
			require.ErrorAs(t, err, &de)
			assert.Contains(t, de.Public(), tt.public)
			for _, v := range tt.values {
				assert.NotContains(t, de.Public(), v)
				assert.Contains(t, de.Error(), v, "the details stay in Error, for the log")
			}
		})
	}
	assert.Equal(t, "sign-in denied by the sign-in resolvers", (&DeniedError{Reason: "x"}).Public())
}
