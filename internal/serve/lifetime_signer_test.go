package serve

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dexidp/dex/connector"
	"github.com/dexidp/dex/storage"
	"github.com/dexidp/dex/storage/memory"

	"github.com/dex-spectro/dex-spectro/internal/connhook"
)

// recordingSigner returns the payload it is asked to sign.
type recordingSigner struct{}

func (recordingSigner) Sign(_ context.Context, payload []byte) (string, error) {
	return string(payload), nil
}
func (recordingSigner) ValidationKeys(context.Context) ([]*jose.JSONWebKey, error) { return nil, nil }
func (recordingSigner) Algorithm(context.Context) (jose.SignatureAlgorithm, error) {
	return jose.RS256, nil
}
func (recordingSigner) Start(context.Context) {}

// sessionData is connector data holding a Palette ID token with this exp.
func sessionData(exp time.Time) []byte {
	payload := base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf(`{"exp":%d}`, exp.Unix())))
	return []byte(`{"v":1,"idToken":"eyJhbGciOiJSUzI1NiJ9.` + payload + `.c2ln"}`)
}

func TestLifetimeSigner(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	store := storage.WithStaticConnectors(memory.New(slog.New(slog.DiscardHandler)), []storage.Connector{
		{ID: "spectrocloud", Type: "spectrocloud", Name: "SpectroCloud"},
		{ID: "mock", Type: "mockCallback", Name: "Mock"},
	})
	require.NoError(t, store.CreateOfflineSessions(context.Background(), storage.OfflineSessions{
		UserID: "stored", ConnID: "spectrocloud", Refresh: map[string]*storage.RefreshTokenRef{},
		ConnectorData: sessionData(now.Add(10 * time.Minute)),
	}))
	conns := testLookup(t, store, map[string]connector.Connector{"spectrocloud": sessionConnector{}, "mock": plainConnector{}})
	s, err := newLifetimeSigner(recordingSigner{}, store, conns, func() time.Time { return now })
	require.NoError(t, err)
	payload := func(userID, connID string) []byte {
		return []byte(fmt.Sprintf(`{"iss":"https://dex","sub":%q,"aud":"c","exp":%d,"iat":%d}`,
			encodeDexPair(userID, connID), now.Add(time.Hour).Unix(), now.Unix()))
	}
	withEnd := func(end time.Time) context.Context {
		ctx, rec := connhook.WithRecorder(context.Background())
		connhook.RecordSignInEnd(ctx, end)
		return withSigning(ctx, &signing{recorder: rec})
	}
	expOf := func(t *testing.T, signed string) int64 {
		var claims struct {
			Exp int64 `json:"exp"`
		}
		require.NoError(t, json.Unmarshal([]byte(signed), &claims))
		return claims.Exp
	}

	tests := []struct {
		name    string
		ctx     context.Context
		userID  string
		connID  string
		wantExp time.Time
		wantErr string
	}{
		{name: "capped at the sign-in recorded for the request", ctx: withEnd(now.Add(40 * time.Second)), userID: "u", connID: "spectrocloud", wantExp: now.Add(40 * time.Second)},
		{name: "a sign-in that ends after Dex's lifetime changes nothing", ctx: withEnd(now.Add(2 * time.Hour)), userID: "u", connID: "spectrocloud", wantExp: now.Add(time.Hour)},
		{name: "a refresh without a recorded end: the offline session's", ctx: withSigning(context.Background(), &signing{offlineSession: true}), userID: "stored", connID: "spectrocloud", wantExp: now.Add(10 * time.Minute)},
		{name: "any other request without a recorded end: nothing is signed", ctx: withSigning(context.Background(), &signing{}), userID: "stored", connID: "spectrocloud", wantErr: "is not known: sign in again"},
		{name: "a request that did not pass signInLifetimes: nothing is signed", ctx: context.Background(), userID: "stored", connID: "spectrocloud", wantErr: "is not known: sign in again"},
		{name: "a stored sign-in that cannot be read: nothing is signed", ctx: withSigning(context.Background(), &signing{offlineSession: true, storedErr: errors.New("bad data")}), userID: "stored", connID: "spectrocloud", wantErr: "cannot be read: sign in again: bad data"},
		{name: "a refresh without an offline session: nothing is signed", ctx: withSigning(context.Background(), &signing{offlineSession: true}), userID: "u", connID: "spectrocloud", wantErr: "is not known"},
		{name: "another connector's tokens are left alone", ctx: context.Background(), userID: "u", connID: "mock", wantExp: now.Add(time.Hour)},
		{name: "no end known: nothing is signed", ctx: context.Background(), userID: "u", connID: "spectrocloud", wantErr: "is not known"},
		{name: "an ended sign-in: nothing is signed", ctx: withEnd(now), userID: "u", connID: "spectrocloud", wantErr: "sign in again"},
		{name: "an unknown connector: nothing is signed", ctx: context.Background(), userID: "u", connID: "gone", wantErr: "look up connector"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			signed, err := s.Sign(tt.ctx, payload(tt.userID, tt.connID))
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				assert.Empty(t, signed)
				if sg := signingFrom(tt.ctx); sg != nil && strings.Contains(tt.wantErr, "sign in again") {
					require.NotEmpty(t, sg.refused(), "the client is told why")
					assert.Contains(t, err.Error(), sg.refused())
					assert.NotContains(t, sg.refused(), "bad data", "and nothing internal")
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantExp.Unix(), expOf(t, signed))
		})
	}
}

func TestDexPairDecodesSubjects(t *testing.T) {
	p, err := newDexPair()
	require.NoError(t, err)
	userID, connID, err := p.decode(encodeDexPair("CgR1c2Vy", "spectrocloud"))
	require.NoError(t, err)
	assert.Equal(t, "CgR1c2Vy", userID)
	assert.Equal(t, "spectrocloud", connID)

	for _, bad := range []string{"not base64!", base64.RawURLEncoding.EncodeToString([]byte{0x0a, 0x05, 'a'})} {
		_, _, err := p.decode(bad)
		assert.Error(t, err, bad)
	}
}

// rsaSigner signs as Dex's local signer does, with an RSA-2048 key.
type rsaSigner struct {
	recordingSigner
	signer jose.Signer
}

func (s rsaSigner) Sign(_ context.Context, payload []byte) (string, error) {
	jws, err := s.signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// BenchmarkLifetimeSigner measures what capping adds to signing a token for
// a spectrocloud identity, next to the bare RSA signer in the same run.
func BenchmarkLifetimeSigner(b *testing.B) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(b, err)
	js, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, nil)
	require.NoError(b, err)
	base := rsaSigner{signer: js}
	store := storage.WithStaticConnectors(memory.New(slog.New(slog.DiscardHandler)), []storage.Connector{
		{ID: "spectrocloud", Type: "spectrocloud", Name: "SpectroCloud"},
	})
	now := time.Now()
	capped, err := newLifetimeSigner(base, store, testLookup(b, store, map[string]connector.Connector{"spectrocloud": sessionConnector{}}), func() time.Time { return now })
	require.NoError(b, err)
	payload := []byte(fmt.Sprintf(`{"iss":"https://dex.example.com","sub":%q,"aud":"backstage","exp":%d,"iat":%d,"email":"jane@example.com","email_verified":true,"groups":["platform","admins"],"name":"Jane Doe"}`,
		encodeDexPair("user-jane", "spectrocloud"), now.Add(time.Hour).Unix(), now.Unix()))
	ctx, rec := connhook.WithRecorder(context.Background())
	connhook.RecordSignInEnd(ctx, now.Add(40*time.Second))
	ctx = withSigning(ctx, &signing{recorder: rec})
	for _, bb := range []struct {
		name string
		s    interface {
			Sign(context.Context, []byte) (string, error)
		}
	}{{"bare", base}, {"capped", capped}} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bb.s.Sign(ctx, payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
