package resolver

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/dextest"
)

const testToken = "static-catalog-token"

// newFakeClock returns an injected clock that moves only when told.
func newFakeClock() *dextest.Clock {
	return dextest.NewClock(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
}

// seenRequest is what the fake catalog received.
type seenRequest struct {
	Path          string
	Filters       []string // every filter parameter, decoded
	Authorization string
	Query         map[string][]string
}

// fakeCatalog is a Backstage catalog double: it serves by-query from a list
// of entities, parsing filters the way Backstage does (conditions separated
// by commas, key and value separated by the first =, both trimmed, values
// matched case-insensitively).
type fakeCatalog struct {
	t        testing.TB
	server   *httptest.Server
	entities []map[string]any
	requests atomic.Int64

	mu     sync.Mutex
	seen   []seenRequest
	status int           // when set, answer with this status
	body   string        // when set, answer with this body
	block  chan struct{} // when set, wait on it or on the request's end
}

func newFakeCatalog(t testing.TB, entities ...map[string]any) *fakeCatalog {
	t.Helper()
	f := &fakeCatalog{t: t, entities: entities}
	f.server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.server.Close)
	return f
}

func (f *fakeCatalog) URL() string { return f.server.URL }

func (f *fakeCatalog) last() seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	require.NotEmpty(f.t, f.seen, "the catalog received no request")
	return f.seen[len(f.seen)-1]
}

func (f *fakeCatalog) serve(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	q := r.URL.Query()
	f.mu.Lock()
	f.seen = append(f.seen, seenRequest{
		Path:          r.URL.Path,
		Filters:       q["filter"],
		Authorization: r.Header.Get("Authorization"),
		Query:         q,
	})
	status, body, block := f.status, f.body, f.block
	f.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-r.Context().Done():
			return
		}
	}
	if status != 0 {
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
		return
	}
	if body != "" {
		_, _ = w.Write([]byte(body))
		return
	}
	if r.URL.Path != byQueryPath || r.Header.Get("Authorization") != "Bearer "+testToken {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	var items []map[string]any
	for _, e := range f.entities {
		if matchesAnyFilter(e, q["filter"]) {
			items = append(items, e)
		}
	}
	total := len(items)
	if items == nil {
		items = []map[string]any{}
	}
	if len(items) > 2 {
		items = items[:2]
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"items":      items,
		"totalItems": total,
		"pageInfo":   map[string]any{},
	})
}

// parseBackstageFilter reads one filter parameter as Backstage does.
func parseBackstageFilter(filter string) map[string][]string {
	conds := map[string][]string{}
	for _, stmt := range strings.Split(filter, ",") {
		stmt = strings.TrimSpace(stmt)
		if stmt == "" {
			continue
		}
		key, value, found := strings.Cut(stmt, "=")
		key = strings.TrimSpace(key)
		if !found {
			conds[key] = append(conds[key], "\x00exists")
			continue
		}
		conds[key] = append(conds[key], strings.TrimSpace(value))
	}
	return conds
}

func matchesAnyFilter(e map[string]any, filters []string) bool {
	for _, f := range filters {
		all := true
		for key, values := range parseBackstageFilter(f) {
			got, ok := lookupPath(e, key)
			if !ok {
				all = false
				break
			}
			one := false
			for _, v := range values {
				if v == "\x00exists" || strings.EqualFold(got, v) {
					one = true
				}
			}
			all = all && one
		}
		if all {
			return true
		}
	}
	return false
}

func lookupPath(e map[string]any, path string) (string, bool) {
	var cur any = e
	for _, part := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return "", false
		}
		cur, ok = m[part]
		if !ok {
			return "", false
		}
	}
	s, ok := cur.(string)
	return s, ok
}

// userEntity builds a User entity as the catalog returns it.
func userEntity(namespace, name, email string, memberOf []string, memberOfRelations ...string) map[string]any {
	metadata := map[string]any{"name": name}
	if namespace != "" {
		metadata["namespace"] = namespace
	}
	spec := map[string]any{"profile": map[string]any{"email": email}}
	if memberOf != nil {
		list := make([]any, len(memberOf))
		for i, m := range memberOf {
			list[i] = m
		}
		spec["memberOf"] = list
	}
	var relations []any
	for _, target := range memberOfRelations {
		relations = append(relations, map[string]any{"type": "memberOf", "targetRef": target})
	}
	relations = append(relations, map[string]any{"type": "ownerOf", "targetRef": "component:default/unrelated"})
	return map[string]any{
		"apiVersion": "backstage.io/v1alpha1",
		"kind":       "User",
		"metadata":   metadata,
		"spec":       spec,
		"relations":  relations,
	}
}

func catalogConfig(baseURL string) *CatalogConfig {
	return &CatalogConfig{BaseURL: baseURL, Token: testToken}
}

func mustChain(t testing.TB, cfg Config, opts Options) *Chain {
	t.Helper()
	c, err := New(cfg, opts)
	require.NoError(t, err)
	return c
}

func resolveIn(t testing.TB, c *Chain, in Input) (Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.Resolve(ctx, in)
}
