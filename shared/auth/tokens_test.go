package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"rampart/shared/domain"
)

var testNow = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func fixedClock() time.Time { return testNow }

func mustKey(t testing.TB) SigningKey {
	t.Helper()
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newTokens(keys Keys) *Tokens {
	return &Tokens{Keys: keys, Issuer: "rampart", Audience: "rampart-api", TTL: 15 * time.Minute, Clock: fixedClock}
}

// goodClaims are the claims Mint would write at testNow.
func goodClaims() jwt.MapClaims {
	return jwt.MapClaims{
		"iss": "rampart", "aud": []string{"rampart-api"}, "sub": "01JUSER0000000000000000000",
		"iat": testNow.Unix(), "nbf": testNow.Unix(), "exp": testNow.Add(15 * time.Minute).Unix(),
		"jti": "01JTOKEN000000000000000000", "sid": "01JSESSION0000000000000000",
	}
}

// sign builds a token with any method, key and header: attacks need tokens
// Mint would never make.
func sign(t testing.TB, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return s
}

func b64(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// with returns goodClaims changed by fn.
func with(fn func(c jwt.MapClaims)) jwt.MapClaims {
	c := goodClaims()
	fn(c)
	return c
}

func TestVerifyRejectsAttacks(t *testing.T) {
	key := mustKey(t)
	pub := key.Key.Public().(ed25519.PublicKey)
	other := mustKey(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tokens := newTokens(NewStaticKeys(&key))
	eddsa := func(c jwt.MapClaims) string { return sign(t, jwt.SigningMethodEdDSA, key.Key, key.ID, c) }
	good := eddsa(goodClaims())
	parts := strings.Split(good, ".")

	cases := []struct {
		name  string
		token string
	}{
		{"alg none", b64(map[string]string{"alg": "none", "typ": "JWT", "kid": key.ID}) + "." + parts[1] + "."},
		{"alg none with the good signature", b64(map[string]string{"alg": "none", "typ": "JWT", "kid": key.ID}) + "." + parts[1] + "." + parts[2]},
		{"alg NONE", b64(map[string]string{"alg": "NONE", "kid": key.ID}) + "." + parts[1] + "."},
		{"HS256 keyed with the public key bytes", sign(t, jwt.SigningMethodHS256, []byte(pub), key.ID, goodClaims())},
		{"HS256 keyed with the PEM public key", func() string {
			p, _ := EncodePublic(pub)
			return sign(t, jwt.SigningMethodHS256, p, key.ID, goodClaims())
		}()},
		{"RS256", sign(t, jwt.SigningMethodRS256, rsaKey, key.ID, goodClaims())},
		{"Ed25519 signature by a key not in the set, under the right kid", sign(t, jwt.SigningMethodEdDSA, other.Key, key.ID, goodClaims())},
		{"wrong issuer", eddsa(with(func(c jwt.MapClaims) { c["iss"] = "evil" }))},
		{"missing issuer", eddsa(with(func(c jwt.MapClaims) { delete(c, "iss") }))},
		{"wrong audience", eddsa(with(func(c jwt.MapClaims) { c["aud"] = []string{"other-api"} }))},
		{"missing audience", eddsa(with(func(c jwt.MapClaims) { delete(c, "aud") }))},
		{"expired", eddsa(with(func(c jwt.MapClaims) {
			c["iat"], c["nbf"], c["exp"] = testNow.Add(-time.Hour).Unix(), testNow.Add(-time.Hour).Unix(), testNow.Add(-time.Minute).Unix()
		}))},
		{"not yet valid beyond the leeway", eddsa(with(func(c jwt.MapClaims) { c["nbf"] = testNow.Add(Leeway + time.Minute).Unix() }))},
		{"issued in the future", eddsa(with(func(c jwt.MapClaims) {
			c["iat"] = testNow.Add(Leeway + time.Minute).Unix()
			c["exp"] = testNow.Add(time.Hour).Unix()
		}))},
		{"missing exp", eddsa(with(func(c jwt.MapClaims) { delete(c, "exp") }))},
		{"exp not a number", eddsa(with(func(c jwt.MapClaims) { c["exp"] = "tomorrow" }))},
		{"missing sub", eddsa(with(func(c jwt.MapClaims) { delete(c, "sub") }))},
		{"empty sub", eddsa(with(func(c jwt.MapClaims) { c["sub"] = "" }))},
		{"tampered payload", parts[0] + "." + b64(with(func(c jwt.MapClaims) { c["sub"] = "01JADMIN000000000000000000" })) + "." + parts[2]},
		{"tampered signature", parts[0] + "." + parts[1] + "." + flipLast(parts[2])},
		{"signature removed", parts[0] + "." + parts[1] + "."},
		{"unknown kid", sign(t, jwt.SigningMethodEdDSA, key.Key, "no-such-key", goodClaims())},
		{"missing kid", sign(t, jwt.SigningMethodEdDSA, key.Key, "", goodClaims())},
		{"kid not a string", func() string {
			tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, goodClaims())
			tok.Header["kid"] = 7
			s, _ := tok.SignedString(key.Key)
			return s
		}()},
		{"two segments", parts[0] + "." + parts[1]},
		{"garbage", "not-a-token"},
		{"empty", ""},
		{"padded base64 (strict decoding)", parts[0] + "." + parts[1] + "==." + parts[2]},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tokens.Verify(context.Background(), tc.token)
			if err == nil {
				t.Fatalf("accepted: %+v", c)
			}
			if !domain.Is(err, domain.KindUnauthenticated) {
				t.Fatalf("error kind = %v, want unauthenticated: %v", domain.KindOf(err), err)
			}
			var de *domain.Error
			if errors.As(err, &de) && de.Message != "invalid or expired token" {
				t.Errorf("message %q tells the caller more than it should", de.Message)
			}
			if c.Subject != "" || c.Issuer != "" || c.ExpiresAt != nil {
				t.Errorf("claims returned with the error: %+v", c)
			}
		})
	}
}

func flipLast(sig string) string {
	b, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		panic(err)
	}
	b[len(b)-1] ^= 0x01
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestVerifyAcceptsGoodTokens(t *testing.T) {
	key := mustKey(t)
	tokens := newTokens(NewStaticKeys(&key))
	ctx := context.Background()

	minted, exp, err := tokens.Mint(ctx, "01JUSER0000000000000000000", "01JSESSION0000000000000000")
	if err != nil {
		t.Fatal(err)
	}
	if want := testNow.Add(15 * time.Minute); !exp.Equal(want) {
		t.Errorf("exp = %v, want %v", exp, want)
	}
	c, err := tokens.Verify(ctx, minted)
	if err != nil {
		t.Fatalf("minted token refused: %v", err)
	}
	if c.Subject != "01JUSER0000000000000000000" || c.SessionID != "01JSESSION0000000000000000" || c.Issuer != "rampart" || c.ID == "" {
		t.Errorf("claims = %+v", c)
	}
	tok, _, err := jwt.NewParser().ParseUnverified(minted, &jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	if tok.Header["alg"] != Algorithm || tok.Header["kid"] != key.ID {
		t.Errorf("header = %v", tok.Header)
	}
	for _, claim := range []string{"iss", "aud", "sub", "exp", "iat", "nbf", "jti", "sid"} {
		if _, ok := (*tok.Claims.(*jwt.MapClaims))[claim]; !ok {
			t.Errorf("minted token lacks %q", claim)
		}
	}

	// Clock skew within the leeway is tolerated on every time claim.
	skew := Leeway - 5*time.Second
	for name, c := range map[string]jwt.MapClaims{
		"expired within the leeway":       with(func(c jwt.MapClaims) { c["exp"] = testNow.Add(-skew).Unix(); c["iat"] = testNow.Add(-time.Hour).Unix() }),
		"not yet valid within the leeway": with(func(c jwt.MapClaims) { c["nbf"] = testNow.Add(skew).Unix() }),
		"issued just in the future":       with(func(c jwt.MapClaims) { c["iat"] = testNow.Add(skew).Unix() }),
		"without nbf":                     with(func(c jwt.MapClaims) { delete(c, "nbf") }),
		"audience among others":           with(func(c jwt.MapClaims) { c["aud"] = []string{"other", "rampart-api"} }),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := tokens.Verify(ctx, sign(t, jwt.SigningMethodEdDSA, key.Key, key.ID, c)); err != nil {
				t.Fatalf("refused: %v", err)
			}
		})
	}
}

func TestKeyRotation(t *testing.T) {
	ctx := context.Background()
	oldKey, newKey := mustKey(t), mustKey(t)
	oldPub := oldKey.Key.Public().(ed25519.PublicKey)

	before := newTokens(NewStaticKeys(&oldKey))
	oldToken, _, err := before.Mint(ctx, "01JUSER0000000000000000000", "s")
	if err != nil {
		t.Fatal(err)
	}

	// After rotation the new key signs; the old public key is still in the set.
	during := newTokens(NewStaticKeys(&newKey, oldPub))
	if _, err := during.Verify(ctx, oldToken); err != nil {
		t.Fatalf("token of the previous key refused while its public key is in the set: %v", err)
	}
	newToken, _, err := during.Mint(ctx, "01JUSER0000000000000000000", "s")
	if err != nil {
		t.Fatal(err)
	}
	if kid := headerKid(t, newToken); kid != newKey.ID {
		t.Errorf("new token signed with kid %q, want the new key %q", kid, newKey.ID)
	}
	if _, err := during.Verify(ctx, newToken); err != nil {
		t.Fatalf("new token refused: %v", err)
	}
	// A verify-only process with both public keys accepts both.
	verifier := newTokens(NewStaticKeys(nil, oldPub, newKey.Key.Public().(ed25519.PublicKey)))
	for _, tok := range []string{oldToken, newToken} {
		if _, err := verifier.Verify(ctx, tok); err != nil {
			t.Errorf("verify-only key set refused a token: %v", err)
		}
	}
	if _, _, err := verifier.Mint(ctx, "u", "s"); err == nil {
		t.Error("a verify-only key set minted a token")
	}

	// Once the old public key leaves the set, its tokens die.
	after := newTokens(NewStaticKeys(&newKey))
	if _, err := after.Verify(ctx, oldToken); !domain.Is(err, domain.KindUnauthenticated) {
		t.Fatalf("token of a retired key: err = %v, want unauthenticated", err)
	}
}

func headerKid(t *testing.T, token string) string {
	t.Helper()
	tok, _, err := jwt.NewParser().ParseUnverified(token, &jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := tok.Header["kid"].(string)
	return kid
}

// failingKeys is a key source that is down: Verify must still answer 401,
// and Mint must report the error.
type failingKeys struct{}

func (failingKeys) Signing(context.Context) (SigningKey, error) {
	return SigningKey{}, errors.New("secrets unavailable")
}
func (failingKeys) Public(context.Context, string) (ed25519.PublicKey, error) {
	return nil, errors.New("secrets unavailable")
}

func TestKeySourceDown(t *testing.T) {
	key := mustKey(t)
	tok := sign(t, jwt.SigningMethodEdDSA, key.Key, key.ID, goodClaims())
	tokens := newTokens(failingKeys{})
	if _, err := tokens.Verify(context.Background(), tok); !domain.Is(err, domain.KindUnauthenticated) {
		t.Errorf("Verify with keys down: %v", err)
	}
	if _, _, err := tokens.Mint(context.Background(), "u", "s"); err == nil {
		t.Error("Mint with keys down succeeded")
	}
}

func FuzzVerify(f *testing.F) {
	key, err := GenerateKey()
	if err != nil {
		f.Fatal(err)
	}
	tokens := newTokens(NewStaticKeys(&key))
	good, _, err := tokens.Mint(context.Background(), "01JUSER0000000000000000000", "s")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add("e30.e30.")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := tokens.Verify(context.Background(), s)
		if err != nil {
			if !domain.Is(err, domain.KindUnauthenticated) {
				t.Fatalf("error kind %v", domain.KindOf(err))
			}
			return
		}
		if c.Subject == "" {
			t.Fatalf("accepted a token without subject: %q", s)
		}
	})
}
