package interop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apiserver/pkg/apis/apiserver"
	"k8s.io/apiserver/pkg/apis/apiserver/install"
	apiservervalidation "k8s.io/apiserver/pkg/apis/apiserver/validation"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	authenticationcel "k8s.io/apiserver/pkg/authentication/cel"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
	kubeoidc "k8s.io/apiserver/plugin/pkg/authenticator/token/oidc"
	"sigs.k8s.io/yaml"

	"github.com/dex-spectro/dex-spectro/internal/dextest"
)

// apiServerOIDCFlags are kube-apiserver's --oidc-* flags.
type apiServerOIDCFlags struct {
	IssuerURL      string
	ClientID       string
	CAFile         string
	UsernameClaim  string
	UsernamePrefix string
	GroupsClaim    string
	GroupsPrefix   string
	SigningAlgs    []string
	RequiredClaims map[string]string
}

// newAPIServerOIDCFlags returns the flags' defaults in kube-apiserver.
func newAPIServerOIDCFlags() apiServerOIDCFlags {
	return apiServerOIDCFlags{UsernameClaim: "sub", SigningAlgs: []string{"RS256"}}
}

// set sets one flag, given as "--oidc-name=value".
func (f *apiServerOIDCFlags) set(arg string) error {
	name, value, ok := strings.Cut(strings.TrimPrefix(arg, "--"), "=")
	if !ok || !strings.HasPrefix(arg, "--oidc-") {
		return fmt.Errorf("%q: expected --oidc-<name>=<value>", arg)
	}
	switch name {
	case "oidc-issuer-url":
		f.IssuerURL = value
	case "oidc-client-id":
		f.ClientID = value
	case "oidc-ca-file":
		f.CAFile = value
	case "oidc-username-claim":
		f.UsernameClaim = value
	case "oidc-username-prefix":
		f.UsernamePrefix = value
	case "oidc-groups-claim":
		f.GroupsClaim = value
	case "oidc-groups-prefix":
		f.GroupsPrefix = value
	case "oidc-signing-algs":
		f.SigningAlgs = strings.Split(value, ",")
	case "oidc-required-claim":
		claim, required, ok := strings.Cut(value, "=")
		if !ok {
			return fmt.Errorf("%q: expected --oidc-required-claim=<claim>=<value>", arg)
		}
		if f.RequiredClaims == nil {
			f.RequiredClaims = make(map[string]string)
		}
		f.RequiredClaims[claim] = required
	default:
		return fmt.Errorf("%q: not a kube-apiserver OIDC flag", arg)
	}
	return nil
}

// parseAPIServerFlags reads a flags file: one --oidc-* flag a line, blank
// lines and # comments ignored.
func parseAPIServerFlags(text string) (apiServerOIDCFlags, error) {
	f := newAPIServerOIDCFlags()
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := f.set(line); err != nil {
			return f, fmt.Errorf("line %d: %w", i+1, err)
		}
	}
	return f, nil
}

// authenticationConfig turns the flags into the JWT authenticator that
// kube-apiserver builds from them (its BuiltInAuthenticationOptions'
// ToAuthenticationConfig): the issuer URL followed by "#" prefixes user names
// from any claim but email unless a prefix is given, and "-" means no prefix.
func (f apiServerOIDCFlags) authenticationConfig() (*apiserver.AuthenticationConfiguration, error) {
	usernamePrefix := f.UsernamePrefix
	if usernamePrefix == "" && f.UsernameClaim != "email" {
		usernamePrefix = f.IssuerURL + "#"
	}
	if usernamePrefix == "-" {
		usernamePrefix = ""
	}
	jwt := apiserver.JWTAuthenticator{
		Issuer: apiserver.Issuer{URL: f.IssuerURL, Audiences: []string{f.ClientID}},
		ClaimMappings: apiserver.ClaimMappings{
			Username: apiserver.PrefixedClaimOrExpression{Claim: f.UsernameClaim, Prefix: &usernamePrefix},
		},
	}
	if f.GroupsClaim != "" {
		groupsPrefix := f.GroupsPrefix
		jwt.ClaimMappings.Groups = apiserver.PrefixedClaimOrExpression{Claim: f.GroupsClaim, Prefix: &groupsPrefix}
	}
	if f.CAFile != "" {
		ca, err := os.ReadFile(f.CAFile)
		if err != nil {
			return nil, fmt.Errorf("--oidc-ca-file: %w", err)
		}
		jwt.Issuer.CertificateAuthority = string(ca)
	}
	for claim, value := range f.RequiredClaims {
		jwt.ClaimValidationRules = append(jwt.ClaimValidationRules, apiserver.ClaimValidationRule{Claim: claim, RequiredValue: value})
	}
	return &apiserver.AuthenticationConfiguration{JWT: []apiserver.JWTAuthenticator{jwt}}, nil
}

// loadAuthenticationConfiguration decodes an AuthenticationConfiguration
// file as kube-apiserver's --authentication-config does: strictly, through
// the apiserver.config.k8s.io scheme, into the internal type.
func loadAuthenticationConfiguration(data []byte) (*apiserver.AuthenticationConfiguration, error) {
	scheme := runtime.NewScheme()
	install.Install(scheme)
	codecs := serializer.NewCodecFactory(scheme, serializer.EnableStrict)
	obj, err := runtime.Decode(codecs.UniversalDecoder(), data)
	if err != nil {
		return nil, err
	}
	cfg, ok := obj.(*apiserver.AuthenticationConfiguration)
	if !ok {
		return nil, fmt.Errorf("expected AuthenticationConfiguration, got %T", obj)
	}
	return cfg, nil
}

// validateAuthenticationConfiguration validates as kube-apiserver does at
// start-up, compiling the CEL expressions.
func validateAuthenticationConfiguration(cfg *apiserver.AuthenticationConfiguration) error {
	return apiservervalidation.ValidateAuthenticationConfiguration(authenticationcel.NewDefaultCompiler(), cfg, nil).ToAggregate()
}

// startKubeAuthenticator validates cfg and starts the OIDC authenticator of
// its one JWT issuer the way kube-apiserver does (the CA as static content,
// the given signing algorithms), then waits until it has discovered the
// issuer. It stops when the test ends.
func startKubeAuthenticator(t *testing.T, cfg *apiserver.AuthenticationConfiguration, signingAlgs []string) authenticator.Token {
	t.Helper()
	require.NoError(t, validateAuthenticationConfiguration(cfg))
	require.Len(t, cfg.JWT, 1)
	jwt := cfg.JWT[0]

	var ca kubeoidc.CAContentProvider
	if jwt.Issuer.CertificateAuthority != "" {
		provider, err := dynamiccertificates.NewStaticCAContent("oidc-authenticator", []byte(jwt.Issuer.CertificateAuthority))
		require.NoError(t, err)
		ca = provider
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	a, err := kubeoidc.New(ctx, kubeoidc.Options{
		JWTAuthenticator:     jwt,
		CAContentProvider:    ca,
		SupportedSigningAlgs: signingAlgs,
	})
	require.NoError(t, err)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.NoError(c, a.HealthCheck())
	}, 20*time.Second, 20*time.Millisecond, "the authenticator did not initialise from Dex's discovery document")
	return a
}

// exampleFlagsAuthenticator starts the authenticator of
// examples/kubernetes/apiserver-flags.txt, with extra flags applied after the
// file's, pointed at the live Dex and its CA.
func exampleFlagsAuthenticator(t *testing.T, st *stack, extra ...string) authenticator.Token {
	t.Helper()
	text, err := os.ReadFile(examplePath("kubernetes", "apiserver-flags.txt"))
	require.NoError(t, err)
	flags, err := parseAPIServerFlags(string(text))
	require.NoError(t, err)
	require.Equal(t, exampleIssuer, flags.IssuerURL)
	require.NotEmpty(t, flags.CAFile)
	for _, arg := range extra {
		require.NoError(t, flags.set(arg))
	}
	flags.IssuerURL, flags.CAFile = st.Issuer, st.CAFile
	cfg, err := flags.authenticationConfig()
	require.NoError(t, err)
	return startKubeAuthenticator(t, cfg, flags.SigningAlgs)
}

// exampleStructuredAuthenticator starts the authenticator of
// examples/kubernetes/authentication-config.yaml, pointed at the live Dex and
// its CA; everything else is as shipped.
func exampleStructuredAuthenticator(t *testing.T, st *stack) authenticator.Token {
	t.Helper()
	data, err := os.ReadFile(examplePath("kubernetes", "authentication-config.yaml"))
	require.NoError(t, err)
	cfg, err := loadAuthenticationConfiguration(data)
	require.NoError(t, err)
	require.NoError(t, validateAuthenticationConfiguration(cfg), "the example as shipped")
	require.Len(t, cfg.JWT, 1)
	require.Equal(t, exampleIssuer, cfg.JWT[0].Issuer.URL)
	cfg.JWT[0].Issuer.URL = st.Issuer
	cfg.JWT[0].Issuer.CertificateAuthority = string(st.CAPEM)
	// With a configuration file kube-apiserver accepts every algorithm it
	// knows.
	return startKubeAuthenticator(t, cfg, kubeoidc.AllValidSigningAlgorithms())
}

// kubeloginSettings are the kubelogin arguments of examples/kubernetes/kubeconfig.yaml.
type kubeloginSettings struct {
	IssuerURL string
	ClientID  string
	// Scopes are those kubelogin requests: openid and the extra scopes.
	Scopes []string
}

func loadKubeloginSettings(t *testing.T) kubeloginSettings {
	t.Helper()
	data, err := os.ReadFile(examplePath("kubernetes", "kubeconfig.yaml"))
	require.NoError(t, err)
	var kubeconfig struct {
		Users []struct {
			User struct {
				Exec struct {
					APIVersion string   `json:"apiVersion"`
					Command    string   `json:"command"`
					Args       []string `json:"args"`
				} `json:"exec"`
			} `json:"user"`
		} `json:"users"`
	}
	require.NoError(t, yaml.Unmarshal(data, &kubeconfig))
	require.Len(t, kubeconfig.Users, 1)
	exec := kubeconfig.Users[0].User.Exec
	require.Equal(t, "client.authentication.k8s.io/v1", exec.APIVersion)
	require.Equal(t, "kubectl", exec.Command)
	require.GreaterOrEqual(t, len(exec.Args), 2)
	require.Equal(t, []string{"oidc-login", "get-token"}, exec.Args[:2])

	s := kubeloginSettings{Scopes: []string{"openid"}}
	for _, arg := range exec.Args[2:] {
		name, value, _ := strings.Cut(arg, "=")
		switch name {
		case "--oidc-issuer-url":
			s.IssuerURL = value
		case "--oidc-client-id":
			s.ClientID = value
		case "--oidc-extra-scope":
			s.Scopes = append(s.Scopes, value)
		default:
			t.Fatalf("kubeconfig.yaml: kubelogin argument %q is not covered by this test", arg)
		}
	}
	require.Equal(t, exampleIssuer, s.IssuerURL)
	return s
}

// authenticate runs a token through a kube authenticator, as kube-apiserver
// does for a bearer token.
func authenticate(a authenticator.Token, token string) (user.Info, error) {
	resp, ok, err := a.AuthenticateToken(context.Background(), token)
	switch {
	case err != nil:
		return nil, err
	case !ok:
		return nil, errors.New("token not authenticated")
	default:
		return resp.User, nil
	}
}

// kubeTokens are Dex ID tokens from the login flow, for the Kubernetes tests.
type kubeTokens struct {
	jane, sam        *dextest.Tokens // kubelogin's client, production tenant
	lee              *dextest.Tokens // kubelogin's client, lab tenant
	janeBackstage    *dextest.Tokens // Backstage's client
	janeOtherClient  *dextest.Tokens // Grafana's client
	janeExpired      *dextest.Tokens // kubelogin's client, issued an hour ago
	janeNoFederation *dextest.Tokens // kubelogin's client, without federated:id
}

func signInForKubernetes(t *testing.T, st *stack, kl kubeloginSettings) kubeTokens {
	t.Helper()
	kubectl := st.relyingParty(t, kl.ClientID, "", kubeloginRedirect, kl.Scopes...)
	var tokens kubeTokens
	tokens.jane = st.signIn(t, kubectl, prodConnector, prodName, jane())
	tokens.sam = st.signIn(t, kubectl, prodConnector, prodName, sam())
	tokens.lee = st.signIn(t, kubectl, labConnector, labName, lee())

	backstage := st.relyingParty(t, backstageClient, backstageSecret, backstageCallback, kl.Scopes...)
	tokens.janeBackstage = st.signIn(t, backstage, prodConnector, prodName, jane())
	other := st.relyingParty(t, otherClient, otherClientSecret, otherClientRedirect, kl.Scopes...)
	tokens.janeOtherClient = st.signIn(t, other, prodConnector, prodName, jane())

	withoutFederation := slices.DeleteFunc(slices.Clone(kl.Scopes), func(s string) bool { return s == "federated:id" })
	require.Len(t, withoutFederation, len(kl.Scopes)-1, "kubeconfig.yaml requests federated:id")
	tokens.janeNoFederation = st.signIn(t, st.relyingParty(t, kl.ClientID, "", kubeloginRedirect, withoutFederation...), prodConnector, prodName, jane())

	// Dex issues this one an hour in the past, valid for idTokenExpiry: it
	// expired 50 minutes ago by the authenticator's (real) clock.
	st.withClockOffset(-time.Hour, func() {
		tokens.janeExpired = st.signIn(t, kubectl, prodConnector, prodName, jane())
	})
	require.True(t, tokens.janeExpired.IDToken.Expiry.Before(time.Now()))
	return tokens
}

// wantUser is what the authenticator must make of a token.
type wantUser struct {
	name   string
	groups []string
}

func TestKubernetes(t *testing.T) {
	st := startStack(t, exampleSpec())
	kl := loadKubeloginSettings(t)
	require.Equal(t, kubeloginClient, kl.ClientID)
	tokens := signInForKubernetes(t, st, kl)

	// kube-apiserver with the flags of apiserver-flags.txt, and variants
	// that take preferred_username (which Dex fills with the name the
	// connector's sign-in resolver decided) instead of the email.
	t.Run("flags", func(t *testing.T) {
		tests := []struct {
			name  string
			extra []string
			jane  wantUser
			sam   wantUser
		}{
			{
				name: "as shipped",
				jane: wantUser{"jane@example.com", []string{"platform-admins", "developers"}},
				sam:  wantUser{"sam@example.com", []string{"developers"}},
			},
			{
				name:  "preferred_username with prefixes",
				extra: []string{"--oidc-username-claim=preferred_username", "--oidc-username-prefix=palette:", "--oidc-groups-prefix=palette:"},
				jane:  wantUser{"palette:jane", []string{"palette:platform-admins", "palette:developers"}},
				sam:   wantUser{"palette:sam", []string{"palette:developers"}},
			},
			{
				name:  "preferred_username without prefix gets the issuer as prefix",
				extra: []string{"--oidc-username-claim=preferred_username"},
				jane:  wantUser{st.Issuer + "#jane", []string{"platform-admins", "developers"}},
				sam:   wantUser{st.Issuer + "#sam", []string{"developers"}},
			},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a := exampleFlagsAuthenticator(t, st, tt.extra...)
				for _, c := range []struct {
					tokens *dextest.Tokens
					want   wantUser
				}{{tokens.jane, tt.jane}, {tokens.sam, tt.sam}} {
					u, err := authenticate(a, rawIDToken(t, c.tokens))
					require.NoError(t, err)
					assert.Equal(t, c.want.name, u.GetName())
					assert.Equal(t, c.want.groups, u.GetGroups())
				}

				for _, r := range []struct {
					name    string
					tokens  *dextest.Tokens
					wantErr string
				}{
					{"expired", tokens.janeExpired, "token is expired"},
					{"issued to another client", tokens.janeBackstage, "expected audience"},
				} {
					_, err := authenticate(a, rawIDToken(t, r.tokens))
					require.Error(t, err, r.name)
					assert.Contains(t, err.Error(), r.wantErr, r.name)
				}
			})
		}
	})

	// kube-apiserver with --authentication-config=authentication-config.yaml.
	t.Run("structured authentication", func(t *testing.T) {
		a := exampleStructuredAuthenticator(t, st)

		accepted := []struct {
			name      string
			tokens    *dextest.Tokens
			want      wantUser
			connector string
		}{
			{"kubectl, team member", tokens.jane, wantUser{"jane@example.com", []string{"platform-admins", "developers"}}, prodConnector},
			{"kubectl, other team", tokens.sam, wantUser{"sam@example.com", []string{"developers"}}, prodConnector},
			{"token Backstage holds for the user", tokens.janeBackstage, wantUser{"jane@example.com", []string{"platform-admins", "developers"}}, prodConnector},
		}
		for _, tt := range accepted {
			t.Run(tt.name, func(t *testing.T) {
				u, err := authenticate(a, rawIDToken(t, tt.tokens))
				require.NoError(t, err)
				assert.Equal(t, tt.want.name, u.GetName())
				assert.Equal(t, tt.want.groups, u.GetGroups())
				assert.Equal(t, tt.tokens.IDToken.Subject, u.GetUID(), "uid is Dex's sub")
				assert.Equal(t, []string{tt.connector}, u.GetExtra()["dex-spectro.example.com/connector"])
			})
		}

		rejected := []struct {
			name    string
			tokens  *dextest.Tokens
			wantErr string
		}{
			{"expired", tokens.janeExpired, "token is expired"},
			{"issued to another client", tokens.janeOtherClient, "expected audience"},
			{"signed in through the lab tenant", tokens.lee, "sign in through the production Palette tenant"},
			{"without the federated:id scope", tokens.janeNoFederation, "sign in through the production Palette tenant"},
		}
		for _, tt := range rejected {
			t.Run(tt.name, func(t *testing.T) {
				_, err := authenticate(a, rawIDToken(t, tt.tokens))
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
			})
		}
	})

	// The bindings of rbac.yaml apply to the users both configurations make.
	t.Run("rbac", func(t *testing.T) {
		bindings := loadRBACExample(t)
		authenticators := map[string]authenticator.Token{
			"flags":                     exampleFlagsAuthenticator(t, st),
			"structured authentication": exampleStructuredAuthenticator(t, st),
		}
		tests := []struct {
			user    string
			tokens  *dextest.Tokens
			binding string
			applies bool
		}{
			{"jane", tokens.jane, "palette-team-platform-admins", true},
			{"jane", tokens.jane, "payments/sam-edit", false},
			{"sam", tokens.sam, "palette-team-platform-admins", false},
			{"sam", tokens.sam, "payments/sam-edit", true},
		}
		for name, a := range authenticators {
			for _, tt := range tests {
				t.Run(name+"/"+tt.user+"/"+tt.binding, func(t *testing.T) {
					b, ok := bindings[tt.binding]
					require.True(t, ok, "rbac.yaml has no binding %s", tt.binding)
					u, err := authenticate(a, rawIDToken(t, tt.tokens))
					require.NoError(t, err)
					assert.Equal(t, tt.applies, b.appliesTo(u))
				})
			}
		}
	})
}

// rbacBinding is a RoleBinding or ClusterRoleBinding of rbac.yaml.
type rbacBinding struct {
	RoleRef  rbacv1.RoleRef
	Subjects []rbacv1.Subject
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
			bindings[rb.Namespace+"/"+rb.Name] = rbacBinding{RoleRef: rb.RoleRef, Subjects: rb.Subjects}
		default:
			t.Fatalf("rbac.yaml: unexpected kind %q", meta.Kind)
		}
	}
	require.NotEmpty(t, bindings)
	return bindings
}
