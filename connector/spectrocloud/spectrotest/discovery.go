package spectrotest

import (
	"net/http"
	"strings"
)

// discoveryDocument is the tenant's OpenID Provider metadata. It does not
// advertise code_challenge_methods_supported: whether Palette does is not
// known, so clients must not depend on it.
type discoveryDocument struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	ScopesSupported                   []string `json:"scopes_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported,omitempty"`
	ClaimsSupported                   []string `json:"claims_supported"`
}

// schemaDiscoveryDocument is the OpenID provider metadata as Palette's
// published API schema types it: its lists are strings, and it has no
// client authentication methods or signing algorithms.
type schemaDiscoveryDocument struct {
	Issuer                 string `json:"issuer"`
	AuthorizationEndpoint  string `json:"authorization_endpoint"`
	TokenEndpoint          string `json:"token_endpoint"`
	UserinfoEndpoint       string `json:"userinfo_endpoint"`
	JWKSURI                string `json:"jwks_uri"`
	RegistrationEndpoint   string `json:"registration_endpoint"`
	ScopesSupported        string `json:"scopes_supported"`
	ResponseTypesSupported string `json:"response_types_supported"`
	SubjectTypesSupported  string `json:"subject_types_supported"`
	ClaimsSupported        string `json:"claims_supported"`
}

var (
	supportedScopes = []string{"openid", "profile", "email"}
	supportedClaims = []string{"iss", "aud", "sub", "iat", "exp", "email", "given_name", "family_name", "groups", "nonce"}
)

// handleDiscovery serves the discovery document, or 404 when discovery is
// switched off.
func (t *Tenant) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	t.mu.Lock()
	enabled, schemaShaped := t.discovery, t.quirks.schemaDiscovery
	authMethods := t.quirks.advertisedAuthMethods()
	t.mu.Unlock()
	if !enabled {
		http.NotFound(w, r)
		return
	}
	if schemaShaped {
		writeJSON(w, http.StatusOK, schemaDiscoveryDocument{
			Issuer:                 t.Issuer(),
			AuthorizationEndpoint:  t.AuthURL(),
			TokenEndpoint:          t.TokenURL(),
			UserinfoEndpoint:       t.Issuer() + "/userinfo",
			JWKSURI:                t.JWKSURL(),
			RegistrationEndpoint:   t.Issuer() + "/register",
			ScopesSupported:        strings.Join(supportedScopes, " "),
			ResponseTypesSupported: "code",
			SubjectTypesSupported:  "public",
			ClaimsSupported:        strings.Join(supportedClaims, " "),
		})
		return
	}
	writeJSON(w, http.StatusOK, discoveryDocument{
		Issuer:                            t.Issuer(),
		AuthorizationEndpoint:             t.AuthURL(),
		TokenEndpoint:                     t.TokenURL(),
		JWKSURI:                           t.JWKSURL(),
		ResponseTypesSupported:            []string{"code"},
		SubjectTypesSupported:             []string{"public"},
		IDTokenSigningAlgValuesSupported:  []string{"RS256"},
		ScopesSupported:                   supportedScopes,
		TokenEndpointAuthMethodsSupported: authMethods,
		ClaimsSupported:                   supportedClaims,
	})
}
