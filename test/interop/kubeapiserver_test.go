package interop

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
	"github.com/dex-spectro/dex-spectro/internal/dextest"
	"github.com/dex-spectro/dex-spectro/internal/dextest/kubetest"
)

// connectorExtra is the extra the example AuthenticationConfiguration files
// give users: the Dex connector they signed in through.
const connectorExtra = "dex-spectro.example.com/connector"

// authenticationWait bounds how long a new or reloaded kube-apiserver
// configuration may take to accept Dex's tokens: the authenticator fetches
// Dex's discovery document in the background, and a changed file is seen
// at once or, at the latest, by the next minute's poll.
const authenticationWait = 90 * time.Second

// structuredConfigFor returns the AuthenticationConfiguration file for a
// kube-apiserver version: v1beta1 before 1.34, v1 from 1.34 on.
func structuredConfigFor(t *testing.T, v kubetest.Version) structuredConfig {
	t.Helper()
	_, minor, _ := strings.Cut(v.Name, ".")
	n, err := strconv.Atoi(minor)
	require.NoError(t, err, "version %s", v.Name)
	if n < 34 {
		return structuredConfigs[0]
	}
	return structuredConfigs[1]
}

// exampleFlagsArgs returns the flags of examples/kubernetes/apiserver-flags.txt
// as shipped, with the issuer URL and the CA file replaced by the live Dex's.
func exampleFlagsArgs(t *testing.T, issuer, caFile string) []string {
	t.Helper()
	text, err := os.ReadFile(examplePath("kubernetes", "apiserver-flags.txt"))
	require.NoError(t, err)
	var args []string
	replaced := 0
	for _, line := range strings.Split(string(text), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, _ := strings.Cut(line, "=")
		switch name {
		case "--oidc-issuer-url":
			require.Equal(t, exampleIssuer, value)
			value = issuer
			replaced++
		case "--oidc-ca-file":
			value = caFile
			replaced++
		}
		args = append(args, name+"="+value)
	}
	require.Equal(t, 2, replaced, "apiserver-flags.txt sets the issuer URL and the CA file")
	return args
}

// exampleAuthenticationConfig returns an example AuthenticationConfiguration
// file as shipped, with the issuer URL and the CA replaced by the live
// Dex's.
func exampleAuthenticationConfig(t *testing.T, file, issuer string, caPEM []byte) []byte {
	t.Helper()
	data, err := os.ReadFile(examplePath("kubernetes", file))
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, yaml.Unmarshal(data, &doc))
	jwt, ok := doc["jwt"].([]any)
	require.True(t, ok && len(jwt) == 1, "%s has one jwt authenticator", file)
	iss, ok := jwt[0].(map[string]any)["issuer"].(map[string]any)
	require.True(t, ok, "%s: jwt[0].issuer", file)
	require.Equal(t, exampleIssuer, iss["url"])
	require.NotContains(t, iss, "certificateAuthority", "%s sets no CA", file)
	iss["url"] = issuer
	iss["certificateAuthority"] = string(caPEM)
	out, err := yaml.Marshal(doc)
	require.NoError(t, err)
	return out
}

// kubeIdentity is a Dex ID token and what kube-apiserver must make of it:
// the user, or (the zero user) a refusal with 401, for which kube-apiserver
// logs refusal unless it is empty.
type kubeIdentity struct {
	name    string
	token   string
	user    wantUser
	refusal string
	// sub is Dex's subject, the uid that structured authentication maps.
	sub string
}

func accepted(t *testing.T, name string, tokens *dextest.Tokens, user wantUser) kubeIdentity {
	return kubeIdentity{name: name, token: tokens.RawIDToken(), user: user, sub: tokens.IDToken.Subject}
}

func refused(name, token, refusal string) kubeIdentity {
	return kubeIdentity{name: name, token: token, refusal: refusal}
}

// selfSubjectReview asks kube-apiserver who the bearer of token is, as
// `kubectl auth whoami` does.
func selfSubjectReview(t *testing.T, s *kubetest.APIServer, token string) (authenticationv1.UserInfo, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	review, err := s.Client(t, token).AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return authenticationv1.UserInfo{}, err
	}
	return review.Status.UserInfo, nil
}

// waitAuthenticated waits until kube-apiserver accepts token.
func waitAuthenticated(t *testing.T, s *kubetest.APIServer, token string) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		_, err := selfSubjectReview(t, s, token)
		assert.NoError(c, err)
	}, authenticationWait, 250*time.Millisecond, "kube-apiserver does not accept Dex's tokens")
}

// statusCode is the HTTP status of a Kubernetes API call's result: 200 for
// no error (200 or 201: allowed).
func statusCode(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 200
	}
	var status apierrors.APIStatus
	require.True(t, errors.As(err, &status), "not an API error: %v", err)
	return int(status.Status().Code)
}

// logCount counts the lines of kube-apiserver's log that hold msg.
func logCount(s *kubetest.APIServer, msg string) int {
	return strings.Count(string(s.Log()), msg)
}

// checkIdentities runs a SelfSubjectReview of each token: an accepted token
// shows the user name and groups (plus system:authenticated), and, with
// structured authentication, Dex's subject as uid and the connector as
// extra; a refused token gets 401, and kube-apiserver logs why.
func checkIdentities(t *testing.T, s *kubetest.APIServer, structured bool, ids []kubeIdentity) {
	t.Helper()
	for _, id := range ids {
		t.Run(id.name, func(t *testing.T) {
			before := 0
			if id.refusal != "" {
				before = logCount(s, id.refusal)
			}
			u, err := selfSubjectReview(t, s, id.token)
			if id.user.name == "" {
				require.Equal(t, 401, statusCode(t, err), "refused: %v", err)
				if id.refusal == "" {
					return
				}
				require.Eventually(t, func() bool { return logCount(s, id.refusal) > before }, 10*time.Second, 50*time.Millisecond,
					"kube-apiserver logs %q for the refused token", id.refusal)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, id.user.name, u.Username)
			assert.Equal(t, append(append([]string(nil), id.user.groups...), "system:authenticated"), u.Groups)
			if structured {
				assert.Equal(t, id.sub, u.UID, "uid is Dex's sub")
				assert.Equal(t, authenticationv1.ExtraValue{prodConnector}, u.Extra[connectorExtra])
			} else {
				assert.Empty(t, u.UID)
				assert.Empty(t, u.Extra)
			}
		})
	}
}

// tamperedToken returns token with its payload's groups replaced by
// system:masters and its signature kept: an attacker's attempt to become
// cluster-admin with a token Dex issued to them.
func tamperedToken(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	require.Len(t, parts, 3)
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var claims map[string]any
	require.NoError(t, json.Unmarshal(payload, &claims))
	claims["groups"] = []string{"system:masters"}
	payload, err = json.Marshal(claims)
	require.NoError(t, err)
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	return strings.Join(parts, ".")
}

// kubeAccess is a request a user makes and the HTTP status they must get.
type kubeAccess struct {
	name   string
	token  string
	do     func(context.Context, kubernetes.Interface) error
	status int
}

// The requests of the RBAC checks.
func listSecrets(namespace string) func(context.Context, kubernetes.Interface) error {
	return func(ctx context.Context, cs kubernetes.Interface) error {
		_, err := cs.CoreV1().Secrets(namespace).List(ctx, metav1.ListOptions{})
		return err
	}
}

func listConfigMaps(namespace string) func(context.Context, kubernetes.Interface) error {
	return func(ctx context.Context, cs kubernetes.Interface) error {
		_, err := cs.CoreV1().ConfigMaps(namespace).List(ctx, metav1.ListOptions{})
		return err
	}
}

func createConfigMap(namespace string) func(context.Context, kubernetes.Interface) error {
	return func(ctx context.Context, cs kubernetes.Interface) error {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{GenerateName: "rbac-check-"}}
		_, err := cs.CoreV1().ConfigMaps(namespace).Create(ctx, cm, metav1.CreateOptions{})
		return err
	}
}

func createNamespace(ctx context.Context, cs kubernetes.Interface) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "rbac-check-"}}
	_, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	return err
}

// applyExampleRBAC applies examples/kubernetes/rbac.yaml as shipped with
// the admin token, into a cluster that has its namespace. The roles it
// binds, cluster-admin and edit, are those Kubernetes bootstraps; edit is
// an aggregated role, filled in here as kube-controller-manager would.
func applyExampleRBAC(t *testing.T, s *kubetest.APIServer) {
	t.Helper()
	s.Apply(t, []byte("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: payments\n"))
	data, err := os.ReadFile(examplePath("kubernetes", "rbac.yaml"))
	require.NoError(t, err)
	s.Apply(t, data)
	s.AggregateClusterRoles(t)
}

// checkAccess makes each request as its user and checks the status.
func checkAccess(t *testing.T, s *kubetest.APIServer, checks []kubeAccess) {
	t.Helper()
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := c.do(ctx, s.Client(t, c.token))
			assert.Equal(t, c.status, statusCode(t, err), "%v", err)
		})
	}
}

// exampleKubeTokens are the tokens of the example deployment the
// kube-apiserver tests send.
type exampleKubeTokens struct {
	kubeTokens
	ops           *dextest.Tokens // kubectl, production tenant, in no platform team
	janeRefreshed *dextest.Tokens // kubectl, Jane's token refreshed
	janeTampered  string          // Jane's token claiming system:masters
}

func signInForKubeAPIServer(t *testing.T, st *stack) exampleKubeTokens {
	t.Helper()
	kl := loadKubeloginSettings(t)
	tokens := exampleKubeTokens{kubeTokens: signInForKubernetes(t, st, kl)}
	kubectl := st.relyingParty(t, kl.ClientID, "", kubeloginRedirect, kl.Scopes...)
	tokens.ops = st.signIn(t, kubectl, prodConnector, prodName, opsProd())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Dex keeps one refresh token per user and client: Jane's later
	// sign-ins in signInForKubernetes replaced the first one's.
	signedIn := st.signIn(t, kubectl, prodConnector, prodName, jane())
	refreshed, err := kubectl.Refresh(ctx, signedIn.OAuth2.RefreshToken)
	require.NoError(t, err)
	require.NotEqual(t, signedIn.RawIDToken(), refreshed.RawIDToken(), "a new ID token")
	tokens.janeRefreshed = refreshed
	tokens.janeTampered = tamperedToken(t, tokens.jane.RawIDToken())
	return tokens
}

// The example deployment (examples/config.yaml) in front of kube-apiserver
// itself, for each Kubernetes version the tests build, configured by
// examples/kubernetes/apiserver-flags.txt and by the version's
// AuthenticationConfiguration file, with examples/kubernetes/rbac.yaml
// applied.
func TestKubeAPIServer(t *testing.T) {
	versions := kubetest.RequireVersions(t)
	for _, v := range versions {
		kubetest.Binary(t, v) // skip or fail before starting anything else
	}
	st := startExampleStack(t)
	tokens := signInForKubeAPIServer(t, st)
	rules := startRulesStack(t)

	for _, v := range versions {
		t.Run(v.Name+"/apiserver-flags.txt", func(t *testing.T) {
			s := kubetest.Start(t, v, exampleFlagsArgs(t, st.Issuer, st.CAFile)...)
			waitAuthenticated(t, s, tokens.jane.RawIDToken())
			checkIdentities(t, s, false, exampleIdentities(t, tokens, false))
			applyExampleRBAC(t, s)
			checkAccess(t, s, exampleAccess(t, tokens, 403))
		})

		sc := structuredConfigFor(t, v)
		t.Run(v.Name+"/"+sc.file, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "authentication-config.yaml")
			require.NoError(t, os.WriteFile(path, exampleAuthenticationConfig(t, sc.file, st.Issuer, st.CAPEM), 0o600))
			s := kubetest.Start(t, v, "--authentication-config="+path)
			waitAuthenticated(t, s, tokens.jane.RawIDToken())
			checkIdentities(t, s, true, exampleIdentities(t, tokens, true))
			applyExampleRBAC(t, s)
			checkAccess(t, s, exampleAccess(t, tokens, 401))

			// kube-apiserver reloads the file when it changes: pointed at
			// another Dex, whose tokens break the file's rules.
			require.NoError(t, os.WriteFile(path, exampleAuthenticationConfig(t, sc.file, rules.stack.Issuer, rules.stack.CAPEM), 0o600))
			waitAuthenticated(t, s, rules.kim.RawIDToken())
			checkIdentities(t, s, false, []kubeIdentity{
				// No authenticator knows its issuer: refused, for no reason
				// worth logging.
				refused("the previous Dex", tokens.jane.RawIDToken(), ""),
			})
			t.Run("rules", func(t *testing.T) {
				checkRules(t, s, rules)
			})
		})
	}
}

// exampleIdentities are the example deployment's tokens and what
// kube-apiserver makes of them (see docs/kubernetes.md), with the flags or
// with structured authentication, which in addition accepts only the
// production connector's users, through clients that ask for federated:id.
func exampleIdentities(t *testing.T, tokens exampleKubeTokens, structured bool) []kubeIdentity {
	ids := []kubeIdentity{
		accepted(t, "kubectl, team member", tokens.jane, janeUser),
		accepted(t, "kubectl, no platform team", tokens.sam, samUser),
		accepted(t, "kubectl, no team at all", tokens.ops, wantUser{"ops@example.com", nil}),
		accepted(t, "kubectl, refreshed", tokens.janeRefreshed, janeUser),
		accepted(t, "Backstage, with the clusters' audience", tokens.janeBackstage, janeUser),
		refused("Backstage, without the clusters' audience", tokens.janeBackstageOwn.RawIDToken(), "expected audience"),
		refused("expired", tokens.janeExpired.RawIDToken(), "token is expired"),
		refused("tampered", tokens.janeTampered, "failed to verify signature"),
	}
	const wrongTenant = "sign in through the production Palette tenant"
	if structured {
		return append(ids,
			refused("kubectl, lab tenant", tokens.lee.RawIDToken(), wrongTenant),
			refused("kubectl, without the federated:id scope", tokens.janeNoFederation.RawIDToken(), wrongTenant))
	}
	// Flags cannot tell Dex's connectors apart.
	return append(ids,
		accepted(t, "kubectl, lab tenant", tokens.lee, leeUser),
		accepted(t, "kubectl, without the federated:id scope", tokens.janeNoFederation, janeUser))
}

// exampleAccess is what rbac.yaml gives the example's users (see
// docs/kubernetes.md): Jane's team is cluster-admin, Sam edits namespace
// payments, anyone else signed in gets nothing. labStatus is what Lee of
// the lab tenant gets: 403 (signed in, no grants) with the flags, 401
// (refused) with structured authentication.
func exampleAccess(t *testing.T, tokens exampleKubeTokens, labStatus int) []kubeAccess {
	jane, sam, ops, lee := tokens.jane.RawIDToken(), tokens.sam.RawIDToken(), tokens.ops.RawIDToken(), tokens.lee.RawIDToken()
	backstage, refreshed, expired := tokens.janeBackstage.RawIDToken(), tokens.janeRefreshed.RawIDToken(), tokens.janeExpired.RawIDToken()
	return []kubeAccess{
		{"jane reads secrets in kube-system", jane, listSecrets("kube-system"), 200},
		{"jane creates a namespace", jane, createNamespace, 200},
		{"jane through Backstage reads secrets in kube-system", backstage, listSecrets("kube-system"), 200},
		{"jane refreshed reads secrets in kube-system", refreshed, listSecrets("kube-system"), 200},
		{"sam creates a config map in payments", sam, createConfigMap("payments"), 200},
		{"sam lists config maps in payments", sam, listConfigMaps("payments"), 200},
		{"sam lists config maps in default", sam, listConfigMaps("default"), 403},
		{"sam reads secrets in kube-system", sam, listSecrets("kube-system"), 403},
		{"sam creates a namespace", sam, createNamespace, 403},
		{"ops lists config maps in payments", ops, listConfigMaps("payments"), 403},
		{"ops creates a namespace", ops, createNamespace, 403},
		{"lee lists config maps in payments", lee, listConfigMaps("payments"), labStatus},
		{"tampered token lists config maps in payments", tokens.janeTampered, listConfigMaps("payments"), 401},
		{"expired token lists config maps in payments", expired, listConfigMaps("payments"), 401},
	}
}

// rulesStack is a Dex whose production connector is Dex's own oidc
// connector, so that it issues what the spectrocloud connector never lets
// through (an unverified email, a group named system:masters), and the
// tokens of its users.
type rulesStack struct {
	stack *stack
	// kim is verified and in the team platform-admins: accepted.
	kim *dextest.Tokens
	// unverified has email_verified false; systemUser's email, and so user
	// name, starts with system:; systemGroup is in the team
	// system:masters; lab signed in through the lab tenant.
	unverified, systemUser, systemGroup, lab string
}

func startRulesStack(t *testing.T) rulesStack {
	t.Helper()
	// Dex's oidc connector needs a name claim, and an email_verified one.
	user := func(email, name string, verified bool, groups ...string) spectrotest.User {
		return spectrotest.User{Email: email, Groups: groups, Claims: map[string]any{"name": name, "email_verified": verified}}
	}
	kim := user("kim@example.com", "Kim", true, "platform-admins")
	una := user("una@example.com", "Una", false, "platform-admins")
	sys := user("system:admin@example.com", "Sys", true, "platform-admins")
	max := user("max@example.com", "Max", true, "system:masters")
	st := startStack(t, stackSpec{
		Tenants: []tenantSpec{
			{
				UID: prodTenantUID, ConnectorID: prodConnector, ConnectorName: prodName,
				ClientID: "dex-prod", ClientSecret: "dex-prod-secret", DexOIDC: true,
				Users: []spectrotest.User{kim, una, sys, max},
			},
			{
				UID: labTenantUID, ConnectorID: labConnector, ConnectorName: labName,
				ClientID: "dex-lab", ClientSecret: "dex-lab-secret",
				Users: []spectrotest.User{lee()},
			},
		},
		Clients: []clientSpec{{ID: kubernetesClient, Name: "Kubernetes", Public: true, RedirectURIs: []string{kubeloginRedirect}}},
	})
	kl := loadKubeloginSettings(t)
	kubectl := st.relyingParty(t, kl.ClientID, "", kubeloginRedirect, kl.Scopes...)
	signIn := func(connectorID, connectorName string, u spectrotest.User) string {
		return st.signIn(t, kubectl, connectorID, connectorName, u).RawIDToken()
	}
	r := rulesStack{
		stack:       st,
		kim:         st.signIn(t, kubectl, prodConnector, prodName, kim),
		unverified:  signIn(prodConnector, prodName, una),
		systemUser:  signIn(prodConnector, prodName, sys),
		systemGroup: signIn(prodConnector, prodName, max),
		lab:         signIn(labConnector, labName, lee()),
	}
	return r
}

// checkRules sends the rules stack's tokens to kube-apiserver configured
// by an example AuthenticationConfiguration file: each of the file's rules
// refuses what its message says.
func checkRules(t *testing.T, s *kubetest.APIServer, r rulesStack) {
	t.Helper()
	checkIdentities(t, s, true, []kubeIdentity{
		accepted(t, "verified, production tenant", r.kim, wantUser{"kim@example.com", []string{"platform-admins"}}),
		refused("email not verified", r.unverified, "the email address is not verified"),
		refused("another connector", r.lab, "sign in through the production Palette tenant"),
		refused("user name starting with system:", r.systemUser, "user names starting with system: are reserved for Kubernetes"),
		refused("group starting with system:", r.systemGroup, "group names starting with system: are reserved for Kubernetes"),
	})
}

// A kube-apiserver given an AuthenticationConfiguration file of a version
// it does not serve does not start: before 1.34, the v1 file, as shipped.
func TestKubeAPIServerRefusesTheFileOfALaterVersion(t *testing.T) {
	v1 := structuredConfigs[1]
	require.Equal(t, "apiserver.config.k8s.io/v1", v1.apiVersion)
	path, err := filepath.Abs(examplePath("kubernetes", v1.file))
	require.NoError(t, err)
	ran := false
	for _, v := range kubetest.RequireVersions(t) {
		if structuredConfigFor(t, v) == v1 {
			continue
		}
		ran = true
		t.Run(v.Name, func(t *testing.T) {
			s, err := kubetest.TryStart(t, v, "--authentication-config="+path)
			require.Error(t, err, "kube-apiserver %s starts with %s", v.Name, v1.file)
			exited, _ := s.Exited()
			assert.True(t, exited)
			assert.Regexp(t, `command failed.*no kind .*AuthenticationConfiguration.* is registered for version .*apiserver\.config\.k8s\.io/v1`, string(s.Log()))
		})
	}
	if !ran {
		t.Skipf("no version before 1.34 among %s", os.Getenv(kubetest.VersionsEnv))
	}
}
