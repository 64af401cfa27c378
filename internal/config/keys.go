package config

import (
	"fmt"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// Warning is a problem in a configuration file that does not stop Dex from
// starting.
type Warning struct {
	// Key is the dotted path of an unknown key, for example
	// "connectors[1].config.clientSecrt"; empty for other warnings.
	Key string
	// Line and Column locate the problem in the file (1-based; 0 if unknown).
	Line, Column int
	// Message describes the problem.
	Message string
	// Topic is what a warning about the configuration's exposure is about
	// (see Config.Warnings); empty for the warnings about the file.
	Topic string
}

// String renders the warning with its position.
func (w Warning) String() string {
	if w.Line > 0 {
		return fmt.Sprintf("line %d: %s", w.Line, w.Message)
	}
	return w.Message
}

// UnknownKeysError is returned in strict mode when the file has keys that
// Dex would ignore.
type UnknownKeysError struct {
	// Warnings are the unknown-key warnings, in file order.
	Warnings []Warning
}

// Error implements error.
func (e *UnknownKeysError) Error() string {
	lines := make([]string, len(e.Warnings))
	for i, w := range e.Warnings {
		lines[i] = w.String()
	}
	return "unknown keys in config (strict mode):\n\t-\t" + strings.Join(lines, "\n\t-\t")
}

// findUnknownKeys walks the YAML document and reports every mapping key that
// Dex's decoding would silently drop. Known keys are the JSON names of the
// fields of the types the file is decoded into, matched case-insensitively as
// encoding/json matches them; the `config` blocks of storage, signer and
// connectors are checked against the type selected by their `type`.
func findUnknownKeys(data []byte) ([]Warning, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("read YAML structure: %w", err)
	}
	var w keyWalker
	w.walk(&doc, reflect.TypeOf(Config{}), "")
	return w.warnings, nil
}

type keyWalker struct {
	warnings []Warning
}

var (
	storageType   = reflect.TypeOf(Storage{})
	signerType    = reflect.TypeOf(Signer{})
	connectorType = reflect.TypeOf(Connector{})
	passwordType  = reflect.TypeOf(Password{})
)

// walk checks node n, which is decoded into a value of type t.
func (w *keyWalker) walk(n *yaml.Node, t reflect.Type, path string) {
	n = resolve(n)
	if n == nil {
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case storageType:
		w.walkTyped(n, path, nil, func(typ string) (reflect.Type, bool) {
			cfg, ok := NewStorageConfig(typ)
			return reflect.TypeOf(cfg), ok
		})
		return
	case signerType:
		w.walkTyped(n, path, nil, func(typ string) (reflect.Type, bool) {
			cfg, ok := NewSignerConfig(typ)
			return reflect.TypeOf(cfg), ok
		})
		return
	case connectorType:
		w.walkTyped(n, path, []string{"name", "id"}, func(typ string) (reflect.Type, bool) {
			cfg, ok := NewConnectorConfig(typ)
			return reflect.TypeOf(cfg), ok
		})
		return
	case passwordType:
		t = reflect.TypeOf(passwordFields{})
	}

	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return
		}
		fields := jsonFields(t)
		if len(fields) == 0 {
			// Opaque types such as time.Time decode from scalars.
			return
		}
		for _, kv := range pairs(n) {
			key := kv[0].Value
			ft, ok := lookupField(fields, key)
			if !ok {
				w.unknown(kv[0], joinPath(path, key), fieldNames(fields))
				continue
			}
			w.walk(kv[1], ft, joinPath(path, key))
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return
		}
		for _, kv := range pairs(n) {
			w.walk(kv[1], t.Elem(), joinPath(path, kv[0].Value))
		}
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode || t.Elem().Kind() == reflect.Uint8 {
			return
		}
		for i, item := range n.Content {
			w.walk(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	}
}

// walkTyped checks a {type, config} mapping (plus extra keys), checking
// `config` against the type that lookup returns for the `type` value.
func (w *keyWalker) walkTyped(n *yaml.Node, path string, extra []string, lookup func(string) (reflect.Type, bool)) {
	if n.Kind != yaml.MappingNode {
		return
	}
	known := append([]string{"type", "config"}, extra...)
	var typ string
	var cfg *yaml.Node
	var cfgPath string
	for _, kv := range pairs(n) {
		key := kv[0].Value
		switch {
		case strings.EqualFold(key, "type"):
			if v := resolve(kv[1]); v != nil && v.Kind == yaml.ScalarNode {
				typ = v.Value
			}
		case strings.EqualFold(key, "config"):
			cfg, cfgPath = kv[1], joinPath(path, key)
		case containsFold(extra, key):
		default:
			w.unknown(kv[0], joinPath(path, key), known)
		}
	}
	if cfg == nil {
		return
	}
	t, ok := lookup(typ)
	if !ok {
		// An unknown type is a decoding error reported elsewhere.
		return
	}
	w.walk(cfg, t, cfgPath)
}

func (w *keyWalker) unknown(key *yaml.Node, path string, known []string) {
	msg := fmt.Sprintf("unknown key %q", path)
	if s := suggest(key.Value, known); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	msg += "; Dex ignores it"
	w.warnings = append(w.warnings, Warning{Key: path, Line: key.Line, Column: key.Column, Message: msg})
}

// resolve follows documents and aliases to the node holding the value.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil {
		switch n.Kind {
		case yaml.DocumentNode:
			if len(n.Content) == 0 {
				return nil
			}
			n = n.Content[0]
		case yaml.AliasNode:
			n = n.Alias
		default:
			return n
		}
	}
	return nil
}

// pairs returns the key/value pairs of a mapping, with YAML merge keys
// (`<<: *anchor`) replaced by the pairs they merge in.
func pairs(n *yaml.Node) [][2]*yaml.Node {
	var out [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.Tag == "!!merge" {
			v = resolve(v)
			var sources []*yaml.Node
			switch {
			case v == nil:
			case v.Kind == yaml.MappingNode:
				sources = []*yaml.Node{v}
			case v.Kind == yaml.SequenceNode:
				sources = v.Content
			}
			for _, src := range sources {
				if src = resolve(src); src != nil && src.Kind == yaml.MappingNode {
					out = append(out, pairs(src)...)
				}
			}
			continue
		}
		out = append(out, [2]*yaml.Node{k, v})
	}
	return out
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
