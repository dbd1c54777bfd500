package jwtverify

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/revgate/revgate/config"
)

// KeyInfo describes one loaded verification key for logs, /readyz and the
// admin API. It never carries key material.
type KeyInfo struct {
	// KID is the key's kid; "" for PEM files and hmac_secret.
	KID string
	// Alg is the algorithm the key is bound to, or, for a key that carries
	// none, the comma-separated allowed algorithms its type can be used with
	// ("RS256,PS256").
	Alg string
	// Source is where the key came from: "jwks_url", "jwks_file",
	// "public_key_files" or "hmac_secret".
	Source string
	// FetchedAt is when the key was loaded or last fetched.
	FetchedAt time.Time
}

// Key sources, as reported in KeyInfo.Source.
const (
	sourceJWKSURL    = "jwks_url"
	sourceJWKSFile   = "jwks_file"
	sourcePEM        = "public_key_files"
	sourceHMACSecret = "hmac_secret"
)

const (
	// maxJWKSBytes bounds a remote JWKS response, so a broken or hostile
	// issuer cannot make every gateway buffer an endless body.
	maxJWKSBytes = 1 << 20
	// jwksFetchTimeout bounds one fetch of jwks_url when the default HTTP
	// client is used, and the synchronous first fetch in NewVerifier.
	jwksFetchTimeout = 10 * time.Second
	// jwksRetryMin and jwksRetryMax bound the backoff between fetches while
	// jwks_url has never answered with a usable key set.
	jwksRetryMin = 250 * time.Millisecond
	jwksRetryMax = 30 * time.Second
	// defaultJWKSRefresh and defaultUnknownKidCooldown mirror the config
	// defaults for a VerifierConfig built by hand.
	defaultJWKSRefresh        = 5 * time.Minute
	defaultUnknownKidCooldown = 30 * time.Second
)

// keyKind is the type of a verification key; an algorithm is only ever used
// with keys of its own kind.
type keyKind uint8

const (
	kindRSA keyKind = iota + 1
	kindP256
	kindP384
	kindP521
	kindEd25519
	kindHMAC
)

func (k keyKind) String() string {
	switch k {
	case kindRSA:
		return "RSA"
	case kindP256:
		return "EC P-256"
	case kindP384:
		return "EC P-384"
	case kindP521:
		return "EC P-521"
	case kindEd25519:
		return "Ed25519"
	case kindHMAC:
		return "HMAC"
	}
	return "unknown"
}

// verifyKey is one usable public key (or HMAC secret), bound to the
// algorithms it may verify.
type verifyKey struct {
	info KeyInfo
	kind keyKind
	// algs are the allowed algorithms this key may be used with: its own
	// alg, or every allowed alg of its kind when it has none.
	algs algSet
	// key is *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey or []byte,
	// stored as an interface once so verification does not box it.
	key any
}

// keySet is an immutable snapshot of every usable key, indexed for Verify.
// A new snapshot replaces the old one whenever jwks_url is refetched.
type keySet struct {
	keys []*verifyKey
	// byKID holds the keys that have a kid.
	byKID map[string][]*verifyKey
	// byAlg holds, per algorithm, every key usable with it (tokens without
	// kid); noKID only the keys without a kid (tokens whose kid names no
	// key, e.g. a PEM key behind an issuer that sets kid).
	byAlg [numAlgs][]*verifyKey
	noKID [numAlgs][]*verifyKey
}

func newKeySet(groups ...[]*verifyKey) *keySet {
	s := &keySet{byKID: make(map[string][]*verifyKey)}
	for _, g := range groups {
		for _, k := range g {
			s.keys = append(s.keys, k)
			if k.info.KID != "" {
				s.byKID[k.info.KID] = append(s.byKID[k.info.KID], k)
			}
			for a := range numAlgs {
				if !k.algs.has(a) {
					continue
				}
				s.byAlg[a] = append(s.byAlg[a], k)
				if k.info.KID == "" {
					s.noKID[a] = append(s.noKID[a], k)
				}
			}
		}
	}
	return s
}

// lookup returns the keys to try for a token with header alg a and, when
// hasKID, header kid. kidKnown reports whether some key carries that kid.
// Keys in the result may still be incompatible with a (same kid, other
// type); the caller skips those.
func (s *keySet) lookup(kid []byte, hasKID bool, a alg) (keys []*verifyKey, kidKnown bool) {
	if !hasKID {
		return s.byAlg[a], false
	}
	ks, ok := s.byKID[string(kid)]
	if ok {
		for _, k := range ks {
			if k.algs.has(a) {
				return ks, true
			}
		}
	}
	return s.noKID[a], ok
}

func (s *keySet) infos() []KeyInfo {
	out := make([]KeyInfo, len(s.keys))
	for i, k := range s.keys {
		out[i] = k.info
	}
	return out
}

// newKey binds a parsed public key to the allowed algorithms it may be used
// with. keyAlg is the key's own alg ("" when it has none). The error says
// why the key is unusable, without key material.
func newKey(raw any, kid, keyAlg, source string, allowed algSet, now time.Time) (*verifyKey, error) {
	kind, key, bits, err := classifyKey(raw)
	if err != nil {
		return nil, err
	}
	var algs algSet
	if keyAlg != "" {
		a, ok := parseAlg(keyAlg)
		if !ok {
			return nil, &skipKeyError{fmt.Sprintf("alg %q is not a supported signature algorithm", keyAlg)}
		}
		if algTable[a].kind != kind {
			return nil, fmt.Errorf("alg %s does not fit %s keys", keyAlg, kind)
		}
		if !allowed.has(a) {
			return nil, &skipKeyError{fmt.Sprintf("alg %s is not in jwt.algorithms", keyAlg)}
		}
		if bits < algTable[a].minBits {
			return nil, fmt.Errorf("%s key of %d bits is shorter than %s's minimum of %d (RFC 7518 §3)", kind, bits, keyAlg, algTable[a].minBits)
		}
		algs = algSet(1) << a
	} else {
		kindAllowed := allowed & kindAlgs(kind)
		if kindAllowed == 0 {
			return nil, &skipKeyError{fmt.Sprintf("jwt.algorithms allows no algorithm for %s keys", kind)}
		}
		// A key without alg serves only the algorithms it is long enough
		// for: a 32-byte secret verifies HS256, never HS512.
		algs = kindAllowed.fitting(bits)
		if algs == 0 {
			return nil, fmt.Errorf("%s key of %d bits is shorter than any allowed algorithm accepts (%s; RFC 7518 §3)", kind, bits, kindAllowed)
		}
	}
	return &verifyKey{
		info: KeyInfo{KID: kid, Alg: algs.String(), Source: source, FetchedAt: now},
		kind: kind,
		algs: algs,
		key:  key,
	}, nil
}

// skipKeyError marks a key that is fine but not for us (an encryption key,
// an algorithm not allowed here): JWKS loading skips it instead of failing.
type skipKeyError struct{ reason string }

func (e *skipKeyError) Error() string { return e.reason }

// kindOf is the kind of a public key or HMAC secret; 0 for any other type
// or curve.
func kindOf(raw any) keyKind {
	switch k := raw.(type) {
	case *rsa.PublicKey:
		return kindRSA
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return kindP256
		case elliptic.P384():
			return kindP384
		case elliptic.P521():
			return kindP521
		}
	case ed25519.PublicKey:
		return kindEd25519
	case []byte:
		return kindHMAC
	}
	return 0
}

// classifyKey checks a public key's type and that it is at least as long
// as the least demanding algorithm of its type accepts; bits is its size
// (RSA modulus, HMAC secret; 0 where the type fixes it).
func classifyKey(raw any) (kind keyKind, key any, bits int, err error) {
	kind = kindOf(raw)
	switch k := raw.(type) {
	case *rsa.PublicKey:
		if k.N == nil || k.N.BitLen() < minKindBits(kindRSA) {
			return 0, nil, 0, fmt.Errorf("RSA key shorter than %d bits", minKindBits(kindRSA))
		}
		return kind, k, k.N.BitLen(), nil
	case *ecdsa.PublicKey:
		if kind == 0 {
			return 0, nil, 0, &skipKeyError{"unsupported elliptic curve"}
		}
		return kind, k, 0, nil
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return 0, nil, 0, errors.New("malformed Ed25519 key")
		}
		return kind, k, 0, nil
	case []byte:
		if len(k)*8 < minKindBits(kindHMAC) {
			return 0, nil, 0, fmt.Errorf("HMAC key shorter than %d bytes (RFC 7518 §3.2)", minKindBits(kindHMAC)/8)
		}
		return kind, k, len(k) * 8, nil
	}
	return 0, nil, 0, &skipKeyError{fmt.Sprintf("unsupported key type %T", raw)}
}

// loadStaticKeys loads jwks_file, public_key_files and the HMAC secret.
// Errors name the configuration key (jwks_file under section); none
// contains key material.
func loadStaticKeys(cfg config.JWT, section string, allowed algSet, now time.Time, log *slog.Logger) ([]*verifyKey, error) {
	var keys []*verifyKey
	if cfg.JWKSFile != "" {
		data, err := os.ReadFile(cfg.JWKSFile)
		if err != nil {
			return nil, fmt.Errorf("%s.jwks_file: %w", section, err)
		}
		set, err := jwk.Parse(data)
		if err != nil {
			return nil, fmt.Errorf("%s.jwks_file: not a valid JWKS: %w", section, err)
		}
		ks, err := keysFromSet(set, sourceJWKSFile, allowed, now, log)
		if err != nil {
			return nil, fmt.Errorf("%s.jwks_file: %w", section, err)
		}
		if len(ks) == 0 {
			return nil, fmt.Errorf("%s.jwks_file: no usable signature verification key for %s", section, algorithmsKey(section))
		}
		keys = append(keys, ks...)
	}
	for i, path := range cfg.PublicKeyFiles {
		k, err := loadPEMKey(path, allowed, now)
		if err != nil {
			return nil, fmt.Errorf("jwt.public_key_files[%d]: %w", i, err)
		}
		keys = append(keys, k)
	}
	secret, name, err := hmacSecret(cfg)
	if err != nil {
		return nil, err
	}
	if secret != nil {
		k, err := newKey(secret, "", "", sourceHMACSecret, allowed, now)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// algorithmsKey names the allowed algorithms of section in errors: the
// jwt section has its jwt.algorithms; other sections take the asymmetric
// algorithms of the table.
func algorithmsKey(section string) string {
	if section == "jwt" {
		return "jwt.algorithms"
	}
	return "the algorithms allowed for " + section
}

// hmacSecret returns the configured HMAC secret and the key that named it.
func hmacSecret(cfg config.JWT) (secret []byte, name string, err error) {
	// config.Load reads hmac_secret_file into HMACSecret: the config
	// package is the one reader of secret files, so every secret is
	// trimmed and checked the same way.
	switch {
	case cfg.HMACSecret != "" && cfg.HMACSecretFile != "":
		return []byte(cfg.HMACSecret), "jwt.hmac_secret_file", nil
	case cfg.HMACSecret != "":
		return []byte(cfg.HMACSecret), "jwt.hmac_secret", nil
	case cfg.HMACSecretFile != "":
		return nil, "", errors.New("jwt.hmac_secret_file: not loaded (load the configuration with config.Load)")
	}
	return nil, "", nil
}

// loadPEMKey reads a file holding exactly one PEM block: a PKIX public key,
// a PKCS#1 RSA public key or a certificate (whose key is used as is; its
// validity dates and chain are not checked, as with any JWT verifier).
func loadPEMKey(path string, allowed algSet, now time.Time) (*verifyKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	if next, _ := pem.Decode(rest); next != nil {
		return nil, errors.New("more than one PEM block; give one public key per file")
	}
	var pub any
	switch block.Type {
	case "PUBLIC KEY":
		pub, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		var cert *x509.Certificate
		cert, err = x509.ParseCertificate(block.Bytes)
		if err == nil {
			pub = cert.PublicKey
		}
	default:
		if strings.Contains(block.Type, "PRIVATE KEY") {
			return nil, errors.New("holds a private key; give the public key (the gateway never needs the signing key)")
		}
		return nil, fmt.Errorf("unsupported PEM block %q (expected PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE)", block.Type)
	}
	if err != nil {
		return nil, err
	}
	k, err := newKey(pub, "", "", sourcePEM, allowed, now)
	if err != nil {
		return nil, err // a skip is an error here: the operator named this key
	}
	return k, nil
}

// keysFromSet converts a JWKS. Keys that are not for signature verification
// here (use "enc", an alg not allowed, an unsupported curve) are skipped and
// logged. A dangerous key fails a local file and is skipped, loudly, in a
// remote set: a private key, a weak key, or a symmetric key served by a URL
// anyone can read.
func keysFromSet(set jwk.Set, source string, allowed algSet, now time.Time, log *slog.Logger) ([]*verifyKey, error) {
	var keys []*verifyKey
	for i := range set.Len() {
		jk, _ := set.Key(i)
		kid := jk.KeyID()
		k, err := keyFromJWK(jk, source, allowed, now)
		if err == nil {
			keys = append(keys, k)
			continue
		}
		var skip *skipKeyError
		switch {
		case errors.As(err, &skip):
			// A remote set is re-read every refresh: say it once per load
			// at info for a file, at debug for the URL.
			level := slog.LevelInfo
			if source == sourceJWKSURL {
				level = slog.LevelDebug
			}
			log.Log(context.Background(), level, "jwks key skipped", "source", source, "index", i, "kid", kid, "reason", err.Error())
		case source == sourceJWKSURL:
			log.Warn("jwks key rejected", "source", source, "index", i, "kid", kid, "reason", err.Error())
		default:
			return nil, fmt.Errorf("keys[%d] (kid %q): %w", i, kid, err)
		}
	}
	return keys, nil
}

func keyFromJWK(jk jwk.Key, source string, allowed algSet, now time.Time) (*verifyKey, error) {
	if ak, ok := jk.(jwk.AsymmetricKey); ok && ak.IsPrivate() {
		return nil, errors.New("is a private key; publish and configure public keys only")
	}
	if _, ok := jk.(jwk.SymmetricKey); ok && source == sourceJWKSURL {
		return nil, errors.New("symmetric key in a remote JWKS: anyone who can fetch it could sign tokens")
	}
	if use := jk.KeyUsage(); use != "" && use != string(jwk.ForSignature) {
		return nil, &skipKeyError{fmt.Sprintf("use %q is not sig", use)}
	}
	if ops := jk.KeyOps(); len(ops) > 0 {
		verify := false
		for _, op := range ops {
			verify = verify || op == jwk.KeyOpVerify
		}
		if !verify {
			return nil, &skipKeyError{"key_ops does not include verify"}
		}
	}
	var raw any
	if err := jk.Raw(&raw); err != nil {
		return nil, fmt.Errorf("unusable key: %w", err)
	}
	return newKey(raw, jk.KeyID(), jk.Algorithm().String(), source, allowed, now)
}
