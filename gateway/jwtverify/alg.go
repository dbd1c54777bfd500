package jwtverify

import (
	"fmt"
	"strings"

	"github.com/revgate/revgate/config"
)

// alg indexes algTable.
type alg uint8

// numAlgs is the number of supported signature algorithms.
const numAlgs alg = 13

// algTable is the one list of the JWS algorithms revgate supports: for each,
// the type of key it verifies with and the smallest key it accepts. Key
// loading, configuration checks and the CLI's token minting all read it. It
// is never modified.
var algTable = [numAlgs]struct {
	name string
	kind keyKind
	// minBits is the shortest key in bits: an RSA modulus of 2048 (RFC 7518
	// §3.3), an HMAC secret as long as the hash's output (§3.2); 0 where the
	// key type fixes the size (EC curves, Ed25519).
	minBits int
}{
	{"HS256", kindHMAC, 256}, {"HS384", kindHMAC, 384}, {"HS512", kindHMAC, 512},
	{"RS256", kindRSA, 2048}, {"RS384", kindRSA, 2048}, {"RS512", kindRSA, 2048},
	{"PS256", kindRSA, 2048}, {"PS384", kindRSA, 2048}, {"PS512", kindRSA, 2048},
	{"ES256", kindP256, 0}, {"ES384", kindP384, 0}, {"ES512", kindP521, 0},
	{"EdDSA", kindEd25519, 0},
}

// allAlgs is every supported algorithm.
const allAlgs = algSet(1)<<numAlgs - 1

func parseAlg(name string) (alg, bool) {
	for a := range numAlgs {
		if algTable[a].name == name {
			return a, true
		}
	}
	return 0, false
}

func (v *Verifier) lookupAlg(name []byte) (alg, bool) {
	for a := range numAlgs {
		if v.allowed.has(a) && string(name) == algTable[a].name {
			return a, true
		}
	}
	return 0, false
}

// algSet is a set of algs, one bit each.
type algSet uint16

func (s algSet) has(a alg) bool { return s&(1<<a) != 0 }

// names lists the set's algorithms in table order.
func (s algSet) names() []string {
	var names []string
	for a := range numAlgs {
		if s.has(a) {
			names = append(names, algTable[a].name)
		}
	}
	return names
}

// String lists the set's algorithms, comma-separated, in table order.
func (s algSet) String() string { return strings.Join(s.names(), ",") }

// kindAlgs is the set of algorithms usable with keys of kind k.
func kindAlgs(k keyKind) algSet {
	var s algSet
	for a := range numAlgs {
		if algTable[a].kind == k {
			s |= 1 << a
		}
	}
	return s
}

// fitting is the subset of s whose minimum key size a key of bits meets.
func (s algSet) fitting(bits int) algSet {
	var out algSet
	for a := range numAlgs {
		if s.has(a) && bits >= algTable[a].minBits {
			out |= 1 << a
		}
	}
	return out
}

// minKindBits is the smallest key of kind k that any algorithm accepts.
func minKindBits(k keyKind) int {
	least := 0
	for a := range numAlgs {
		if algTable[a].kind == k && (least == 0 || algTable[a].minBits < least) {
			least = algTable[a].minBits
		}
	}
	return least
}

// parseAllowed reads jwt.algorithms; empty means ["RS256"].
func parseAllowed(names []string) (algSet, error) {
	if len(names) == 0 {
		names = []string{"RS256"}
	}
	var s algSet
	for i, name := range names {
		if strings.EqualFold(name, "none") {
			return 0, fmt.Errorf("jwt.algorithms[%d]: %q is never allowed", i, name)
		}
		a, ok := parseAlg(name)
		if !ok {
			return 0, fmt.Errorf("jwt.algorithms[%d]: unsupported algorithm %q (supported: %s)", i, name, allAlgs)
		}
		s |= 1 << a
	}
	return s, nil
}

// Algorithms lists every supported algorithm name, in table order.
func Algorithms() []string { return allAlgs.names() }

// KeyType names the key type an algorithm verifies with ("RSA",
// "EC P-256", "Ed25519", "HMAC") and the shortest key it accepts in bits
// (0 where the type fixes it); ok is false for an unsupported algorithm.
func KeyType(name string) (keyType string, minBits int, ok bool) {
	a, ok := parseAlg(name)
	if !ok {
		return "", 0, false
	}
	return algTable[a].kind.String(), algTable[a].minBits, true
}

// CheckAlgorithms checks jwt.algorithms and the HMAC secret against the
// algorithm table; config.Config.Validate runs it with its own checks, so
// every problem is reported in one list:
//
//	cfg.Validate(jwtverify.CheckAlgorithms)
func CheckAlgorithms(c *config.Config) []config.Problem {
	j := &c.JWT
	var ps []config.Problem
	add := func(key, format string, args ...any) {
		ps = append(ps, config.Problem{Key: key, Message: fmt.Sprintf(format, args...)})
	}
	secretKey := "jwt.hmac_secret"
	if j.HMACSecretFile != "" {
		secretKey = "jwt.hmac_secret_file"
	}
	hasSecret := j.HMACSecret != "" || j.HMACSecretFile != ""
	if len(j.Algorithms) == 0 {
		add("jwt.algorithms", "needs at least one algorithm (for example RS256)")
	}
	var hmac algSet
	for i, name := range j.Algorithms {
		key := fmt.Sprintf("jwt.algorithms[%d]", i)
		a, ok := parseAlg(name)
		switch {
		case strings.EqualFold(name, "none"):
			add(key, `"none" is never allowed: it would accept unsigned tokens`)
		case !ok:
			add(key, "unknown algorithm %q (expected one of %s)", name, strings.Join(Algorithms(), ", "))
		case algTable[a].kind == kindHMAC:
			hmac |= 1 << a
		}
	}
	switch {
	case hmac != 0 && !hasSecret:
		add("jwt.algorithms", "%s needs jwt.hmac_secret or jwt.hmac_secret_file", strings.Join(hmac.names(), ", "))
	case hmac == 0 && hasSecret:
		add(secretKey, "is set, but jwt.algorithms allows none of %s: add one, or remove the secret", strings.Join(kindAlgs(kindHMAC).names(), ", "))
	}
	if j.HMACSecret != "" {
		// The secret is used with every allowed HMAC algorithm, so it must
		// be long enough for the most demanding one.
		for a := numAlgs; a > 0; a-- {
			if hmac.has(a-1) && len(j.HMACSecret)*8 < algTable[a-1].minBits {
				add(secretKey, "must be at least %d bytes for %s: a shorter secret can be brute-forced offline from any one token", algTable[a-1].minBits/8, algTable[a-1].name)
				break
			}
		}
	}
	return ps
}

// AlgorithmsFor lists, in table order, the algorithms that verify with a
// key of pub's type (*rsa.PublicKey, *ecdsa.PublicKey on P-256, P-384 or
// P-521, ed25519.PublicKey, or an HMAC secret as []byte); nil for any other
// type. Key sizes are not checked: KeyType gives each algorithm's minimum.
func AlgorithmsFor(pub any) []string {
	kind := kindOf(pub)
	if kind == 0 {
		return nil
	}
	return kindAlgs(kind).names()
}
