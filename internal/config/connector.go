package config

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/dexidp/dex/server"
	"github.com/dexidp/dex/storage"

	"github.com/dex-spectro/dex-spectro/internal/connhook"
)

// Connector is an entry of the `connectors` section.
type Connector struct {
	// Type is a key of Dex's connector registry (server.ConnectorsConfig),
	// for example "oidc", "ldap" or, in this build, "spectrocloud".
	Type string `json:"type"`
	// Name is shown on the login page.
	Name string `json:"name"`
	// ID identifies the connector in callback URLs and in tokens.
	ID string `json:"id"`
	// Config is the connector's configuration, decoded into the type that
	// the connector registry returns for Type.
	Config server.ConnectorConfig `json:"config"`
	// UnsetEnv are the environment variables that Config names but the
	// environment does not set; their places are empty.
	UnsetEnv []UnsetVar `json:"-"`
}

// NewConnectorConfig returns an empty configuration for the connector type
// typ from Dex's connector registry, or false when typ is unknown.
func NewConnectorConfig(typ string) (server.ConnectorConfig, bool) {
	f, ok := server.ConnectorsConfig[typ]
	if !ok {
		return nil, false
	}
	return connhook.Unwrap(f()), true
}

// ConnectorTypes lists the connector types known to the registry, sorted.
func ConnectorTypes() []string {
	types := make([]string, 0, len(server.ConnectorsConfig))
	for t := range server.ConnectorsConfig {
		types = append(types, t)
	}
	sort.Strings(types)
	return types
}

// UnmarshalJSON decodes a connector entry, choosing the type of Config from
// Type and expanding environment variables in it.
func (c *Connector) UnmarshalJSON(b []byte) error {
	var raw struct {
		typedBlock
		Name string `json:"name"`
		ID   string `json:"id"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("parse connector: %w", err)
	}
	cfg, ok := NewConnectorConfig(raw.Type)
	if !ok {
		return fmt.Errorf("connector %q: unknown connector type %q (supported: %s)",
			raw.ID, raw.Type, strings.Join(ConnectorTypes(), ", "))
	}
	unset, err := decodeBlock(raw.Config, cfg, fmt.Sprintf("connector %q", raw.ID), fmt.Sprintf("connector %q: parse connector config", raw.ID))
	if err != nil {
		return err
	}
	*c = Connector{Type: raw.Type, Name: raw.Name, ID: raw.ID, Config: cfg, UnsetEnv: unset}
	return nil
}

// StorageConnector converts the entry to the form Dex keeps in storage, with
// its configuration re-encoded as JSON.
func (c Connector) StorageConnector() (storage.Connector, error) {
	data, err := json.Marshal(c.Config)
	if err != nil {
		return storage.Connector{}, fmt.Errorf("connector %q: encode config: %w", c.ID, err)
	}
	return storage.Connector{ID: c.ID, Type: c.Type, Name: c.Name, Config: data}, nil
}
