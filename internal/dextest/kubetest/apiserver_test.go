package kubetest_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/dex-spectro/dex-spectro/internal/dextest/kubetest"
)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// Every version starts, and reports the release it was built from.
func TestVersionsStart(t *testing.T) {
	for _, v := range kubetest.RequireVersions(t) {
		t.Run(v.Name, func(t *testing.T) {
			s := kubetest.Start(t, v)
			info, err := s.Admin(t).Discovery().ServerVersion()
			require.NoError(t, err)
			assert.Equal(t, v.Release, info.GitVersion)
		})
	}
}

// The newest version, as tests use it: the admin token is cluster-admin, a
// service account's token is authenticated and authorized by RBAC alone, a
// bad token is 401, and the aggregated roles grant what they say once
// aggregated.
func TestControlPlane(t *testing.T) {
	versions := kubetest.RequireVersions(t)
	s := kubetest.Start(t, versions[len(versions)-1])
	admin := s.Admin(t)

	review, err := admin.AuthenticationV1().SelfSubjectReviews().Create(ctx(t), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, kubetest.AdminUser, review.Status.UserInfo.Username)
	assert.Contains(t, review.Status.UserInfo.Groups, "system:masters")

	s.Apply(t, []byte(`
apiVersion: v1
kind: Namespace
metadata:
  name: team
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: app
  namespace: team
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: app-view
  namespace: team
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: view
subjects:
- kind: ServiceAccount
  name: app
  namespace: team
`))
	_, err = admin.CoreV1().ConfigMaps("team").Create(ctx(t), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings"}}, metav1.CreateOptions{})
	require.NoError(t, err)

	app := s.Client(t, s.ServiceAccountToken(t, "team", "app"))
	review, err = app.AuthenticationV1().SelfSubjectReviews().Create(ctx(t), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, "system:serviceaccount:team:app", review.Status.UserInfo.Username)

	// Without kube-controller-manager, view is an empty aggregated role.
	_, err = app.CoreV1().ConfigMaps("team").Get(ctx(t), "settings", metav1.GetOptions{})
	require.True(t, apierrors.IsForbidden(err), "before aggregation: %v", err)

	s.AggregateClusterRoles(t)
	view, err := admin.RbacV1().ClusterRoles().Get(ctx(t), "view", metav1.GetOptions{})
	require.NoError(t, err)
	assert.NotEmpty(t, view.Rules)
	_, err = app.CoreV1().ConfigMaps("team").Get(ctx(t), "settings", metav1.GetOptions{})
	require.NoError(t, err, "view reads config maps")
	_, err = app.CoreV1().ConfigMaps("team").Create(ctx(t), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "other"}}, metav1.CreateOptions{})
	assert.True(t, apierrors.IsForbidden(err), "view writes nothing: %v", err)
	_, err = app.CoreV1().ConfigMaps("default").List(ctx(t), metav1.ListOptions{})
	assert.True(t, apierrors.IsForbidden(err), "view is bound in team only: %v", err)

	_, err = s.Client(t, "not-a-token").CoreV1().Namespaces().List(ctx(t), metav1.ListOptions{})
	assert.True(t, apierrors.IsUnauthorized(err), "%v", err)

	// The kubeconfig file works as clients load it.
	restCfg, err := clientcmd.RESTConfigFromKubeConfig(s.Kubeconfig(t, s.AdminToken, "team"))
	require.NoError(t, err)
	cs, err := kubernetes.NewForConfig(restCfg)
	require.NoError(t, err)
	_, err = cs.CoreV1().ConfigMaps("team").Get(ctx(t), "settings", metav1.GetOptions{})
	require.NoError(t, err)
	raw, err := clientcmd.Load(s.Kubeconfig(t, s.AdminToken, "team"))
	require.NoError(t, err)
	assert.Equal(t, "team", raw.Contexts[raw.CurrentContext].Namespace)

	// Health endpoints are open to anyone, as in a cluster.
	resp, err := s.HTTPClient().Get(s.URL + "/readyz")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	s.Stop()
	exited, _ := s.Exited()
	assert.True(t, exited)
	s.Stop()
}

// Each directory under test/kube-apiserver is a version named by its minor
// release, whose module requires a patch release of it.
func TestVersionsAreModules(t *testing.T) {
	for _, v := range kubetest.RequireVersions(t) {
		assert.Regexp(t, `^1\.[0-9]+$`, v.Name)
		assert.Regexp(t, `^v`+v.Name+`\.[0-9]+$`, v.Release)
		got, err := kubetest.LookupVersion(v.Name)
		require.NoError(t, err)
		assert.Equal(t, v, got)
	}
	_, err := kubetest.LookupVersion("1.0")
	assert.Error(t, err)
}

// A version whose module cannot build kube-apiserver is reported with go
// build's own words, and nothing is cached.
func TestBuildFailureSaysWhy(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/broken\n\ngo 1.26.0\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.sum"), nil, 0o600))
	v := kubetest.Version{Name: "1.99", Release: "v1.99.0", Dir: dir}

	_, err := kubetest.Build(context.Background(), v)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "build kube-apiserver v1.99.0")
	assert.Contains(t, err.Error(), "k8s.io/kubernetes/cmd/kube-apiserver", "go build's message names the package")
	_, cached, err := kubetest.Cached(context.Background(), v)
	require.NoError(t, err)
	assert.False(t, cached)
}
