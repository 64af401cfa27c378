package spectrotest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/dextest"
)

const (
	testTenantUID = dextest.TenantUID
	testClientID  = "dex"
	testSecret    = "s3cret:with/odd+chars %"
	testRedirect  = "https://dex.example.com/callback"
	testState     = "state-123"
	testNonce     = "nonce-456"
)

var testUser = User{
	Sub:        "64a1b2c3d4e5f60718293a4b",
	Email:      "jane@example.com",
	GivenName:  "Jane",
	FamilyName: "Doe",
	Groups:     []string{"platform", "admins"},
}

// fixture is a running console with one tenant, one client and one user.
type fixture struct {
	srv    *Server
	tenant *Tenant
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	srv := NewServer()
	t.Cleanup(srv.Close)
	tenant := srv.AddTenant(testTenantUID)
	tenant.AddClient(Client{ID: testClientID, Secret: testSecret, RedirectURIs: []string{testRedirect}})
	tenant.AddUser(testUser)
	return &fixture{srv: srv, tenant: tenant}
}

// authURL builds an authorization URL with sensible defaults; params override
// them, and an empty value removes the parameter.
func authURL(tenant *Tenant, params map[string]string) string {
	q := url.Values{
		"response_type": {"code"},
		"client_id":     {testClientID},
		"redirect_uri":  {testRedirect},
		"scope":         {"openid profile email"},
		"state":         {testState},
		"nonce":         {testNonce},
	}
	for name, value := range params {
		if value == "" {
			q.Del(name)
		} else {
			q.Set(name, value)
		}
	}
	return tenant.AuthURL() + "?" + q.Encode()
}

// code signs the test user in (auto-login) and returns the code.
func (f *fixture) code(t *testing.T, params map[string]string) string {
	t.Helper()
	f.tenant.SetAutoLogin(testUser.Email)
	loc, err := f.tenant.Authorize(context.Background(), authURL(f.tenant, params))
	require.NoError(t, err)
	require.Empty(t, loc.Query().Get("error"), loc.Query().Get("error_description"))
	code := loc.Query().Get("code")
	require.NotEmpty(t, code)
	return code
}

type authStyle int

const (
	authBasic authStyle = iota
	authPost
	authNone
)

type tokenResult struct {
	status int
	header http.Header
	body   map[string]any
}

func (r tokenResult) str(name string) string {
	s, _ := r.body[name].(string)
	return s
}

// postToken sends a token request authenticated as id/secret in the given
// style.
func postToken(t *testing.T, f *fixture, style authStyle, id, secret string, form url.Values) tokenResult {
	t.Helper()
	form = cloneValues(form)
	if style == authPost {
		form.Set("client_id", id)
		form.Set("client_secret", secret)
	}
	req, err := http.NewRequest(http.MethodPost, f.tenant.TokenURL(), strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if style == authBasic {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	return doToken(t, f, req)
}

func doToken(t *testing.T, f *fixture, req *http.Request) tokenResult {
	t.Helper()
	res, raw := do(t, f, req)
	var body map[string]any
	require.NoError(t, json.Unmarshal(raw, &body), "body: %s", raw)
	return tokenResult{status: res.StatusCode, header: res.Header, body: body}
}

// exchange redeems a code as the test client.
func exchange(t *testing.T, f *fixture, code string, extra url.Values) tokenResult {
	t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect}}
	for name, values := range extra {
		form[name] = values
	}
	return postToken(t, f, authBasic, testClientID, testSecret, form)
}

func requireOAuthError(t *testing.T, res tokenResult, status int, code string) {
	t.Helper()
	require.Equal(t, status, res.status, "body: %v", res.body)
	require.Equal(t, code, res.str("error"))
	require.NotEmpty(t, res.str("error_description"))
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for name, values := range v {
		out[name] = append([]string(nil), values...)
	}
	return out
}

func get(t *testing.T, f *fixture, u string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(t, err)
	return do(t, f, req)
}

// do sends req with the test server's client and returns the response
// with its body read and closed.
func do(t *testing.T, f *fixture, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	res, err := f.srv.Client().Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, body
}

func fetchJWKS(t *testing.T, f *fixture, tenant *Tenant) jose.JSONWebKeySet {
	t.Helper()
	res, body := get(t, f, tenant.JWKSURL())
	require.Equal(t, http.StatusOK, res.StatusCode)
	var set jose.JSONWebKeySet
	require.NoError(t, json.Unmarshal(body, &set))
	return set
}

// verifyIDToken verifies an RS256 token against the tenant's published JWKS
// and returns its claims.
func verifyIDToken(t *testing.T, f *fixture, tenant *Tenant, raw string) map[string]any {
	t.Helper()
	claims, err := verifyWithJWKS(fetchJWKS(t, f, tenant), raw, jose.RS256)
	require.NoError(t, err)
	return claims
}

func verifyWithJWKS(set jose.JSONWebKeySet, raw string, alg jose.SignatureAlgorithm) (map[string]any, error) {
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{alg})
	if err != nil {
		return nil, err
	}
	keys := set.Key(jws.Signatures[0].Header.KeyID)
	if len(keys) != 1 {
		return nil, errNoKey
	}
	payload, err := jws.Verify(keys[0].Key)
	if err != nil {
		return nil, err
	}
	var claims map[string]any
	err = json.Unmarshal(payload, &claims)
	return claims, err
}

type testError string

func (e testError) Error() string { return string(e) }

const errNoKey = testError("no published key for kid")

// requireGrantedIf requires that the token endpoint granted the request
// (ok) or refused it with invalid_grant.
func requireGrantedIf(t *testing.T, ok bool, res tokenResult) {
	t.Helper()
	if ok {
		require.Equal(t, http.StatusOK, res.status, "body: %v", res.body)
		return
	}
	requireOAuthError(t, res, http.StatusBadRequest, "invalid_grant")
}

// header decodes a compact JWT's header without verifying anything.
func header(t *testing.T, raw string) map[string]any {
	t.Helper()
	return segment(t, raw, 0)
}

// payload decodes a compact JWT's claims without verifying anything.
func payload(t *testing.T, raw string) map[string]any {
	t.Helper()
	return segment(t, raw, 1)
}

// segment decodes the JSON of a compact JWT's i-th segment.
func segment(t *testing.T, raw string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	require.Len(t, parts, 3)
	var v map[string]any
	require.NoError(t, decodeSegment(parts[i], &v))
	return v
}

// newFakeClock returns a settable clock for SetNow.
func newFakeClock() *dextest.Clock {
	return dextest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
}

// jsonRoundTrip returns v as a JSON decoder would see it.
func jsonRoundTrip(t *testing.T, v map[string]any) map[string]any {
	t.Helper()
	raw, err := json.Marshal(v)
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, json.Unmarshal(raw, &out))
	return out
}
