package kubetest

import (
	"testing"
	"time"

	"github.com/dex-spectro/dex-spectro/internal/dextest"
)

// buildAllowance is the time a test must have left before its deadline to
// start a cold build of kube-apiserver (about six minutes on two idle
// cores).
const buildAllowance = 20 * time.Minute

// Binary returns the path of the kube-apiserver binary of v for a test,
// building it first when it is not cached and the test has the time. When
// the binary cannot be had, the test is skipped with a message that says
// how to get it, or fails when CI=true.
func Binary(t testing.TB, v Version) string {
	t.Helper()
	path, ok, err := Cached(t.Context(), v)
	if err != nil {
		dextest.Unavailable(t, "kube-apiserver %s: %v", v, err)
	}
	if ok {
		return path
	}
	if deadline, has := testDeadline(t); has && time.Until(deadline) < buildAllowance {
		dextest.Unavailable(t, "kube-apiserver %s is not built yet, and a first build takes several minutes "+
			"(the test has %v left): build it ahead with `go run ./%s %s`, or give go test -timeout 60m",
			v, time.Until(deadline).Round(time.Second), versionsDir, v.Name)
	}
	t.Logf("building kube-apiserver %s: several minutes the first time (`go run ./%s` builds every version ahead)", v, versionsDir)
	start := time.Now()
	if err := build(t.Context(), v, path); err != nil {
		dextest.Unavailable(t, "kube-apiserver %s cannot be built: %v", v, err)
	}
	t.Logf("built kube-apiserver %s in %v", v, time.Since(start).Round(time.Second))
	return path
}

// testDeadline is t's deadline, for a *testing.T.
func testDeadline(t testing.TB) (time.Time, bool) {
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		return d.Deadline()
	}
	return time.Time{}, false
}

// RequireVersions returns the versions under test/kube-apiserver; the test
// fails at once if they cannot be read or there are none.
func RequireVersions(t testing.TB) []Version {
	t.Helper()
	versions, err := Versions()
	if err != nil {
		t.Fatal(err)
	}
	if len(versions) == 0 {
		t.Fatalf("no kube-apiserver version under %s", versionsDir)
	}
	return versions
}
