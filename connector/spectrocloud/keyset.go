package spectrocloud

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

const (
	// defaultKeysTTL applies when the JWKS response declares no max-age.
	defaultKeysTTL = time.Hour
	// minKeysTTL and maxKeysTTL bound a declared max-age, so that a
	// max-age=0 cannot turn every verification into a request to Palette.
	minKeysTTL = time.Minute
	maxKeysTTL = 24 * time.Hour
	// minRefetchInterval spaces fetches triggered by unknown key IDs or by a
	// failed fetch, so that junk tokens cannot flood Palette.
	minRefetchInterval = 10 * time.Second
)

// keySet caches Palette's signing keys. Keys are kept for the lifetime the
// JWKS response declares; a failed refetch keeps the previous keys (fail
// static); a successful refetch replaces them, so a withdrawn key stops
// verifying at once; an unknown key ID triggers at most one refetch per
// minRefetchInterval, shared by all concurrent callers.
type keySet struct {
	url     string
	client  *http.Client
	now     func() time.Time
	logger  *slog.Logger
	metrics *Metrics

	mu          sync.Mutex
	keys        []jose.JSONWebKey // from the last successful fetch; never empty once set
	expiry      time.Time         // keys are stale from then on
	lastAttempt time.Time
	lastErr     error
	generation  uint64        // counts successful fetches
	inflight    chan struct{} // closed when the running fetch ends
}

func newKeySet(url string, client *http.Client, now func() time.Time, logger *slog.Logger, metrics *Metrics) *keySet {
	return &keySet{url: url, client: client, now: now, logger: logger, metrics: metrics}
}

// verify checks the signature of jws with the key its header names and
// returns the payload and the generation of the keys that verified it.
func (k *keySet) verify(ctx context.Context, jws *jose.JSONWebSignature) ([]byte, uint64, error) {
	header := jws.Signatures[0].Header
	keys, gen, err := k.keysFor(ctx, header.KeyID)
	if err != nil {
		return nil, 0, err
	}
	var tried bool
	for _, key := range keys {
		if !usableFor(key, header.Algorithm) {
			continue
		}
		tried = true
		if payload, err := jws.Verify(key.Key); err == nil {
			return payload, gen, nil
		}
	}
	if !tried {
		return nil, 0, &InvalidTokenError{Kind: KindUnknownKey, Reason: fmt.Sprintf("Palette publishes no %s key with ID %q", header.Algorithm, header.KeyID)}
	}
	return nil, 0, &InvalidTokenError{Kind: KindInvalidSignature, Reason: "the signature does not verify with Palette's published key"}
}

// usableFor accepts public asymmetric signing keys compatible with alg.
func usableFor(key jose.JSONWebKey, alg string) bool {
	if key.Use != "" && key.Use != "sig" {
		return false
	}
	if key.Algorithm != "" && key.Algorithm != alg {
		return false
	}
	switch key.Key.(type) {
	case *rsa.PublicKey:
		return strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")
	case *ecdsa.PublicKey:
		return strings.HasPrefix(alg, "ES")
	case ed25519.PublicKey:
		return alg == "EdDSA"
	default:
		return false
	}
}

// keysFor returns the cached keys matching kid (all keys when kid is empty)
// and their generation, fetching the JWKS when the cache is empty or stale,
// or once when kid is unknown.
func (k *keySet) keysFor(ctx context.Context, kid string) ([]jose.JSONWebKey, uint64, error) {
	for attempt := 0; ; attempt++ {
		k.mu.Lock()
		now := k.now()
		matching := matchKeys(k.keys, kid)
		fetched := len(k.keys) > 0
		stale := !fetched || !now.Before(k.expiry)
		mayFetch := k.lastAttempt.IsZero() || now.Sub(k.lastAttempt) >= minRefetchInterval
		var wait <-chan struct{}
		if attempt == 0 && (stale || len(matching) == 0) {
			switch {
			case k.inflight != nil && len(matching) == 0:
				wait = k.inflight // join the running fetch
			case mayFetch:
				wait = k.startFetchLocked(now)
			}
		}
		if wait == nil {
			gen, lastErr := k.generation, k.lastErr
			k.mu.Unlock()
			switch {
			case len(matching) > 0:
				return matching, gen, nil
			case !fetched:
				if lastErr == nil {
					lastErr = errors.New("no keys fetched yet")
				}
				return nil, 0, &UpstreamError{Endpoint: "jwks", Err: lastErr}
			default:
				return nil, 0, &InvalidTokenError{Kind: KindUnknownKey, Reason: fmt.Sprintf("Palette publishes no signing key with ID %q", kid)}
			}
		}
		k.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, 0, &UpstreamError{Endpoint: "jwks", Err: ctx.Err()}
		}
	}
}

func matchKeys(keys []jose.JSONWebKey, kid string) []jose.JSONWebKey {
	if kid == "" {
		return keys
	}
	var out []jose.JSONWebKey
	for _, key := range keys {
		if key.KeyID == kid {
			out = append(out, key)
		}
	}
	return out
}

// startFetchLocked starts a fetch unless one runs, and returns a channel
// closed when it ends. The fetch runs detached from the caller's context, so
// that one impatient caller does not fail the fetch for the others; the
// client's timeout bounds it.
func (k *keySet) startFetchLocked(now time.Time) <-chan struct{} {
	if k.inflight != nil {
		return k.inflight
	}
	done := make(chan struct{})
	k.inflight = done
	k.lastAttempt = now
	go func() {
		defer close(done)
		keys, ttl, err := k.fetch(context.Background())
		k.mu.Lock()
		defer k.mu.Unlock()
		k.inflight = nil
		k.lastErr = err
		if err != nil {
			if len(k.keys) > 0 {
				k.logger.Warn("palette signing keys could not be refreshed; keeping the previous keys", "jwks_url", k.url, "err", err)
			} else {
				k.logger.Warn("palette signing keys could not be fetched", "jwks_url", k.url, "err", err)
			}
			return
		}
		k.keys, k.expiry = keys, k.now().Add(ttl)
		k.generation++
		k.logger.Debug("palette signing keys fetched", "jwks_url", k.url, "keys", len(keys), "ttl", ttl)
	}()
	return done
}

// fetch reads the JWKS and its declared lifetime.
func (k *keySet) fetch(ctx context.Context) ([]jose.JSONWebKey, time.Duration, error) {
	k.metrics.jwksFetch()
	start := time.Now()
	keys, ttl, err := k.fetchKeys(ctx)
	k.metrics.upstream("jwks", start, err)
	return keys, ttl, err
}

func (k *keySet) fetchKeys(ctx context.Context) ([]jose.JSONWebKey, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := readBody(resp)
	if err != nil {
		return nil, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	var raw struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, 0, fmt.Errorf("not a JSON Web Key Set: %w", err)
	}
	var keys []jose.JSONWebKey
	for i, rk := range raw.Keys {
		var key jose.JSONWebKey
		if err := key.UnmarshalJSON(rk); err != nil {
			k.logger.Warn("skipping an unusable key in palette's JWKS", "index", i, "err", err)
			continue
		}
		if !key.IsPublic() || !key.Valid() {
			k.logger.Warn("skipping a key that is not a public key in palette's JWKS", "index", i, "kid", key.KeyID)
			continue
		}
		keys = append(keys, key)
	}
	if len(keys) == 0 {
		return nil, 0, fmt.Errorf("the JWKS at %s holds no usable public key", k.url)
	}
	return keys, cacheTTL(resp.Header.Get("Cache-Control")), nil
}

// cacheTTL reads max-age from a Cache-Control header, bounded to
// [minKeysTTL, maxKeysTTL]; defaultKeysTTL when absent.
func cacheTTL(header string) time.Duration {
	for _, directive := range strings.Split(header, ",") {
		name, value, ok := strings.Cut(strings.TrimSpace(directive), "=")
		if !ok || !strings.EqualFold(name, "max-age") {
			continue
		}
		secs, err := strconv.ParseInt(strings.Trim(value, `"`), 10, 64)
		if err != nil || secs < 0 {
			return defaultKeysTTL
		}
		ttl := time.Duration(min(secs, int64(maxKeysTTL/time.Second))) * time.Second
		return max(minKeysTTL, ttl)
	}
	return defaultKeysTTL
}
