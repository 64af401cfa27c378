package interop

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"text/template"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
	"github.com/dex-spectro/dex-spectro/internal/config"
	"github.com/dex-spectro/dex-spectro/internal/dextest"
	"github.com/dex-spectro/dex-spectro/internal/dextest/harness"
	"github.com/dex-spectro/dex-spectro/internal/serve"
)

// TestMain registers this build's connector types before any configuration
// is loaded, as the binary does.
func TestMain(m *testing.M) { harness.Main(m) }

// The names the examples use: Dex's issuer, its clients and its connectors
// (see examples/config.yaml).
const (
	exampleIssuer       = "https://dex.example.com"
	kubernetesClient    = "kubernetes"
	backstageClient     = "backstage"
	backstageSecret     = "backstage-client-secret"
	backstageCallback   = "https://backstage.example.com/api/auth/oidc/handler/frame"
	otherClient         = "grafana"
	otherClientSecret   = "grafana-client-secret"
	otherClientRedirect = "https://grafana.example.com/login/generic_oauth"

	prodConnector = "palette-prod"
	prodName      = "SpectroCloud (production)"
	prodTenantUID = dextest.TenantUID // as examples/config.yaml
	labConnector  = "palette-lab"
	labName       = "SpectroCloud (lab)"
	labTenantUID  = "64a1b2c3d4e5f60718293a4b"

	// idTokenExpiry is Dex's expiry.idTokens in the configurations of
	// startStack; exampleIDTokenExpiry is that of examples/config.yaml.
	idTokenExpiry        = 10 * time.Minute
	exampleIDTokenExpiry = time.Hour
)

// kubeloginRedirect is where kubelogin listens; the browser stops there.
const kubeloginRedirect = "http://localhost:8000"

// Palette users of the example tenants. Jane and Sam work in production; Lee
// in the lab; Ops has an account in both tenants under the same Palette UID.

func jane() spectrotest.User {
	return spectrotest.User{
		Email: "jane@example.com", GivenName: "Jane", FamilyName: "Doe",
		Groups: []string{"platform-admins", "developers"},
	}
}

func sam() spectrotest.User {
	return spectrotest.User{
		Email: "sam@example.com", GivenName: "Sam", FamilyName: "Park",
		Groups: []string{"developers"},
	}
}

func lee() spectrotest.User {
	return spectrotest.User{
		Email: "lee@example.com", GivenName: "Lee", FamilyName: "Chen",
		Groups: []string{"lab-users"},
	}
}

// opsUID is Ops's Palette UID in both tenants.
const opsUID = "0a1b2c3d4e5f60718293a4b5"

func opsProd() spectrotest.User {
	return spectrotest.User{
		Sub: opsUID, Email: "ops@example.com", GivenName: "Ops", FamilyName: "Team",
		Groups: []string{"operators"},
	}
}

func opsLab() spectrotest.User {
	return spectrotest.User{
		Sub: opsUID, Email: "ops@example.com", GivenName: "Ops", FamilyName: "Team",
		Groups: []string{"lab-operators"},
	}
}

// tenantSpec is a Palette tenant and the spectrocloud connector Dex has for it.
type tenantSpec struct {
	UID           string
	ConnectorID   string
	ConnectorName string
	// ClientID and ClientSecret are the OAuth client registered in the tenant
	// for Dex.
	ClientID, ClientSecret string
	Users                  []spectrotest.User
	// DexOIDC reaches the tenant through Dex's own oidc connector instead:
	// it passes on what the spectrocloud connector refuses (an unverified
	// email) and groups unchanged.
	DexOIDC bool
}

// clientSpec is a static client of Dex.
type clientSpec struct {
	ID, Name, Secret string
	Public           bool
	RedirectURIs     []string
}

// stackSpec describes the Palette tenants and Dex clients of a test.
type stackSpec struct {
	Tenants []tenantSpec
	Clients []clientSpec
}

// exampleSpec is shaped like examples/config.yaml: the production and lab
// tenants, Backstage's and the clusters' clients, plus one more application
// (Grafana); startExampleStack runs the file itself.
func exampleSpec() stackSpec {
	return stackSpec{
		Tenants: []tenantSpec{
			{
				UID: prodTenantUID, ConnectorID: prodConnector, ConnectorName: prodName,
				ClientID: "dex-prod", ClientSecret: "dex-prod-secret",
				Users: []spectrotest.User{jane(), sam(), opsProd()},
			},
			{
				UID: labTenantUID, ConnectorID: labConnector, ConnectorName: labName,
				ClientID: "dex-lab", ClientSecret: "dex-lab-secret",
				Users: []spectrotest.User{lee(), opsLab()},
			},
		},
		Clients: []clientSpec{
			{ID: backstageClient, Name: "Backstage", Secret: backstageSecret, RedirectURIs: []string{backstageCallback}},
			{ID: kubernetesClient, Name: "Kubernetes", Public: true, RedirectURIs: []string{kubeloginRedirect, "http://localhost:18000"}},
			{ID: otherClient, Name: "Grafana", Secret: otherClientSecret, RedirectURIs: []string{otherClientRedirect}},
		},
	}
}

// stack is a live dex-spectro served over HTTPS, in front of an emulated
// Palette console.
type stack struct {
	// Issuer is Dex's issuer, https://127.0.0.1:<port>/dex.
	Issuer string
	// CAFile and CAPEM are the CA that signed Dex's serving certificate.
	CAFile string
	CAPEM  []byte
	// HTTP trusts that CA.
	HTTP *http.Client

	palette *spectrotest.Server
	tenants map[string]*spectrotest.Tenant // by connector ID

	// clock is Dex's clock; withClockOffset moves it.
	clock dextest.Clock
}

// startStack starts the emulator with the tenants of spec and dex-spectro
// with a configuration file written from spec, loaded and served the way
// `dex-spectro serve` does. Everything stops when the test ends.
func startStack(t *testing.T, spec stackSpec) *stack {
	t.Helper()
	dir := t.TempDir()

	l := harness.Listen(t)
	st := &stack{
		Issuer:  "https://" + l.Addr().String() + "/dex",
		tenants: make(map[string]*spectrotest.Tenant),
	}

	pki := newTestPKI(t, dir)
	st.CAFile, st.CAPEM = pki.caFile, pki.ca.PEM
	transport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pki.ca.Pool(), MinVersion: tls.VersionTLS12}}
	st.HTTP = &http.Client{Transport: transport, Timeout: 30 * time.Second}
	t.Cleanup(transport.CloseIdleConnections)

	st.palette = spectrotest.NewServer()
	t.Cleanup(st.palette.Close)
	for _, ts := range spec.Tenants {
		tenant := st.palette.AddTenant(ts.UID)
		tenant.AddClient(spectrotest.Client{
			ID: ts.ClientID, Secret: ts.ClientSecret, RedirectURIs: []string{st.Issuer + "/callback"},
		})
		for _, u := range ts.Users {
			tenant.AddUser(u)
		}
		st.tenants[ts.ConnectorID] = tenant
	}

	path := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(path, st.renderConfig(t, spec, pki), 0o600))
	st.serve(t, harness.LoadFile(t, path), serve.WithListener(serve.ListenerHTTPS, l))
	return st
}

// serve serves cfg with Dex's clock and the given listeners until the test
// ends, logging at info level; the test fails if the server does not shut
// down cleanly.
func (st *stack) serve(t *testing.T, cfg *config.Config, listeners ...serve.Option) {
	t.Helper()
	opts := append([]serve.Option{
		serve.WithLogger(harness.Logger(t, slog.LevelInfo)),
		serve.WithClock(st.now),
		serve.WithShutdownTimeout(5 * time.Second),
	}, listeners...)
	dex := harness.Serve(t, cfg, opts...)
	t.Cleanup(func() {
		switch err := dex.StopWithin(30 * time.Second); {
		case errors.Is(err, harness.ErrStillRunning):
			t.Error("dex-spectro did not shut down")
		case err != nil:
			t.Errorf("dex-spectro stopped with an error: %v", err)
		}
	})
}

// configTemplate is the dex-spectro configuration file of a stack; q quotes
// a value for YAML, and issuer is the issuer of a connector's tenant.
const configTemplate = `
issuer: {{q .Issuer}}
storage:
  type: memory
web:
  https: 127.0.0.1:0
  tlsCert: {{q .CertFile}}
  tlsKey: {{q .KeyFile}}
expiry:
  idTokens: {{q .IDTokenExpiry}}
logger:
  level: info
oauth2:
  skipApprovalScreen: true
  responseTypes: [code]
staticClients:
{{- range .Clients}}
- id: {{q .ID}}
  name: {{q .Name}}
{{- if .Public}}
  public: true
{{- else}}
  secret: {{q .Secret}}
{{- end}}
  redirectURIs:
{{- range .RedirectURIs}}
  - {{q .}}
{{- end}}
{{- end}}
connectors:
{{- range .Tenants}}
{{- if .DexOIDC}}
- type: oidc
  id: {{q .ConnectorID}}
  name: {{q .ConnectorName}}
  config:
    issuer: {{q (issuer .ConnectorID)}}
    clientID: {{q .ClientID}}
    clientSecret: {{q .ClientSecret}}
    redirectURI: {{q $.Callback}}
    basicAuthUnsupported: true
    insecureEnableGroups: true
    scopes: [openid, profile, email, groups]
{{- else}}
- type: spectrocloud
  id: {{q .ConnectorID}}
  name: {{q .ConnectorName}}
  config:
    tenant: {{q .UID}}
    consoleURL: {{q $.ConsoleURL}}
    clientID: {{q .ClientID}}
    clientSecret: {{q .ClientSecret}}
    redirectURI: {{q $.Callback}}
    signIn:
      resolvers:
      - resolver: emailLocalPartMatchingUserEntityName
        allowedDomains: [example.com]
{{- end}}
{{- end}}
`

func (st *stack) renderConfig(t *testing.T, spec stackSpec, pki testPKI) []byte {
	t.Helper()
	funcs := template.FuncMap{
		"q":      strconv.Quote,
		"issuer": func(connectorID string) string { return st.tenant(t, connectorID).Issuer() },
	}
	tmpl, err := template.New("config").Funcs(funcs).Parse(configTemplate)
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, tmpl.Execute(&buf, map[string]any{
		"Issuer":        st.Issuer,
		"CertFile":      pki.certFile,
		"KeyFile":       pki.keyFile,
		"IDTokenExpiry": idTokenExpiry.String(),
		"Clients":       spec.Clients,
		"Tenants":       spec.Tenants,
		"ConsoleURL":    st.palette.URL,
		"Callback":      st.Issuer + "/callback",
	}))
	return buf.Bytes()
}

// now is Dex's clock: the real time, shifted by withClockOffset.
func (st *stack) now() time.Time {
	return st.clock.Now().UTC()
}

// withClockOffset runs f with Dex's clock shifted by d.
func (st *stack) withClockOffset(d time.Duration, f func()) {
	st.clock.Reset()
	st.clock.Advance(d)
	defer st.clock.Reset()
	f()
}

// tenant returns the emulated tenant behind a connector.
func (st *stack) tenant(t *testing.T, connectorID string) *spectrotest.Tenant {
	t.Helper()
	tenant, ok := st.tenants[connectorID]
	require.True(t, ok, "no tenant for connector %s", connectorID)
	return tenant
}

// browser returns a browser that trusts Dex's CA and signs in as user
// through the named connector: Palette signs the user in at once, as it does
// for a browser with a Palette session.
func (st *stack) browser(t *testing.T, connectorID, connectorName string, user spectrotest.User) *dextest.Browser {
	t.Helper()
	st.tenant(t, connectorID).SetAutoLogin(user.Email)
	b := dextest.NewBrowser()
	b.Client.Transport = st.HTTP.Transport
	b.Connector = connectorName
	return b
}

// relyingParty is dextest.NewRelyingParty for Dex over HTTPS: it discovers
// Dex with a client that trusts the test CA, and verifies ID tokens with
// Dex's clock.
func (st *stack) relyingParty(t *testing.T, clientID, secret, redirectURI string, scopes ...string) *dextest.RelyingParty {
	t.Helper()
	ctx := oidc.ClientContext(context.Background(), st.HTTP)
	provider, err := oidc.NewProvider(ctx, st.Issuer)
	require.NoError(t, err)
	return &dextest.RelyingParty{
		OAuth2: oauth2.Config{
			ClientID:     clientID,
			ClientSecret: secret,
			RedirectURL:  redirectURI,
			Endpoint:     provider.Endpoint(),
			Scopes:       scopes,
		},
		Verifier:   provider.Verifier(&oidc.Config{ClientID: clientID, Now: st.now}),
		HTTPClient: st.HTTP,
	}
}

// signIn signs user in through a connector with rp and returns the tokens.
func (st *stack) signIn(t *testing.T, rp *dextest.RelyingParty, connectorID, connectorName string, user spectrotest.User) *dextest.Tokens {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tokens, err := rp.SignIn(ctx, st.browser(t, connectorID, connectorName, user))
	require.NoError(t, err)
	return tokens
}

// dexSubject is what Dex encodes in the sub of its tokens: the user ID the
// connector returned and the connector's ID.
type dexSubject struct {
	UserID, ConnectorID string
}

// decodeDexSubject decodes Dex's sub: base64url (unpadded) of a protobuf
// message with the user ID as field 1 and the connector ID as field 2.
func decodeDexSubject(sub string) (dexSubject, error) {
	data, err := base64.RawURLEncoding.DecodeString(sub)
	if err != nil {
		return dexSubject{}, fmt.Errorf("decode sub: %w", err)
	}
	var s dexSubject
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return dexSubject{}, fmt.Errorf("decode sub: %w", protowire.ParseError(n))
		}
		data = data[n:]
		if typ != protowire.BytesType {
			return dexSubject{}, fmt.Errorf("decode sub: field %d has wire type %d", num, typ)
		}
		value, n := protowire.ConsumeBytes(data)
		if n < 0 {
			return dexSubject{}, fmt.Errorf("decode sub: %w", protowire.ParseError(n))
		}
		data = data[n:]
		switch num {
		case 1:
			s.UserID = string(value)
		case 2:
			s.ConnectorID = string(value)
		}
	}
	return s, nil
}

// testPKI is a CA and a serving certificate for 127.0.0.1 and localhost.
type testPKI struct {
	ca                        *dextest.CA
	caFile, certFile, keyFile string
}

func newTestPKI(t *testing.T, dir string) testPKI {
	t.Helper()
	ca := dextest.NewCA(t, "dex-spectro interop test CA")
	certPEM, keyPEM := ca.Issue(t, "dex-spectro")
	p := testPKI{
		ca:       ca,
		caFile:   filepath.Join(dir, "ca.crt"),
		certFile: filepath.Join(dir, "tls.crt"),
		keyFile:  filepath.Join(dir, "tls.key"),
	}
	require.NoError(t, os.WriteFile(p.caFile, ca.PEM, 0o600))
	require.NoError(t, os.WriteFile(p.certFile, certPEM, 0o600))
	require.NoError(t, os.WriteFile(p.keyFile, keyPEM, 0o600))
	return p
}

// examplePath is the path of a file under examples/.
func examplePath(parts ...string) string {
	return filepath.Join(append([]string{"..", "..", "examples"}, parts...)...)
}
