// Command mint makes the keys and tokens of a benchmark run: one signing
// key per algorithm (RS256, ES256, EdDSA, HS256), the public halves as JWKS
// files revgate's configurations point at (the HMAC secret as a secret
// file), one token per algorithm for the repeated-token rows, and -distinct
// RS256 tokens, each with its own jti and signature, for the row no cache
// of verified tokens may help.
//
//	mint -dir DIR [-distinct 50000] [-ttl 20h] [-reuse-max-age 12h]
//
// Signing an RS256 token costs about a millisecond, so the distinct set is
// minted on every core and kept: a later run with the same -distinct reuses
// DIR when its tokens are younger than -reuse-max-age (they must stay valid
// for the whole run, and subject marks are placed before the oldest iat).
//
// Files written to DIR:
//
//	rs256.jwks.json es256.jwks.json eddsa.jwks.json   public keys (with kid)
//	hs256.secret                                      HMAC secret
//	token-{rs256,es256,eddsa,hs256}.txt               one token each
//	tokens-rs256-distinct.txt                         -distinct tokens, one a line
//	token-rs256-revoked.txt                           jti meta.revoked_jti
//	meta.json                                         what was minted, when
package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/revgate/revgate/bench/internal/benchdata"
)

// Issuer and Audience are what the bench configurations require.
const (
	Issuer   = "https://issuer.bench.revgate"
	Audience = "bench-api"
	// repeatedSubject is the subject of the repeated tokens: one that the
	// datasets hold a mark for (placed before every token's iat).
	repeatedSubject = 42
	revokedJTI      = "bench-revoked-jti"
)

// Meta describes a minted set; run.sh and load read it.
type Meta struct {
	Created    time.Time `json:"created"`
	OldestIAT  int64     `json:"oldest_iat"`
	ExpiresAt  int64     `json:"expires_at"`
	Distinct   int       `json:"distinct"`
	Issuer     string    `json:"issuer"`
	Audience   string    `json:"audience"`
	RevokedJTI string    `json:"revoked_jti"`
}

func main() {
	dir := flag.String("dir", "", "output directory (required)")
	distinct := flag.Int("distinct", 50_000, "number of distinct RS256 tokens")
	ttl := flag.Duration("ttl", 20*time.Hour, "token lifetime (at most the bench max_token_lifetime, 24h)")
	reuse := flag.Duration("reuse-max-age", 12*time.Hour, "reuse DIR when it holds tokens this young or younger with the same -distinct; 0 never reuses")
	flag.Parse()
	if *dir == "" || *distinct < 1 {
		flag.Usage()
		os.Exit(2)
	}
	if *reuse >= *ttl {
		log.Fatal("-reuse-max-age must be shorter than -ttl, or reused tokens could expire during the run")
	}
	if m, ok := reusable(*dir, *distinct, *reuse); ok {
		fmt.Printf("mint: reusing %d distinct tokens minted %s ago in %s\n", m.Distinct, time.Since(m.Created).Round(time.Second), *dir)
		return
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		log.Fatal(err)
	}
	start := time.Now()
	if err := mintAll(*dir, *distinct, *ttl); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("mint: %d distinct RS256 tokens and one token per algorithm in %s (%s)\n", *distinct, *dir, time.Since(start).Round(time.Millisecond))
}

// reusable reports whether dir already holds a usable set.
func reusable(dir string, distinct int, maxAge time.Duration) (Meta, bool) {
	var m Meta
	if maxAge <= 0 {
		return m, false
	}
	b, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil || json.Unmarshal(b, &m) != nil {
		return m, false
	}
	return m, m.Distinct == distinct && m.Issuer == Issuer && m.Audience == Audience && time.Since(m.Created) < maxAge
}

type signer struct {
	name string // file name stem
	alg  jwa.SignatureAlgorithm
	key  jwk.Key
}

func mintAll(dir string, distinct int, ttl time.Duration) error {
	// meta.json goes last: a half-written directory is never reused.
	_ = os.Remove(filepath.Join(dir, "meta.json"))
	now := time.Now().Truncate(time.Second)

	signers, err := newSigners()
	if err != nil {
		return err
	}
	for _, s := range signers {
		if s.alg == jwa.HS256 {
			var raw []byte
			if err := s.key.Raw(&raw); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, "hs256.secret"), raw, 0o600); err != nil {
				return err
			}
		} else if err := writeJWKS(filepath.Join(dir, s.name+".jwks.json"), s.key); err != nil {
			return err
		}
		tok, err := sign(s, benchdata.Subject(repeatedSubject), randomJTI(), now, ttl)
		if err != nil {
			return err
		}
		if err := writeLines(filepath.Join(dir, "token-"+s.name+".txt"), []string{tok}); err != nil {
			return err
		}
	}
	rs := signers[0]
	revoked, err := sign(rs, benchdata.Subject(repeatedSubject), revokedJTI, now, ttl)
	if err != nil {
		return err
	}
	if err := writeLines(filepath.Join(dir, "token-rs256-revoked.txt"), []string{revoked}); err != nil {
		return err
	}

	tokens := make([]string, distinct)
	var wg sync.WaitGroup
	errs := make([]error, runtime.GOMAXPROCS(0))
	for w := range errs {
		wg.Go(func() {
			for i := w; i < distinct; i += len(errs) {
				tokens[i], errs[w] = sign(rs, benchdata.Subject(i%benchdata.MarkedSubjects), randomJTI(), now, ttl)
				if errs[w] != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := writeLines(filepath.Join(dir, "tokens-rs256-distinct.txt"), tokens); err != nil {
		return err
	}

	m := Meta{
		Created: time.Now(), OldestIAT: now.Unix(), ExpiresAt: now.Add(ttl).Unix(),
		Distinct: distinct, Issuer: Issuer, Audience: Audience, RevokedJTI: revokedJTI,
	}
	b, _ := json.MarshalIndent(m, "", "  ")
	return os.WriteFile(filepath.Join(dir, "meta.json"), b, 0o600)
}

func newSigners() ([]signer, error) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	// 48 printable bytes: config reads the secret file as text, trimming
	// trailing whitespace, so the secret must be text.
	var secret [24]byte
	_, _ = rand.Read(secret[:])
	hmacKey := []byte(hex.EncodeToString(secret[:]))

	out := []signer{
		{name: "rs256", alg: jwa.RS256},
		{name: "es256", alg: jwa.ES256},
		{name: "eddsa", alg: jwa.EdDSA},
		{name: "hs256", alg: jwa.HS256},
	}
	for i, raw := range []any{rsaKey, ecKey, edKey, hmacKey} {
		k, err := jwk.FromRaw(raw)
		if err != nil {
			return nil, err
		}
		_ = k.Set(jwk.KeyIDKey, "bench-"+out[i].name)
		_ = k.Set(jwk.AlgorithmKey, out[i].alg)
		out[i].key = k
	}
	return out, nil
}

func writeJWKS(path string, priv jwk.Key) error {
	pub, err := priv.PublicKey()
	if err != nil {
		return err
	}
	set := jwk.NewSet()
	if err := set.AddKey(pub); err != nil {
		return err
	}
	b, err := json.MarshalIndent(set, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// sign makes a token shaped like a typical access token.
func sign(s signer, subject, jti string, iat time.Time, ttl time.Duration) (string, error) {
	tok, err := jwt.NewBuilder().
		Issuer(Issuer).
		Audience([]string{Audience}).
		Subject(subject).
		JwtID(jti).
		IssuedAt(iat).
		Expiration(iat.Add(ttl)).
		Claim("scope", "orders:read orders:write").
		Build()
	if err != nil {
		return "", err
	}
	b, err := jwt.Sign(tok, jwt.WithKey(s.alg, s.key))
	if err != nil {
		return "", fmt.Errorf("signing %s: %w", s.alg, err)
	}
	return string(b), nil
}

// randomJTI is 128 random bits in hex, as `revgate token mint` makes them.
func randomJTI() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func writeLines(path string, lines []string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for _, l := range lines {
		_, _ = w.WriteString(l)
		_ = w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
