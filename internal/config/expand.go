package config

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/dexidp/dex/pkg/featureflags"
)

// expandEnabled reports whether $VAR and ${VAR} are expanded in the config
// blocks of storage, signer and connectors. As in Dex, DEX_EXPAND_ENV=false
// turns expansion off (useful when a secret contains a literal $); any other
// value that is not a boolean leaves it on.
func expandEnabled() bool {
	return featureflags.ExpandEnv.Enabled()
}

// expandConfigBlock returns raw with environment variables expanded, the way
// Dex expands the `config` block of a storage, signer or connector: string
// values of objects, strings and objects inside arrays, recursively; keys and
// arrays nested directly in arrays are left alone. Numbers pass through a
// float64, as they do in Dex. Other top-level sections are never expanded.
func expandConfigBlock(raw json.RawMessage) (json.RawMessage, error) {
	if len(raw) == 0 || !expandEnabled() {
		return raw, nil
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("unmarshal config for env expansion: %w", err)
	}
	expandObject(m)
	out, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("marshal expanded config: %w", err)
	}
	return out, nil
}

func expandObject(m map[string]any) {
	for k, v := range m {
		switch v := v.(type) {
		case string:
			m[k] = os.ExpandEnv(v)
		case map[string]any:
			expandObject(v)
		case []any:
			for i, item := range v {
				switch item := item.(type) {
				case map[string]any:
					expandObject(item)
				case string:
					v[i] = os.ExpandEnv(item)
				}
			}
		}
	}
}
