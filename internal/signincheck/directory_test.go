package signincheck

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const apiKey = "palette-api-key-0123456789abcdef"

// check --sign-in reads the connector's directory while the user signs in,
// and reports whether the user was found, by which match, and the user's
// teams now; a user the directory refuses is refused, as serve would.
func TestSignInCheckDirectory(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(h *harness)
		block  string
		status int
		want   []string
	}{
		{
			name:   "found by UID",
			status: StatusSignedIn,
			want: []string{
				"Palette's directory",
				"settings: match uid, then email (uid: claim sub); groups from directory; read every 2m0s; when not read for 15m0s: refuse",
				"read: 1 users (1 active, 0 disabled, 0 deleted), 3 teams; 2 requests (0 answered 429) in",
				"user: found by uid: UID 64a1b2c3d4e5f60718293a4b, jane@example.com, active",
				"teams now: ops, platform",
				"groups: ops, platform",
				"Result: OK.",
			},
		},
		{
			name:   "found by email: sub is not the UID",
			setup:  func(h *harness) { h.tenant.SetSubjectIsUID(false) },
			status: StatusSignedIn,
			want: []string{
				"user: found by email: UID ",
				"what it means: the token's sub is not the user's UID in the directory: Palette's sub claim is not metadata.uid",
				"Result: OK.",
			},
		},
		{
			name:   "not found",
			setup:  func(h *harness) { h.tenant.SetSubjectIsUID(false) },
			block:  "  match: [uid]\n",
			status: StatusRefused,
			want: []string{
				"user: NOT FOUND by uid",
				"Result: REFUSED. Dex would not sign this user in: spectrocloud: the user is not in Palette's directory: sign in again is not possible",
			},
		},
		{
			name:   "the key cannot read teams",
			setup:  func(h *harness) { h.tenant.AddAPIKey(apiKey, "user.list") },
			status: StatusRefused,
			want: []string{
				"read: FAILED: spectrocloud: directory: reading ",
				"/v1/teams answered HTTP 403",
				"Result: REFUSED. Dex would not sign this user in: spectrocloud: Palette's directory has not been read yet",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, viaListener)
			h.tenant.AddAPIKey(apiKey)
			h.tenant.RemoveFromTeam(jane.Email, "admins")
			h.tenant.AddToTeam(jane.Email, "ops")
			h.tenant.AddTeam("empty")
			if tt.setup != nil {
				tt.setup(h)
			}
			h.connectorConfig = "directory:\n  apiKey: " + apiKey + "\n  requestsPerSecond: 10\n" + tt.block
			res := h.run(h.config(), Options{}, signIn)
			require.Equal(t, tt.status, res.status(), "err: %v\noutput:\n%s", res.err, res.out)
			for _, w := range tt.want {
				assert.Contains(t, squash(res.out), squash(w))
			}
			assertNoSecrets(t, res)
			assert.NotContains(t, res.out+res.logs, apiKey)
		})
	}
}
