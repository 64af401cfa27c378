package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/dexidp/dex/storage"
	"github.com/dexidp/dex/storage/kubernetes"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/config"
)

// statusError is an error with an HTTP status code, as Dex's kubernetes
// storage's own.
type statusError int

func (e statusError) Error() string   { return http.StatusText(int(e)) }
func (e statusError) StatusCode() int { return int(e) }

func TestCustomResourcesPending(t *testing.T) {
	for _, tc := range []struct {
		name    string
		err     error
		pending bool
	}{
		{"storage not found", storage.ErrNotFound, true},
		{"wrapped not found", fmt.Errorf("list connectors: %w", storage.ErrNotFound), true},
		{"not found as Dex formats it", fmt.Errorf("failed to list connectors: %v", storage.ErrNotFound), true},
		{"status 404", statusError(http.StatusNotFound), true},
		{"status 429", fmt.Errorf("list: %w", statusError(http.StatusTooManyRequests)), true},
		{"429 as Dex formats it", errors.New(`failed to list connectors: GET https://10.0.0.1/apis/dex.coreos.com/v1/namespaces/dex/connectors Too Many Requests: response from server "{\"message\":\"storage is (re)initializing\"}"`), true},
		{"status 403", statusError(http.StatusForbidden), false},
		{"403 as Dex formats it", errors.New(`failed to list connectors: GET https://10.0.0.1/apis/dex.coreos.com/v1/namespaces/dex/connectors Forbidden: response from server "{\"message\":\"connectors.dex.coreos.com is forbidden\"}"`), false},
		{"401 as Dex formats it", errors.New(`failed to list connectors: GET https://10.0.0.1/apis/dex.coreos.com/v1/namespaces/dex/connectors Unauthorized: response from server "{}"`), false},
		{"status 500", statusError(http.StatusInternalServerError), false},
		{"connection refused", fmt.Errorf("failed to list connectors: %v", syscall.ECONNREFUSED), false},
		{"not found in the middle", errors.New("failed to list connectors: user not found in kubeconfig"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.pending, customResourcesPending(tc.err), "%v", tc.err)
		})
	}
}

// fakeAPIServer is a kube-apiserver for Dex's kubernetes storage: it
// serves its version, says every custom resource is defined, and answers
// each list of connectors with the next of its statuses (200 once they are
// used up). It counts the lists.
type fakeAPIServer struct {
	mu       sync.Mutex
	statuses []int
	lists    int
}

func (f *fakeAPIServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.URL.Path == "/version":
		_, _ = w.Write([]byte(`{"gitVersion":"v1.33.0"}`))
	case r.URL.Path == "/apis/dex.coreos.com/v1/namespaces/dex/connectors" && r.URL.Query().Get("limit") == "":
		f.mu.Lock()
		f.lists++
		status := http.StatusOK
		if len(f.statuses) > 0 {
			status, f.statuses = f.statuses[0], f.statuses[1:]
		}
		f.mu.Unlock()
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"kind":"ConnectorList","items":[]}`))
	default:
		// The storage checks that each resource is defined by listing one.
		_, _ = w.Write([]byte(`{"items":[]}`))
	}
}

func (f *fakeAPIServer) listCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lists
}

// openKubeStorage opens Dex's kubernetes storage on an apiserver at url, in
// the namespace dex.
func openKubeStorage(t *testing.T, url string) storage.Storage {
	t.Helper()
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, os.WriteFile(kubeconfig, fmt.Appendf(nil, `apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {server: %q}
users:
- name: test
  user: {token: test}
contexts:
- name: test
  context: {cluster: test, user: test, namespace: dex}
current-context: test
`, url), 0o600))
	s, err := (&kubernetes.Config{KubeConfigFile: kubeconfig}).Open(slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestWaitForCustomResources(t *testing.T) {
	cfg := &config.Config{Storage: config.Storage{Type: "kubernetes"}}
	logger := slog.New(slog.DiscardHandler)

	t.Run("waits while not served", func(t *testing.T) {
		api := &fakeAPIServer{statuses: []int{http.StatusNotFound, http.StatusTooManyRequests}}
		srv := httptest.NewServer(api)
		defer srv.Close()
		s := openKubeStorage(t, srv.URL)
		require.NoError(t, waitForCustomResources(t.Context(), cfg, s, logger))
		assert.Equal(t, 3, api.listCount())
	})

	t.Run("forbidden fails at once", func(t *testing.T) {
		api := &fakeAPIServer{statuses: []int{http.StatusForbidden}}
		srv := httptest.NewServer(api)
		defer srv.Close()
		s := openKubeStorage(t, srv.URL)
		err := waitForCustomResources(t.Context(), cfg, s, logger)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "initialize storage (kubernetes): list Dex's custom resources: ")
		assert.Contains(t, err.Error(), "Forbidden")
		assert.Equal(t, 1, api.listCount(), "no second list after a 403")
	})

	t.Run("cancelled while waiting", func(t *testing.T) {
		api := &fakeAPIServer{statuses: []int{http.StatusNotFound, http.StatusNotFound, http.StatusNotFound, http.StatusNotFound}}
		srv := httptest.NewServer(api)
		defer srv.Close()
		s := openKubeStorage(t, srv.URL)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		err := waitForCustomResources(ctx, cfg, s, logger)
		require.ErrorContains(t, err, "custom resources are not served")
		assert.Equal(t, 1, api.listCount())
	})

	t.Run("other storage types", func(t *testing.T) {
		other := &config.Config{Storage: config.Storage{Type: "sqlite3"}}
		require.NoError(t, waitForCustomResources(t.Context(), other, nil, logger))
	})
}
