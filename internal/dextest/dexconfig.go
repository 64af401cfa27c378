package dextest

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"testing"

	"sigs.k8s.io/yaml"
)

// TenantUID is the Palette tenant of the tests: the emulator's tenant and
// the one the configurations name.
const TenantUID = "5f7c0a1b2c3d4e5f6a7b8c9d"

// DexConfig is a dex-spectro configuration file for a test, built in Go and
// rendered to YAML by YAML, so that no test writes YAML with placeholders to
// replace. harness.Start serves one.
type DexConfig struct {
	// Issuer and HTTP are Dex's issuer and web.http. harness.Start sets
	// them, when empty, from the listener it serves on: the issuer is then
	// http://<address>/dex.
	Issuer, HTTP string
	// Storage is the storage section; memory when nil.
	Storage map[string]any
	// Clients are the static clients.
	Clients []Client
	// Connectors are the connectors, each made for Issuer.
	Connectors []ConnectorFunc
	// Sections are the other top-level sections (expiry, oauth2, grpc,
	// logger, telemetry, frontend, …) by key. A section named here
	// replaces the one the fields above make, web included.
	Sections map[string]any
}

// Client is a static client of Dex.
type Client struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	Secret       string   `json:"secret,omitempty"`
	SecretEnv    string   `json:"secretEnv,omitempty"`
	Public       bool     `json:"public,omitempty"`
	RedirectURIs []string `json:"redirectURIs,omitempty"`
}

// Connector is an entry of the connectors list.
type Connector struct {
	Type   string         `json:"type"`
	ID     string         `json:"id"`
	Name   string         `json:"name"`
	Config map[string]any `json:"config,omitempty"`
}

// ConnectorFunc returns a connector entry for a Dex at issuer.
type ConnectorFunc func(issuer string) Connector

// Palette's OAuth client for Dex, as SpectroCloud configures it.
const (
	PaletteClientID     = "dex"
	PaletteClientSecret = "dex-secret"
)

// SpectroCloud is a spectrocloud connector named SpectroCloud for the tenant
// tenantUID of the Palette console at consoleURL, signing in with Palette's
// client PaletteClientID and Dex's callback as redirectURI. extra adds keys
// to its configuration, or replaces them; a nil value removes one.
func SpectroCloud(id, consoleURL, tenantUID string, extra map[string]any) ConnectorFunc {
	return func(issuer string) Connector {
		cfg := map[string]any{
			"consoleURL":   consoleURL,
			"tenant":       tenantUID,
			"clientID":     PaletteClientID,
			"clientSecret": PaletteClientSecret,
			"redirectURI":  issuer + "/callback",
		}
		for k, v := range extra {
			if v == nil {
				delete(cfg, k)
				continue
			}
			cfg[k] = v
		}
		return Connector{Type: "spectrocloud", ID: id, Name: "SpectroCloud", Config: cfg}
	}
}

// MockCallback is Dex's mockCallback connector, which signs a fixed user in
// without any upstream.
func MockCallback(id, name string) ConnectorFunc {
	return func(string) Connector { return Connector{Type: "mockCallback", ID: id, Name: name} }
}

// With returns c with the sections of sections, a YAML mapping, set: each
// replaces the section of its key.
func (c DexConfig) With(sections string) DexConfig {
	merged := maps.Clone(c.Sections)
	if merged == nil {
		merged = map[string]any{}
	}
	maps.Copy(merged, YAMLMap(sections))
	c.Sections = merged
	return c
}

// YAML renders the configuration file.
func (c DexConfig) YAML() ([]byte, error) {
	storage := c.Storage
	if storage == nil {
		storage = map[string]any{"type": "memory"}
	}
	connectors := make([]Connector, len(c.Connectors))
	for i, f := range c.Connectors {
		connectors[i] = f(c.Issuer)
	}
	doc := map[string]any{
		"issuer":     c.Issuer,
		"storage":    storage,
		"web":        map[string]any{"http": c.HTTP},
		"connectors": connectors,
	}
	if len(c.Clients) > 0 {
		doc["staticClients"] = c.Clients
	}
	maps.Copy(doc, c.Sections)
	return yaml.Marshal(doc)
}

// WriteFile renders the configuration into a file of a fresh temporary
// directory and returns its path.
func (c DexConfig) WriteFile(t testing.TB) string {
	t.Helper()
	data, err := c.YAML()
	if err != nil {
		t.Fatalf("render the configuration: %v", err)
	}
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatalf("write the configuration: %v", err)
	}
	return path
}

// YAMLMap decodes a YAML mapping written in a test, such as sections of a
// configuration or keys of a connector's. It panics when s is not one.
func YAMLMap(s string) map[string]any {
	var m map[string]any
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		panic(fmt.Sprintf("dextest: not a YAML mapping: %v\n%s", err, s))
	}
	return m
}
