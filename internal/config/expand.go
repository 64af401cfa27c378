package config

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/dexidp/dex/pkg/featureflags"
)

// expandEnabled reports whether $VAR and ${VAR} are expanded in the config
// blocks of storage, signer and connectors. As in Dex, DEX_EXPAND_ENV=false
// turns expansion off (useful when a secret contains a literal $); any other
// value that is not a boolean leaves it on.
func expandEnabled() bool {
	return featureflags.ExpandEnv.Enabled()
}

// UnsetVar is an environment variable that a config block names but the
// environment does not set: its place in the block is left empty, as Dex
// leaves it. Start-up errors and warnings name it, so that "clientID is
// required" is not all a user sees.
type UnsetVar struct {
	// Key is the dotted path within the config block, for example
	// "clientID" or "staticClients[0].secret".
	Key string
	// Name is the variable's name, without $.
	Name string
}

// expandConfigBlock returns raw with environment variables expanded, the way
// Dex expands the `config` block of a storage, signer or connector: string
// values of objects, strings and objects inside arrays, recursively; keys and
// arrays nested directly in arrays are left alone. Numbers pass through a
// float64, as they do in Dex. Other top-level sections are never expanded.
// It also returns the variables that were named but not set.
func expandConfigBlock(raw json.RawMessage) (json.RawMessage, []UnsetVar, error) {
	if len(raw) == 0 || !expandEnabled() {
		return raw, nil, nil
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, nil, fmt.Errorf("unmarshal config for env expansion: %w", err)
	}
	var e expander
	e.object(m, "")
	sort.Slice(e.unset, func(i, j int) bool { return e.unset[i].Key < e.unset[j].Key })
	out, err := json.Marshal(m)
	if err != nil {
		return nil, nil, fmt.Errorf("marshal expanded config: %w", err)
	}
	return out, e.unset, nil
}

// expander expands values and records the variables that are not set.
type expander struct {
	unset []UnsetVar
}

func (e *expander) object(m map[string]any, path string) {
	for k, v := range m {
		key := k
		if path != "" {
			key = path + "." + k
		}
		switch v := v.(type) {
		case string:
			m[k] = e.value(v, key)
		case map[string]any:
			e.object(v, key)
		case []any:
			for i, item := range v {
				at := fmt.Sprintf("%s[%d]", key, i)
				switch item := item.(type) {
				case map[string]any:
					e.object(item, at)
				case string:
					v[i] = e.value(item, at)
				}
			}
		}
	}
}

func (e *expander) value(s, key string) string {
	return os.Expand(s, func(name string) string {
		v, ok := os.LookupEnv(name)
		if !ok {
			e.unset = append(e.unset, UnsetVar{Key: key, Name: name})
		}
		return v
	})
}

// unsetVarWarnings turns the unset variables of the config block at section
// (for example "connectors[1].config") into warnings.
func unsetVarWarnings(section string, unset []UnsetVar) []Warning {
	out := make([]Warning, 0, len(unset))
	for _, u := range unset {
		out = append(out, Warning{Message: fmt.Sprintf("%s.%s: $%s is not set in the environment, so the value is empty", section, u.Key, u.Name)})
	}
	return out
}

// typedBlock is a section of a type and its configuration: storage,
// signer, a connector.
type typedBlock struct {
	Type   string          `json:"type"`
	Config json.RawMessage `json:"config"`
}

// decodeTypedBlock decodes section (storage, signer), a typedBlock: the
// configuration's type from newConfig, which knows the supported types, and
// the block decoded into it (decodeBlock).
func decodeTypedBlock[C any](b []byte, section string, newConfig func(string) (C, bool), supported string) (string, C, []UnsetVar, error) {
	var raw typedBlock
	var cfg C
	if err := json.Unmarshal(b, &raw); err != nil {
		return "", cfg, nil, fmt.Errorf("parse %s: %w", section, err)
	}
	cfg, ok := newConfig(raw.Type)
	if !ok {
		return "", cfg, nil, fmt.Errorf("unknown %s type %q (supported: %s)", section, raw.Type, supported)
	}
	unset, err := decodeBlock(raw.Config, cfg, fmt.Sprintf("%s %q", section, raw.Type), fmt.Sprintf("parse %s config (type %q)", section, raw.Type))
	return raw.Type, cfg, unset, err
}

// decodeBlock expands the environment variables of a configuration block,
// as Dex does, and decodes it into cfg; an empty block leaves cfg as it is.
// An error starts with where (expanding) or parse (decoding), and names the
// variables that are not set.
func decodeBlock(raw json.RawMessage, cfg any, where, parse string) ([]UnsetVar, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	data, unset, err := expandConfigBlock(raw)
	if err != nil {
		return unset, fmt.Errorf("%s: %w", where, err)
	}
	if err := json.Unmarshal(data, cfg); err != nil {
		return unset, explainUnset(fmt.Errorf("%s: %w", parse, err), unset)
	}
	return unset, nil
}

// explainUnset adds to err, an error about a config block, which of the
// block's variables are not set.
func explainUnset(err error, unset []UnsetVar) error {
	if err == nil || len(unset) == 0 {
		return err
	}
	names := make([]string, len(unset))
	for i, u := range unset {
		names[i] = fmt.Sprintf("$%s (%s)", u.Name, u.Key)
	}
	return fmt.Errorf("%w: not set in the environment: %s", err, strings.Join(names, ", "))
}

// UnsetEnvWarnings lists, as warnings, the environment variables that the
// config blocks of storage, signer and connectors name but the environment
// does not set.
func (c *Config) UnsetEnvWarnings() []Warning {
	var out []Warning
	out = append(out, unsetVarWarnings("storage.config", c.Storage.UnsetEnv)...)
	out = append(out, unsetVarWarnings("signer.config", c.Signer.UnsetEnv)...)
	for i, conn := range c.StaticConnectors {
		out = append(out, unsetVarWarnings(fmt.Sprintf("connectors[%d].config", i), conn.UnsetEnv)...)
	}
	return out
}

// ExplainUnset adds to err, an error from opening the connector, which of the
// variables its config block names are not set.
func (c Connector) ExplainUnset(err error) error {
	return explainUnset(err, c.UnsetEnv)
}

// ExplainUnset adds to err, an error from starting the server, which of the
// variables the config blocks name are not set.
func (c *Config) ExplainUnset(err error) error {
	var all []UnsetVar
	add := func(section string, unset []UnsetVar) {
		for _, u := range unset {
			all = append(all, UnsetVar{Key: section + "." + u.Key, Name: u.Name})
		}
	}
	add("storage.config", c.Storage.UnsetEnv)
	add("signer.config", c.Signer.UnsetEnv)
	for i, conn := range c.StaticConnectors {
		add(fmt.Sprintf("connectors[%d].config", i), conn.UnsetEnv)
	}
	return explainUnset(err, all)
}
