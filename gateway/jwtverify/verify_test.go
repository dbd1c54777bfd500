package jwtverify

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/revgate/revgate/config"
	"github.com/revgate/revgate/internal/testkit"
)

// Everything here is prefixed vt so it cannot clash with the other test
// files of the package.

// vtNow is the fixed clock of most verifier tests.
var vtNow = time.Unix(1_700_000_000, 0)

// vtKeySet holds real keys, generated once per test binary.
type vtKeySet struct {
	rsaA, rsaB, rsaEvil *rsa.PrivateKey
	rsaSmall            *rsa.PrivateKey // 1024 bits: must be refused
	ec                  *ecdsa.PrivateKey
	ec384               *ecdsa.PrivateKey
	ed                  ed25519.PrivateKey
	edEvil              ed25519.PrivateKey
	hmac                []byte
}

var vtKeys = sync.OnceValue(func() *vtKeySet {
	check := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	// 64 bytes: long enough for HS512 (RFC 7518 §3.2).
	k := &vtKeySet{hmac: []byte("0123456789abcdef0123456789abcdef-hmac-secret-0123456789abcdef-xy")}
	var err error
	k.rsaA, err = rsa.GenerateKey(rand.Reader, 2048)
	check(err)
	k.rsaB, err = rsa.GenerateKey(rand.Reader, 2048)
	check(err)
	k.rsaEvil, err = rsa.GenerateKey(rand.Reader, 2048)
	check(err)
	k.rsaSmall, err = rsa.GenerateKey(rand.Reader, 1024)
	check(err)
	k.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	check(err)
	k.ec384, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	check(err)
	_, k.ed, err = ed25519.GenerateKey(rand.Reader)
	check(err)
	_, k.edEvil, err = ed25519.GenerateKey(rand.Reader)
	check(err)
	return k
})

func vtB64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// vtSign builds a compact JWS by hand so tests control every byte. hdr is a
// map merged over {"alg": alg} or a raw JSON string; claims is a map, a raw
// JSON string or []byte. alg "none" gets an empty signature.
func vtSign(t testing.TB, alg string, key any, hdr any, claims any) string {
	t.Helper()
	var hb []byte
	switch h := hdr.(type) {
	case string:
		hb = []byte(h)
	case map[string]any:
		m := map[string]any{"alg": alg}
		maps.Copy(m, h)
		hb = vtJSON(t, m)
	case nil:
		hb = vtJSON(t, map[string]any{"alg": alg})
	default:
		t.Fatalf("vtSign: header %T", hdr)
	}
	var pb []byte
	switch c := claims.(type) {
	case string:
		pb = []byte(c)
	case []byte:
		pb = c
	default:
		pb = vtJSON(t, c)
	}
	input := vtB64(hb) + "." + vtB64(pb)
	if alg == "none" {
		return input + "."
	}
	signer, err := jws.NewSigner(jwa.SignatureAlgorithm(alg))
	if err != nil {
		t.Fatalf("signer %s: %v", alg, err)
	}
	sig, err := signer.Sign([]byte(input), key)
	if err != nil {
		t.Fatalf("sign %s: %v", alg, err)
	}
	return input + "." + vtB64(sig)
}

func vtJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// vtDel removes a claim in vtClaims overrides.
type vtDelete struct{}

var vtDel = vtDelete{}

// vtClaims is a valid claim set for the standard verifier at vtNow, with
// overrides applied.
func vtClaims(over map[string]any) map[string]any {
	c := map[string]any{
		"iss":        "https://issuer.example",
		"aud":        "api",
		"sub":        "alice",
		"jti":        "jti-1",
		"iat":        vtNow.Unix() - 60,
		"exp":        vtNow.Unix() + 600,
		"token_type": "access",
		"ver":        42,
	}
	for k, v := range over {
		if v == vtDel {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return c
}

func vtWrite(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// vtPEM writes pub as a PKIX "PUBLIC KEY" PEM file.
func vtPEM(t testing.TB, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return vtWrite(t, "key.pem", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// vtJWK converts a key to a JWK with kid and alg ("" leaves them out).
func vtJWK(t testing.TB, raw any, kid, alg string) jwk.Key {
	t.Helper()
	k, err := jwk.FromRaw(raw)
	if err != nil {
		t.Fatal(err)
	}
	if kid != "" {
		_ = k.Set(jwk.KeyIDKey, kid)
	}
	if alg != "" {
		_ = k.Set(jwk.AlgorithmKey, alg)
	}
	return k
}

func vtJWKS(t testing.TB, keys ...jwk.Key) []byte {
	t.Helper()
	set := jwk.NewSet()
	for _, k := range keys {
		if err := set.AddKey(k); err != nil {
			t.Fatal(err)
		}
	}
	return vtJSON(t, set)
}

// vtClock is a settable clock.
type vtClock struct{ ns atomic.Int64 }

func newVTClock(t time.Time) *vtClock {
	c := &vtClock{}
	c.ns.Store(t.UnixNano())
	return c
}
func (c *vtClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *vtClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// vtStandardConfig is the verifier most tests use: a kid-less RSA PEM key,
// a JWKS file (RSA with alg RS256, EC and Ed25519 without alg), an HMAC
// secret, iss, aud and required claims.
func vtStandardConfig(t testing.TB) VerifierConfig {
	k := vtKeys()
	jwksFile := vtWrite(t, "jwks.json", vtJWKS(t,
		vtJWK(t, &k.rsaB.PublicKey, "rsa-b", "RS256"),
		vtJWK(t, &k.ec.PublicKey, "ec-1", ""),
		vtJWK(t, k.ed.Public(), "ed-1", ""),
	))
	return VerifierConfig{
		JWT: config.JWT{
			JWKSFile:              jwksFile,
			PublicKeyFiles:        []string{vtPEM(t, &k.rsaA.PublicKey)},
			HMACSecret:            string(k.hmac),
			Algorithms:            []string{"RS256", "PS256", "ES256", "EdDSA", "HS256"},
			Issuer:                config.StringList{"https://issuer.example", "https://other.example"},
			Audience:              config.StringList{"api", "admin-api"},
			Leeway:                30 * time.Second,
			RequiredClaims:        map[string]any{"token_type": "access", "ver": 42},
			RefreshRequiredClaims: map[string]any{"token_type": "refresh"},
		},
		MaxTokenLifetime: time.Hour,
		Now:              func() time.Time { return vtNow },
	}
}

func vtNewVerifier(t testing.TB, cfg VerifierConfig) *Verifier {
	t.Helper()
	v, err := NewVerifier(t.Context(), cfg)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return v
}

// vtWantErr checks err is a *TokenError wrapping want (nil: no error) and
// that its description leaks nothing of the token.
func vtWantErr(t *testing.T, raw string, err, want error, secrets ...string) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("Verify: %v, want success", err)
		}
		return
	}
	var te *TokenError
	if !errors.As(err, &te) {
		t.Fatalf("Verify error = %v (%T), want a *TokenError wrapping %q", err, err, want)
	}
	if !errors.Is(err, want) {
		t.Fatalf("Verify error = %q (%v), want %q", te.Description, te.Err, want)
	}
	if te.Description == "" {
		t.Fatal("empty description")
	}
	leaks := append([]string{raw}, secrets...)
	for _, part := range strings.Split(raw, ".") {
		if len(part) > 8 {
			leaks = append(leaks, part)
		}
	}
	for _, s := range leaks {
		if s != "" && strings.Contains(te.Description, s) {
			t.Fatalf("description %q leaks %q", te.Description, s)
		}
	}
}

func TestVerifyAcceptsValidTokensFromEveryKeySource(t *testing.T) {
	k := vtKeys()
	claims := vtClaims(nil)
	// One JWKS, served by URL and written to a file.
	jwks := vtJWKS(t,
		vtJWK(t, &k.rsaA.PublicKey, "rsa-a", ""),
		vtJWK(t, &k.ec.PublicKey, "ec-1", "ES256"),
		vtJWK(t, k.ed.Public(), "ed-1", "EdDSA"),
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(jwks)
	}))
	t.Cleanup(srv.Close)
	jwksFile := vtWrite(t, "jwks.json", jwks)
	octFile := vtWrite(t, "oct.json", vtJWKS(t, vtJWK(t, k.hmac, "hmac-1", "HS256")))

	certDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "issuer"},
		NotBefore: vtNow.Add(-time.Hour), NotAfter: vtNow.Add(time.Hour),
	}, &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "issuer"}}, &k.rsaA.PublicKey, k.rsaA)
	if err != nil {
		t.Fatal(err)
	}
	certFile := vtWrite(t, "cert.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER}))
	pkcs1File := vtWrite(t, "pkcs1.pem", pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&k.rsaA.PublicKey)}))

	algs := []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA", "HS256", "HS384", "HS512"}
	tests := []struct {
		name   string
		jwt    config.JWT
		alg    string
		key    any
		kid    string
		source string
	}{
		{"an RS256 token signed by a jwks_url key is accepted", config.JWT{JWKSURL: srv.URL}, "RS256", k.rsaA, "rsa-a", sourceJWKSURL},
		{"a PS256 token signed by a jwks_url RSA key without alg is accepted", config.JWT{JWKSURL: srv.URL}, "PS256", k.rsaA, "rsa-a", sourceJWKSURL},
		{"an ES256 token signed by a jwks_url key is accepted", config.JWT{JWKSURL: srv.URL}, "ES256", k.ec, "ec-1", sourceJWKSURL},
		{"an EdDSA token signed by a jwks_url key is accepted", config.JWT{JWKSURL: srv.URL}, "EdDSA", k.ed, "ed-1", sourceJWKSURL},
		{"an RS256 token signed by a jwks_file key is accepted", config.JWT{JWKSFile: jwksFile}, "RS256", k.rsaA, "rsa-a", sourceJWKSFile},
		{"an ES256 token signed by a jwks_file key is accepted", config.JWT{JWKSFile: jwksFile}, "ES256", k.ec, "ec-1", sourceJWKSFile},
		{"an EdDSA token signed by a jwks_file key is accepted", config.JWT{JWKSFile: jwksFile}, "EdDSA", k.ed, "ed-1", sourceJWKSFile},
		{"an HS256 token signed by a jwks_file oct key is accepted", config.JWT{JWKSFile: octFile}, "HS256", k.hmac, "hmac-1", sourceJWKSFile},
		{"an RS256 token signed by a PKIX PEM key is accepted", config.JWT{PublicKeyFiles: []string{vtPEM(t, &k.rsaA.PublicKey)}}, "RS256", k.rsaA, "", sourcePEM},
		{"an RS512 token signed by a PKCS#1 PEM key is accepted", config.JWT{PublicKeyFiles: []string{pkcs1File}}, "RS512", k.rsaA, "", sourcePEM},
		{"a PS384 token signed by a certificate's key is accepted", config.JWT{PublicKeyFiles: []string{certFile}}, "PS384", k.rsaA, "", sourcePEM},
		{"an ES256 token signed by a PEM key is accepted", config.JWT{PublicKeyFiles: []string{vtPEM(t, &k.ec.PublicKey)}}, "ES256", k.ec, "", sourcePEM},
		{"an ES384 token signed by a P-384 PEM key is accepted", config.JWT{PublicKeyFiles: []string{vtPEM(t, &k.ec384.PublicKey)}}, "ES384", k.ec384, "", sourcePEM},
		{"an EdDSA token signed by a PEM key is accepted", config.JWT{PublicKeyFiles: []string{vtPEM(t, k.ed.Public())}}, "EdDSA", k.ed, "", sourcePEM},
		{"a token with a kid is verified by a kid-less PEM key", config.JWT{PublicKeyFiles: []string{vtPEM(t, &k.rsaA.PublicKey)}}, "RS256", k.rsaA, "issuer-kid", sourcePEM},
		{"an HS256 token signed with hmac_secret is accepted", config.JWT{HMACSecret: string(k.hmac)}, "HS256", k.hmac, "", sourceHMACSecret},
		{"an HS384 token signed with hmac_secret is accepted", config.JWT{HMACSecret: string(k.hmac)}, "HS384", k.hmac, "", sourceHMACSecret},
		{"an HS512 token signed with a secret loaded from hmac_secret_file is accepted", config.JWT{HMACSecret: string(k.hmac), HMACSecretFile: "/run/secrets/hmac"}, "HS512", k.hmac, "", sourceHMACSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := tt.jwt
			j.Algorithms = algs
			v := vtNewVerifier(t, VerifierConfig{JWT: j, MaxTokenLifetime: time.Hour, Now: func() time.Time { return vtNow }})
			hdr := map[string]any{}
			if tt.kid != "" {
				hdr["kid"] = tt.kid
			}
			raw := vtSign(t, tt.alg, tt.key, hdr, claims)
			c, err := v.Verify(t.Context(), raw, PurposeAccess)
			vtWantErr(t, raw, err, nil)
			if c.Subject != "alice" || c.JTI != "jti-1" {
				t.Errorf("claims = %+v", c)
			}
			infos := v.Keys()
			if len(infos) == 0 || infos[0].Source != tt.source {
				t.Errorf("Keys() = %+v, want source %s", infos, tt.source)
			}
		})
	}
}

func TestVerifyRejectsBadTokens(t *testing.T) {
	k := vtKeys()
	v := vtNewVerifier(t, vtStandardConfig(t))
	rsaPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: vtMust(x509.MarshalPKIXPublicKey(&k.rsaA.PublicKey))})
	evilJWK := vtJWK(t, k.rsaEvil.Public(), "evil", "RS256")
	jkuHits := atomic.Int64{}
	jku := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		jkuHits.Add(1)
		_, _ = w.Write(vtJWKS(t, evilJWK))
	}))
	t.Cleanup(jku.Close)
	valid := vtSign(t, "RS256", k.rsaA, nil, vtClaims(nil))
	parts := strings.Split(valid, ".")
	sigBytes := vtMust(base64.RawURLEncoding.DecodeString(parts[2]))
	// 254 bytes end in a group whose last character carries two zero bits;
	// setting one gives a second spelling of the same bytes.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	enc := vtB64(sigBytes[:254])
	nonCanonical := enc[:len(enc)-1] + string(alphabet[strings.IndexByte(alphabet, enc[len(enc)-1])|1])
	tampered := parts[0] + "." + vtB64(vtJSON(t, vtClaims(map[string]any{"sub": "mallory"}))) + "." + parts[2]

	tests := []struct {
		name    string
		token   string
		purpose Purpose
		want    error
	}{
		{"a valid RS256 token from the PEM key is accepted", valid, PurposeAccess, nil},
		{"a valid RS256 token from the JWKS file is accepted", vtSign(t, "RS256", k.rsaB, map[string]any{"kid": "rsa-b"}, vtClaims(nil)), PurposeAccess, nil},
		{"a token with alg none is rejected", vtSign(t, "none", nil, nil, vtClaims(nil)), PurposeAccess, ErrAlgNotAllowed},
		{"a token with alg None is rejected", vtSign(t, "none", nil, `{"alg":"None"}`, vtClaims(nil)), PurposeAccess, ErrAlgNotAllowed},
		{"a token with an algorithm outside the allow-list is rejected", vtSign(t, "RS512", k.rsaA, nil, vtClaims(nil)), PurposeAccess, ErrAlgNotAllowed},
		{"a token without alg is malformed", vtSign(t, "RS256", k.rsaA, `{"typ":"JWT"}`, vtClaims(nil)), PurposeAccess, ErrTokenMalformed},
		{"an HS256 token keyed with the RSA public key PEM fails", vtSign(t, "HS256", rsaPEM, nil, vtClaims(nil)), PurposeAccess, ErrBadSignature},
		{"an HS256 token keyed with the RSA PEM and naming the RSA kid is tried against the HMAC secret only", vtSign(t, "HS256", rsaPEM, map[string]any{"kid": "rsa-b"}, vtClaims(nil)), PurposeAccess, ErrBadSignature},
		{"a PS256 token naming a key bound to RS256 is not verified with that key", vtSign(t, "PS256", k.rsaB, map[string]any{"kid": "rsa-b"}, vtClaims(nil)), PurposeAccess, ErrBadSignature},
		{"an ES256 token naming an Ed25519 kid finds no key", vtSign(t, "ES256", k.ec, map[string]any{"kid": "ed-1"}, vtClaims(nil)), PurposeAccess, ErrUnknownKey},
		{"an ES256 token with an unknown kid finds no key", vtSign(t, "ES256", k.ec, map[string]any{"kid": "nope"}, vtClaims(nil)), PurposeAccess, ErrUnknownKey},
		{"an RS256 token with an unknown kid is tried against kid-less keys only", vtSign(t, "RS256", k.rsaB, map[string]any{"kid": "nope"}, vtClaims(nil)), PurposeAccess, ErrBadSignature},
		{"a token signed by an unconfigured key fails", vtSign(t, "RS256", k.rsaEvil, nil, vtClaims(nil)), PurposeAccess, ErrBadSignature},
		{"a token carrying its own jwk header is not verified with it", vtSign(t, "RS256", k.rsaEvil, map[string]any{"jwk": evilJWK}, vtClaims(nil)), PurposeAccess, ErrBadSignature},
		{"a token carrying its own jwk header and kid is not verified with it", vtSign(t, "EdDSA", k.edEvil, map[string]any{"kid": "evil", "jwk": vtJWK(t, k.edEvil.Public(), "evil", "EdDSA")}, vtClaims(nil)), PurposeAccess, ErrUnknownKey},
		{"a token pointing jku at its own key set is not verified with it", vtSign(t, "RS256", k.rsaEvil, map[string]any{"kid": "evil", "jku": jku.URL}, vtClaims(nil)), PurposeAccess, ErrBadSignature},
		{"a token with an x5c header is not verified with it", vtSign(t, "RS256", k.rsaEvil, map[string]any{"x5c": []string{"MIIB"}, "x5u": jku.URL}, vtClaims(nil)), PurposeAccess, ErrBadSignature},
		{"a token with a crit header is unsupported", vtSign(t, "RS256", k.rsaA, map[string]any{"crit": []string{"exp"}, "exp": 1}, vtClaims(nil)), PurposeAccess, ErrTokenUnsupported},
		{"a token with two alg headers is malformed", vtSign(t, "RS256", k.rsaA, `{"alg":"RS256","alg":"HS256"}`, vtClaims(nil)), PurposeAccess, ErrTokenMalformed},
		{"a tampered payload fails the signature", tampered, PurposeAccess, ErrBadSignature},
		{"a signature one byte short fails", parts[0] + "." + parts[1] + "." + vtB64(sigBytes[:len(sigBytes)-1]), PurposeAccess, ErrBadSignature},
		{"a signature with a non-canonical base64 ending is malformed", parts[0] + "." + parts[1] + "." + nonCanonical, PurposeAccess, ErrTokenMalformed},
		{"a JWE is unsupported", "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a.b.c.d", PurposeAccess, ErrTokenUnsupported},
		{"a JSON-serialized JWS is unsupported", `{"payload":"e30","signatures":[]}`, PurposeAccess, ErrTokenUnsupported},
		{"garbage is malformed", "not a token at all", PurposeAccess, ErrTokenMalformed},
		{"two parts are malformed", "abc.def", PurposeAccess, ErrTokenMalformed},
		{"a token with padding is malformed", parts[0] + "=." + parts[1] + "." + parts[2], PurposeAccess, ErrTokenMalformed},
		{"a token with a line break is malformed", parts[0] + ".\n" + parts[1] + "." + parts[2], PurposeAccess, ErrTokenMalformed},
		{"a header that is not JSON is malformed", vtB64([]byte("nope")) + "." + parts[1] + "." + parts[2], PurposeAccess, ErrTokenMalformed},
		{"an empty string is no token", "", PurposeAccess, ErrNoToken},
		{"an oversized token is malformed", strings.Repeat("a", maxTokenBytes+1), PurposeAccess, ErrTokenMalformed},
		{"a payload that is not an object is malformed", vtSign(t, "RS256", k.rsaA, nil, `["exp"]`), PurposeAccess, ErrTokenMalformed},
		{"a payload that is not JSON is malformed", vtSign(t, "RS256", k.rsaA, nil, `{"exp":`), PurposeAccess, ErrTokenMalformed},
		{"a duplicated claim is malformed", vtSign(t, "RS256", k.rsaA, nil, `{"exp":1700000600,"iat":1699999990,"sub":"a","sub":"b"}`), PurposeAccess, ErrTokenMalformed},
		{"a duplicate hidden behind an escape is malformed", vtSign(t, "RS256", k.rsaA, nil, `{"exp":1700000600,"token_type":"refresh","token\u005ftype":"access"}`), PurposeAccess, ErrTokenMalformed},
		{"a numeric sub is malformed", vtSign(t, "RS256", k.rsaA, nil, vtClaims(map[string]any{"sub": 42})), PurposeAccess, ErrTokenMalformed},
		{"a string exp is malformed", vtSign(t, "RS256", k.rsaA, nil, vtClaims(map[string]any{"exp": "1700000600"})), PurposeAccess, ErrTokenMalformed},
		{"an aud list with a number is malformed", vtSign(t, "RS256", k.rsaA, nil, vtClaims(map[string]any{"aud": []any{"api", 1}})), PurposeAccess, ErrTokenMalformed},
		{"an expired token is rejected", vtSign(t, "RS256", k.rsaA, nil, vtClaims(map[string]any{"exp": vtNow.Unix() - 31})), PurposeAccess, ErrTokenExpired},
		{"a token expiring exactly at now plus leeway is rejected", vtSign(t, "RS256", k.rsaA, nil, vtClaims(map[string]any{"exp": vtNow.Unix() - 30})), PurposeAccess, ErrTokenExpired},
		{"a token expired within the leeway is accepted", vtSign(t, "RS256", k.rsaA, nil, vtClaims(map[string]any{"exp": vtNow.Unix() - 29})), PurposeAccess, nil},
		{"a token without exp is rejected", vtSign(t, "RS256", k.rsaA, nil, vtClaims(map[string]any{"exp": vtDel})), PurposeAccess, ErrClaimMissing},
		{"a token whose nbf is in the future is rejected", vtSign(t, "RS256", k.rsaA, nil, vtClaims(map[string]any{"nbf": vtNow.Unix() + 31})), PurposeAccess, ErrTokenNotYetValid},
		{"a token whose nbf is within the leeway is accepted", vtSign(t, "RS256", k.rsaA, nil, vtClaims(map[string]any{"nbf": vtNow.Unix() + 30})), PurposeAccess, nil},
		{"a token issued in the future is rejected", vtSign(t, "RS256", k.rsaA, nil, vtClaims(map[string]any{"iat": vtNow.Unix() + 31})), PurposeAccess, ErrTokenIssuedLater},
		{"a token issued within the leeway ahead is accepted", vtSign(t, "RS256", k.rsaA, nil, vtClaims(map[string]any{"iat": vtNow.Unix() + 30})), PurposeAccess, nil},
		{"a token from another issuer is rejected", vtSign(t, "RS256", k.rsaA, nil, vtClaims(map[string]any{"iss": "https://evil.example"})), PurposeAccess, ErrWrongIssuer},
		{"a token from the second configured issuer is accepted", vtSign(t, "RS256", k.rsaA, nil, vtClaims(map[string]any{"iss": "https://other.example"})), PurposeAccess, nil},
		{"a token without iss is rejected", vtSign(t, "RS256", k.rsaA, nil, vtClaims(map[string]any{"iss": vtDel})), PurposeAccess, ErrWrongIssuer},
		{"a token for another audience is rejected", vtSign(t, "RS256", k.rsaA, nil, vtClaims(map[string]any{"aud": "web"})), PurposeAccess, ErrWrongAudience},
		{"a token whose aud list contains an accepted audience is accepted", vtSign(t, "RS256", k.rsaA, nil, vtClaims(map[string]any{"aud": []string{"web", "admin-api"}})), PurposeAccess, nil},
		{"a token whose aud list lacks every accepted audience is rejected", vtSign(t, "RS256", k.rsaA, nil, vtClaims(map[string]any{"aud": []string{"web", "mobile"}})), PurposeAccess, ErrWrongAudience},
		{"a token without aud is rejected", vtSign(t, "RS256", k.rsaA, nil, vtClaims(map[string]any{"aud": vtDel})), PurposeAccess, ErrWrongAudience},
		{"a token missing a required claim is rejected", vtSign(t, "RS256", k.rsaA, nil, vtClaims(map[string]any{"token_type": vtDel})), PurposeAccess, ErrClaimMissing},
		{"a token with a wrong required claim is rejected", vtSign(t, "RS256", k.rsaA, nil, vtClaims(map[string]any{"token_type": "refresh"})), PurposeAccess, ErrClaimMismatch},
		{"a numeric required claim written 4.2e1 matches 42", vtSign(t, "RS256", k.rsaA, nil, vtClaims(map[string]any{"ver": json.RawMessage("4.2e1")})), PurposeAccess, nil},
		{"a numeric required claim written 42.0 matches 42", vtSign(t, "RS256", k.rsaA, nil, vtClaims(map[string]any{"ver": json.RawMessage("42.0")})), PurposeAccess, nil},
		{"a numeric required claim of 43 does not match 42", vtSign(t, "RS256", k.rsaA, nil, vtClaims(map[string]any{"ver": 43})), PurposeAccess, ErrClaimMismatch},
		{"a string required claim of \"42\" does not match the number 42", vtSign(t, "RS256", k.rsaA, nil, vtClaims(map[string]any{"ver": "42"})), PurposeAccess, ErrClaimMismatch},
		{"a lifetime over max_token_lifetime is rejected", vtSign(t, "RS256", k.rsaA, nil, vtClaims(map[string]any{"iat": vtNow.Unix() - 60, "exp": vtNow.Unix() - 60 + 3601})), PurposeAccess, ErrLifetimeTooLong},
		{"a lifetime of exactly max_token_lifetime is accepted", vtSign(t, "RS256", k.rsaA, nil, vtClaims(map[string]any{"iat": vtNow.Unix() - 60, "exp": vtNow.Unix() - 60 + 3600})), PurposeAccess, nil},
		// A mark lives max_token_lifetime plus leeway; a token accepted
		// until exp plus leeway must not outlive it.
		{"without iat, exp further than max_token_lifetime is rejected", vtSign(t, "RS256", k.rsaA, nil, vtClaims(map[string]any{"iat": vtDel, "exp": vtNow.Unix() + 3601})), PurposeAccess, ErrLifetimeTooLong},
		{"without iat, exp within max_token_lifetime is accepted", vtSign(t, "RS256", k.rsaA, nil, vtClaims(map[string]any{"iat": vtDel, "exp": vtNow.Unix() + 3600})), PurposeAccess, nil},
		{"revoking accepts an expired token", vtSign(t, "RS256", k.rsaA, nil, vtClaims(map[string]any{"exp": vtNow.Unix() - 86400, "iat": vtNow.Unix() - 90000})), PurposeRevoke, nil},
		{"revoking accepts a token failing claim checks", vtSign(t, "RS256", k.rsaA, nil, vtClaims(map[string]any{"iss": "https://evil.example", "aud": "web", "token_type": vtDel, "exp": vtDel})), PurposeRevoke, nil},
		{"revoking still checks the signature", tampered, PurposeRevoke, ErrBadSignature},
		{"revoking still refuses alg none", vtSign(t, "none", nil, nil, vtClaims(nil)), PurposeRevoke, ErrAlgNotAllowed},
		{"a refresh token is accepted on a refresh route", vtSign(t, "RS256", k.rsaA, nil, vtClaims(map[string]any{"token_type": "refresh", "ver": vtDel})), PurposeRefresh, nil},
		{"an access token is rejected on a refresh route", vtSign(t, "RS256", k.rsaA, nil, vtClaims(nil)), PurposeRefresh, ErrClaimMismatch},
		{"a refresh token is rejected as an access token", vtSign(t, "RS256", k.rsaA, nil, vtClaims(map[string]any{"token_type": "refresh"})), PurposeAccess, ErrClaimMismatch},
		{"a refresh token still needs a valid exp", vtSign(t, "RS256", k.rsaA, nil, vtClaims(map[string]any{"token_type": "refresh", "exp": vtNow.Unix() - 100})), PurposeRefresh, ErrTokenExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(t.Context(), tt.token, tt.purpose)
			vtWantErr(t, tt.token, err, tt.want, "mallory", "evil.example", "1700000600")
		})
	}
	if n := jkuHits.Load(); n != 0 {
		t.Errorf("the jku URL was fetched %d times", n)
	}
}

func vtMust[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestVerifyWithoutHMACKeyRejectsAlgorithmConfusion(t *testing.T) {
	k := vtKeys()
	rsaPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: vtMust(x509.MarshalPKIXPublicKey(&k.rsaA.PublicKey))})
	pemFile := vtPEM(t, &k.rsaA.PublicKey)
	forged := vtSign(t, "HS256", rsaPEM, nil, vtClaims(nil))
	forgedDER := vtSign(t, "HS256", vtMust(x509.MarshalPKIXPublicKey(&k.rsaA.PublicKey)), nil, vtClaims(nil))
	for _, tt := range []struct {
		name string
		algs []string
		want error
	}{
		{"with HS256 allowed but only an RSA key, an HS256 token finds no key", []string{"RS256", "HS256"}, ErrUnknownKey},
		{"with only RS256 allowed, an HS256 token is refused by the allow-list", []string{"RS256"}, ErrAlgNotAllowed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := vtNewVerifier(t, VerifierConfig{
				JWT:              config.JWT{PublicKeyFiles: []string{pemFile}, Algorithms: tt.algs},
				MaxTokenLifetime: time.Hour, Now: func() time.Time { return vtNow },
			})
			for _, raw := range []string{forged, forgedDER} {
				_, err := v.Verify(t.Context(), raw, PurposeAccess)
				vtWantErr(t, raw, err, tt.want)
			}
		})
	}
}

func TestVerifyFillsClaims(t *testing.T) {
	k := vtKeys()
	v := vtNewVerifier(t, vtStandardConfig(t))
	raw := vtSign(t, "ES256", k.ec, map[string]any{"kid": "ec-1"}, vtClaims(map[string]any{
		"iat":    json.RawMessage("1699999990.9"),
		"exp":    json.RawMessage("1700000600.5"),
		"tenant": "acme",
	}))
	c, err := v.Verify(t.Context(), raw, PurposeAccess)
	vtWantErr(t, raw, err, nil)
	want := &Claims{JTI: "jti-1", Subject: "alice", IssuedAt: time.Unix(1699999990, 0), ExpiresAt: time.Unix(1700000600, 0)}
	if diff := cmp.Diff(want, c, cmpopts.IgnoreFields(Claims{}, "Token")); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
	if got, _ := c.Token.Get("tenant"); got != "acme" {
		t.Errorf("Token.Get(tenant) = %v", got)
	}
	if got := c.Token.Subject(); got != "alice" {
		t.Errorf("Token.Subject() = %q", got)
	}
}

func TestVerifyCanonicalizesNumericSubjects(t *testing.T) {
	k := vtKeys()
	cfg := vtStandardConfig(t)
	cfg.JWT.SubjectClaim = "user_id"
	v := vtNewVerifier(t, cfg)
	for _, tt := range []struct {
		name    string
		userID  string // raw JSON
		want    string
		wantErr error
	}{
		{"the integer 42 is 42", `42`, "42", nil},
		{"42.0 is 42", `42.0`, "42", nil},
		{"4.2e1 is 42", `4.2e1`, "42", nil},
		{"420E-1 is 42", `420E-1`, "42", nil},
		{"12345678901234567890 stays exact beyond 2^53", `12345678901234567890`, "12345678901234567890", nil},
		{"12345678901234567891 stays distinct from its float64 neighbour", `12345678901234567891`, "12345678901234567891", nil},
		{"-0 is 0", `-0`, "0", nil},
		{"a fraction keeps its digits", `0.25`, "0.25", nil},
		{"a string subject is used as is", `"42.0"`, "42.0", nil},
		{"a string with escapes is decoded", `"caf\u00e9 \"x\""`, `café "x"`, nil},
		{"a boolean subject is malformed", `true`, "", ErrTokenMalformed},
		{"an object subject is malformed", `{"id":42}`, "", ErrTokenMalformed},
		{"a null subject is malformed", `null`, "", ErrTokenMalformed},
		{"an absurdly large number is malformed", `1e999999999`, "", ErrTokenMalformed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			claims := vtClaims(map[string]any{"user_id": json.RawMessage(tt.userID)})
			raw := vtSign(t, "EdDSA", k.ed, map[string]any{"kid": "ed-1"}, claims)
			c, err := v.Verify(t.Context(), raw, PurposeAccess)
			vtWantErr(t, raw, err, tt.wantErr)
			if err == nil && c.Subject != tt.want {
				t.Errorf("Subject = %q, want %q", c.Subject, tt.want)
			}
		})
	}
	t.Run("a token without the subject claim has an empty subject", func(t *testing.T) {
		raw := vtSign(t, "EdDSA", k.ed, map[string]any{"kid": "ed-1"}, vtClaims(nil))
		c, err := v.Verify(t.Context(), raw, PurposeAccess)
		vtWantErr(t, raw, err, nil)
		if c.Subject != "" {
			t.Errorf("Subject = %q", c.Subject)
		}
	})
}

func TestVerifierConfigErrorsNameTheKeyAndHideSecrets(t *testing.T) {
	k := vtKeys()
	privDER := vtMust(x509.MarshalPKCS8PrivateKey(k.rsaA))
	privPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER})
	privB64 := base64.StdEncoding.EncodeToString(privDER)[100:140]
	twoBlocks := append(append([]byte{}, vtMust(os.ReadFile(vtPEM(t, &k.rsaA.PublicKey)))...), vtMust(os.ReadFile(vtPEM(t, &k.rsaB.PublicKey)))...)
	good := vtPEM(t, &k.rsaA.PublicKey)
	for _, tt := range []struct {
		name string
		jwt  config.JWT
		want string
	}{
		{"a missing PEM file names its index", config.JWT{PublicKeyFiles: []string{good, "/nonexistent/key.pem"}}, "jwt.public_key_files[1]: "},
		{"a private key in a PEM file is refused", config.JWT{PublicKeyFiles: []string{vtWrite(t, "priv.pem", privPEM)}}, "jwt.public_key_files[0]: holds a private key"},
		{"a PEM file with two keys is refused", config.JWT{PublicKeyFiles: []string{vtWrite(t, "two.pem", twoBlocks)}}, "jwt.public_key_files[0]: more than one PEM block"},
		{"a file that is not PEM is refused", config.JWT{PublicKeyFiles: []string{vtWrite(t, "x.pem", []byte("hello"))}}, "jwt.public_key_files[0]: no PEM block"},
		{"an RSA key under 2048 bits is refused", config.JWT{PublicKeyFiles: []string{vtPEM(t, &k.rsaSmall.PublicKey)}}, "jwt.public_key_files[0]: RSA key shorter than 2048 bits"},
		{"an EC key with no EC algorithm allowed is refused", config.JWT{PublicKeyFiles: []string{vtPEM(t, &k.ec.PublicKey)}}, "jwt.public_key_files[0]: jwt.algorithms allows no algorithm for EC P-256 keys"},
		{"an ES256-only allow-list does not take a P-384 key", config.JWT{PublicKeyFiles: []string{vtPEM(t, &k.ec384.PublicKey)}, Algorithms: []string{"ES256"}}, "jwt.public_key_files[0]: jwt.algorithms allows no algorithm for EC P-384 keys"},
		{"a short HMAC secret is refused without echoing it", config.JWT{HMACSecret: "hunter2-hunter2", Algorithms: []string{"HS256"}}, "jwt.hmac_secret: HMAC key shorter than 32 bytes"},
		{"an HMAC secret with no HS algorithm allowed is refused", config.JWT{HMACSecret: string(k.hmac)}, "jwt.hmac_secret: jwt.algorithms allows no algorithm for HMAC keys"},
		{"an hmac_secret_file the configuration loader has not read is refused", config.JWT{HMACSecretFile: "/x", Algorithms: []string{"HS256"}}, "jwt.hmac_secret_file: not loaded"},
		{"alg none is refused", config.JWT{PublicKeyFiles: []string{good}, Algorithms: []string{"RS256", "none"}}, `jwt.algorithms[1]: "none" is never allowed`},
		{"an unknown algorithm is refused", config.JWT{PublicKeyFiles: []string{good}, Algorithms: []string{"RS257"}}, `jwt.algorithms[0]: unsupported algorithm "RS257"`},
		{"a JWKS file with a private key is refused", config.JWT{JWKSFile: vtWrite(t, "p.json", vtJWKS(t, vtJWK(t, k.rsaA, "priv", "RS256")))}, `jwt.jwks_file: keys[0] (kid "priv"): is a private key`},
		{"a JWKS key whose alg does not fit its type is refused", config.JWT{JWKSFile: vtWrite(t, "mix.json", vtJWKS(t, vtJWK(t, &k.ec.PublicKey, "ec", "RS256")))}, `jwt.jwks_file: keys[0] (kid "ec"): alg RS256 does not fit EC P-256 keys`},
		{"a JWKS file that is not JSON is refused", config.JWT{JWKSFile: vtWrite(t, "bad.json", []byte("nope"))}, "jwt.jwks_file: not a valid JWKS"},
		{"a JWKS file with no usable key is refused", config.JWT{JWKSFile: vtWrite(t, "ec.json", vtJWKS(t, vtJWK(t, &k.ec.PublicKey, "ec", "")))}, "jwt.jwks_file: no usable signature verification key"},
		{"no key at all is refused", config.JWT{}, "jwt: no verification key configured"},
		{"a relative jwks_url is refused", config.JWT{JWKSURL: "/jwks.json"}, "jwt.jwks_url: expected an absolute"},
		{"a required claim that is not JSON-like is refused", config.JWT{PublicKeyFiles: []string{good}, RequiredClaims: map[string]any{"x": func() {}}}, "jwt.required_claims.x: "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewVerifier(t.Context(), VerifierConfig{JWT: tt.jwt, MaxTokenLifetime: time.Hour})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewVerifier error = %v, want it to contain %q", err, tt.want)
			}
			for _, secret := range []string{"hunter2", string(k.hmac), privB64} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error %q leaks a secret", err)
				}
			}
		})
	}
	t.Run("a zero max_token_lifetime is refused", func(t *testing.T) {
		_, err := NewVerifier(t.Context(), VerifierConfig{JWT: config.JWT{PublicKeyFiles: []string{good}}})
		if err == nil || !strings.Contains(err.Error(), "max_token_lifetime") {
			t.Fatalf("NewVerifier error = %v", err)
		}
	})
}

func TestVerifierKeysDescribeKeysWithoutMaterial(t *testing.T) {
	v := vtNewVerifier(t, vtStandardConfig(t))
	got := v.Keys()
	want := []KeyInfo{
		{KID: "rsa-b", Alg: "RS256", Source: sourceJWKSFile, FetchedAt: vtNow},
		{KID: "ec-1", Alg: "ES256", Source: sourceJWKSFile, FetchedAt: vtNow},
		{KID: "ed-1", Alg: "EdDSA", Source: sourceJWKSFile, FetchedAt: vtNow},
		{Alg: "RS256,PS256", Source: sourcePEM, FetchedAt: vtNow},
		{Alg: "HS256", Source: sourceHMACSecret, FetchedAt: vtNow},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Keys() (-want +got):\n%s", diff)
	}
	if !v.Ready() {
		t.Error("Ready() = false with static keys")
	}
	if s := fmt.Sprintf("%+v", got); strings.Contains(s, string(vtKeys().hmac)) {
		t.Errorf("Keys() leaks the HMAC secret: %s", s)
	}
}

func vtEventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func vtRemoteConfig(url string, clock func() time.Time) VerifierConfig {
	return VerifierConfig{
		JWT: config.JWT{
			JWKSURL:                url,
			Algorithms:             []string{"RS256", "ES256", "EdDSA", "HS256"},
			JWKSUnknownKidCooldown: time.Minute,
		},
		MaxTokenLifetime: time.Hour,
		Now:              clock,
	}
}

func TestJWKSUnknownKidFloodHitsTheIssuerAtMostOncePerCooldown(t *testing.T) {
	k := vtKeys()
	srv := testkit.NewJWKSServer(t, vtJWKS(t, vtJWK(t, &k.rsaA.PublicKey, "a", "RS256")))
	clock := newVTClock(vtNow)
	v := vtNewVerifier(t, vtRemoteConfig(srv.URL, clock.Now))
	if got := srv.Hits.Load(); got != 1 {
		t.Fatalf("hits after start = %d, want 1", got)
	}
	// The signature never matters: an unknown kid fails before it is checked.
	header := func(kid string) string {
		return vtB64([]byte(`{"alg":"RS256","kid":"`+kid+`"}`)) + "." + vtB64([]byte(`{}`)) + ".c2ln"
	}
	var wg sync.WaitGroup
	var wrong atomic.Int64
	for g := range 20 {
		wg.Go(func() {
			for i := range 500 {
				_, err := v.Verify(context.Background(), header(fmt.Sprintf("kid-%d-%d", g, i)), PurposeAccess)
				if !errors.Is(err, ErrUnknownKey) {
					wrong.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if n := wrong.Load(); n != 0 {
		t.Errorf("%d of 10000 unknown-kid tokens did not fail with ErrUnknownKey", n)
	}
	if got := srv.Hits.Load(); got != 2 {
		t.Fatalf("hits after 10000 unknown kids = %d, want 2 (start + one refetch)", got)
	}

	clock.Advance(59 * time.Second)
	_, _ = v.Verify(t.Context(), header("still-cooling"), PurposeAccess)
	if got := srv.Hits.Load(); got != 2 {
		t.Fatalf("hits within the cooldown = %d, want 2", got)
	}
	clock.Advance(2 * time.Second)
	_, _ = v.Verify(t.Context(), header("after-cooldown"), PurposeAccess)
	_, _ = v.Verify(t.Context(), header("after-cooldown-2"), PurposeAccess)
	if got := srv.Hits.Load(); got != 3 {
		t.Fatalf("hits after the cooldown = %d, want 3", got)
	}
}

func TestJWKSRotatedKeyIsFetchedOnFirstUse(t *testing.T) {
	k := vtKeys()
	srv := testkit.NewJWKSServer(t, vtJWKS(t, vtJWK(t, &k.rsaA.PublicKey, "a", "RS256")))
	v := vtNewVerifier(t, vtRemoteConfig(srv.URL, func() time.Time { return vtNow }))
	srv.Set(http.StatusOK, vtJWKS(t, vtJWK(t, &k.rsaA.PublicKey, "a", "RS256"), vtJWK(t, &k.rsaB.PublicKey, "b", "RS256")))
	raw := vtSign(t, "RS256", k.rsaB, map[string]any{"kid": "b"}, vtClaims(map[string]any{"iss": vtDel, "aud": vtDel}))
	_, err := v.Verify(t.Context(), raw, PurposeAccess)
	vtWantErr(t, raw, err, nil)
	if got := srv.Hits.Load(); got != 2 {
		t.Errorf("hits = %d, want 2", got)
	}
}

func TestJWKSRemoteSetNeverTrustsSymmetricOrPrivateKeys(t *testing.T) {
	k := vtKeys()
	srv := testkit.NewJWKSServer(t, vtJWKS(t,
		vtJWK(t, k.hmac, "oct", "HS256"),
		vtJWK(t, k.ed, "ed-private", "EdDSA"),
		vtJWK(t, &k.rsaA.PublicKey, "a", "RS256"),
	))
	logs := &testkit.Buffer{}
	cfg := vtRemoteConfig(srv.URL, func() time.Time { return vtNow })
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	v := vtNewVerifier(t, cfg)
	claims := vtClaims(map[string]any{"iss": vtDel, "aud": vtDel})
	for _, tt := range []struct {
		name string
		raw  string
		want error
	}{
		{"an HS256 token signed with the served oct key is refused", vtSign(t, "HS256", k.hmac, map[string]any{"kid": "oct"}, claims), ErrUnknownKey},
		{"an EdDSA token signed with the served private key is refused", vtSign(t, "EdDSA", k.ed, map[string]any{"kid": "ed-private"}, claims), ErrUnknownKey},
		{"the public RSA key still works", vtSign(t, "RS256", k.rsaA, map[string]any{"kid": "a"}, claims), nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(t.Context(), tt.raw, PurposeAccess)
			vtWantErr(t, tt.raw, err, tt.want)
		})
	}
	if got := len(v.Keys()); got != 1 {
		t.Errorf("Keys() has %d keys, want 1", got)
	}
	if !strings.Contains(logs.String(), "symmetric key in a remote JWKS") {
		t.Errorf("logs do not warn about the oct key:\n%s", logs)
	}
}

func TestJWKSRefreshFailureKeepsTheLastGoodKeys(t *testing.T) {
	k := vtKeys()
	good := vtJWKS(t, vtJWK(t, &k.rsaA.PublicKey, "a", "RS256"))
	raw := vtSign(t, "RS256", k.rsaA, map[string]any{"kid": "a"}, vtClaims(map[string]any{"iss": vtDel, "aud": vtDel}))
	for _, tt := range []struct {
		name string
		code int
		body []byte
	}{
		{"a 500 keeps the keys", http.StatusInternalServerError, []byte("oops")},
		{"a body that is not JSON keeps the keys", http.StatusOK, []byte("<html>")},
		{"an empty key set keeps the keys", http.StatusOK, []byte(`{"keys":[]}`)},
		{"a set of only unusable keys keeps the keys", http.StatusOK, vtJWKS(t, vtJWK(t, k.hmac, "oct", "HS256"))},
		{"an oversized body keeps the keys", http.StatusOK, []byte(`{"keys":[],"pad":"` + strings.Repeat("x", maxJWKSBytes) + `"}`)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := testkit.NewJWKSServer(t, good)
			cfg := vtRemoteConfig(srv.URL, func() time.Time { return vtNow })
			cfg.JWT.JWKSRefresh = time.Second
			v := vtNewVerifier(t, cfg)
			srv.Set(tt.code, tt.body)
			before := srv.Hits.Load()
			vtEventually(t, 10*time.Second, "a background refresh", func() bool { return srv.Hits.Load() >= before+2 })
			_, err := v.Verify(t.Context(), raw, PurposeAccess)
			vtWantErr(t, raw, err, nil)
			if !v.Ready() || len(v.Keys()) != 1 {
				t.Errorf("Ready() = %v, Keys() = %+v", v.Ready(), v.Keys())
			}
		})
	}
}

func TestJWKSBackgroundRefreshPicksUpRotation(t *testing.T) {
	k := vtKeys()
	srv := testkit.NewJWKSServer(t, vtJWKS(t, vtJWK(t, &k.rsaA.PublicKey, "a", "RS256")))
	cfg := vtRemoteConfig(srv.URL, func() time.Time { return vtNow })
	cfg.JWT.JWKSRefresh = time.Second
	v := vtNewVerifier(t, cfg)
	srv.Set(http.StatusOK, vtJWKS(t, vtJWK(t, &k.rsaB.PublicKey, "b", "RS256")))
	vtEventually(t, 10*time.Second, "the rotated key", func() bool {
		ks := v.Keys()
		return len(ks) == 1 && ks[0].KID == "b"
	})
	raw := vtSign(t, "RS256", k.rsaA, map[string]any{"kid": "a"}, vtClaims(map[string]any{"iss": vtDel, "aud": vtDel}))
	_, err := v.Verify(t.Context(), raw, PurposeAccess)
	vtWantErr(t, raw, err, ErrUnknownKey)
}

func TestJWKSUnreachableAtStartIsNotFatal(t *testing.T) {
	k := vtKeys()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()

	logs := &testkit.Buffer{}
	cfg := vtRemoteConfig("http://revgate:s3cret-pw@"+addr+"/jwks", func() time.Time { return vtNow })
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	v, err := NewVerifier(t.Context(), cfg)
	if err != nil {
		t.Fatalf("NewVerifier with an unreachable jwks_url: %v", err)
	}
	if v.Ready() {
		t.Fatal("Ready() = true before any key arrived")
	}
	raw := vtSign(t, "RS256", k.rsaA, map[string]any{"kid": "a"}, vtClaims(map[string]any{"iss": vtDel, "aud": vtDel}))
	_, err = v.Verify(t.Context(), raw, PurposeAccess)
	vtWantErr(t, raw, err, ErrUnknownKey)

	var ln2 net.Listener
	vtEventually(t, 5*time.Second, "the port", func() bool {
		ln2, err = net.Listen("tcp", addr)
		return err == nil
	})
	jwks := vtJWKS(t, vtJWK(t, &k.rsaA.PublicKey, "a", "RS256"))
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(jwks) })}
	go func() { _ = hs.Serve(ln2) }()
	t.Cleanup(func() { _ = hs.Close() })

	vtEventually(t, 10*time.Second, "Ready()", v.Ready)
	_, err = v.Verify(t.Context(), raw, PurposeAccess)
	vtWantErr(t, raw, err, nil)
	if l := logs.String(); strings.Contains(l, "s3cret-pw") || !strings.Contains(l, "jwks fetch failed") {
		t.Errorf("logs must report the failure without the URL's password:\n%s", l)
	}
}

func TestJWKSErrorAtStartRetriesUntilKeysArrive(t *testing.T) {
	k := vtKeys()
	srv := testkit.NewJWKSServer(t, nil)
	srv.Set(http.StatusServiceUnavailable, []byte("down"))
	v := vtNewVerifier(t, vtRemoteConfig(srv.URL, func() time.Time { return vtNow }))
	if v.Ready() {
		t.Fatal("Ready() = true while the issuer answers 503")
	}
	srv.Set(http.StatusOK, vtJWKS(t, vtJWK(t, &k.ec.PublicKey, "ec", "ES256")))
	vtEventually(t, 10*time.Second, "Ready()", v.Ready)
}

func TestJWKSRefreshStopsWithTheContext(t *testing.T) {
	k := vtKeys()
	srv := testkit.NewJWKSServer(t, vtJWKS(t, vtJWK(t, &k.rsaA.PublicKey, "a", "RS256")))
	cfg := vtRemoteConfig(srv.URL, func() time.Time { return vtNow })
	cfg.JWT.JWKSRefresh = time.Second
	ctx, cancel := context.WithCancel(t.Context())
	if _, err := NewVerifier(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	vtEventually(t, 10*time.Second, "a background refresh", func() bool { return srv.Hits.Load() >= 2 })
	cancel()
	time.Sleep(100 * time.Millisecond)
	after := srv.Hits.Load()
	time.Sleep(2500 * time.Millisecond)
	if got := srv.Hits.Load(); got != after {
		t.Errorf("hits went from %d to %d after the context ended", after, got)
	}
}

// BenchmarkVerify measures the hot path per algorithm with a realistic
// claim set and a static key.
func BenchmarkVerify(b *testing.B) {
	k := vtKeys()
	cfg := VerifierConfig{
		JWT: config.JWT{
			PublicKeyFiles: []string{vtPEM(b, &k.rsaA.PublicKey), vtPEM(b, &k.ec.PublicKey), vtPEM(b, k.ed.Public())},
			HMACSecret:     string(k.hmac),
			Algorithms:     []string{"RS256", "ES256", "EdDSA", "HS256"},
			Issuer:         config.StringList{"https://issuer.example"},
			Audience:       config.StringList{"api"},
			Leeway:         30 * time.Second,
			RequiredClaims: map[string]any{"token_type": "access"},
		},
		MaxTokenLifetime: time.Hour,
		Now:              func() time.Time { return vtNow },
	}
	v, err := NewVerifier(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	claims := vtClaims(map[string]any{"scope": "read write", "name": "Alice Example", "ver": vtDel})
	for _, tt := range []struct {
		alg string
		key any
	}{{"RS256", k.rsaA}, {"ES256", k.ec}, {"EdDSA", k.ed}, {"HS256", k.hmac}} {
		raw := vtSign(b, tt.alg, tt.key, map[string]any{"typ": "JWT", "kid": "k1"}, claims)
		b.Run(tt.alg, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(ctx, raw, PurposeAccess); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// FuzzVerifyClaimScanner checks the JSON member scanner Verify relies on
// against encoding/json: the same keys, in order, with the same raw values.
func FuzzVerifyClaimScanner(f *testing.F) {
	for _, s := range []string{
		`{"a":1,"b":"x","c":[1,{"d":"}"}],"e":{"f":"\"]"},"g":null,"h":true}`,
		` { "s\u0075b" : "a\\"b" , "n" : -1.5e3 } `,
		`{}`, `[]`, `[1,"a",[2],{"b":3}]`, `{"a":{"a":{"a":[[[]]]}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) {
			return
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		first, _ := dec.Token()
		switch first {
		case json.Delim('{'):
			it := objectIter{b: data}
			if !it.open() {
				t.Fatalf("objectIter did not open %q", data)
			}
			for dec.More() {
				tok, _ := dec.Token()
				var raw json.RawMessage
				if err := dec.Decode(&raw); err != nil {
					t.Fatal(err)
				}
				key, val, ok := it.next()
				if !ok {
					t.Fatalf("objectIter ended early in %q", data)
				}
				if got := string(rawString(key)); got != tok.(string) {
					t.Fatalf("key %q, encoding/json says %q", got, tok)
				}
				if !bytes.Equal(val, raw) {
					t.Fatalf("value %q, encoding/json says %q", val, raw)
				}
				if val[0] == '"' {
					var s string
					_ = json.Unmarshal(raw, &s)
					if got := string(rawString(val)); got != s {
						t.Fatalf("string %q decodes to %q, encoding/json says %q", val, got, s)
					}
				}
			}
			if _, _, ok := it.next(); ok {
				t.Fatalf("objectIter found an extra member in %q", data)
			}
		case json.Delim('['):
			it := arrayIter{b: data}
			if !it.open() {
				t.Fatalf("arrayIter did not open %q", data)
			}
			for dec.More() {
				var raw json.RawMessage
				if err := dec.Decode(&raw); err != nil {
					t.Fatal(err)
				}
				val, ok := it.next()
				if !ok || !bytes.Equal(val, raw) {
					t.Fatalf("element %q (%v), encoding/json says %q", val, ok, raw)
				}
			}
			if _, ok := it.next(); ok {
				t.Fatalf("arrayIter found an extra element in %q", data)
			}
		}
	})
}

// FuzzVerify feeds arbitrary input to Verify: it must never panic, every
// failure must be a *TokenError that does not echo the input, and nothing
// but the exact signed bytes of a valid token may ever be accepted.
func FuzzVerify(f *testing.F) {
	k := vtKeys()
	v, err := NewVerifier(context.Background(), vtStandardConfig(f))
	if err != nil {
		f.Fatal(err)
	}
	signed := map[string]bool{}
	for _, raw := range []string{
		vtSign(f, "RS256", k.rsaA, nil, vtClaims(nil)),
		vtSign(f, "ES256", k.ec, map[string]any{"kid": "ec-1"}, vtClaims(nil)),
		vtSign(f, "EdDSA", k.ed, map[string]any{"kid": "ed-1"}, vtClaims(map[string]any{"aud": []string{"x", "api"}})),
		vtSign(f, "HS256", k.hmac, map[string]any{"typ": "JWT"}, vtClaims(nil)),
	} {
		f.Add(raw)
		signed[raw[:strings.LastIndexByte(raw, '.')]] = true
	}
	f.Add("")
	f.Add("a.b.c")
	f.Add("a.b.c.d.e")
	f.Add(`{"payload":""}`)
	f.Add(vtSign(f, "none", nil, nil, vtClaims(nil)))
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := v.Verify(context.Background(), raw, PurposeAccess)
		if err == nil {
			if c == nil || c.Token == nil {
				t.Fatal("success without claims")
			}
			if i := strings.LastIndexByte(raw, '.'); i < 0 || !signed[raw[:i]] {
				t.Fatalf("accepted a token that was never signed: %q", raw)
			}
			return
		}
		var te *TokenError
		if !errors.As(err, &te) || te.Err == nil {
			t.Fatalf("error %v (%T) is not a *TokenError", err, err)
		}
		// Descriptions hold no '.', so an echoed token would show.
		if strings.Contains(raw, ".") && strings.Contains(te.Description, raw) {
			t.Fatalf("description %q echoes the input", te.Description)
		}
	})
}

func TestVerifyTokenMatchesWhatJWXParses(t *testing.T) {
	k := vtKeys()
	cfg := vtStandardConfig(t)
	cfg.JWT.SubjectClaim = "user_id"
	v := vtNewVerifier(t, cfg)
	payload := `{"iss":"https://issuer.example","aud":["x","api"],"sub":"alice","jti":"j",` +
		`"iat":1699999990.75,"exp":1700000600,"nbf":1699999000,"token_type":"access","ver":4.2e1,` +
		`"user_id":12345678901234567891,"name":"caf\u00e9",` + "\"bad\":\"\xff\"," + `"n":-1.5,"big":1e300,"t":true,"f":false,"z":null,` +
		`"obj":{"a":[1,"b",{"c":null}]},"list":[],"dup":1,"dup":2,"s\u0063ope":"read"}`
	raw := vtSign(t, "RS256", k.rsaA, nil, payload)
	c, err := v.Verify(t.Context(), raw, PurposeAccess)
	vtWantErr(t, raw, err, nil)
	want, err := jwt.ParseInsecure([]byte(raw))
	if err != nil {
		t.Fatalf("jwt.ParseInsecure: %v", err)
	}
	wantMap, _ := want.AsMap(t.Context())
	gotMap, _ := c.Token.AsMap(t.Context())
	if diff := cmp.Diff(wantMap, gotMap); diff != "" {
		t.Errorf("Token differs from jwx's parse (-jwx +ours):\n%s", diff)
	}
	if c.Subject != "12345678901234567891" {
		t.Errorf("Subject = %q", c.Subject)
	}
}
