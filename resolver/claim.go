package resolver

import (
	"context"
	"fmt"
	"time"
)

// claimResolver takes the user name from one claim's string value.
type claimResolver struct {
	claim string
}

func newClaimResolver(claim string) *claimResolver {
	return &claimResolver{claim: claim}
}

func (r *claimResolver) name() string { return ClaimResolver }

func (r *claimResolver) timeout() time.Duration { return 0 }

func (r *claimResolver) resolve(_ context.Context, in Input) (outcome, error) {
	v, ok := in.Claims[r.claim]
	if !ok || v == nil {
		return miss(fmt.Sprintf("claim %q is absent", r.claim), ""), nil
	}
	s, ok := v.(string)
	if !ok {
		return miss(fmt.Sprintf("claim %q is not a string but %s", r.claim, jsonKind(v)), ""), nil
	}
	if s == "" {
		return miss(fmt.Sprintf("claim %q is empty", r.claim), ""), nil
	}
	return hit(Result{UserName: s}), nil
}

// jsonKind names the JSON type of a decoded claim value, for messages that
// must not echo the value itself.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64, float32, int, int64, int32, uint, uint64, uint32:
		return "a number"
	case []any, []string:
		return "a list"
	case map[string]any:
		return "an object"
	default:
		return "a value of another type"
	}
}
