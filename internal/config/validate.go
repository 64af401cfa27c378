package config

import (
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/dexidp/dex/server"
	"github.com/dexidp/dex/server/signer"
	"github.com/dexidp/dex/storage"

	"github.com/dex-spectro/dex-spectro/internal/logging"
)

// ValidationError lists every problem found in a configuration.
type ValidationError struct {
	// Problems are human-readable descriptions, one per problem.
	Problems []string
}

// Error implements error.
func (e *ValidationError) Error() string {
	return "invalid config:\n\t-\t" + strings.Join(e.Problems, "\n\t-\t")
}

// Validate reports every problem that would stop Dex v2.45.1's `serve` from
// starting and that can be found without opening storage or contacting
// anything: Dex's own config checks, then the checks Dex makes later while
// starting (logger format, static clients, connectors, durations, refresh
// token policy, signer, trusted proxies, response types).
func (c *Config) Validate() error {
	var problems []string
	add := func(bad bool, msg string) {
		if bad {
			problems = append(problems, msg)
		}
	}

	// The checks of Dex's Config.Validate, in Dex's order.
	add(c.Issuer == "", "no issuer specified in config file")
	add(!c.EnablePasswordDB && len(c.StaticPasswords) != 0, "cannot specify static passwords without enabling password db")
	add(c.Storage.Config == nil, "no storage supplied in config file")
	add(c.Web.HTTP == "" && c.Web.HTTPS == "", "must supply a HTTP/HTTPS address to listen on")
	add(c.Web.HTTPS != "" && c.Web.TLSCert == "", "no cert specified for HTTPS")
	add(c.Web.HTTPS != "" && c.Web.TLSKey == "", "no private key specified for HTTPS")
	problems = append(problems, checkTLSVersions("web", c.Web.TLSMinVersion, c.Web.TLSMaxVersion)...)
	add(c.GRPC.TLSCert != "" && c.GRPC.Addr == "", "no address specified for gRPC")
	add(c.GRPC.TLSKey != "" && c.GRPC.Addr == "", "no address specified for gRPC")
	add((c.GRPC.TLSCert == "") != (c.GRPC.TLSKey == ""), "must specify both a gRPC TLS cert and key")
	add(c.GRPC.TLSCert == "" && c.GRPC.TLSClientCA != "", "cannot specify gRPC TLS client CA without a gRPC TLS cert")
	problems = append(problems, checkTLSVersions("grpc", c.GRPC.TLSMinVersion, c.GRPC.TLSMaxVersion)...)

	// The checks Dex makes while starting.
	if err := logging.ValidateFormat(c.Logger.Format); err != nil {
		problems = append(problems, "logger.format: "+err.Error())
	}
	problems = append(problems, c.checkStaticClients()...)
	problems = append(problems, c.checkConnectors()...)
	problems = append(problems, c.checkExpiry()...)
	problems = append(problems, c.checkSigner()...)
	if _, err := c.TrustedProxies(); err != nil {
		problems = append(problems, "web.clientRemoteIP.trustedProxies: "+err.Error())
	}
	for _, rt := range c.OAuth2.ResponseTypes {
		add(!supportedResponseType(rt), fmt.Sprintf("oauth2.responseTypes: unsupported response_type %q", rt))
	}

	if len(problems) == 0 {
		return nil
	}
	return &ValidationError{Problems: problems}
}

func checkTLSVersions(section, minV, maxV string) []string {
	var problems []string
	if minV != "" && minV != "1.2" && minV != "1.3" {
		problems = append(problems, section+".tlsMinVersion: supported TLS versions are: 1.2, 1.3")
	}
	if maxV != "" && maxV != "1.2" && maxV != "1.3" {
		problems = append(problems, section+".tlsMaxVersion: supported TLS versions are: 1.2, 1.3")
	}
	if minV != "" && maxV != "" && minV > maxV {
		problems = append(problems, section+": tlsMinVersion greater than tlsMaxVersion")
	}
	return problems
}

func (c *Config) checkStaticClients() []string {
	var problems []string
	for i, client := range c.StaticClients {
		where := fmt.Sprintf("staticClients[%d]", i)
		if client.Name == "" {
			problems = append(problems, where+": name field is required for a client")
		}
		if client.ID == "" && client.IDEnv == "" {
			problems = append(problems, where+": id or idEnv field is required for a client")
		}
		if client.ID != "" && client.IDEnv != "" {
			problems = append(problems, fmt.Sprintf("%s: id and idEnv fields are exclusive for client %q", where, client.ID))
		}
		if client.Secret == "" && client.SecretEnv == "" && !client.Public {
			problems = append(problems, fmt.Sprintf("%s: secret or secretEnv field is required for client %q", where, client.ID))
		}
		if client.Secret != "" && client.SecretEnv != "" {
			problems = append(problems, fmt.Sprintf("%s: secret and secretEnv fields are exclusive for client %q", where, client.ID))
		}
		problems = append(problems, checkClientEnv(where, client)...)
	}
	return problems
}

// checkClientEnv reports the variables that idEnv and secretEnv name but
// that resolve empty. Dex would start with the empty value: a client with
// an empty ID, or a confidential client that authenticates with an empty
// secret.
func checkClientEnv(where string, client storage.Client) []string {
	unset := func(name string) string {
		if _, ok := os.LookupEnv(name); ok {
			return "set to nothing"
		}
		return "not set"
	}
	id := client.ID
	if client.IDEnv != "" {
		id = os.Getenv(client.IDEnv)
	}
	var problems []string
	if client.IDEnv != "" && id == "" {
		problems = append(problems, fmt.Sprintf("%s: client %q has an empty ID: idEnv names $%s, which is %s in the environment: set it to the client's ID",
			where, client.Name, client.IDEnv, unset(client.IDEnv)))
		id = client.Name
	}
	if !client.Public && client.Secret == "" && client.SecretEnv != "" && os.Getenv(client.SecretEnv) == "" {
		problems = append(problems, fmt.Sprintf("%s: client %q is not public, but its secret is empty: secretEnv names $%s, which is %s in the environment: "+
			"set it to the client's secret (a client that cannot keep a secret is public: true)", where, id, client.SecretEnv, unset(client.SecretEnv)))
	}
	return problems
}

func (c *Config) checkConnectors() []string {
	var problems []string
	for i, conn := range c.StaticConnectors {
		where := fmt.Sprintf("connectors[%d]", i)
		if conn.ID == "" || conn.Name == "" || conn.Type == "" {
			problems = append(problems, where+": id, type and name fields are required for a connector")
		}
		if conn.Config == nil {
			problems = append(problems, fmt.Sprintf("%s: no config field for connector %q", where, conn.ID))
		}
	}
	return problems
}

func (c *Config) checkExpiry() []string {
	var problems []string
	for _, d := range []struct{ key, value string }{
		{"expiry.idTokens", c.Expiry.IDTokens},
		{"expiry.authRequests", c.Expiry.AuthRequests},
		{"expiry.deviceRequests", c.Expiry.DeviceRequests},
	} {
		if d.value == "" {
			continue
		}
		if _, err := time.ParseDuration(d.value); err != nil {
			problems = append(problems, fmt.Sprintf("%s: invalid duration %q: %v", d.key, d.value, err))
		}
	}
	rt := c.Expiry.RefreshTokens
	if _, err := server.NewRefreshTokenPolicy(discardLogger(), rt.DisableRotation,
		rt.ValidIfNotUsedFor, rt.AbsoluteLifetime, rt.ReuseInterval); err != nil {
		problems = append(problems, "expiry.refreshTokens: "+err.Error())
	}
	return problems
}

func (c *Config) checkSigner() []string {
	switch cfg := c.Signer.Config.(type) {
	case nil:
		// No signer section: local keys rotated every expiry.signingKeys.
		if c.Expiry.SigningKeys == "" {
			return nil
		}
		if _, err := time.ParseDuration(c.Expiry.SigningKeys); err != nil {
			return []string{fmt.Sprintf("expiry.signingKeys: invalid duration %q: %v", c.Expiry.SigningKeys, err)}
		}
	case *signer.LocalConfig:
		if cfg.KeysRotationPeriod == "" {
			return []string{"signer.config.keysRotationPeriod must be specified for the local signer"}
		}
		if _, err := time.ParseDuration(cfg.KeysRotationPeriod); err != nil {
			return []string{fmt.Sprintf("signer.config.keysRotationPeriod: invalid duration %q: %v", cfg.KeysRotationPeriod, err)}
		}
	}
	return nil
}

// TrustedProxies parses web.clientRemoteIP.trustedProxies.
func (c *Config) TrustedProxies() ([]netip.Prefix, error) {
	prefixes := make([]netip.Prefix, 0, len(c.Web.ClientRemoteIP.TrustedProxies))
	for _, cidr := range c.Web.ClientRemoteIP.TrustedProxies {
		p, err := netip.ParsePrefix(cidr)
		if err != nil {
			return nil, fmt.Errorf("parse CIDR %q: %w", cidr, err)
		}
		prefixes = append(prefixes, p)
	}
	return prefixes, nil
}

// supportedResponseType reports whether Dex's server accepts rt in
// oauth2.responseTypes.
func supportedResponseType(rt string) bool {
	switch rt {
	case "code", "token", "id_token", "code token", "code id_token", "id_token token", "code id_token token":
		return true
	default:
		return false
	}
}

func discardLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}
