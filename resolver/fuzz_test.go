package resolver

import (
	"context"
	"encoding/json"
	"testing"
)

// FuzzExpressionInputs runs the expression resolvers over arbitrary claims:
// whatever the claims, resolution answers with a user name, "not resolved"
// or an error, within its cost and time bounds, and never panics.
func FuzzExpressionInputs(f *testing.F) {
	f.Add([]byte(`{"email":"jane@example.com","tenant":"acme","sub":"u1"}`), "jane@example.com")
	f.Add([]byte(`{"email":"@","tenant":1,"sub":null}`), "")
	f.Add([]byte(`{"email":"a@b@c","groups":["x","y"],"upn":"A@B"}`), "a@b@c")
	f.Add([]byte(`{"email":["x"],"tenant":{"a":"b"}}`), "x")
	chain, err := New(Config{Resolvers: []ResolverConfig{
		{Resolver: ExpressionResolver, Expression: `claims.email.split("@")[0]`},
		{Resolver: ExpressionResolver, Expression: `"org/" + claims.tenant + "/" + claims.sub`},
		{Resolver: ExpressionResolver, Expression: `has(claims.upn) ? claims.upn.lowerAscii() : claims.?sub.orValue("")`},
		{Resolver: EmailLocalPartMatchingUserEntityName},
		{Resolver: ClaimResolver, Claim: "sub"},
	}}, Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, claimsJSON []byte, email string) {
		var claims map[string]any
		if json.Unmarshal(claimsJSON, &claims) != nil {
			return
		}
		res, err := chain.Resolve(context.Background(), Input{Claims: claims, Email: email})
		if err == nil && res.UserName == "" {
			t.Fatalf("resolved to an empty user name: %+v", res)
		}
	})
}
