package config

import (
	"github.com/dexidp/dex/server/signer"
)

// Signer is the `signer` section: how tokens are signed. When absent, Dex
// signs with local keys kept in storage and rotated every
// expiry.signingKeys (default 6h).
type Signer struct {
	// Type is "local" or "vault".
	Type string `json:"type"`
	// Config is *signer.LocalConfig or *signer.VaultConfig.
	Config any `json:"config"`
	// UnsetEnv are the environment variables that Config names but the
	// environment does not set; their places are empty.
	UnsetEnv []UnsetVar `json:"-"`
}

// NewSignerConfig returns an empty configuration for the signer type typ, or
// false when typ is unknown.
func NewSignerConfig(typ string) (any, bool) {
	switch typ {
	case "local":
		return new(signer.LocalConfig), true
	case "vault":
		return new(signer.VaultConfig), true
	default:
		return nil, false
	}
}

// UnmarshalJSON decodes the signer section, choosing the type of Config
// from Type and expanding environment variables in it.
func (s *Signer) UnmarshalJSON(b []byte) error {
	typ, cfg, unset, err := decodeTypedBlock(b, "signer", NewSignerConfig, "local, vault")
	if err != nil {
		return err
	}
	*s = Signer{Type: typ, Config: cfg, UnsetEnv: unset}
	return nil
}
