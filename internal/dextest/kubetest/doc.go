// Package kubetest runs a real Kubernetes control plane for tests: the
// kube-apiserver program itself, built from Kubernetes' Go module, in front
// of an etcd server in the test's process (package etcdtest), on loopback
// ports, until the test ends.
//
// Each Kubernetes version the tests run is a Go module of its own under
// test/kube-apiserver/<major.minor>/ (a go.mod and go.sum that require
// k8s.io/kubernetes at one release and replace its staging modules with the
// published ones), so that the main module's k8s.io dependencies are not
// touched. Build compiles cmd/kube-apiserver from such a module with
// `go build` and keeps the binary in the user's cache directory, keyed by
// the module's content, the Go version and the GOFLAGS and GOEXPERIMENT it
// builds with; the Go build cache makes a rebuild after a change fast.
// `go run ./test/kube-apiserver` builds every version ahead of the tests.
//
// Start starts a built kube-apiserver with a generated serving certificate,
// a generated service-account key pair, a static admin token and RBAC
// authorization, plus the flags a test gives (--oidc-*,
// --authentication-config), and waits until it is ready.
//
// When a version cannot be built (no Go module proxy, not enough time left
// before the test's deadline), the tests that need it are skipped with a
// message that says what to do, or fail when CI=true.
package kubetest
