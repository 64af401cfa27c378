package spectrotest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFaults(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name        string
		ep          Endpoint
		fault       Fault
		status      int
		contentType string
		check       func(t *testing.T, body []byte)
	}{
		{
			name: "status keeps the normal body", ep: EndpointJWKS,
			fault:  Fault{Status: http.StatusInternalServerError},
			status: 500, contentType: "application/json",
			check: func(t *testing.T, body []byte) {
				var set jose.JSONWebKeySet
				require.NoError(t, json.Unmarshal(body, &set))
				assert.Len(t, set.Keys, 1)
			},
		},
		{
			name: "HTML body", ep: EndpointDiscovery,
			fault:  Fault{Status: http.StatusBadGateway, Body: []byte("<html>502 Bad Gateway</html>"), ContentType: "text/html"},
			status: 502, contentType: "text/html",
			check: func(t *testing.T, body []byte) { assert.Equal(t, "<html>502 Bad Gateway</html>", string(body)) },
		},
		{
			name: "truncated JSON with status 200", ep: EndpointJWKS,
			fault:  Fault{Body: []byte(`{"keys":[{"kty":"RS`), ContentType: "application/json"},
			status: 200, contentType: "application/json",
			check: func(t *testing.T, body []byte) {
				assert.Error(t, json.Unmarshal(body, new(any)))
			},
		},
		{
			name: "empty body", ep: EndpointDiscovery,
			fault:  Fault{Body: []byte{}},
			status: 200,
			check:  func(t *testing.T, body []byte) { assert.Empty(t, body) },
		},
		{
			name: "content type only", ep: EndpointDiscovery,
			fault:  Fault{ContentType: "text/plain"},
			status: 200, contentType: "text/plain",
			check: func(t *testing.T, body []byte) {
				assert.Contains(t, string(body), `"issuer"`)
			},
		},
		{
			name: "oversize JWKS stays valid JSON", ep: EndpointJWKS,
			fault:  Fault{OversizeBytes: 5 << 20},
			status: 200, contentType: "application/json",
			check: func(t *testing.T, body []byte) {
				assert.Len(t, body, 5<<20)
				var set struct {
					jose.JSONWebKeySet
					Padding string `json:"padding"`
				}
				require.NoError(t, json.Unmarshal(body, &set))
				assert.Len(t, set.Keys, 1)
				assert.Greater(t, len(set.Padding), 5<<19)
			},
		},
		{
			name: "oversize with status and type", ep: EndpointDiscovery,
			fault:  Fault{OversizeBytes: 100 << 10, Status: 503, ContentType: "text/plain"},
			status: 503, contentType: "text/plain",
			check: func(t *testing.T, body []byte) {
				assert.Len(t, body, 100<<10)
				assert.True(t, json.Valid(body))
			},
		},
		{
			name: "oversize smaller than the document", ep: EndpointDiscovery,
			fault:  Fault{OversizeBytes: 10},
			status: 200, contentType: "application/json",
			check: func(t *testing.T, body []byte) { assert.Equal(t, `{"issuer":`, string(body)) },
		},
		{
			name: "short delay, then normal", ep: EndpointDiscovery,
			fault:  Fault{Delay: 20 * time.Millisecond},
			status: 200, contentType: "application/json",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.tenant.ClearFaults()
			f.tenant.ResetRequests()
			f.tenant.SetFault(tt.ep, tt.fault)
			u := f.tenant.DiscoveryURL()
			if tt.ep == EndpointJWKS {
				u = f.tenant.JWKSURL()
			}
			start := time.Now()
			res, body := get(t, f, u)
			assert.GreaterOrEqual(t, time.Since(start), tt.fault.Delay)
			assert.Equal(t, tt.status, res.StatusCode)
			if tt.contentType != "" {
				assert.Equal(t, tt.contentType, res.Header.Get("Content-Type"))
			}
			if tt.check != nil {
				tt.check(t, body)
			}
			assert.Equal(t, 1, f.tenant.Requests(tt.ep), "faulted requests are counted")
		})
	}
}

func TestFaultOnTokenEndpoint(t *testing.T) {
	f := newFixture(t)
	code := f.code(t, nil)
	f.tenant.SetFault(EndpointToken, Fault{Status: http.StatusServiceUnavailable, Body: []byte("<h1>maintenance</h1>"), ContentType: "text/html"})
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect}}
	req, _ := http.NewRequest(http.MethodPost, f.tenant.TokenURL(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := f.srv.Client().Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, res.StatusCode)

	// The faulty answer did not use the code.
	f.tenant.ClearFault(EndpointToken)
	assert.Equal(t, http.StatusOK, exchange(t, f, code, nil).status)

	// A status-only fault runs the normal handler (which uses the code).
	code = f.code(t, nil)
	f.tenant.SetFault(EndpointToken, Fault{Status: http.StatusInternalServerError})
	res500 := exchange(t, f, code, nil)
	assert.Equal(t, http.StatusInternalServerError, res500.status)
	assert.NotEmpty(t, res500.str("id_token"))
	f.tenant.ClearFaults()
	requireOAuthError(t, exchange(t, f, code, nil), http.StatusBadRequest, "invalid_grant")
}

func TestFaultOnAuthEndpoint(t *testing.T) {
	f := newFixture(t)
	f.tenant.SetAutoLogin(testUser.Email)
	f.tenant.SetFault(EndpointAuth, Fault{Status: http.StatusInternalServerError, Body: []byte("boom")})
	_, err := f.tenant.Authorize(context.Background(), authURL(f.tenant, nil))
	require.ErrorContains(t, err, "500")
	require.ErrorContains(t, err, "boom")
	assert.Equal(t, 1, f.tenant.Requests(EndpointAuth))
}

func TestFaultDelayEndsWhenTheClientGivesUp(t *testing.T) {
	f := newFixture(t)
	f.tenant.SetFault(EndpointJWKS, Fault{Delay: time.Minute})

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.tenant.JWKSURL(), nil)
	require.NoError(t, err)
	start := time.Now()
	_, err = f.srv.Client().Do(req)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 10*time.Second)

	// In process too.
	f.tenant.SetFault(EndpointAuth, Fault{Delay: time.Minute})
	ctx2, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	_, err = f.tenant.Authorize(ctx2, authURL(f.tenant, nil))
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestServerCloseEndsFaultDelays(t *testing.T) {
	srv := NewServer()
	tenant := srv.AddTenant("slow")
	tenant.SetFault(EndpointDiscovery, Fault{Delay: time.Minute})

	done := make(chan error, 1)
	go func() {
		res, err := srv.Client().Get(tenant.DiscoveryURL())
		if err == nil {
			res.Body.Close()
		}
		done <- err
	}()
	require.Eventually(t, func() bool { return tenant.Requests(EndpointDiscovery) == 1 }, 5*time.Second, 5*time.Millisecond)

	closed := make(chan struct{})
	go func() {
		srv.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close waited for the delayed request")
	}
	<-done
}

func TestRequestCounters(t *testing.T) {
	f := newFixture(t)
	f.tenant.ResetRequests()
	get(t, f, f.tenant.DiscoveryURL())
	get(t, f, f.tenant.DiscoveryURL())
	get(t, f, f.tenant.JWKSURL())
	f.code(t, nil)                                       // one auth request, in process
	resp, err := f.srv.Client().Get(f.tenant.TokenURL()) // rejected, still counted
	require.NoError(t, err)
	resp.Body.Close()

	assert.Equal(t, 2, f.tenant.Requests(EndpointDiscovery))
	assert.Equal(t, 1, f.tenant.Requests(EndpointJWKS))
	assert.Equal(t, 1, f.tenant.Requests(EndpointAuth))
	assert.Equal(t, 1, f.tenant.Requests(EndpointToken))

	f.tenant.ResetRequests()
	for _, ep := range []Endpoint{EndpointDiscovery, EndpointJWKS, EndpointAuth, EndpointToken} {
		assert.Zero(t, f.tenant.Requests(ep))
	}
}
