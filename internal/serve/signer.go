package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/dexidp/dex/server/signer"
	"github.com/dexidp/dex/storage"

	"github.com/dex-spectro/dex-spectro/internal/config"
)

// openSigner opens the configured token signer, as Dex does: a Vault
// transit key, or local keys kept in storage and rotated periodically.
func openSigner(ctx context.Context, cfg *config.Config, s storage.Storage, idTokensValidFor time.Duration, now func() time.Time, logger *slog.Logger) (signer.Signer, error) {
	switch sc := cfg.Signer.Config.(type) {
	case *signer.VaultConfig:
		sig, err := sc.Open(ctx)
		if err != nil {
			return nil, fmt.Errorf("open vault signer: %w", err)
		}
		logger.Info("signer configured", "type", "vault")
		return sig, nil
	case *signer.LocalConfig:
		if sc.KeysRotationPeriod == "" {
			return nil, errors.New("open local signer: signer.config.keysRotationPeriod must be specified")
		}
		if cfg.Expiry.SigningKeys != "" {
			logger.Warn("both expiry.signingKeys and signer.config.keysRotationPeriod specified, using signer.config.keysRotationPeriod")
		}
		sig, err := sc.Open(ctx, s, idTokensValidFor, now, logger)
		if err != nil {
			return nil, fmt.Errorf("open local signer: %w", err)
		}
		logger.Info("signer configured", "type", "local", "keys_rotation_period", sc.KeysRotationPeriod)
		return sig, nil
	case nil:
		period := cfg.Expiry.SigningKeys
		if period != "" {
			logger.Warn("config expiry.signingKeys will be removed in a future release",
				"use_instead", "signer.config.keysRotationPeriod",
				"current_value", period, "deprecated", true)
		} else {
			period = "6h"
		}
		local := signer.LocalConfig{KeysRotationPeriod: period}
		sig, err := local.Open(ctx, s, idTokensValidFor, now, logger)
		if err != nil {
			return nil, fmt.Errorf("open local signer: %w", err)
		}
		logger.Info("signer configured", "type", "local", "keys_rotation_period", period)
		return sig, nil
	default:
		return nil, fmt.Errorf("unknown signer type %q", cfg.Signer.Type)
	}
}
