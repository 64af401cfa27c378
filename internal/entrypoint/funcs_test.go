package entrypoint

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The corpus renders as it declares: the output gomplate renders too, or an
// error. TestGomplateParity checks the same corpus against gomplate itself;
// this test needs no gomplate.
func TestCorpus(t *testing.T) {
	dir := t.TempDir()
	writeCorpusFiles(t, dir)
	t.Chdir(dir)
	r := &Renderer{Env: corpusEnv}
	for _, tc := range corpus {
		t.Run(tc.name, func(t *testing.T) {
			out, err := r.Render("/etc/dex/config.yaml", []byte(tc.tmpl))
			switch {
			case tc.fail != "" || tc.stricter != "":
				require.Error(t, err, "rendered: %q", out)
				assert.Nil(t, out)
				assert.Contains(t, err.Error(), "/etc/dex/config.yaml")
				assert.Contains(t, err.Error(), tc.fail+tc.stricter)
			default:
				require.NoError(t, err)
				assert.Equal(t, tc.want, string(out))
			}
		})
	}
}

// The corpus's configuration files render.
func TestCorpusFiles(t *testing.T) {
	dir := t.TempDir()
	writeCorpusFiles(t, dir)
	files := readCorpusFiles(t)
	t.Chdir(dir)
	r := &Renderer{Env: corpusEnv}
	for name, src := range files {
		t.Run(name, func(t *testing.T) {
			out, err := r.Render(name, src)
			require.NoError(t, err)
			assert.NotContains(t, string(out), "{{")
		})
	}
}

// readCorpusFiles reads corpusFiles, by the name of each.
func readCorpusFiles(t *testing.T) map[string][]byte {
	t.Helper()
	files := make(map[string][]byte, len(corpusFiles))
	for _, name := range corpusFiles {
		path := name
		if rest, ok := strings.CutPrefix(path, "dex:"); ok {
			path = filepath.Join(dexModuleDir(t), rest)
		}
		src, err := os.ReadFile(path)
		require.NoError(t, err)
		files[name] = src
	}
	return files
}

// dexModuleDir returns the directory of Dex's module.
func dexModuleDir(t *testing.T) string {
	t.Helper()
	dir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/dexidp/dex").Output()
	require.NoError(t, err, "locate Dex's module")
	return strings.TrimSpace(string(dir))
}
