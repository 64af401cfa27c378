package spectrotest

import "net/http"

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

// handleDiscovery serves the discovery document, or 404 when discovery is
// switched off.
func (t *Tenant) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	t.mu.Lock()
	enabled := t.discovery
	t.mu.Unlock()
	if !enabled {
		http.NotFound(w, r)
		return
	}
	t.mu.Lock()
	authMethods := t.quirks.advertisedAuthMethods()
	t.mu.Unlock()
	writeJSON(w, http.StatusOK, discoveryDocument{
		Issuer:                            t.Issuer(),
		AuthorizationEndpoint:             t.AuthURL(),
		TokenEndpoint:                     t.TokenURL(),
		JWKSURI:                           t.JWKSURL(),
		ResponseTypesSupported:            []string{"code"},
		SubjectTypesSupported:             []string{"public"},
		IDTokenSigningAlgValuesSupported:  []string{"RS256"},
		ScopesSupported:                   []string{"openid", "profile", "email"},
		TokenEndpointAuthMethodsSupported: authMethods,
		ClaimsSupported: []string{
			"iss", "aud", "sub", "iat", "exp", "email", "given_name", "family_name", "groups", "nonce",
		},
	})
}
