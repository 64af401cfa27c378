package interop

import (
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
	"k8s.io/apiserver/pkg/apis/apiserver"
	"k8s.io/apiserver/pkg/authentication/authenticator"
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

// kubeTokens are Dex ID tokens from the login flow of the example
// deployment, for the Kubernetes tests.
type kubeTokens struct {
	jane, sam        *dextest.Tokens // kubectl (the kubernetes client), production tenant
	lee              *dextest.Tokens // kubectl, lab tenant
	janeBackstage    *dextest.Tokens // Backstage, with the scopes of app-config.yaml (the clusters' audience among them)
	janeBackstageOwn *dextest.Tokens // Backstage, without the clusters' audience
	janeExpired      *dextest.Tokens // kubectl, issued an hour ago
	janeNoFederation *dextest.Tokens // kubectl, without federated:id
}

func signInForKubernetes(t *testing.T, st *stack, kl kubeloginSettings) kubeTokens {
	t.Helper()
	kubectl := st.relyingParty(t, kl.ClientID, "", kubeloginRedirect, kl.Scopes...)
	var tokens kubeTokens
	tokens.jane = st.signIn(t, kubectl, prodConnector, prodName, jane())
	tokens.sam = st.signIn(t, kubectl, prodConnector, prodName, sam())
	tokens.lee = st.signIn(t, kubectl, labConnector, labName, lee())

	scopes := backstageScopes(t, loadBackstageAppConfig(t, backstageEnv()))
	require.Contains(t, scopes, clustersAudienceScope, "app-config.yaml asks for the clusters' audience")
	backstage := st.relyingParty(t, backstageClient, backstageSecret, backstageCallback, scopes...)
	tokens.janeBackstage = st.signIn(t, backstage, prodConnector, prodName, jane())
	withoutAudience := slices.DeleteFunc(slices.Clone(scopes), func(s string) bool { return s == clustersAudienceScope })
	tokens.janeBackstageOwn = st.signIn(t, st.relyingParty(t, backstageClient, backstageSecret, backstageCallback, withoutAudience...), prodConnector, prodName, jane())

	withoutFederation := slices.DeleteFunc(slices.Clone(kl.Scopes), func(s string) bool { return s == "federated:id" })
	require.Len(t, withoutFederation, len(kl.Scopes)-1, "kubeconfig.yaml requests federated:id")
	tokens.janeNoFederation = st.signIn(t, st.relyingParty(t, kl.ClientID, "", kubeloginRedirect, withoutFederation...), prodConnector, prodName, jane())

	// Dex issues this one two hours in the past, valid for an hour
	// (expiry.idTokens): it expired an hour ago by the authenticator's
	// (real) clock.
	st.withClockOffset(-2*time.Hour, func() {
		tokens.janeExpired = st.signIn(t, kubectl, prodConnector, prodName, jane())
	})
	require.True(t, tokens.janeExpired.IDToken.Expiry.Before(time.Now()))
	return tokens
}

// wantUser is what the authenticator must make of a token; the zero value
// means the token names no user.
type wantUser struct {
	name   string
	groups []string
}

// The names of the example deployment: Palette's teams as Dex's
// config.yaml keeps and prefixes them.
var (
	janeUser = wantUser{"jane@example.com", []string{"palette:platform-admins"}}
	samUser  = wantUser{"sam@example.com", nil}
	leeUser  = wantUser{"lee@example.com", []string{"palette-lab:lab-users"}}
)

// The example deployment of examples/config.yaml, with clusters configured
// by apiserver-flags.txt or authentication-config-*.yaml, and kubectl by
// kubeconfig.yaml.
func TestKubernetes(t *testing.T) {
	st := startExampleStack(t)
	kl := loadKubeloginSettings(t)
	require.Equal(t, kubernetesClient, kl.ClientID)
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
			lee   wantUser
		}{
			{name: "as shipped", jane: janeUser, sam: samUser, lee: leeUser},
			{
				name:  "preferred_username with a prefix",
				extra: []string{"--oidc-username-claim=preferred_username", "--oidc-username-prefix=palette:"},
				jane:  wantUser{"palette:jane", janeUser.groups},
				sam:   wantUser{"palette:sam", nil},
				// The lab connector has no signIn resolvers, so Dex's
				// tokens for its users have no preferred_username.
				lee: wantUser{},
			},
			{
				name:  "preferred_username without prefix gets the issuer as prefix",
				extra: []string{"--oidc-username-claim=preferred_username"},
				jane:  wantUser{st.Issuer + "#jane", janeUser.groups},
				sam:   wantUser{st.Issuer + "#sam", nil},
				lee:   wantUser{},
			},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a := exampleFlagsAuthenticator(t, st, tt.extra...)
				for _, c := range []struct {
					name   string
					tokens *dextest.Tokens
					want   wantUser
				}{
					{"kubectl, team member", tokens.jane, tt.jane},
					{"kubectl, no platform team", tokens.sam, tt.sam},
					// Flags cannot tell Dex's connectors apart.
					{"kubectl, lab tenant", tokens.lee, tt.lee},
					{"Backstage, with the clusters' audience", tokens.janeBackstage, tt.jane},
				} {
					u, err := authenticate(a, c.tokens.RawIDToken())
					if c.want.name == "" {
						require.Error(t, err, c.name)
						assert.Contains(t, err.Error(), "claim not present", c.name)
						continue
					}
					require.NoError(t, err, c.name)
					assert.Equal(t, c.want.name, u.GetName(), c.name)
					assert.Equal(t, c.want.groups, nilIfEmpty(u.GetGroups()), c.name)
				}

				for _, r := range []struct {
					name    string
					tokens  *dextest.Tokens
					wantErr string
				}{
					{"expired", tokens.janeExpired, "token is expired"},
					{"Backstage, without the clusters' audience", tokens.janeBackstageOwn, "expected audience"},
				} {
					_, err := authenticate(a, r.tokens.RawIDToken())
					require.Error(t, err, r.name)
					assert.Contains(t, err.Error(), r.wantErr, r.name)
				}
			})
		}
	})

	// kube-apiserver with --authentication-config, for each Kubernetes
	// version's file.
	for _, sc := range structuredConfigs {
		t.Run("structured authentication/"+sc.file, func(t *testing.T) {
			a := exampleStructuredAuthenticator(t, st, sc.file)

			accepted := []struct {
				name   string
				tokens *dextest.Tokens
				want   wantUser
			}{
				{"kubectl, team member", tokens.jane, janeUser},
				{"kubectl, no platform team", tokens.sam, samUser},
				{"Backstage, with the clusters' audience", tokens.janeBackstage, janeUser},
			}
			for _, tt := range accepted {
				t.Run(tt.name, func(t *testing.T) {
					u, err := authenticate(a, tt.tokens.RawIDToken())
					require.NoError(t, err)
					assert.Equal(t, tt.want.name, u.GetName())
					assert.Equal(t, tt.want.groups, nilIfEmpty(u.GetGroups()))
					assert.Equal(t, tt.tokens.IDToken.Subject, u.GetUID(), "uid is Dex's sub")
					assert.Equal(t, []string{prodConnector}, u.GetExtra()["dex-spectro.example.com/connector"])
				})
			}

			rejected := []struct {
				name    string
				tokens  *dextest.Tokens
				wantErr string
			}{
				{"expired", tokens.janeExpired, "token is expired"},
				{"Backstage, without the clusters' audience", tokens.janeBackstageOwn, "expected audience"},
				{"signed in through the lab tenant", tokens.lee, "sign in through the production Palette tenant"},
				{"without the federated:id scope", tokens.janeNoFederation, "sign in through the production Palette tenant"},
			}
			for _, tt := range rejected {
				t.Run(tt.name, func(t *testing.T) {
					_, err := authenticate(a, tt.tokens.RawIDToken())
					require.Error(t, err)
					assert.Contains(t, err.Error(), tt.wantErr)
				})
			}
		})
	}

	t.Run("rbac", func(t *testing.T) {
		testExampleRBAC(t, st, tokens)
	})
}

// nilIfEmpty makes an empty list nil, for comparisons.
func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}
