package resolver

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParseRef(t *testing.T) {
	tests := []struct {
		ref            string
		kind, ns, name string
		ok             bool
		wantCanonical  string
	}{
		{ref: "team-a", kind: "group", ns: "default", name: "team-a", ok: true, wantCanonical: "group:default/team-a"},
		{ref: "ops/team-a", kind: "group", ns: "ops", name: "team-a", ok: true, wantCanonical: "group:ops/team-a"},
		{ref: "Group:Team-A", kind: "Group", ns: "default", name: "Team-A", ok: true, wantCanonical: "group:default/team-a"},
		{ref: "group:OPS/Team-A", kind: "group", ns: "OPS", name: "Team-A", ok: true, wantCanonical: "group:ops/team-a"},
		{ref: "user:default/jane", kind: "user", ns: "default", name: "jane", ok: true, wantCanonical: "user:default/jane"},
		{ref: "ns/na:me", ok: false},
		{ref: "group:", ok: false},
		{ref: ":x", ok: false},
		{ref: "group:/x", ok: false},
		{ref: "group:a/b/c", ok: false},
		{ref: "", ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			kind, ns, name, ok := parseRef(tt.ref, "group", "default")
			assert.Equal(t, tt.ok, ok)
			if !tt.ok {
				return
			}
			assert.Equal(t, []string{tt.kind, tt.ns, tt.name}, []string{kind, ns, name})
			assert.Equal(t, tt.wantCanonical, canonicalRef(kind, ns, name))
		})
	}
}

func TestMemberships(t *testing.T) {
	e := wireEntity{}
	e.Spec.MemberOf = []any{"a", 42.0, "apac/b", "component:default/c", "GROUP:X/Y"}
	e.Relations = []wireRelation{
		{Type: "memberOf", TargetRef: "group:default/a"},
		{Type: "memberOf", TargetRef: "group:default/z"},
		{Type: "ownerOf", TargetRef: "group:default/owned"},
		{Type: "memberOf", TargetRef: ""},
	}
	// Short spec.memberOf entries take the user's namespace; other kinds,
	// other relation types and non-strings are left out.
	assert.Equal(t, []string{"group:apac/b", "group:default/a", "group:default/z", "group:emea/a", "group:x/y"}, e.memberships("emea"))
}
