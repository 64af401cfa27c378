package spectrotest

// Endpoint names one of a tenant's HTTP endpoints, for faults and request
// counters.
type Endpoint string

// A tenant's endpoints.
const (
	// EndpointDiscovery is <issuer>/.well-known/openid-configuration.
	EndpointDiscovery Endpoint = "discovery"
	// EndpointJWKS is <issuer>/keys, the discovery document's jwks_uri.
	EndpointJWKS Endpoint = "jwks"
	// EndpointAuth is <issuer>/auth, the authorization endpoint.
	EndpointAuth Endpoint = "auth"
	// EndpointToken is <issuer>/token, the token endpoint.
	EndpointToken Endpoint = "token"
)

// Paths of the endpoints below the issuer.
const (
	pathDiscovery = ".well-known/openid-configuration"
	pathJWKS      = "keys"
	pathAuth      = "auth"
	pathToken     = "token"
)

func endpointForPath(p string) (Endpoint, bool) {
	switch p {
	case pathDiscovery:
		return EndpointDiscovery, true
	case pathJWKS:
		return EndpointJWKS, true
	case pathAuth:
		return EndpointAuth, true
	case pathToken:
		return EndpointToken, true
	}
	return "", false
}
