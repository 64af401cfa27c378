package spectrocloud

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// The fuzz targets feed untrusted bytes to every decoder of the connector:
// ID-token claims, the login state Dex hands back, the stored session, and
// the configuration. None may panic; each must answer with a value or an
// error. Seeds live in testdata/fuzz/<target>.

func FuzzClaimsToIdentity(f *testing.F) {
	f.Add([]byte(`{"sub":"u","email":"a@b.c","given_name":"A","family_name":"B","groups":["x",{"name":"y"}],"tenant":"t"}`))
	f.Add([]byte(`{"sub":"u","email":"a@b.c","email_verified":"false","groups":"g"}`))
	f.Add([]byte(`{"sub":1,"email":null,"groups":[1,[2]]}`))
	cfg := validConfig()
	cfg.ClaimModifications = ClaimModifications{
		NewGroupFromClaims: []NewGroupFromClaims{{Claims: []string{"tenant", "sub"}, Delimiter: ":", ClearDelimiter: true, Prefix: "p"}},
		FilterGroupClaims:  FilterGroupClaims{GroupsFilter: "^[a-z]"},
		ModifyGroupNames:   ModifyGroupNames{Prefix: "pre-", Suffix: "-suf"},
	}
	cfg.AllowedGroups = []string{"pre-x-suf"}
	rules, err := cfg.claimRules()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var claims map[string]any
		if json.Unmarshal(data, &claims) != nil {
			return
		}
		id, err := rules.identity(claims)
		if err != nil {
			return
		}
		if id.UserID == "" || id.Email == "" {
			t.Fatalf("identity without user ID or email: %+v", id)
		}
		_ = rules.checkAllowedGroups(id.UserID, id.Groups, nil)
	})
}

func FuzzDecodeLoginState(f *testing.F) {
	f.Add([]byte(`{"v":1,"nonce":"AAAAAAAAAAAAAAAAAAAAAA","pkceVerifier":"abc"}`))
	f.Add([]byte(`{"v":1,"nonce":""}`))
	f.Add([]byte(`{"RefreshToken":"eA=="}`))
	c := &spectroConnector{s: &settings{pkce: pkceS256}}
	f.Fuzz(func(t *testing.T, data []byte) {
		ls, err := c.decodeLoginState(data)
		if err == nil && (ls.Version != loginVersion || len(ls.Nonce) < 22 || ls.Verifier == "") {
			t.Fatalf("accepted an incomplete login state: %+v", ls)
		}
	})
}

func FuzzDecodeSession(f *testing.F) {
	f.Add([]byte(`{"v":1,"idToken":"a.b.c"}`))
	f.Add([]byte(`{"v":1,"idToken":""}`))
	f.Add([]byte(`{"RefreshToken":"eA=="}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		raw, err := decodeSession(data)
		if err == nil && raw == "" {
			t.Fatal("accepted a session without an ID token")
		}
	})
}

func FuzzConfig(f *testing.F) {
	f.Add([]byte(`{"tenant":"t","clientID":"a","clientSecret":"b","redirectURI":"https://d/callback"}`))
	f.Add([]byte(`{"issuer":"https://x/v1/oidc/tenant/t","tenant":"t","consoleURL":"https://x","clientID":"a","clientSecret":"b","redirectURI":"https://d/cb","pkceChallenge":"plain","upstreamTimeout":"1s"}`))
	f.Add([]byte(`{"claimModifications":{"filterGroupClaims":{"groupsFilter":"(["}},"signIn":{"resolvers":[{"resolver":"expression","expression":"claims.email"}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 8<<10 {
			return
		}
		var c Config
		if json.Unmarshal(data, &c) != nil {
			return
		}
		// Sign-in resolvers compile CEL, which is slow per input; they have
		// their own fuzz target in the resolver package.
		c.SignIn = nil
		s, err := c.validate()
		if err == nil && (s.issuer == "" || s.clientID == "" || s.timeout <= 0) {
			t.Fatalf("accepted an incomplete configuration: %+v", s)
		}
	})
}

func FuzzVerifyToken(f *testing.F) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	keys := newKeySet("https://x/keys", nil, func() time.Time { return now }, slog.New(slog.DiscardHandler), nil, defaultJWKSMaxStale)
	keys.keys = []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k", Algorithm: "RS256", Use: "sig"}}
	keys.expiry, keys.lastAttempt = now.Add(time.Hour), now
	v := newVerifier(&endpoints{Issuer: "https://x", Algorithms: []string{"RS256"}}, "c", keys, func() time.Time { return now })

	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithHeader("kid", "k"))
	if err != nil {
		f.Fatal(err)
	}
	for _, claims := range []string{
		`{"iss":"https://x","aud":"c","sub":"u","iat":1800000000,"exp":1800003600,"nonce":"n"}`,
		`{"iss":"https://x","aud":["c","d"],"azp":"c","iat":1.8e9,"exp":1.9e9}`,
		`{"iss":"https://x","aud":"c","exp":"soon"}`,
	} {
		jws, err := signer.Sign([]byte(claims))
		if err != nil {
			f.Fatal(err)
		}
		raw, err := jws.CompactSerialize()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1In0.")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, raw string) {
		tok, err := v.verify(context.Background(), raw, fromOutside)
		if err != nil {
			return
		}
		// Whatever passed must carry the checked claims.
		if tok.claims["iss"] != "https://x" || !now.Before(tok.expiry) {
			t.Fatalf("accepted a token with wrong claims: %v", tok.claims)
		}
	})
}
