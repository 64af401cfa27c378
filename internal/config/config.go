// Package config reads Dex's configuration file format, as Dex v2.45.1's
// `dex serve` reads it, validates it, and reports keys that Dex would
// silently ignore.
//
// The types mirror the shape (and the JSON field types) of Dex's own so that
// YAML scalars are converted exactly as Dex converts them: a file that
// upstream Dex accepts is accepted here.
package config

import (
	"log/slog"

	"github.com/dexidp/dex/server"
	"github.com/dexidp/dex/storage"
)

// Config is Dex's configuration file.
type Config struct {
	// Issuer is the URL Dex is reachable at; it is the `iss` of every token.
	Issuer string `json:"issuer"`
	// Storage selects and configures the storage backend.
	Storage Storage `json:"storage"`
	// Web configures the HTTP(S) listeners.
	Web Web `json:"web"`
	// Telemetry configures the listener for metrics and health checks.
	Telemetry Telemetry `json:"telemetry"`
	// OAuth2 configures the OAuth2 behaviour.
	OAuth2 OAuth2 `json:"oauth2"`
	// GRPC configures Dex's gRPC API.
	GRPC GRPC `json:"grpc"`
	// Expiry configures lifetimes of tokens, requests and keys.
	Expiry Expiry `json:"expiry"`
	// Logger configures logging.
	Logger Logger `json:"logger"`

	// Frontend configures the web UI (templates, theme, logo).
	Frontend server.WebConfig `json:"frontend"`

	// Signer configures how tokens are signed.
	Signer Signer `json:"signer"`

	// StaticConnectors are the connectors defined in the file.
	StaticConnectors []Connector `json:"connectors"`

	// StaticClients are the OAuth2 clients defined in the file.
	StaticClients []storage.Client `json:"staticClients"`

	// EnablePasswordDB enables the local password database connector.
	EnablePasswordDB bool `json:"enablePasswordDB"`

	// StaticPasswords are the local users defined in the file; they require
	// EnablePasswordDB.
	StaticPasswords []Password `json:"staticPasswords"`
}

// OAuth2 describes the OAuth2 behaviour of the server.
type OAuth2 struct {
	// GrantTypes lists the allowed grant types; empty means all supported.
	GrantTypes []string `json:"grantTypes"`
	// ResponseTypes lists the allowed response types; empty means "code".
	ResponseTypes []string `json:"responseTypes"`
	// SkipApprovalScreen skips the screen asking users to approve a client.
	SkipApprovalScreen bool `json:"skipApprovalScreen"`
	// AlwaysShowLoginScreen shows the connector list even with one connector.
	AlwaysShowLoginScreen bool `json:"alwaysShowLoginScreen"`
	// PasswordConnector is the connector used for the password grant.
	PasswordConnector string `json:"passwordConnector"`
}

// Web configures the HTTP(S) listeners.
type Web struct {
	// HTTP is the address of the plain HTTP listener.
	HTTP string `json:"http"`
	// HTTPS is the address of the HTTPS listener; it needs TLSCert and TLSKey.
	HTTPS string `json:"https"`
	// Headers are security headers added to every response.
	Headers Headers `json:"headers"`
	// TLSCert is the path of the HTTPS certificate (PEM).
	TLSCert string `json:"tlsCert"`
	// TLSKey is the path of the HTTPS private key (PEM).
	TLSKey string `json:"tlsKey"`
	// TLSMinVersion is "1.2" (default) or "1.3".
	TLSMinVersion string `json:"tlsMinVersion"`
	// TLSMaxVersion is "1.2" or "1.3"; empty means Go's default.
	TLSMaxVersion string `json:"tlsMaxVersion"`
	// AllowedOrigins enables CORS for these origins on the discovery, token,
	// keys, userinfo and introspection endpoints.
	AllowedOrigins []string `json:"allowedOrigins"`
	// AllowedHeaders are the headers allowed in CORS requests.
	AllowedHeaders []string `json:"allowedHeaders"`
	// ClientRemoteIP configures where the client's IP is read from.
	ClientRemoteIP ClientRemoteIP `json:"clientRemoteIP"`
}

// ClientRemoteIP configures how the client IP logged with requests is found.
type ClientRemoteIP struct {
	// Header holds the client IP when the request comes from a trusted proxy.
	Header string `json:"header"`
	// TrustedProxies are the CIDRs of proxies whose Header is believed.
	TrustedProxies []string `json:"trustedProxies"`
}

// Headers are the security headers added to HTTP responses; empty values are
// not sent.
type Headers struct {
	// ContentSecurityPolicy is the Content-Security-Policy header.
	ContentSecurityPolicy string `json:"Content-Security-Policy"`
	// XFrameOptions is the X-Frame-Options header.
	XFrameOptions string `json:"X-Frame-Options"`
	// XContentTypeOptions is the X-Content-Type-Options header.
	XContentTypeOptions string `json:"X-Content-Type-Options"`
	// XXSSProtection is the X-XSS-Protection header.
	XXSSProtection string `json:"X-XSS-Protection"`
	// StrictTransportSecurity is the Strict-Transport-Security header.
	StrictTransportSecurity string `json:"Strict-Transport-Security"`
}

// Telemetry configures the telemetry listener that serves /metrics,
// /healthz, /healthz/live and /healthz/ready.
type Telemetry struct {
	// HTTP is the listen address; empty disables the telemetry listener.
	HTTP string `json:"http"`
	// EnableProfiling serves Go's pprof handlers under /debug/pprof/.
	EnableProfiling bool `json:"enableProfiling"`
}

// GRPC configures Dex's gRPC API.
type GRPC struct {
	// Addr is the listen address; empty disables the API.
	Addr string `json:"addr"`
	// TLSCert is the path of the server certificate (PEM).
	TLSCert string `json:"tlsCert"`
	// TLSKey is the path of the server private key (PEM).
	TLSKey string `json:"tlsKey"`
	// TLSClientCA is the path of the CA that client certificates must chain
	// to; setting it requires client certificates (mTLS).
	TLSClientCA string `json:"tlsClientCA"`
	// TLSMinVersion is "1.2" (default) or "1.3".
	TLSMinVersion string `json:"tlsMinVersion"`
	// TLSMaxVersion is "1.2" or "1.3"; empty means Go's default.
	TLSMaxVersion string `json:"tlsMaxVersion"`
	// Reflection enables gRPC server reflection.
	Reflection bool `json:"reflection"`
}

// Expiry holds the validity periods of tokens, requests and keys, as Go
// duration strings ("24h", "10m").
type Expiry struct {
	// SigningKeys is the rotation period of signing keys (default 6h).
	// Deprecated by Dex in favour of signer.config.keysRotationPeriod.
	SigningKeys string `json:"signingKeys"`
	// IDTokens is the lifetime of ID tokens (default 24h).
	IDTokens string `json:"idTokens"`
	// AuthRequests is the lifetime of authorization requests (default 24h).
	AuthRequests string `json:"authRequests"`
	// DeviceRequests is the lifetime of device requests (default 5m).
	DeviceRequests string `json:"deviceRequests"`
	// RefreshTokens is the refresh token policy.
	RefreshTokens RefreshTokens `json:"refreshTokens"`
}

// RefreshTokens is the refresh token expiry and rotation policy.
type RefreshTokens struct {
	// DisableRotation keeps refresh tokens unchanged across refreshes.
	DisableRotation bool `json:"disableRotation"`
	// ReuseInterval is how long a rotated token may still be used.
	ReuseInterval string `json:"reuseInterval"`
	// AbsoluteLifetime bounds a refresh token's lifetime.
	AbsoluteLifetime string `json:"absoluteLifetime"`
	// ValidIfNotUsedFor expires a refresh token unused for this long.
	ValidIfNotUsedFor string `json:"validIfNotUsedFor"`
}

// Logger configures logging.
type Logger struct {
	// Level is debug, info, warn or error.
	Level slog.Level `json:"level"`
	// Format is text (default) or json.
	Format string `json:"format"`
}
