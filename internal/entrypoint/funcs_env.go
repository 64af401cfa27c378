package entrypoint

import (
	"fmt"
	"strings"
)

// envFuncs is gomplate's env namespace, less ExpandEnv: Dex expands $NAME
// in the configuration itself.
type envFuncs struct{ x *run }

// Getenv returns the variable key, else the trimmed content of the file
// that key_FILE names, else def (when given), else "". Unlike gomplate,
// which then yields "" or def, an unreadable key_FILE is an error, and so
// is a second default.
func (e *envFuncs) Getenv(key any, def ...string) (string, error) {
	name, err := e.x.str("getenv", key)
	if err != nil {
		return "", err
	}
	if len(def) > 1 {
		return "", fmt.Errorf("getenv %s: at most one default, got %d", name, len(def))
	}
	v, err := e.x.lookup(name)
	if err != nil {
		return "", err
	}
	if v == "" && len(def) == 1 {
		return def[0], nil
	}
	return v, nil
}

// lookup reads name from the environment, falling back to the file that
// name_FILE names, as gomplate does for Docker and Kubernetes secrets.
func (x *run) lookup(name string) (string, error) {
	if v := x.env[name]; v != "" {
		return v, nil
	}
	path := x.env[name+"_FILE"]
	if path == "" {
		return "", nil
	}
	b, err := x.readFile("getenv", path)
	if err != nil {
		return "", fmt.Errorf("getenv %s: read the file named by %s_FILE: %w", name, name, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// tmplContext is the data a template renders with: as in gomplate, it
// has the Env method (`.Env.NAME`) and prints as an empty map, so that
// `{{ . }}` shows no variable.
type tmplContext struct{ env map[string]string }

// Env returns every variable. A key that is not set is an error through
// `.Env.NAME` (text/template's missingkey=error, as gomplate sets it) and
// "" through `index .Env "NAME"`. NAME_FILE is not read.
func (c *tmplContext) Env() map[string]string { return c.env }

// String prints the context as gomplate prints its own.
func (c *tmplContext) String() string { return "map[]" }
