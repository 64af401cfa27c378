package spectrocloud

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The memory of verified tokens never holds more than maxVerifiedTokens,
// however many distinct tokens arrive, and still takes in new ones when
// full.
func TestRuleRememberedTokensBounded(t *testing.T) {
	f := newFixture(t)
	c := f.open()
	memory := rememberedTokens(t, c)

	largest := 0
	for i := range 3 * maxVerifiedTokens {
		sum := syntheticSum(i)
		memory.put(sum, verifiedToken{})
		largest = max(largest, rememberedCount(memory))
		_, ok := memory.get(sum)
		require.True(t, ok, "the newest token is remembered")
	}
	assert.LessOrEqual(t, largest, maxVerifiedTokens)

	// Tokens verified by the connector go through the same bound.
	for i := range 3 {
		claims := f.tenant.Claims(jane, testClientID, "")
		claims["jti"] = "token-" + string(rune('a'+i))
		raw := f.tenant.MintIDToken(claims)
		_, err := c.TokenIdentity(context.Background(), tokenTypeIDToken, raw)
		require.NoError(t, err)
		assert.True(t, isRemembered(memory, raw))
		assert.LessOrEqual(t, rememberedCount(memory), maxVerifiedTokens)
	}
}

// A remembered token is accepted without its claims being checked again
// (only its expiry and its key are); once forgotten to make room, it is
// verified in full again, not accepted on the strength of having been seen.
// The clock moving back makes the difference visible: the token's iat is
// then ten minutes ahead, which only a full verification refuses.
func TestRuleForgottenTokenVerifiedAgain(t *testing.T) {
	f := newFixture(t)
	c := f.open()
	memory := rememberedTokens(t, c)
	session, err := f.login(c, allScopes)
	require.NoError(t, err)
	var stored struct {
		IDToken string `json:"idToken"`
	}
	require.NoError(t, json.Unmarshal(session.ConnectorData, &stored))
	raw := stored.IDToken
	require.True(t, isRemembered(memory, raw))

	f.clock.Advance(-10 * time.Minute)
	_, err = c.Refresh(context.Background(), allScopes, session)
	require.NoError(t, err, "a remembered token is not checked in full")

	// Other tokens fill the memory until this one is forgotten.
	for i := 0; isRemembered(memory, raw); i++ {
		require.Less(t, i, 64*maxVerifiedTokens, "the token was never forgotten")
		memory.put(syntheticSum(i), verifiedToken{})
	}

	_, err = c.Refresh(context.Background(), allScopes, session)
	var invalid *InvalidTokenError
	require.ErrorAs(t, err, &invalid, "a forgotten token is verified in full")
	assert.Equal(t, KindInvalidClaims, invalid.Kind)
	assert.Contains(t, err.Error(), "issued in the future")
	assert.False(t, isRemembered(memory, raw), "a refused token is not remembered")

	f.clock.Advance(10 * time.Minute)
	_, err = c.Refresh(context.Background(), allScopes, session)
	require.NoError(t, err)
	assert.True(t, isRemembered(memory, raw), "verified in full, it is remembered again")
}

// rememberedTokens returns the memory of verified tokens of c's verifier.
func rememberedTokens(t *testing.T, c *spectroConnector) *verifiedTokens {
	t.Helper()
	prov, err := c.providers.get(context.Background())
	require.NoError(t, err)
	return &prov.verifier.verified
}

func rememberedCount(m *verifiedTokens) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}

func isRemembered(m *verifiedTokens, raw string) bool {
	_, ok := m.get(sha256.Sum256([]byte(raw)))
	return ok
}

// syntheticSum is the key of the i-th stand-in for a remembered token.
func syntheticSum(i int) [sha256.Size]byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(i))
	return sha256.Sum256(append([]byte("synthetic\x00"), b[:]...))
}

// The memories of withdrawn keys and of absent key IDs are bounded, keep
// the newest entries, and a withdrawn key is recognised by its material
// under any key ID.
func TestRuleKeyMemoriesBounded(t *testing.T) {
	keyA, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	var w withdrawnKeys
	withdrawnA := jose.JSONWebKey{Key: &keyA.PublicKey, KeyID: "a", Algorithm: "RS256", Use: "sig"}
	w.add(withdrawnA)
	assert.True(t, w.has(jose.JSONWebKey{Key: &keyA.PublicKey, KeyID: "renamed"}), "the same key under another kid")
	assert.True(t, w.hasKeyID("a"))
	assert.False(t, w.hasKeyID("renamed"))
	for i := range 2 * maxWithdrawnKeys {
		seed := make([]byte, ed25519.SeedSize)
		binary.BigEndian.PutUint32(seed, uint32(i))
		w.add(jose.JSONWebKey{Key: ed25519.NewKeyFromSeed(seed).Public(), KeyID: fmt.Sprint("k", i)})
		assert.LessOrEqual(t, len(w.order), maxWithdrawnKeys)
		assert.LessOrEqual(t, len(w.kidOf), maxWithdrawnKeys)
	}
	assert.True(t, w.hasKeyID(fmt.Sprint("k", 2*maxWithdrawnKeys-1)), "the newest is kept")
	assert.False(t, w.has(withdrawnA), "the oldest is forgotten")

	var a absentKeyIDs
	now := time.Unix(1_800_000_000, 0)
	for i := range 2 * maxAbsentKeyIDs {
		a.add(fmt.Sprint("junk", i), now)
		assert.LessOrEqual(t, len(a.since), maxAbsentKeyIDs)
	}
	later := now.Add(minRefetchInterval)
	a.add("new", later)
	assert.True(t, a.recent("new", later), "entries that no longer count make room")
	assert.False(t, a.recent("junk0", later))
	for i := range 2 * maxAbsentKeyIDs {
		a.want(fmt.Sprint("wanted", i))
	}
	assert.LessOrEqual(t, len(a.wanted), maxAbsentKeyIDs)
	a.settle(nil, later)
	assert.Empty(t, a.wanted)
}
