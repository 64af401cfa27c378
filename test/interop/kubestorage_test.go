package interop

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
	"github.com/dex-spectro/dex-spectro/internal/config"
	"github.com/dex-spectro/dex-spectro/internal/dextest"
	"github.com/dex-spectro/dex-spectro/internal/dextest/harness"
	"github.com/dex-spectro/dex-spectro/internal/dextest/kubetest"
	"github.com/dex-spectro/dex-spectro/internal/serve"
)

// The release of the Dex Helm chart that examples/helm/values.yaml
// installs, and the names the chart gives it: its full name is the release
// name (which contains the chart's name), and so is its service account's.
const (
	helmRelease   = "dex"
	helmNamespace = "dex"
)

// helmChartRBAC is what the chart's templates/rbac.yaml (chart 0.24.0)
// renders for the release with rbac.create and rbac.createClusterScoped,
// the chart's defaults that examples/helm/values.yaml sets: the release's
// service account may do anything with Dex's resources (group
// dex.coreos.com) in its namespace, and create CustomResourceDefinitions.
const helmChartRBAC = `
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: dex
  namespace: dex
rules:
  - apiGroups: ["dex.coreos.com"]
    resources: ["*"]
    verbs: ["*"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: dex
  namespace: dex
roleRef:
  kind: Role
  apiGroup: rbac.authorization.k8s.io
  name: dex
subjects:
- kind: ServiceAccount
  namespace: dex
  name: dex
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: dex
rules:
  - apiGroups: ["apiextensions.k8s.io"]
    resources: ["customresourcedefinitions"]
    verbs: ["create"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: dex-cluster
roleRef:
  kind: ClusterRole
  apiGroup: rbac.authorization.k8s.io
  name: dex
subjects:
- kind: ServiceAccount
  namespace: dex
  name: dex
`

// dexCRDs are the CustomResourceDefinitions Dex's kubernetes storage
// creates, by their plural names.
var dexCRDs = []string{
	"authcodes", "authrequests", "connectors", "devicerequests", "devicetokens",
	"oauth2clients", "offlinesessionses", "passwords", "refreshtokens", "signingkeies",
}

// The environment examples/helm/values.yaml's config reads (envFrom), and
// the relying party of its one static client, Backstage.
var helmEnv = map[string]string{
	"SPECTROCLOUD_CLIENT_ID":     "dex",
	"SPECTROCLOUD_CLIENT_SECRET": "dex-secret",
	"BACKSTAGE_CLIENT_SECRET":    "backstage-secret",
}

// kubeStorageFleet is dex-spectro replicas on one kube-apiserver's custom
// resources, behind one front door at the issuer URL, as a Service in
// front of a Deployment's pods.
type kubeStorageFleet struct {
	api     *kubetest.APIServer
	palette *spectrotest.Tenant
	door    *frontDoor
	// config is the replicas' configuration, but for web.http.
	config map[string]any
}

// helmValues reads examples/helm/values.yaml.
func helmValues(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile(examplePath("helm", "values.yaml"))
	require.NoError(t, err)
	var values map[string]any
	require.NoError(t, yaml.Unmarshal(data, &values))
	return values
}

// startKubeStorageFleet starts the newest kube-apiserver, creates the Helm
// chart's service account with the RBAC the chart renders for
// examples/helm/values.yaml, and prepares the values' config for replicas
// that reach kube-apiserver as that service account. Only what a test
// machine needs changes in the config: the storage's way in (a kubeconfig
// with the service account's token and namespace, as the pods get them
// in-cluster), the issuer, Palette's console URL and the redirect URI;
// edits apply after those.
func startKubeStorageFleet(t *testing.T, edits ...configEdit) *kubeStorageFleet {
	t.Helper()
	values := helmValues(t)
	rbac, _ := values["rbac"].(map[string]any)
	require.Equal(t, map[string]any{"create": true, "createClusterScoped": true}, rbac,
		"values.yaml has the chart create its RBAC, cluster-scoped part included")
	sa, _ := values["serviceAccount"].(map[string]any)
	require.Equal(t, true, sa["create"], "values.yaml has the chart create the service account")

	versions := kubetest.RequireVersions(t)
	api := kubetest.Start(t, versions[len(versions)-1])
	api.Apply(t, fmt.Appendf(nil, `
apiVersion: v1
kind: Namespace
metadata:
  name: %[1]s
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: %[2]s
  namespace: %[1]s
`, helmNamespace, helmRelease))
	api.Apply(t, []byte(helmChartRBAC))
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, os.WriteFile(kubeconfig, api.Kubeconfig(t, api.ServiceAccountToken(t, helmNamespace, helmRelease), helmNamespace), 0o600))

	for name, value := range helmEnv {
		t.Setenv(name, value)
	}
	cfg, ok := values["config"].(map[string]any)
	require.True(t, ok, "values.yaml has a config")
	palette := spectrotest.NewServer()
	t.Cleanup(palette.Close)
	tenantUID, _ := cfg["connectors"].([]any)[0].(map[string]any)["config"].(map[string]any)["tenant"].(string)
	tenant := palette.AddTenant(tenantUID)
	door := startFrontDoor(t)
	tenant.AddClient(spectrotest.Client{ID: helmEnv["SPECTROCLOUD_CLIENT_ID"], Secret: helmEnv["SPECTROCLOUD_CLIENT_SECRET"], RedirectURIs: []string{door.URL + "/callback"}})

	replacements := []configEdit{
		{[]any{"storage", "config"}, map[string]any{"inCluster": true}, map[string]any{"kubeConfigFile": kubeconfig}},
		{[]any{"issuer"}, exampleIssuer, door.URL},
		{[]any{"connectors", 0, "config", "consoleURL"}, "https://console.spectrocloud.com", palette.URL},
		{[]any{"connectors", 0, "config", "redirectURI"}, exampleIssuer + "/callback", door.URL + "/callback"},
	}
	for _, e := range append(replacements, edits...) {
		require.NoError(t, applyConfigEdit(cfg, e), "examples/helm/values.yaml")
	}
	require.Equal(t, "kubernetes", cfg["storage"].(map[string]any)["type"])
	return &kubeStorageFleet{api: api, palette: tenant, door: door, config: cfg}
}

// replica starts a dex-spectro replica of the fleet on a port of its own,
// as the chart's args start it: the web address comes from the command
// line. The test fails if it does not start.
func (f *kubeStorageFleet) replica(t *testing.T) *harness.Dex {
	t.Helper()
	l := harness.Listen(t)
	return harness.Serve(t, f.load(t, l), serve.WithListener(serve.ListenerHTTP, l))
}

// load loads the fleet's configuration for a replica listening on l.
func (f *kubeStorageFleet) load(t *testing.T, l net.Listener) *config.Config {
	t.Helper()
	cfg := maps.Clone(f.config)
	cfg["web"] = map[string]any{"http": l.Addr().String()}
	data, err := yaml.Marshal(cfg)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(path, data, 0o600))
	return harness.LoadFile(t, path)
}

// kubeletRestarts bounds how often createCRDs starts the first replica.
const kubeletRestarts = 5

// createCRDs starts the fleet's first replica on a cluster that has no
// CustomResourceDefinitions of Dex yet, as Kubernetes runs a pod: Dex's
// storage creates them, and the server waits until kube-apiserver serves
// them before Dex lists connectors. (Stock Dex lists them at once, so that
// its first start can fail, "failed to list connectors: not found" or 429
// "storage is (re)initializing", until the kubelet restarts it; here a
// failed start is restarted a second later too.) It returns the failed
// starts' errors, and stops the replica that started.
func (f *kubeStorageFleet) createCRDs(t *testing.T) []error {
	t.Helper()
	var failures []error
	for range kubeletRestarts {
		l := harness.Listen(t)
		ctx, cancel := context.WithCancel(context.Background())
		srv, err := serve.New(ctx, f.load(t, l), serve.WithListener(serve.ListenerHTTP, l),
			serve.WithLogger(harness.Logger(t, slog.LevelInfo)))
		if err != nil {
			cancel()
			t.Logf("the first replica did not start (the kubelet restarts it): %v", err)
			failures = append(failures, err)
			time.Sleep(time.Second)
			continue
		}
		cancel()
		require.NoError(t, srv.Run(ctx), "stop the first replica")
		return failures
	}
	t.Fatalf("the first replica did not start after %d attempts", kubeletRestarts)
	return nil
}

// relyingParty is Backstage, the values' static client, discovering Dex
// through the front door.
func (f *kubeStorageFleet) relyingParty(t *testing.T) *dextest.RelyingParty {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rp, err := dextest.NewRelyingParty(ctx, f.door.URL, backstageClient, helmEnv["BACKSTAGE_CLIENT_SECRET"], backstageCallback)
	require.NoError(t, err)
	return rp
}

// signIn signs user in through the front door and returns the tokens.
func (f *kubeStorageFleet) signIn(t *testing.T, rp *dextest.RelyingParty, user spectrotest.User) *dextest.Tokens {
	t.Helper()
	f.palette.SetAutoLogin(user.Email)
	b := dextest.NewBrowser()
	b.Connector = "SpectroCloud"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tokens, err := rp.SignIn(ctx, b)
	require.NoError(t, err)
	return tokens
}

// refresh redeems a refresh token through the front door.
func refreshThrough(t *testing.T, rp *dextest.RelyingParty, refreshToken string) *dextest.Tokens {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tokens, err := rp.Refresh(ctx, refreshToken)
	require.NoError(t, err)
	return tokens
}

// frontDoor is a reverse proxy at the issuer URL that sends every request
// to the replica the test routes it to.
type frontDoor struct {
	URL    string
	target atomic.Pointer[url.URL]
}

func startFrontDoor(t *testing.T) *frontDoor {
	t.Helper()
	l := harness.Listen(t)
	d := &frontDoor{URL: "http://" + l.Addr().String() + "/dex"}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(d.target.Load())
			r.Out.Host = r.In.Host
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			http.Error(w, "front door: "+err.Error(), http.StatusBadGateway)
		},
	}
	srv := &http.Server{Handler: proxy, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return d
}

// route sends the following requests to replica.
func (d *frontDoor) route(replica *harness.Dex) {
	d.target.Store(&url.URL{Scheme: "http", Host: replica.Addrs.HTTP})
}

// establishedDexCRDs returns the plural names of the
// CustomResourceDefinitions of group dex.coreos.com that kube-apiserver
// serves, sorted.
func establishedDexCRDs(t *testing.T, api *kubetest.APIServer) []string {
	t.Helper()
	dyn, err := dynamic.NewForConfig(api.Config(api.AdminToken))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	list, err := dyn.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}).
		List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	var established []string
	for _, crd := range list.Items {
		group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
		plural, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "plural")
		conditions, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
		if group != "dex.coreos.com" {
			continue
		}
		for _, c := range conditions {
			if c, ok := c.(map[string]any); ok && c["type"] == "Established" && c["status"] == "True" {
				established = append(established, plural)
			}
		}
	}
	slices.Sort(established)
	return established
}

// dexResources lists the objects of one of Dex's resources in the chart's
// namespace, as the admin.
func dexResources(t *testing.T, api *kubetest.APIServer, plural string) []unstructured.Unstructured {
	t.Helper()
	dyn, err := dynamic.NewForConfig(api.Config(api.AdminToken))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	list, err := dyn.Resource(schema.GroupVersionResource{Group: "dex.coreos.com", Version: "v1", Resource: plural}).
		Namespace(helmNamespace).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	return list.Items
}

// Two dex-spectro replicas with examples/helm/values.yaml's config on Dex's
// kubernetes storage, reaching kube-apiserver as the Helm chart's service
// account with only the chart's RBAC: the first creates Dex's
// CustomResourceDefinitions; a user signs in on one and refreshes on the
// other and back; both replicas restart, with the namespaced Role alone,
// and the session goes on, with the ID tokens issued before still
// verifying.
func TestKubernetesStorage(t *testing.T) {
	f := startKubeStorageFleet(t)
	require.Empty(t, establishedDexCRDs(t, f.api))
	assert.Empty(t, f.createCRDs(t), "the first start waits until kube-apiserver serves Dex's new CRDs")
	// Dex created its CRDs, and kube-apiserver serves them.
	assert.Equal(t, dexCRDs, establishedDexCRDs(t, f.api))

	a, b := f.replica(t), f.replica(t)
	f.door.route(a)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rp := f.relyingParty(t)
	jane := spectrotest.User{Email: "jane@example.com", GivenName: "Jane", Groups: []string{"platform-admins"}}
	f.palette.AddUser(jane)
	signedIn := f.signIn(t, rp, jane)
	assert.Equal(t, "jane@example.com", signedIn.Claims.Email)
	assert.NotEmpty(t, dexResources(t, f.api, "offlinesessionses"), "the session is stored in Kubernetes")
	assert.NotEmpty(t, dexResources(t, f.api, "refreshtokens"))

	f.door.route(b)
	onB := refreshThrough(t, rp, signedIn.OAuth2.RefreshToken)
	assert.Equal(t, signedIn.IDToken.Subject, onB.IDToken.Subject)
	f.door.route(a)
	onA := refreshThrough(t, rp, onB.OAuth2.RefreshToken)
	assert.Equal(t, signedIn.IDToken.Subject, onA.IDToken.Subject)

	// Both replicas restart (a rolling upgrade that replaced every pod),
	// without the chart's cluster-scoped RBAC (createClusterScoped: false):
	// once the CRDs exist, the Role is all the storage needs.
	require.NoError(t, a.Stop())
	require.NoError(t, b.Stop())
	require.NoError(t, f.api.Admin(t).RbacV1().ClusterRoleBindings().Delete(ctx, helmRelease+"-cluster", metav1.DeleteOptions{}))
	a, b = f.replica(t), f.replica(t)
	f.door.route(b)
	afterRestart := refreshThrough(t, rp, onA.OAuth2.RefreshToken)
	assert.Equal(t, signedIn.IDToken.Subject, afterRestart.IDToken.Subject)
	_, err := rp.Verifier.Verify(ctx, signedIn.RawIDToken())
	require.NoError(t, err, "an ID token issued before the restart verifies with the stored keys")
	f.door.route(a)
	sam := spectrotest.User{Email: "sam@example.com", GivenName: "Sam"}
	f.palette.AddUser(sam)
	assert.Equal(t, "sam@example.com", f.signIn(t, rp, sam).Claims.Email)

	// The chart's RBAC is all the storage needed, and it gives no more.
	sa := f.api.Client(t, f.api.ServiceAccountToken(t, helmNamespace, helmRelease))
	_, err = sa.CoreV1().Secrets(helmNamespace).List(ctx, metav1.ListOptions{})
	assert.Equal(t, 403, statusCode(t, err), "the service account reads no secrets")
	_, err = sa.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{})
	assert.Equal(t, 403, statusCode(t, err))
}
