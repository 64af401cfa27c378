package entrypoint

import (
	"fmt"
	"os"
	"strings"
)

// envFuncs is gomplate's env namespace.
type envFuncs struct{ r *Renderer }

// Getenv returns the variable name, else the trimmed content of the file
// that name_FILE names, else def (when given), else "".
func (e envFuncs) Getenv(name string, def ...string) (string, error) {
	if len(def) > 1 {
		return "", fmt.Errorf("getenv %s: at most one default, got %d", name, len(def))
	}
	v, err := e.r.lookup(name)
	if err != nil {
		return "", err
	}
	if v == "" && len(def) == 1 {
		return def[0], nil
	}
	return v, nil
}

// Env returns every variable, as .Env does: a key that is not set is an
// error, and NAME_FILE is not read.
func (e envFuncs) Env() map[string]string { return e.r.envMap() }

// ExpandEnv replaces $NAME and ${NAME} in the input with the variables'
// values, as getenv reads them.
func (e envFuncs) ExpandEnv(in any) (string, error) {
	var firstErr error
	out := os.Expand(toString(in), func(name string) string {
		v, err := e.r.lookup(name)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return v
	})
	return out, firstErr
}

// lookup reads name from the environment, falling back to the file that
// name_FILE names, as gomplate does for Docker and Kubernetes secrets.
func (r *Renderer) lookup(name string) (string, error) {
	if v := r.Env[name]; v != "" {
		return v, nil
	}
	path := r.Env[name+"_FILE"]
	if path == "" {
		return "", nil
	}
	b, err := readFileLimited(path)
	if err != nil {
		return "", fmt.Errorf("getenv %s: read the file named by %s_FILE: %w", name, name, err)
	}
	return strings.TrimSpace(string(b)), nil
}
