package probe

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A connector records only into the SignIn of a context a command made.
func TestSignInFrom(t *testing.T) {
	assert.Nil(t, SignInFrom(context.Background()))
	ctx, s := WithSignIn(context.Background())
	assert.Same(t, s, SignInFrom(ctx))
	assert.Same(t, s, SignInFrom(context.WithValue(ctx, struct{}{}, 1)), "a derived context carries it")
	assert.Equal(t, "insecureSkipVerify: anyone can pose as Palette", Warning{Key: "insecureSkipVerify", Risk: "anyone can pose as Palette"}.String())
}
