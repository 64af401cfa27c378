package spectrocloud

import (
	"context"
	"testing"

	"github.com/dexidp/dex/connector"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/connhook"
	"github.com/dex-spectro/dex-spectro/resolver"
)

// A refresh refused because the user may no longer sign in reaches the
// client as invalid_grant with the recorded failure's message: it names
// neither the user ID, the email, nor the groups allowed, which stay in
// the connector's log. So does a refused sign-in's error page.
func TestFailureMessagesNameNoAccount(t *testing.T) {
	secretGroups := []string{"incident-response-leads", "payroll-admins"}
	tests := []struct {
		name      string
		configure func(*Config)
		asType    any
	}{
		{name: "no longer in allowedGroups", configure: func(c *Config) { c.AllowedGroups = secretGroups },
			asType: new(*connector.UserNotInRequiredGroupsError)},
		{name: "denied by a sign-in resolver", configure: func(c *Config) {
			c.SignIn = &resolver.Config{Resolvers: []resolver.ResolverConfig{
				{Resolver: resolver.EmailMatchingUserEntityProfileEmail, AllowedDomains: []string{"corp.example.org"}}}}
		}, asType: new(*resolver.DeniedError)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			session, err := f.login(f.open(), allScopes)
			require.NoError(t, err)

			// The configuration changes: the next refresh is refused.
			tt.configure(&f.cfg)
			c := f.open()
			ctx, failure := connhook.WithRecorder(context.Background())
			_, err = c.Refresh(ctx, allScopes, session)
			require.Error(t, err)
			require.True(t, failureFinal(failure), "the client must sign the user in again")
			assert.ErrorAs(t, failureErr(failure), tt.asType, "the failure keeps its type")

			ctx, signInFailure := connhook.WithRecorder(context.Background())
			req, connData := f.authorize(c, allScopes)
			_, err = c.HandleCallback(allScopes, connData, req.WithContext(ctx))
			require.Error(t, err)

			for _, msg := range []string{failureErr(failure).Error(), failureErr(signInFailure).Error()} {
				assert.NotContains(t, msg, jane.Sub)
				assert.NotContains(t, msg, jane.Email)
				assert.NotContains(t, msg, "example.com")
				for _, g := range secretGroups {
					assert.NotContains(t, msg, g)
				}
				assert.Contains(t, msg, "spectrocloud: ")
			}
			logs := f.logs.String()
			assert.Contains(t, logs, jane.Sub, "the log keeps the details")
			assert.NotContains(t, logs, "eyJ", "and no token")
		})
	}
}
