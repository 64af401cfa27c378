package resolver

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExpressionResolver(t *testing.T) {
	claims := map[string]any{
		"sub":     "5f7c0a1b",
		"email":   "Jane.Doe@Example.com",
		"tenant":  "acme",
		"empty":   "",
		"number":  42.0,
		"nothing": nil,
		"groups":  []any{"dev", "ops"},
		"nested":  map[string]any{"team": "platform"},
	}
	tests := []struct {
		expr string
		want decision
		// wantErr: the evaluation fails with an *ExpressionError containing it.
		wantErr string
	}{
		{expr: `claims.email.split("@")[0]`, want: decision{user: "Jane.Doe"}},
		{expr: `claims.email.lowerAscii()`, want: decision{user: "jane.doe@example.com"}},
		{expr: `"org/" + claims.tenant + "/" + claims.sub`, want: decision{user: "org/acme/5f7c0a1b"}},
		{expr: `claims.nested.team`, want: decision{user: "platform"}},
		{expr: `claims.groups.join("+")`, want: decision{user: "dev+ops"}},
		{expr: `has(claims.upn) ? claims.upn : claims.sub`, want: decision{user: "5f7c0a1b"}},
		{expr: `claims.?upn.orValue(claims.sub)`, want: decision{user: "5f7c0a1b"}},
		{expr: `claims.upn`, want: decision{detail: "expression: expression refers to an absent claim (no such key: upn)"}},
		{expr: `claims.nested.manager + "x"`, want: decision{detail: "absent claim (no such key: manager)"}},
		{expr: `claims["upn"]`, want: decision{detail: "absent claim (no such key: upn)"}},
		{expr: `claims.empty`, want: decision{detail: "expression evaluated to an empty string"}},
		{expr: `""`, want: decision{detail: "expression evaluated to an empty string"}},
		{expr: `claims.nothing`, want: decision{detail: "expression evaluated to null"}},
		{expr: `claims.number`, wantErr: "result is not a string but double"},
		{expr: `claims.groups`, wantErr: "result is not a string but list"},
		{expr: `claims.tenant + claims.number`, wantErr: "no such overload"},
		{expr: `claims.groups[5]`, wantErr: "index out of bounds"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			c := mustChain(t, Config{Resolvers: []ResolverConfig{
				{Resolver: ExpressionResolver, Expression: tt.expr},
			}}, Options{})
			res, err := resolveIn(t, c, Input{Claims: claims})
			if tt.wantErr != "" {
				var ee *ExpressionError
				require.ErrorAs(t, err, &ee)
				assert.False(t, ee.Compile)
				assert.Equal(t, "signIn.resolvers[0].expression", ee.Key)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.Contains(t, err.Error(), "sign-in refused: evaluating")
				var de *DeniedError
				assert.False(t, errors.As(err, &de))
				return
			}
			checkDecision(t, res, err, tt.want, ExpressionResolver)
		})
	}
}

func TestExpressionCompileErrors(t *testing.T) {
	tests := []struct {
		expr    string
		wantMsg string
	}{
		{expr: `claims.email.split("@"`, wantMsg: "Syntax error"},
		{expr: `claims.email.split("@")`, wantMsg: "must evaluate to a string, but evaluates to list(string)"},
		{expr: `size(claims) > 0`, wantMsg: "must evaluate to a string, but evaluates to bool"},
		{expr: `{"a": claims.sub}`, wantMsg: "must evaluate to a string, but evaluates to map(string, dyn)"},
		{expr: `claims.?sub`, wantMsg: "must evaluate to a string, but evaluates to optional_type(dyn)"},
		{expr: `user.name`, wantMsg: "undeclared reference to 'user'"},
		{expr: `claims.sub.noSuchFunction()`, wantMsg: "undeclared reference to 'noSuchFunction'"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			_, err := New(Config{Resolvers: []ResolverConfig{
				{Resolver: ClaimResolver, Claim: "sub"},
				{Resolver: ExpressionResolver, Expression: tt.expr},
			}}, Options{})
			var ee *ExpressionError
			require.ErrorAs(t, err, &ee)
			assert.True(t, ee.Compile)
			assert.Equal(t, tt.expr, ee.Expression)
			assert.Contains(t, err.Error(), "signIn.resolvers[1].expression: invalid expression")
			assert.Contains(t, err.Error(), fmt.Sprintf("%q", tt.expr))
			assert.Contains(t, err.Error(), tt.wantMsg)
		})
	}
}

func TestExpressionCostLimit(t *testing.T) {
	// Two nested comprehensions over 1,000 elements: a million iterations,
	// far past the cost limit. The time bound is set out of reach, so that
	// only the cost limit can stop the evaluation.
	env, err := newExpressionEnv()
	require.NoError(t, err)
	const src = `claims.big.all(a, claims.big.all(b, a == b)) ? "all-equal" : "not"`
	ast, err := env.compile("signIn.resolvers[0].expression", src)
	require.NoError(t, err)
	r, err := newExpressionResolver(env, ast, "signIn.resolvers[0].expression", src, ExpressionCostLimit, time.Hour)
	require.NoError(t, err)
	big := make([]any, 1000)
	for i := range big {
		big[i] = "x"
	}
	_, err = r.resolve(context.Background(), Input{Claims: map[string]any{"big": big}})
	var ee *ExpressionError
	require.ErrorAs(t, err, &ee)
	assert.Contains(t, err.Error(), "cost limit exceeded")
	assert.Contains(t, err.Error(), "signIn.resolvers[0].expression")

	// The same expression over a small list stays within the limit.
	out, err := r.resolve(context.Background(), Input{Claims: map[string]any{"big": big[:10]}})
	require.NoError(t, err)
	assert.Equal(t, "all-equal", out.result.UserName)

	// Through a chain, a runaway expression ends the sign-in: by its cost
	// limit or, on a slow machine, by its time bound.
	c := mustChain(t, Config{Resolvers: []ResolverConfig{{Resolver: ExpressionResolver, Expression: src}}}, Options{})
	_, err = resolveIn(t, c, Input{Claims: map[string]any{"big": big}})
	require.ErrorAs(t, err, &ee)
}

func TestExpressionContextEnds(t *testing.T) {
	env, err := newExpressionEnv()
	require.NoError(t, err)
	// No practical cost limit, so only the context can stop it.
	const src = `claims.big.all(a, claims.big.all(b, a == b)) ? "y" : "n"`
	ast, err := env.compile("k", src)
	require.NoError(t, err)
	r, err := newExpressionResolver(env, ast, "k", src, 1<<62, time.Second)
	require.NoError(t, err)
	big := make([]any, 3000)
	for i := range big {
		big[i] = "x"
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = r.resolve(ctx, Input{Claims: map[string]any{"big": big}})
	var ee *ExpressionError
	require.ErrorAs(t, err, &ee)
	assert.ErrorIs(t, err, context.Canceled)
}
