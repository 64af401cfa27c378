package interop

import (
	"bytes"
	"os"
	"slices"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
	"sigs.k8s.io/yaml"

	"github.com/dex-spectro/dex-spectro/internal/dextest"
)

// rbacBinding is a RoleBinding (with its namespace) or ClusterRoleBinding
// (namespace empty) of rbac.yaml.
type rbacBinding struct {
	Namespace string
	RoleRef   rbacv1.RoleRef
	Subjects  []rbacv1.Subject
}

// appliesTo reports whether a subject of the binding names the user or one
// of the user's groups, as the RBAC authorizer matches them.
func (b rbacBinding) appliesTo(u user.Info) bool {
	for _, s := range b.Subjects {
		switch {
		case s.Kind == rbacv1.UserKind && s.Name == u.GetName():
			return true
		case s.Kind == rbacv1.GroupKind && slices.Contains(u.GetGroups(), s.Name):
			return true
		}
	}
	return false
}

// grant is a role a user holds: cluster-wide (namespace empty) or in a
// namespace.
type grant struct {
	Role      string
	Namespace string
}

// grantsOf returns the roles the bindings give u, sorted.
func grantsOf(bindings map[string]rbacBinding, u user.Info) []grant {
	var grants []grant
	for _, b := range bindings {
		if b.appliesTo(u) {
			grants = append(grants, grant{b.RoleRef.Kind + "/" + b.RoleRef.Name, b.Namespace})
		}
	}
	sort.Slice(grants, func(i, j int) bool {
		if grants[i].Namespace != grants[j].Namespace {
			return grants[i].Namespace < grants[j].Namespace
		}
		return grants[i].Role < grants[j].Role
	})
	return grants
}

// subjectNames returns the names of the bindings' subjects of a kind.
func subjectNames(bindings map[string]rbacBinding, kind string) []string {
	var names []string
	for _, b := range bindings {
		for _, s := range b.Subjects {
			if s.Kind == kind && !slices.Contains(names, s.Name) {
				names = append(names, s.Name)
			}
		}
	}
	sort.Strings(names)
	return names
}

// loadRBACExample decodes examples/kubernetes/rbac.yaml strictly, by
// binding name (namespace/name for RoleBindings).
func loadRBACExample(t *testing.T) map[string]rbacBinding {
	t.Helper()
	data, err := os.ReadFile(examplePath("kubernetes", "rbac.yaml"))
	require.NoError(t, err)
	bindings := make(map[string]rbacBinding)
	for _, doc := range bytes.Split(data, []byte("\n---\n")) {
		var meta struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		require.NoError(t, yaml.Unmarshal(doc, &meta))
		require.Equal(t, rbacv1.SchemeGroupVersion.String(), meta.APIVersion)
		switch meta.Kind {
		case "ClusterRoleBinding":
			var crb rbacv1.ClusterRoleBinding
			require.NoError(t, yaml.UnmarshalStrict(doc, &crb))
			bindings[crb.Name] = rbacBinding{RoleRef: crb.RoleRef, Subjects: crb.Subjects}
		case "RoleBinding":
			var rb rbacv1.RoleBinding
			require.NoError(t, yaml.UnmarshalStrict(doc, &rb))
			require.NotEmpty(t, rb.Namespace)
			bindings[rb.Namespace+"/"+rb.Name] = rbacBinding{Namespace: rb.Namespace, RoleRef: rb.RoleRef, Subjects: rb.Subjects}
		default:
			t.Fatalf("rbac.yaml: unexpected kind %q", meta.Kind)
		}
	}
	require.NotEmpty(t, bindings)
	return bindings
}

// testExampleRBAC checks rbac.yaml against what the example deployment
// issues: the groups in Dex's tokens are exactly the groups rbac.yaml binds,
// its users are emails Dex issues, and with every cluster configuration the
// users get the access docs/kubernetes.md describes.
func testExampleRBAC(t *testing.T, st *stack, tokens kubeTokens) {
	bindings := loadRBACExample(t)

	t.Run("subjects are what Dex issues", func(t *testing.T) {
		// The production tenant's teams, as Dex's config.yaml keeps and
		// prefixes them, in the ID tokens of the members of all teams.
		var issued []string
		for _, tok := range []*dextest.Tokens{tokens.jane, tokens.sam, tokens.janeBackstage} {
			for _, g := range tok.Claims.Groups {
				if !slices.Contains(issued, g) {
					issued = append(issued, g)
				}
			}
		}
		sort.Strings(issued)
		assert.Equal(t, subjectNames(bindings, rbacv1.GroupKind), issued)
		assert.Equal(t, []string{"palette:platform-admins"}, tokens.jane.Claims.Groups, "Jane's teams platform-admins and developers, as Dex keeps them")
		assert.Equal(t, []string{"palette-lab:lab-users"}, tokens.lee.Claims.Groups, "the lab's teams, with the lab's own prefix")
		for _, name := range subjectNames(bindings, rbacv1.UserKind) {
			assert.Equal(t, sam().Email, name, "the users rbac.yaml binds are emails of Palette users")
			assert.Equal(t, name, tokens.sam.Claims.Email)
		}
	})

	// What docs/kubernetes.md says the bindings give.
	clusterAdmin := []grant{{"ClusterRole/cluster-admin", ""}}
	editPayments := []grant{{"ClusterRole/edit", "payments"}}
	type access struct {
		name   string
		tokens *dextest.Tokens
		grants []grant
		// refused: the cluster does not authenticate the token at all.
		refused bool
	}
	configs := []struct {
		name string
		a    authenticator.Token
		want []access
	}{
		{
			name: "apiserver-flags.txt",
			a:    exampleFlagsAuthenticator(t, st),
			want: []access{
				{"jane, kubectl", tokens.jane, clusterAdmin, false},
				{"jane, Backstage", tokens.janeBackstage, clusterAdmin, false},
				{"sam, kubectl", tokens.sam, editPayments, false},
				{"lee, lab tenant", tokens.lee, nil, false},
			},
		},
	}
	for _, sc := range structuredConfigs {
		configs = append(configs, struct {
			name string
			a    authenticator.Token
			want []access
		}{
			name: sc.file,
			a:    exampleStructuredAuthenticator(t, st, sc.file),
			want: []access{
				{"jane, kubectl", tokens.jane, clusterAdmin, false},
				{"jane, Backstage", tokens.janeBackstage, clusterAdmin, false},
				{"sam, kubectl", tokens.sam, editPayments, false},
				{"lee, lab tenant", tokens.lee, nil, true},
			},
		})
	}
	for _, c := range configs {
		for _, w := range c.want {
			t.Run(c.name+"/"+w.name, func(t *testing.T) {
				u, err := authenticate(c.a, w.tokens.RawIDToken())
				if w.refused {
					require.Error(t, err)
					return
				}
				require.NoError(t, err)
				assert.Equal(t, w.grants, grantsOf(bindings, u))
			})
		}
	}
}
