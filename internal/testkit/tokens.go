package testkit

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

// The issuer and audience of tokens minted by Mint.
const (
	Issuer   = "https://issuer.test"
	Audience = "api"
)

var (
	rsaKeyOnce sync.Once
	rsaKey     jwk.Key
)

// SigningKey is one RS256 key (kid "k1") per test binary: generating
// 2048-bit keys is slow under -race.
func SigningKey(tb testing.TB) jwk.Key {
	tb.Helper()
	rsaKeyOnce.Do(func() {
		raw, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		k, err := jwk.FromRaw(raw)
		if err != nil {
			panic(err)
		}
		_ = k.Set(jwk.KeyIDKey, "k1")
		_ = k.Set(jwk.AlgorithmKey, jwa.RS256)
		rsaKey = k
	})
	return rsaKey
}

// RSAKey generates a fresh 2048-bit RSA key.
func RSAKey(tb testing.TB) *rsa.PrivateKey {
	tb.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// JWKSFile writes the public halves of keys as a JWKS file in a temporary
// directory and returns its path.
func JWKSFile(tb testing.TB, keys ...jwk.Key) string {
	tb.Helper()
	set := jwk.NewSet()
	for _, k := range keys {
		pub, err := k.PublicKey()
		if err != nil {
			tb.Fatal(err)
		}
		_ = set.AddKey(pub)
	}
	b, err := json.Marshal(set)
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(tb.TempDir(), "jwks.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// Token describes a token for Mint; zero values get defaults.
type Token struct {
	Sub   any       // default "alice"
	JTI   string    // default random; "-" for none
	IAT   time.Time // default five seconds ago
	NoIAT bool
	Exp   time.Time // default in an hour
	Extra map[string]any
	Key   jwk.Key // default SigningKey, with RS256
	Alg   jwa.SignatureAlgorithm
}

// RandomJTI returns a fresh random jti.
func RandomJTI() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Mint signs a token with Issuer and Audience and c's claims.
func Mint(tb testing.TB, c Token) string {
	tb.Helper()
	now := time.Now()
	b := jwt.NewBuilder().Issuer(Issuer).Audience([]string{Audience})
	if c.JTI == "" {
		c.JTI = RandomJTI()
	}
	if c.JTI != "-" {
		b = b.JwtID(c.JTI)
	}
	if c.Sub == nil {
		c.Sub = "alice"
	}
	b = b.Claim("sub", c.Sub)
	if !c.NoIAT {
		if c.IAT.IsZero() {
			c.IAT = now.Add(-5 * time.Second)
		}
		b = b.IssuedAt(c.IAT)
	}
	if c.Exp.IsZero() {
		c.Exp = now.Add(time.Hour)
	}
	b = b.Expiration(c.Exp)
	for k, v := range c.Extra {
		b = b.Claim(k, v)
	}
	token, err := b.Build()
	if err != nil {
		tb.Fatal(err)
	}
	key, alg := c.Key, c.Alg
	if key == nil {
		key, alg = SigningKey(tb), jwa.RS256
	}
	signed, err := jwt.Sign(token, jwt.WithKey(alg, key))
	if err != nil {
		tb.Fatal(err)
	}
	return string(signed)
}
