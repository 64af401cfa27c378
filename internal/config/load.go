package config

import (
	"fmt"
	"os"

	"github.com/ghodss/yaml"
)

// Options control Load and LoadFile.
type Options struct {
	// Strict makes unknown keys an error instead of a warning.
	Strict bool
	// Overrides replace values from the file, as serve's flags do.
	Overrides Overrides
}

// Overrides are listen addresses given on the command line; empty values
// keep the file's.
type Overrides struct {
	WebHTTP   string
	WebHTTPS  string
	Telemetry string
	GRPC      string
}

// Parse decodes a configuration file exactly as Dex decodes it and reports
// the keys Dex would ignore. It does not validate. When decoding fails, the
// unknown-key warnings are returned with the error, as they often explain it.
func Parse(data []byte) (*Config, []Warning, error) {
	warnings, err := findUnknownKeys(data)
	if err != nil {
		// Only the key check could not be made; decoding decides whether
		// the file is usable.
		warnings = []Warning{{Message: "could not check for unknown keys: " + err.Error()}}
	}
	var c Config
	if err := yaml.Unmarshal(data, &c); err != nil {
		return nil, warnings, fmt.Errorf("parse config: %w", err)
	}
	return &c, append(warnings, c.UnsetEnvWarnings()...), nil
}

// Load parses data, fails on unknown keys when opts.Strict is set, applies
// opts.Overrides and Dex's start-up defaults, and validates the result. It
// neither opens storage nor contacts anything.
func Load(data []byte, opts Options) (*Config, []Warning, error) {
	c, warnings, err := Parse(data)
	if err != nil {
		return nil, warnings, err
	}
	if opts.Strict {
		if unknown := UnknownKeys(warnings); len(unknown) > 0 {
			return nil, warnings, &UnknownKeysError{Warnings: unknown}
		}
	}
	c.ApplyOverrides(opts.Overrides)
	if err := c.Validate(); err != nil {
		return nil, warnings, err
	}
	return c, warnings, nil
}

// LoadFile reads the file at path and loads it with Load.
func LoadFile(path string, opts Options) (*Config, []Warning, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read config file: %w", err)
	}
	c, warnings, err := Load(data, opts)
	if err != nil {
		return nil, warnings, fmt.Errorf("config file %s: %w", path, err)
	}
	return c, warnings, nil
}

// UnknownKeys returns the warnings that are about unknown keys.
func UnknownKeys(warnings []Warning) []Warning {
	var out []Warning
	for _, w := range warnings {
		if w.Key != "" {
			out = append(out, w)
		}
	}
	return out
}

// ApplyOverrides applies command-line overrides and the defaults Dex's
// `serve` applies before validating: DEX_FRONTEND_DIR when frontend.dir is
// empty, and every grant type Dex supports when oauth2.grantTypes is empty.
func (c *Config) ApplyOverrides(o Overrides) {
	if o.WebHTTP != "" {
		c.Web.HTTP = o.WebHTTP
	}
	if o.WebHTTPS != "" {
		c.Web.HTTPS = o.WebHTTPS
	}
	if o.Telemetry != "" {
		c.Telemetry.HTTP = o.Telemetry
	}
	if o.GRPC != "" {
		c.GRPC.Addr = o.GRPC
	}
	if c.Frontend.Dir == "" {
		c.Frontend.Dir = os.Getenv("DEX_FRONTEND_DIR")
	}
	if len(c.OAuth2.GrantTypes) == 0 {
		c.OAuth2.GrantTypes = []string{
			"authorization_code",
			"implicit",
			"password",
			"refresh_token",
			"urn:ietf:params:oauth:grant-type:device_code",
			"urn:ietf:params:oauth:grant-type:token-exchange",
		}
	}
}
