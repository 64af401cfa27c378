package serve

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/dexidp/dex/pkg/featureflags"
	"github.com/dexidp/dex/server"

	"github.com/dex-spectro/dex-spectro/internal/config"
)

// parseDuration parses an optional duration setting.
func parseDuration(key, value string, fallback time.Duration) (time.Duration, error) {
	if value == "" {
		return fallback, nil
	}
	d, err := time.ParseDuration(value)
	if err != nil {
		return 0, fmt.Errorf("invalid config value %q for %s: %w", value, key, err)
	}
	return d, nil
}

// headers converts web.headers to the headers added to every response.
func headers(h config.Headers) http.Header {
	out := http.Header{}
	for name, value := range map[string]string{
		"Content-Security-Policy":   h.ContentSecurityPolicy,
		"X-Frame-Options":           h.XFrameOptions,
		"X-Content-Type-Options":    h.XContentTypeOptions,
		"X-XSS-Protection":          h.XXSSProtection,
		"Strict-Transport-Security": h.StrictTransportSecurity,
	} {
		if value != "" {
			out[name] = []string{value}
		}
	}
	return out
}

// serverConfig builds Dex's server configuration from the file, except for
// storage, signer, registry and health checker, which the caller sets.
func serverConfig(cfg *config.Config, logger *slog.Logger, now func() time.Time) (server.Config, error) {
	sc := server.Config{
		Issuer:                     cfg.Issuer,
		AllowedGrantTypes:          cfg.OAuth2.GrantTypes,
		SupportedResponseTypes:     cfg.OAuth2.ResponseTypes,
		SkipApprovalScreen:         cfg.OAuth2.SkipApprovalScreen,
		AlwaysShowLoginScreen:      cfg.OAuth2.AlwaysShowLoginScreen,
		PasswordConnector:          cfg.OAuth2.PasswordConnector,
		Headers:                    headers(cfg.Web.Headers),
		AllowedOrigins:             cfg.Web.AllowedOrigins,
		AllowedHeaders:             cfg.Web.AllowedHeaders,
		RealIPHeader:               cfg.Web.ClientRemoteIP.Header,
		Web:                        cfg.Frontend,
		Logger:                     logger,
		Now:                        now,
		ContinueOnConnectorFailure: featureflags.ContinueOnConnectorFailure.Enabled(),
	}

	var err error
	if sc.IDTokensValidFor, err = parseDuration("id token expiry", cfg.Expiry.IDTokens, 24*time.Hour); err != nil {
		return server.Config{}, err
	}
	if sc.AuthRequestsValidFor, err = parseDuration("auth request expiry", cfg.Expiry.AuthRequests, 0); err != nil {
		return server.Config{}, err
	}
	if sc.DeviceRequestsValidFor, err = parseDuration("device request expiry", cfg.Expiry.DeviceRequests, 0); err != nil {
		return server.Config{}, err
	}
	if cfg.Expiry.IDTokens != "" {
		logger.Info("config id tokens", "valid_for", sc.IDTokensValidFor)
	}
	if cfg.Expiry.AuthRequests != "" {
		logger.Info("config auth requests", "valid_for", sc.AuthRequestsValidFor)
	}
	if cfg.Expiry.DeviceRequests != "" {
		logger.Info("config device requests", "valid_for", sc.DeviceRequestsValidFor)
	}

	rt := cfg.Expiry.RefreshTokens
	sc.RefreshTokenPolicy, err = server.NewRefreshTokenPolicy(logger, rt.DisableRotation,
		rt.ValidIfNotUsedFor, rt.AbsoluteLifetime, rt.ReuseInterval)
	if err != nil {
		return server.Config{}, fmt.Errorf("invalid refresh token expiration policy config: %w", err)
	}
	if sc.TrustedRealIPCIDRs, err = cfg.TrustedProxies(); err != nil {
		return server.Config{}, fmt.Errorf("parse client remote IP settings: %w", err)
	}

	if len(cfg.OAuth2.ResponseTypes) > 0 {
		logger.Info("config response types accepted", "response_types", cfg.OAuth2.ResponseTypes)
	}
	if cfg.OAuth2.SkipApprovalScreen {
		logger.Info("config skipping approval screen")
	}
	if cfg.OAuth2.PasswordConnector != "" {
		logger.Info("config using password grant connector", "password_connector", cfg.OAuth2.PasswordConnector)
	}
	if len(cfg.Web.AllowedOrigins) > 0 {
		logger.Info("config allowed origins", "origins", cfg.Web.AllowedOrigins)
	}
	if sc.ContinueOnConnectorFailure {
		logger.Info("continue on connector failure feature flag enabled")
	}
	return sc, nil
}
