package entrypoint

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/dextest"
)

// gomplateModule is the test-only module that pins gomplate v4.3.3, the
// newest the Go module proxy serves.
const gomplateModule = "testdata/gomplate"

// The renderer renders the corpus as gomplate v4.3.3 does: the same output,
// or an error from both; where the renderer is stricter, it fails and
// gomplate renders (the differences docs/operations.md lists). gomplate is
// built from its module, so the test needs the Go module proxy the first
// time; without it, the test skips, and fails when CI=true.
func TestGomplateParity(t *testing.T) {
	start := time.Now()
	bin := gomplateBinary(t)
	t.Logf("gomplate ready in %s: %s", time.Since(start).Round(time.Millisecond), bin)

	dir := t.TempDir()
	writeCorpusFiles(t, dir)
	files := readCorpusFiles(t)

	// gomplate renders in one run every template it must render: the
	// corpus cases that do not fail, and the files.
	batch := map[string]string{}
	for i, tc := range corpus {
		if tc.fail == "" {
			batch[caseFile(i)] = tc.tmpl
		}
	}
	for i, name := range corpusFiles {
		batch[fileFile(i)] = string(files[name])
	}
	start = time.Now()
	rendered, batchErr := gomplateBatch(t, bin, dir, batch)
	t.Logf("gomplate rendered %d corpus templates and %d files in one run in %s",
		len(batch)-len(corpusFiles), len(corpusFiles), time.Since(start).Round(time.Millisecond))
	if batchErr != nil {
		t.Logf("gomplate failed on the batch, so each template is rendered alone: %v", batchErr)
	}
	theirs := func(name, tmpl string) (string, error) {
		if out, ok := rendered[name]; ok && batchErr == nil {
			return out, nil
		}
		return gomplateOne(t, bin, dir, tmpl)
	}

	t.Chdir(dir)
	r := &Renderer{Env: corpusEnv}
	for i, tc := range corpus {
		t.Run(tc.name, func(t *testing.T) {
			ours, ourErr := r.Render("/etc/dex/config.yaml", []byte(tc.tmpl))
			gomplateOut, gomplateErr := theirs(caseFile(i), tc.tmpl)
			switch {
			case tc.fail != "":
				require.Error(t, ourErr, "the renderer rendered %q", ours)
				require.Error(t, gomplateErr, "gomplate rendered %q", gomplateOut)
			case tc.stricter != "":
				require.Error(t, ourErr, "the renderer rendered %q", ours)
				require.NoError(t, gomplateErr, "gomplate fails too: this is no difference (make it a fail case)")
			default:
				require.NoError(t, ourErr)
				require.NoError(t, gomplateErr)
				assert.Equal(t, gomplateOut, string(ours), "the renderer differs from gomplate")
				assert.Equal(t, tc.want, gomplateOut, "the case's want differs from gomplate")
			}
		})
	}
	for i, name := range corpusFiles {
		t.Run(name, func(t *testing.T) {
			ours, err := r.Render(name, files[name])
			require.NoError(t, err)
			gomplateOut, err := theirs(fileFile(i), string(files[name]))
			require.NoError(t, err)
			assert.Equal(t, gomplateOut, string(ours), "the renderer differs from gomplate")
		})
	}
}

func caseFile(i int) string { return fmt.Sprintf("case-%03d.yaml", i) }

func fileFile(i int) string { return fmt.Sprintf("file-%03d.yaml", i) }

// gomplateBinary builds gomplate from gomplateModule and returns the path
// of the program. `go tool -n` builds a module's tool into the Go build
// cache (once; later calls find it there) and prints its path.
func gomplateBinary(t *testing.T) string {
	t.Helper()
	timeout := 20 * time.Minute
	if deadline, ok := t.Deadline(); ok {
		timeout = min(timeout, time.Until(deadline)-time.Minute)
	}
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	goCmd := func(args ...string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = gomplateModule
		cmd.Env = append(os.Environ(), "GOWORK=off")
		return cmd
	}

	var stderr bytes.Buffer
	build := goCmd("tool", "-n", "gomplate")
	build.Stderr = &stderr
	out, err := build.Output()
	if err == nil {
		return strings.TrimSpace(string(out))
	}
	if ctx.Err() != nil {
		t.Fatalf("building gomplate took over %s: run `go tool -n gomplate` in internal/entrypoint/%s once, then the test again", timeout, gomplateModule)
	}
	// Tell a module proxy that cannot be reached from a build that fails.
	if dl, dlErr := goCmd("mod", "download").CombinedOutput(); dlErr != nil {
		dextest.Unavailable(t, "gomplate cannot be built: its modules cannot be downloaded (is the Go module proxy reachable?): %v\n%s", dlErr, dl)
	}
	t.Fatalf("build gomplate: %v\n%s", err, stderr.String())
	return ""
}

// gomplateBatch renders the templates (file name to text) with gomplate in
// one run, in dir, and returns the output of each.
func gomplateBatch(t *testing.T, bin, dir string, templates map[string]string) (map[string]string, error) {
	t.Helper()
	in, out := filepath.Join(dir, "gomplate-in"), filepath.Join(dir, "gomplate-out")
	require.NoError(t, os.MkdirAll(in, 0o700))
	for name, tmpl := range templates {
		require.NoError(t, os.WriteFile(filepath.Join(in, name), []byte(tmpl), 0o600))
	}
	if _, err := runGomplate(t, bin, dir, "--input-dir", in, "--output-dir", out); err != nil {
		return nil, err
	}
	rendered := make(map[string]string, len(templates))
	for name := range templates {
		b, err := os.ReadFile(filepath.Join(out, name))
		require.NoError(t, err)
		rendered[name] = string(b)
	}
	return rendered, nil
}

// gomplateOne renders one template with gomplate, in dir.
func gomplateOne(t *testing.T, bin, dir, tmpl string) (string, error) {
	t.Helper()
	return runGomplate(t, bin, dir, "--in", tmpl)
}

// runGomplate runs gomplate in dir with corpusEnv as its whole environment,
// and returns its output; an error holds what it printed on stderr.
func runGomplate(t *testing.T, bin, dir string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	for _, name := range slices.Sorted(maps.Keys(corpusEnv)) {
		cmd.Env = append(cmd.Env, name+"="+corpusEnv[name])
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("gomplate: %w: %s", err, stderr.String())
	}
	return stdout.String(), nil
}
