package resolver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/ext"
	"github.com/google/cel-go/interpreter"
)

// interruptCheckFrequency is how many comprehension iterations run between
// two checks of the evaluation context.
const interruptCheckFrequency = 100

// expressionEnv is the CEL environment of the expression resolver: the
// variable claims of type map(string, dyn), as in Kubernetes structured
// authentication, with the strings extension and optional types.
type expressionEnv struct {
	env *cel.Env
}

func newExpressionEnv() (*expressionEnv, error) {
	env, err := cel.NewEnv(
		cel.Variable("claims", cel.MapType(cel.StringType, cel.DynType)),
		ext.Strings(),
		cel.OptionalTypes(),
	)
	if err != nil {
		return nil, fmt.Errorf("resolver: build the CEL environment: %w", err)
	}
	return &expressionEnv{env: env}, nil
}

// compile parses and type-checks src. The result must be a string, or dyn
// (checked when evaluated).
func (e *expressionEnv) compile(key, src string) (*cel.Ast, error) {
	ast, iss := e.env.Compile(src)
	if iss != nil && iss.Err() != nil {
		return nil, &ExpressionError{Key: key, Expression: src, Compile: true, Err: iss.Err()}
	}
	switch out := ast.OutputType(); out.Kind() {
	case types.StringKind, types.DynKind, types.AnyKind:
	default:
		return nil, &ExpressionError{Key: key, Expression: src, Compile: true,
			Err: fmt.Errorf("must evaluate to a string, but evaluates to %s", out)}
	}
	return ast, nil
}

// expressionResolver computes the user name with a compiled CEL program.
type expressionResolver struct {
	key     string
	src     string
	program cel.Program
	bound   time.Duration
}

// newExpressionResolver builds the program of src, compiled in env as ast.
func newExpressionResolver(env *expressionEnv, ast *cel.Ast, key, src string, costLimit uint64, bound time.Duration) (*expressionResolver, error) {
	program, err := env.env.Program(ast,
		cel.CostLimit(costLimit),
		cel.InterruptCheckFrequency(interruptCheckFrequency),
	)
	if err != nil {
		return nil, &ExpressionError{Key: key, Expression: src, Compile: true, Err: err}
	}
	return &expressionResolver{key: key, src: src, program: program, bound: bound}, nil
}

func (r *expressionResolver) name() string { return ExpressionResolver }

func (r *expressionResolver) timeout() time.Duration { return r.bound }

func (r *expressionResolver) resolve(ctx context.Context, in Input) (outcome, error) {
	claims := in.Claims
	if claims == nil {
		claims = map[string]any{}
	}
	val, _, err := r.program.ContextEval(ctx, map[string]any{"claims": claims})
	if err != nil {
		if msg := err.Error(); strings.HasPrefix(msg, "no such key") {
			return miss("expression refers to an absent claim", fmt.Sprintf("expression refers to an absent claim (%s)", msg)), nil
		}
		return outcome{}, r.failure(err)
	}
	switch v := val.Value().(type) {
	case string:
		if v == "" {
			return miss("expression evaluated to an empty string", ""), nil
		}
		return hit(Result{UserName: v}), nil
	default:
		if val.Type() == types.NullType {
			return miss("expression evaluated to null", ""), nil
		}
		return outcome{}, &ExpressionError{Key: r.key, Expression: r.src,
			Err: fmt.Errorf("result is not a string but %s", val.Type().TypeName())}
	}
}

// failure wraps an evaluation error, naming the cost limit plainly.
func (r *expressionResolver) failure(err error) error {
	var cancelled interpreter.EvalCancelledError
	if errors.As(err, &cancelled) && cancelled.Cause == interpreter.CostLimitExceeded {
		err = fmt.Errorf("cost limit exceeded: %w", err)
	}
	return &ExpressionError{Key: r.key, Expression: r.src, Err: err}
}
