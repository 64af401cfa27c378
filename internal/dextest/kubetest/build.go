package kubetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/mod/modfile"
)

const (
	// mainModule is the module whose test/kube-apiserver directory holds
	// the versions.
	mainModule = "github.com/dex-spectro/dex-spectro"
	// versionsDir is that directory, relative to the module's root.
	versionsDir = "test/kube-apiserver"
	// kubernetesModule is the module kube-apiserver is built from.
	kubernetesModule = "k8s.io/kubernetes"
	// apiserverPackage is kube-apiserver's main package.
	apiserverPackage = kubernetesModule + "/cmd/kube-apiserver"
	// binaryName is the name of the built program in the cache.
	binaryName = "kube-apiserver"
	// buildOutputTail is how much of go build's output a failed build
	// reports.
	buildOutputTail = 4096
)

// Version is a kube-apiserver version the tests can build and run: a Go
// module of its own under test/kube-apiserver.
type Version struct {
	// Name is the module's directory name: the Kubernetes minor version,
	// "1.34".
	Name string
	// Release is the version of k8s.io/kubernetes the module requires,
	// "v1.34.2".
	Release string
	// Dir is the module's directory.
	Dir string
}

// String returns the release and the module's directory name.
func (v Version) String() string { return v.Release + " (" + versionsDir + "/" + v.Name + ")" }

// VersionsEnv names the variable that limits the versions tests run to a
// comma-separated list of names ("1.34,1.37"); unset, they run every
// version.
const VersionsEnv = "DEX_SPECTRO_TEST_KUBE_VERSIONS"

// Versions returns the versions of the repository the process runs in
// (found from the working directory up), oldest first: all of them, or
// those VersionsEnv names.
func Versions() ([]Version, error) {
	all, err := allVersions()
	if err != nil {
		return nil, err
	}
	only := os.Getenv(VersionsEnv)
	if only == "" {
		return all, nil
	}
	var versions []Version
	for _, name := range strings.Split(only, ",") {
		i := slices.IndexFunc(all, func(v Version) bool { return v.Name == strings.TrimSpace(name) })
		if i < 0 {
			return nil, fmt.Errorf("%s names %q, which is not a version under %s", VersionsEnv, name, versionsDir)
		}
		versions = append(versions, all[i])
	}
	slices.SortFunc(versions, func(a, b Version) int { return compareMinor(a.Name, b.Name) })
	return slices.CompactFunc(versions, func(a, b Version) bool { return a.Name == b.Name }), nil
}

// allVersions returns every version, oldest first.
func allVersions() ([]Version, error) {
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(filepath.Join(root, versionsDir))
	if err != nil {
		return nil, fmt.Errorf("kube-apiserver versions: %w", err)
	}
	var versions []Version
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		v, err := readVersion(filepath.Join(root, versionsDir, e.Name()))
		if errors.Is(err, fs.ErrNotExist) {
			continue // not a module
		}
		if err != nil {
			return nil, err
		}
		versions = append(versions, v)
	}
	slices.SortFunc(versions, func(a, b Version) int { return compareMinor(a.Name, b.Name) })
	return versions, nil
}

// LookupVersion returns the version named name ("1.34"), whatever
// VersionsEnv says.
func LookupVersion(name string) (Version, error) {
	versions, err := allVersions()
	if err != nil {
		return Version{}, err
	}
	for _, v := range versions {
		if v.Name == name {
			return v, nil
		}
	}
	return Version{}, fmt.Errorf("no kube-apiserver version %s under %s", name, versionsDir)
}

// readVersion reads the module of one version.
func readVersion(dir string) (Version, error) {
	path := filepath.Join(dir, "go.mod")
	data, err := os.ReadFile(path)
	if err != nil {
		return Version{}, err
	}
	f, err := modfile.ParseLax(path, data, nil)
	if err != nil {
		return Version{}, fmt.Errorf("kube-apiserver version: %w", err)
	}
	v := Version{Name: filepath.Base(dir), Dir: dir}
	for _, r := range f.Require {
		if r.Mod.Path == kubernetesModule {
			v.Release = r.Mod.Version
		}
	}
	if v.Release == "" {
		return Version{}, fmt.Errorf("kube-apiserver version: %s does not require %s", path, kubernetesModule)
	}
	if !strings.HasPrefix(v.Release, "v"+v.Name+".") {
		return Version{}, fmt.Errorf("kube-apiserver version: %s requires %s %s, not a %s release", path, kubernetesModule, v.Release, v.Name)
	}
	return v, nil
}

// compareMinor orders "1.9" before "1.34".
func compareMinor(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		na, errA := strconv.Atoi(pa[i])
		nb, errB := strconv.Atoi(pb[i])
		if errA != nil || errB != nil {
			return strings.Compare(a, b)
		}
		if na != nb {
			return na - nb
		}
	}
	return len(pa) - len(pb)
}

// moduleRoot finds the main module's directory from the working directory
// up: go test runs a package's tests in the package's directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find %s: %w", mainModule, err)
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && modfile.ModulePath(data) == mainModule {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("find %s: no go.mod of it in the working directory or above", mainModule)
		}
		dir = parent
	}
}

// buildFlags are the flags of go build: a static binary without debug
// information, with the version kube-apiserver reports (/version) set as
// Kubernetes' release builds set it.
func buildFlags(v Version) []string {
	major, minor, _ := strings.Cut(v.Name, ".")
	const pkg = "k8s.io/component-base/version"
	ldflags := []string{
		"-s", "-w",
		"-X", pkg + ".gitVersion=" + v.Release,
		"-X", pkg + ".gitMajor=" + major,
		"-X", pkg + ".gitMinor=" + minor,
		"-X", pkg + ".gitTreeState=clean",
	}
	return []string{"-trimpath", "-ldflags=" + strings.Join(ldflags, " ")}
}

// buildEnv is the environment of go build: the process's, without cgo (as
// Kubernetes builds kube-apiserver), without a workspace, and with the
// module's go.sum as the only source of truth.
func buildEnv() []string {
	env := append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off")
	return append(env, "GOFLAGS="+strings.TrimSpace(os.Getenv("GOFLAGS")+" -mod=readonly"))
}

// cacheRoot is the directory of the built binaries.
func cacheRoot() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("kube-apiserver cache: %w", err)
	}
	return filepath.Join(dir, "dex-spectro", binaryName), nil
}

// cacheKey identifies a build: the module (go.mod and go.sum), the Go
// version that builds it, the GOFLAGS and GOEXPERIMENT it builds with (the
// caller's, which buildEnv passes on), the platform and the flags.
func cacheKey(ctx context.Context, v Version) (string, error) {
	h := sha256.New()
	for _, name := range []string{"go.mod", "go.sum"} {
		data, err := os.ReadFile(filepath.Join(v.Dir, name))
		if err != nil {
			return "", fmt.Errorf("kube-apiserver %s: %w", v.Name, err)
		}
		fmt.Fprintf(h, "%s %d\n", name, len(data))
		h.Write(data)
	}
	cmd := exec.CommandContext(ctx, "go", "env", "GOVERSION", "GOFLAGS", "GOEXPERIMENT")
	cmd.Dir, cmd.Env = v.Dir, buildEnv()
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("kube-apiserver %s: go env: %w", v.Name, commandError(err))
	}
	fmt.Fprintf(h, "go env\n%s\n%s/%s\n%q\n", bytes.TrimSpace(out), runtime.GOOS, runtime.GOARCH, buildFlags(v))
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// binaryPath returns where the binary of v is cached.
func binaryPath(ctx context.Context, v Version) (string, error) {
	root, err := cacheRoot()
	if err != nil {
		return "", err
	}
	key, err := cacheKey(ctx, v)
	if err != nil {
		return "", err
	}
	return filepath.Join(root, v.Release+"-"+key, binaryName), nil
}

// Cached returns the path of the binary of v and whether it is built.
func Cached(ctx context.Context, v Version) (string, bool, error) {
	path, err := binaryPath(ctx, v)
	if err != nil {
		return "", false, err
	}
	_, err = os.Stat(path)
	return path, err == nil, nil
}

// Build returns the path of the kube-apiserver binary of v, building it
// with `go build` first unless it is cached. A cold build downloads the
// module's dependencies and takes minutes; with the Go build cache filled, a
// rebuild takes seconds. Builds of one version, in this process or others,
// take turns; a new build removes the cached binaries of the version's
// earlier modules.
func Build(ctx context.Context, v Version) (string, error) {
	path, err := binaryPath(ctx, v)
	if err != nil {
		return "", err
	}
	if err := build(ctx, v, path); err != nil {
		return "", err
	}
	return path, nil
}

// build is Build once the binary's path is known (binaryPath), so that a
// caller that looked in the cache first computes the key once.
func build(ctx context.Context, v Version, path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("kube-apiserver cache: %w", err)
	}
	unlock, err := lockFile(ctx, filepath.Join(filepath.Dir(dir), v.Release+".lock"))
	if err != nil {
		return fmt.Errorf("kube-apiserver %s: %w", v.Release, err)
	}
	defer unlock()
	if _, err := os.Stat(path); err == nil {
		return nil
	}

	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("kube-apiserver cache: %w", err)
	}
	tmp, err := os.CreateTemp(dir, binaryName+".*.tmp")
	if err != nil {
		return fmt.Errorf("kube-apiserver cache: %w", err)
	}
	_ = tmp.Close()
	defer os.Remove(tmp.Name())

	args := append([]string{"build"}, buildFlags(v)...)
	args = append(args, "-o", tmp.Name(), apiserverPackage)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir, cmd.Env = v.Dir, buildEnv()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build kube-apiserver %s in %s: %w\n%s", v.Release, v.Dir, commandError(err), tail(out.Bytes(), buildOutputTail))
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("kube-apiserver cache: %w", err)
	}
	removeStale(filepath.Dir(dir), v.Release, filepath.Base(dir))
	return nil
}

// removeStale removes the cached builds of release other than keep.
func removeStale(root, release, keep string) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.IsDir() && e.Name() != keep && strings.HasPrefix(e.Name(), release+"-") {
			_ = os.RemoveAll(filepath.Join(root, e.Name()))
		}
	}
}

// commandError adds what a command wrote to standard error, when it
// failed with an exit status and captured nothing else.
func commandError(err error) error {
	var exit *exec.ExitError
	if errors.As(err, &exit) && len(exit.Stderr) > 0 {
		return fmt.Errorf("%w: %s", err, bytes.TrimSpace(tail(exit.Stderr, buildOutputTail)))
	}
	return err
}

// tail returns the last n bytes of b at most.
func tail(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	return b[len(b)-n:]
}
