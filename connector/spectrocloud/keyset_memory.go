package spectrocloud

import (
	"crypto"
	"encoding/base64"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

const (
	// maxWithdrawnKeys bounds the keys remembered as withdrawn.
	maxWithdrawnKeys = 256
	// maxAbsentKeyIDs bounds the key IDs remembered as absent.
	maxAbsentKeyIDs = 1024
)

// withdrawnKeys remembers the keys that a successful fetch saw withdrawn,
// by thumbprint (the key itself, under any key ID) and by key ID (for the
// answer to a token that names it), the oldest forgotten first past
// maxWithdrawnKeys. Guarded by the key set's lock.
type withdrawnKeys struct {
	order   []string          // thumbprints, oldest first
	kidOf   map[string]string // thumbprint -> key ID
	byKeyID map[string]int    // key ID -> how many remembered keys have it
}

func (w *withdrawnKeys) add(key jose.JSONWebKey) {
	tp := thumbprint(key)
	if tp == "" {
		return
	}
	if w.kidOf == nil {
		w.kidOf, w.byKeyID = make(map[string]string), make(map[string]int)
	}
	if _, ok := w.kidOf[tp]; ok {
		return
	}
	if len(w.order) == maxWithdrawnKeys {
		oldest := w.order[0]
		w.order = w.order[1:]
		kid := w.kidOf[oldest]
		delete(w.kidOf, oldest)
		if w.byKeyID[kid]--; w.byKeyID[kid] == 0 {
			delete(w.byKeyID, kid)
		}
	}
	w.order = append(w.order, tp)
	w.kidOf[tp] = key.KeyID
	w.byKeyID[key.KeyID]++
}

// has reports whether this key, under any key ID, was seen withdrawn.
func (w *withdrawnKeys) has(key jose.JSONWebKey) bool {
	_, ok := w.kidOf[thumbprint(key)]
	return ok
}

// hasKeyID reports whether a key with this ID was seen withdrawn.
func (w *withdrawnKeys) hasKeyID(kid string) bool {
	return w.byKeyID[kid] > 0
}

// thumbprint is the RFC 7638 SHA-256 thumbprint of key, "" when it has
// none.
func thumbprint(key jose.JSONWebKey) string {
	tp, err := key.Thumbprint(crypto.SHA256)
	if err != nil {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(tp)
}

// containsKey reports whether keys hold key's material, under any key ID.
func containsKey(keys []jose.JSONWebKey, key jose.JSONWebKey) bool {
	tp := thumbprint(key)
	for _, k := range keys {
		if thumbprint(k) == tp {
			return true
		}
	}
	return false
}

// absentKeyIDs remembers when a successful fetch showed a key ID absent,
// so that tokens naming it are answered without a new fetch for
// minRefetchInterval. Past maxAbsentKeyIDs, entries that no longer count
// are forgotten first, then new ones are not remembered. Guarded by the
// key set's lock.
type absentKeyIDs struct {
	since  map[string]time.Time
	wanted map[string]struct{} // key IDs callers wait for the running fetch to find
}

// want records that a caller waits for the running fetch to find kid.
func (a *absentKeyIDs) want(kid string) {
	if a.wanted == nil {
		a.wanted = make(map[string]struct{})
	}
	if len(a.wanted) < maxAbsentKeyIDs {
		a.wanted[kid] = struct{}{}
	}
}

// settle records, when a fetch ends, the key IDs waited for that its keys
// (nil when it failed) lack.
func (a *absentKeyIDs) settle(keys []jose.JSONWebKey, now time.Time) {
	if keys != nil {
		for kid := range a.wanted {
			if len(matchKeys(keys, kid)) == 0 {
				a.add(kid, now)
			}
		}
	}
	clear(a.wanted)
}

func (a *absentKeyIDs) add(kid string, at time.Time) {
	if a.since == nil {
		a.since = make(map[string]time.Time)
	}
	if len(a.since) >= maxAbsentKeyIDs {
		for id, t := range a.since {
			if at.Sub(t) >= minRefetchInterval {
				delete(a.since, id)
			}
		}
		if len(a.since) >= maxAbsentKeyIDs {
			return
		}
	}
	a.since[kid] = at
}

// recent reports whether a fetch showed kid absent less than
// minRefetchInterval before now.
func (a *absentKeyIDs) recent(kid string, now time.Time) bool {
	t, ok := a.since[kid]
	return ok && now.Sub(t) < minRefetchInterval
}
