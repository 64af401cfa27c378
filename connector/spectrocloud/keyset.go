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
	// defaultKeysTTL applies when the JWKS response declares no lifetime.
	defaultKeysTTL = time.Hour
	// minKeysTTL applies to a JWKS response that may not be cached
	// (max-age=0, no-cache, no-store, or an unreadable max-age), so that it
	// cannot turn every verification into a request to Palette. A declared
	// max-age of one second or more is honoured as it is, up to maxKeysTTL.
	minKeysTTL = 5 * time.Second
	maxKeysTTL = 24 * time.Hour
	// minRefetchInterval spaces the refetches that tokens from outside
	// (token exchange) trigger with unknown key IDs, the retries after a
	// failed fetch, and the refetches for one key ID that a fetch showed
	// absent, so that junk tokens and replays cannot flood Palette.
	minRefetchInterval = 10 * time.Second
)

// defaultJWKSMaxStale is how long past their declared lifetime Palette's
// signing keys keep serving refresh and sign-in while they cannot be
// fetched again, when jwksMaxStale is not configured.
const defaultJWKSMaxStale = 4 * time.Hour

// tokenSource says where a token to verify comes from. It decides how an
// unknown key ID is treated.
type tokenSource int

const (
	// fromPalette is a token just received from Palette's token endpoint,
	// over TLS and for our client secret, or one Dex stored after such a
	// sign-in (refresh). Its key ID is trustworthy: an unknown one refetches
	// the keys at once, whenever the last fetch was.
	fromPalette tokenSource = iota
	// fromOutside is a token a client presents (token exchange). An unknown
	// key ID refetches the keys at most once per minRefetchInterval.
	fromOutside
)

// keySet caches Palette's signing keys. Keys are kept for the lifetime the
// JWKS response declares. Past it they are stale: a failed refetch keeps
// them (fail static) for tokens from Palette, up to maxStale past their
// lifetime, and never for tokens from outside. A successful refetch
// replaces them, so a withdrawn key stops verifying at once, and a key
// seen withdrawn is never used again, even when a later fetch serves it.
// An unknown key ID means the key was withdrawn only when a successful
// fetch lacks it (or a successful fetch saw it withdrawn); when the refetch
// fails or is skipped, the answer is a passing upstream fault. A key ID
// that a fetch showed absent is answered so, without a new fetch, for
// minRefetchInterval. Concurrent callers share one fetch.
type keySet struct {
	url      string
	client   *http.Client
	now      func() time.Time
	logger   *slog.Logger
	metrics  *connectorMetrics
	maxStale time.Duration

	mu          sync.Mutex
	keys        []jose.JSONWebKey // from the last successful fetch; never empty once set
	expiry      time.Time         // keys are stale from then on
	fetchedAt   time.Time         // when the last successful fetch ended
	lastAttempt time.Time         // when the last fetch started
	lastErr     error             // the outcome of the last fetch that ended
	generation  uint64            // counts successful fetches
	started     uint64            // counts fetches started
	ended       uint64            // counts fetches ended; they end in the order they start
	inflight    chan struct{}     // closed when the running fetch ends
	withdrawn   withdrawnKeys     // keys a successful fetch saw withdrawn
	absent      absentKeyIDs      // key IDs a successful fetch showed absent
}

func newKeySet(url string, client *http.Client, now func() time.Time, logger *slog.Logger, metrics *connectorMetrics, maxStale time.Duration) *keySet {
	return &keySet{url: url, client: client, now: now, logger: logger, metrics: metrics, maxStale: maxStale}
}

// verify checks the signature of jws with the key its header names and
// returns the payload and the generation of the keys that verified it.
func (k *keySet) verify(ctx context.Context, jws *jose.JSONWebSignature, src tokenSource) ([]byte, uint64, error) {
	header := jws.Signatures[0].Header
	keys, gen, err := k.keysFor(ctx, header.KeyID, src)
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
// and their generation. Stale keys are refetched first; an unknown kid
// refetches as src allows. Waits end with ctx; on a context from
// PrepareRefresh there are none.
func (k *keySet) keysFor(ctx context.Context, kid string, src tokenSource) ([]jose.JSONWebKey, uint64, error) {
	k.mu.Lock()
	begun := k.started // fetches started before this call
	waited := false
	for {
		matching := matchKeys(k.keys, kid)
		if len(matching) == 0 && k.absent.recent(kid, k.now()) {
			// A fetch just showed it absent: replays cost Palette nothing.
			defer k.mu.Unlock()
			return nil, 0, k.unknownKeyError(kid)
		}
		wait := k.fetchToWaitForLocked(len(matching) > 0, src, begun, waited)
		if wait == nil || prepared(ctx) {
			// Inside Dex's storage transaction nothing waits: the keys
			// answer as they are, and a fetch that was due runs beside.
			defer k.mu.Unlock()
			return k.answerLocked(kid, matching, src, begun)
		}
		if len(matching) == 0 {
			// The fetch records kid absent if it lacks it, so that callers
			// waking after it do not fetch again.
			k.absent.want(kid)
		}
		k.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, 0, &UpstreamError{Endpoint: "jwks", Err: ctx.Err()}
		}
		waited = true
		k.mu.Lock()
	}
}

// fetchToWaitForLocked decides whether the caller must wait for a fetch,
// starting one where needed; nil means the cache answers as it is.
func (k *keySet) fetchToWaitForLocked(found bool, src tokenSource, begun uint64, waited bool) <-chan struct{} {
	now := k.now()
	stale := len(k.keys) == 0 || !now.Before(k.expiry)
	// A fetch may start at any time unless the last one failed recently.
	retryAllowed := k.lastErr == nil || now.Sub(k.lastAttempt) >= minRefetchInterval
	spaced := k.lastAttempt.IsZero() || now.Sub(k.lastAttempt) >= minRefetchInterval
	switch {
	case found && !stale:
		return nil
	case found:
		// Past their declared lifetime the keys are fetched again, once
		// per call; when that is not allowed they are used as they are.
		if waited {
			return nil
		}
		if k.inflight != nil || retryAllowed {
			return k.startFetchLocked(now)
		}
		return nil
	case src == fromPalette:
		// Wait for a fetch that started after this call began.
		if k.ended > begun {
			return nil
		}
		if k.inflight != nil || retryAllowed {
			return k.startFetchLocked(now)
		}
		return nil
	default:
		if waited {
			return nil
		}
		if k.inflight != nil || (spaced && retryAllowed) {
			return k.startFetchLocked(now)
		}
		return nil
	}
}

// answerLocked turns the state of the cache into the answer to keysFor.
func (k *keySet) answerLocked(kid string, matching []jose.JSONWebKey, src tokenSource, begun uint64) ([]jose.JSONWebKey, uint64, error) {
	if len(matching) > 0 {
		if err := k.staleLocked(src); err != nil {
			return nil, 0, err
		}
		return matching, k.generation, nil
	}
	if len(k.keys) == 0 {
		err := k.lastErr
		if err == nil {
			err = errors.New("no keys fetched yet")
		}
		return nil, 0, &UpstreamError{Endpoint: "jwks", Err: err}
	}
	// Only a successful fetch that lacks the key proves it withdrawn; for a
	// token from Palette, that fetch must have started after this call. A
	// key ID a successful fetch saw withdrawn stays so while the refetch
	// fails.
	fresh := k.lastErr == nil && (src != fromPalette || k.ended > begun)
	if fresh {
		k.absent.add(kid, k.fetchedAt)
		return nil, 0, k.unknownKeyError(kid)
	}
	if k.withdrawn.hasKeyID(kid) {
		return nil, 0, k.unknownKeyError(kid)
	}
	return nil, 0, &UpstreamError{Endpoint: "jwks", Err: fmt.Errorf("no key with ID %q is known, and Palette's keys could not be fetched again: %w", kid, k.failureLocked())}
}

// unknownKeyError says that Palette publishes no key with this ID, or has
// withdrawn it.
func (k *keySet) unknownKeyError(kid string) error {
	if k.withdrawn.hasKeyID(kid) {
		return &InvalidTokenError{Kind: KindUnknownKey, Reason: fmt.Sprintf("Palette withdrew its signing key with ID %q", kid)}
	}
	return &InvalidTokenError{Kind: KindUnknownKey, Reason: fmt.Sprintf("Palette publishes no signing key with ID %q", kid)}
}

// staleLocked refuses stale keys: for tokens from outside at once, for
// tokens from Palette once they are past their lifetime by maxStale. A
// fetch was attempted, or was not due, before this is asked.
func (k *keySet) staleLocked(src tokenSource) error {
	now := k.now()
	if now.Before(k.expiry) {
		return nil
	}
	since := k.expiry.UTC().Format(time.RFC3339)
	switch {
	case src == fromOutside:
		return &UpstreamError{Endpoint: "jwks", Err: fmt.Errorf("Palette's signing keys are past their lifetime (since %s) and could not be fetched again, "+
			"and tokens from outside are verified with current keys only: %w", since, k.failureLocked())}
	case now.Sub(k.expiry) >= k.maxStale:
		return &UpstreamError{Endpoint: "jwks", Err: fmt.Errorf("Palette's signing keys are past their lifetime (since %s) and could not be fetched again "+
			"for longer than jwksMaxStale (%s): %w", since, k.maxStale, k.failureLocked())}
	}
	return nil
}

// failureLocked is why the keys are not current: the last fetch's error.
func (k *keySet) failureLocked() error {
	switch {
	case k.inflight != nil && k.lastErr == nil:
		return errors.New("a refetch is under way")
	case k.lastErr == nil:
		return errors.New("a refetch is not due yet")
	}
	return k.lastErr
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
	k.started++
	go func() {
		defer close(done)
		keys, ttl, err := k.fetch(context.Background())
		k.mu.Lock()
		defer k.mu.Unlock()
		k.inflight = nil
		k.ended++
		if err == nil {
			keys, err = k.acceptLocked(keys)
		}
		k.absent.settle(keys, k.now())
		k.lastErr = err
		if err != nil {
			if len(k.keys) > 0 {
				k.logger.Warn("palette signing keys could not be refreshed; keeping the previous keys for tokens from Palette",
					"jwks_url", k.url, "err", err, "stale_since", k.expiry, "kept_until", k.expiry.Add(k.maxStale))
			} else {
				k.logger.Warn("palette signing keys could not be fetched", "jwks_url", k.url, "err", err)
			}
			return
		}
		k.keys, k.expiry, k.fetchedAt = keys, k.now().Add(ttl), k.now()
		k.generation++
		k.logger.Debug("palette signing keys fetched", "jwks_url", k.url, "keys", len(keys), "ttl", ttl)
	}()
	return done
}

// acceptLocked takes the keys of a successful fetch: keys seen withdrawn
// before are left out, with a warning, and the previous keys the fetch
// lacks are withdrawn. It fails when no key is left, and then records
// nothing: a stale answer holding only withdrawn keys withdraws none of the
// current ones.
func (k *keySet) acceptLocked(fetched []jose.JSONWebKey) ([]jose.JSONWebKey, error) {
	kept := make([]jose.JSONWebKey, 0, len(fetched))
	for _, key := range fetched {
		if k.withdrawn.has(key) {
			k.logger.Warn("palette's key set holds a key it withdrew earlier; the key is ignored", "jwks_url", k.url, "kid", key.KeyID)
			continue
		}
		kept = append(kept, key)
	}
	if len(kept) == 0 {
		return nil, errors.New("every key in Palette's key set was withdrawn earlier")
	}
	now := k.now()
	for _, old := range k.keys {
		if !containsKey(fetched, old) {
			k.withdrawn.add(old)
			if len(matchKeys(fetched, old.KeyID)) == 0 {
				k.absent.add(old.KeyID, now)
			}
			k.logger.Info("palette withdrew a signing key; tokens it signed are refused from now on", "kid", old.KeyID)
		}
	}
	return kept, nil
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

// cacheTTL reads the lifetime a JWKS response declares in Cache-Control:
// max-age from one second up to maxKeysTTL as it is; minKeysTTL for a
// response that may not be cached (max-age=0, no-cache, no-store) or whose
// max-age cannot be read; defaultKeysTTL when nothing is declared.
func cacheTTL(header string) time.Duration {
	ttl := defaultKeysTTL
	for _, directive := range strings.Split(header, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(directive), "=")
		switch strings.ToLower(name) {
		case "no-cache", "no-store":
			return minKeysTTL
		case "max-age":
			secs, err := strconv.ParseInt(strings.Trim(value, `"`), 10, 64)
			switch {
			case err != nil || secs <= 0:
				ttl = minKeysTTL
			default:
				ttl = time.Duration(min(secs, int64(maxKeysTTL/time.Second))) * time.Second
			}
		}
	}
	return ttl
}
