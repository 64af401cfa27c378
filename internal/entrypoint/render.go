package entrypoint

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"
	"time"
)

// TemplateSuffixes are the file name endings that make an argument of
// `dex serve` a template, as in Dex's image.
var TemplateSuffixes = []string{".tpl", ".tmpl", ".yaml"}

// Renderer renders templates against a fixed environment. The zero value
// renders with an empty environment into os.TempDir.
type Renderer struct {
	// Env holds the environment variables templates see through getenv,
	// env.Getenv and .Env.
	Env map[string]string
	// TempDir is where RenderFile writes; empty means os.TempDir().
	TempDir string

	// timeout and budget replace renderTimeout and functionBudget when set
	// (by tests).
	timeout time.Duration
	budget  int64
}

// EnvFromList turns a list of "NAME=value" entries, as os.Environ returns
// it, into a map.
func EnvFromList(environ []string) map[string]string {
	env := make(map[string]string, len(environ))
	for _, kv := range environ {
		if name, value, ok := strings.Cut(kv, "="); ok && name != "" {
			env[name] = value
		}
	}
	return env
}

// IsTemplate reports whether an argument of `dex serve` names a template.
func IsTemplate(arg string) bool {
	for _, suffix := range TemplateSuffixes {
		if strings.HasSuffix(arg, suffix) {
			return true
		}
	}
	return false
}

// notProvided matches text/template's errors for a function that is not
// defined, and for one that a namespace (strings, conv, ...) does not have.
var notProvided = regexp.MustCompile(`function "[^"]*" not defined|can't evaluate field \w+ in type \*entrypoint\.\w+Funcs`)

// withHint adds where to read what is provided to an error of a function
// that is not.
func withHint(err error) error {
	if notProvided.MatchString(err.Error()) {
		return fmt.Errorf("%w (dex-spectro renders with text/template and the gomplate functions listed in docs/operations.md under \"Config templates\")", err)
	}
	return err
}

// Render renders src, the content of the file name, and returns the
// result. Errors name the file and, from text/template, the line and the
// action or function that failed; they never contain a rendered value.
// A render that passes one of its limits (time, template calls, what its
// functions produce, the size of the result) stops with an error that
// names the limit.
func (r *Renderer) Render(name string, src []byte) ([]byte, error) {
	if len(src) > MaxTemplateSize {
		return nil, fmt.Errorf("template %s: %w: over %d bytes", name, ErrTooLarge, MaxTemplateSize)
	}
	x := r.newRun()
	t, err := template.New(name).Option("missingkey=error").Funcs(x.funcs()).Parse(string(src))
	if err != nil {
		return nil, withHint(err)
	}
	x.bound(t)
	out := &limitedBuffer{max: maxOutputSize, run: x}
	err = t.Execute(out, &tmplContext{env: x.env})
	var rangeErr *rangeError
	switch {
	case err == nil:
		return out.Bytes(), nil
	case x.stopped != nil:
		return nil, fmt.Errorf("template %s: %w", name, x.stopped)
	case errors.Is(err, errOutputTooLarge):
		return nil, fmt.Errorf("template %s: %w: over %d bytes", name, errOutputTooLarge, maxOutputSize)
	case errors.As(err, &rangeErr):
		return nil, rangeErr.in(err)
	}
	return nil, withHint(err)
}

// RenderFile renders the template at path into a new private file (mode
// 0600) in TempDir and returns the new file's path. The caller removes it.
func (r *Renderer) RenderFile(path string) (string, error) {
	src, err := readTemplate(path)
	if err != nil {
		return "", err
	}
	out, err := r.Render(path, src)
	if err != nil {
		return "", err
	}
	dir := r.TempDir
	if dir == "" {
		dir = os.TempDir()
	}
	// CreateTemp creates the file with mode 0600.
	f, err := os.CreateTemp(dir, "dex-config-*"+filepath.Ext(path))
	if err != nil {
		return "", fmt.Errorf("template %s: create the rendered file (set TMPDIR to a writable directory): %w", path, err)
	}
	if _, err := f.Write(out); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", fmt.Errorf("template %s: write the rendered file: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("template %s: write the rendered file: %w", path, err)
	}
	return f.Name(), nil
}

// RenderArgs renders every argument that names a template (see
// IsTemplate) and returns the arguments with each template replaced by its
// rendered file, and a function that removes the rendered files. On error,
// nothing is left behind.
func (r *Renderer) RenderArgs(args []string) (rendered []string, cleanup func(), err error) {
	var files []string
	cleanup = func() {
		for _, f := range files {
			os.Remove(f)
		}
	}
	rendered = make([]string, len(args))
	for i, arg := range args {
		if !IsTemplate(arg) {
			rendered[i] = arg
			continue
		}
		out, err := r.RenderFile(arg)
		if err != nil {
			cleanup()
			return nil, func() {}, err
		}
		files = append(files, out)
		rendered[i] = out
	}
	return rendered, cleanup, nil
}

// LooksLikeTemplate reports whether data holds a template action, for
// commands that do not render to warn about a file that needs rendering.
func LooksLikeTemplate(data []byte) bool {
	return bytes.Contains(data, []byte("{{"))
}

func readTemplate(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read template: %w", err)
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, MaxTemplateSize+1))
	if err != nil {
		return nil, fmt.Errorf("read template %s: %w", path, err)
	}
	return src, nil
}
