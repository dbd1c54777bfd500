package gateway

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/revgate/revgate/config"
)

// VerifierConfig configures a Verifier.
type VerifierConfig struct {
	// JWT holds the keys, algorithm allow-list, iss, aud, leeway,
	// subject_claim and required claims. Zero values of jwks_refresh (5m),
	// jwks_unknown_kid_cooldown (30s), algorithms (RS256) and subject_claim
	// (sub) get the configuration defaults; jwks_refresh is at least 1s.
	JWT config.JWT
	// MaxTokenLifetime is revocation.max_token_lifetime; required. A token
	// whose exp - iat exceeds it is rejected, so revocation marks that live
	// this long outlive every token they could reject.
	MaxTokenLifetime time.Duration
	// Logger receives key loading and JWKS refresh events; nil discards.
	// Verify itself never logs.
	Logger *slog.Logger
	// HTTPClient fetches jwks_url; nil means a clone of the default
	// transport. Each fetch is bounded by 10s and 1 MiB whatever the client.
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// OnJWKSFetch, when set, is told the outcome of every fetch of
	// jwks_url (nil error: a usable key set arrived), for metrics.
	OnJWKSFetch func(err error)
}

// Verifier checks tokens: compact JWS only, an allowed algorithm, a
// signature from a configured key of that algorithm's type, then the claims
// the Purpose asks for. It is safe for concurrent use; Verify does not
// block on the network except for the rate-limited refetch of jwks_url a
// token with an unknown kid may trigger.
type Verifier struct {
	now         func() time.Time
	leeway      time.Duration
	maxLifetime time.Duration
	allowed     algSet
	verifiers   [numAlgs]jws.Verifier
	issuers     []string
	audiences   []string
	// claimNames are the payload members Verify reads, indexed by slot:
	// the registered claims first, then subject_claim and required claims
	// not among them.
	claimNames   []string
	subjectClaim string
	subjectSlot  int
	required     [2][]requiredClaim // by PurposeAccess, PurposeRefresh

	static []*verifyKey
	remote *remoteJWKS // nil without jwks_url
	// cache skips the signature check for tokens seen before; nil when
	// jwt.verify_cache_size is 0.
	cache *verifyCache

	mu   sync.Mutex // serializes key set rebuilds
	keys atomic.Pointer[keySet]
}

const (
	// maxTokenBytes bounds the token Verify accepts at all.
	maxTokenBytes = 64 << 10
	// maxKeyTries bounds how many keys one token is tried against (a token
	// without kid is tried against every compatible key, in order), so a
	// forged token costs at most this many signature checks.
	maxKeyTries = 4
	// maxNumericDate (year 9999) bounds exp, nbf and iat.
	maxNumericDate = 253402300799
)

// jwsBase64 is base64url without padding, rejecting non-zero trailing bits, so a
// token has exactly one encoding. Verify rejects CR and LF itself, which
// the decoder would skip.
var jwsBase64 = base64.RawURLEncoding.Strict()

// Payload slots of the registered claims.
const (
	slotExp = iota
	slotNbf
	slotIat
	slotIss
	slotAud
	slotJti
	slotSub
)

// requiredClaim is one entry of required_claims or refresh_required_claims.
type requiredClaim struct {
	name string
	slot int
	want expectedClaim
}

// NewVerifier loads every configured key and, with jwks_url, starts the
// background refresh, which stops when ctx ends. An unreachable jwks_url
// does not fail NewVerifier: the gateway starts, Ready reports false and
// fetches are retried until keys arrive. Invalid configuration and
// unreadable local keys do fail it, with an error naming the key.
func NewVerifier(ctx context.Context, cfg VerifierConfig) (*Verifier, error) {
	v, log, err := newStaticVerifier(cfg)
	if err != nil {
		return nil, err
	}
	if j := cfg.JWT; j.JWKSURL != "" {
		onKeys := func(set jwk.Set) error {
			keys, _ := keysFromSet(set, sourceJWKSURL, v.allowed, v.now(), log) // never fails for a URL
			if len(keys) == 0 {
				return errors.New("no usable signature verification key in the set for jwt.algorithms")
			}
			v.mu.Lock()
			v.keys.Store(newKeySet(v.static, keys))
			v.mu.Unlock()
			return nil
		}
		if v.remote, err = newRemoteJWKS(ctx, cfg, log, v.now, onKeys); err != nil {
			return nil, err
		}
		v.remote.start()
	}
	log.Info("token verification configured",
		"algorithms", v.allowed.String(), "keys", len(v.keys.Load().keys), "jwks_url", v.remote != nil)
	return v, nil
}

// CheckVerifier makes every check NewVerifier makes that needs no network:
// algorithms, required claims and the local keys (jwks_file,
// public_key_files, hmac_secret), each read and parsed. A jwks_url is not
// fetched. It starts nothing.
func CheckVerifier(cfg VerifierConfig) error {
	_, _, err := newStaticVerifier(cfg)
	return err
}

// newStaticVerifier builds a Verifier with its local keys loaded and no
// background work started.
func newStaticVerifier(cfg VerifierConfig) (*Verifier, *slog.Logger, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	j := cfg.JWT
	if cfg.MaxTokenLifetime <= 0 {
		return nil, nil, errors.New("revocation.max_token_lifetime: must be positive")
	}
	if j.Leeway < 0 {
		return nil, nil, errors.New("jwt.leeway: must not be negative")
	}
	allowed, err := parseAllowed(j.Algorithms)
	if err != nil {
		return nil, nil, err
	}
	v := &Verifier{
		now:          now,
		leeway:       j.Leeway,
		maxLifetime:  cfg.MaxTokenLifetime,
		allowed:      allowed,
		issuers:      nonEmpty(j.Issuer),
		audiences:    nonEmpty(j.Audience),
		claimNames:   []string{"exp", "nbf", "iat", "iss", "aud", "jti", "sub"},
		subjectClaim: j.SubjectClaim,
		cache:        newVerifyCache(j.VerifyCacheSize),
	}
	for a := range numAlgs {
		if allowed.has(a) {
			if v.verifiers[a], err = jws.NewVerifier(jwa.SignatureAlgorithm(algTable[a].name)); err != nil {
				return nil, nil, fmt.Errorf("jwt.algorithms: %s: %w", algTable[a].name, err)
			}
		}
	}
	if v.subjectClaim == "" {
		v.subjectClaim = "sub"
	}
	v.subjectSlot = v.slot(v.subjectClaim)
	if v.required[PurposeAccess], err = v.requiredClaims("jwt.required_claims", j.RequiredClaims); err != nil {
		return nil, nil, err
	}
	if v.required[PurposeRefresh], err = v.requiredClaims("jwt.refresh_required_claims", j.RefreshRequiredClaims); err != nil {
		return nil, nil, err
	}

	if v.static, err = loadStaticKeys(j, allowed, now(), log); err != nil {
		return nil, nil, err
	}
	if j.JWKSURL == "" && len(v.static) == 0 {
		return nil, nil, errors.New("jwt: no verification key configured (set jwks_url, jwks_file, public_key_files or hmac_secret)")
	}
	v.keys.Store(newKeySet(v.static))
	return v, log, nil
}

// Ready reports whether at least one key is loaded.
func (v *Verifier) Ready() bool { return len(v.keys.Load().keys) > 0 }

// Keys describes the loaded keys, static ones first. It never returns key
// material.
func (v *Verifier) Keys() []KeyInfo { return v.keys.Load().infos() }

// Verify checks raw for purpose p and returns its claims. Every token
// failure is a *TokenError wrapping a sentinel of token.go; its
// description names what failed and never echoes the token or a claim
// value. Checks, in order:
//
//   - compact JWS only: JWE and JSON serialization are unsupported; jku,
//     x5u, jwk and x5c headers are never used, and crit is refused;
//   - the header alg is in jwt.algorithms ("none" never is);
//   - the signature verifies with a configured key of that algorithm's type
//     (and of that alg, when the key names one): the key with the token's
//     kid, else the keys without kid; a kid no key carries refetches
//     jwks_url at most once per jwks_unknown_kid_cooldown;
//   - unless p is PurposeRevoke: exp is present (a token that never expires
//     would outlive every revocation TTL) and not past, nbf and iat are not
//     in the future, all with jwt.leeway; exp - iat is at most
//     MaxTokenLifetime (without iat: exp - now at most MaxTokenLifetime); iss and aud match when configured; required_claims
//     (refresh_required_claims for PurposeRefresh) are present and equal.
func (v *Verifier) Verify(ctx context.Context, raw string, p Purpose) (*Claims, error) {
	if v.cache == nil || p == PurposeRevoke {
		return v.verify(ctx, raw, p)
	}
	keys, now := v.keys.Load(), v.now()
	if c, ok := v.cache.get(raw, p, keys, now); ok {
		return c, nil
	}
	c, err := v.verify(ctx, raw, p)
	if err == nil && !c.ExpiresAt.IsZero() {
		// Until exactly when verify would start refusing it, so a cached
		// token never outlives its revocation record (which lives until
		// exp + leeway, rounded up).
		v.cache.put(raw, p, c, keys, c.ExpiresAt.Add(v.leeway), now)
	}
	return c, err
}

// verify is Verify without the cache.
func (v *Verifier) verify(ctx context.Context, raw string, p Purpose) (*Claims, error) {
	if raw == "" {
		return nil, tokenError(ErrNoToken)
	}
	if len(raw) > maxTokenBytes {
		return nil, malformed("token too large")
	}
	if raw[0] == '{' {
		return nil, &TokenError{Err: ErrTokenUnsupported, Description: "JSON-serialized tokens are not supported"}
	}
	dot1, dot2, dots := 0, 0, 0
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c == '.':
			dots++
			if dots == 1 {
				dot1 = i
			} else if dots == 2 {
				dot2 = i
			}
		case !isBase64URL(c):
			return nil, malformed("token is not a compact JWS")
		}
	}
	switch {
	case dots == 4:
		return nil, &TokenError{Err: ErrTokenUnsupported, Description: "encrypted tokens (JWE) are not supported"}
	case dots != 2:
		return nil, malformed("token is not a compact JWS")
	}
	b := []byte(raw) // the one copy: every part below is a view of it

	hdr, err := jwsBase64.AppendDecode(make([]byte, 0, jwsBase64.DecodedLen(dot1)), b[:dot1])
	if err != nil {
		return nil, malformed("token header malformed")
	}
	a, kid, hasKID, terr := v.parseHeader(hdr)
	if terr != nil {
		return nil, terr
	}
	sig, err := jwsBase64.AppendDecode(nil, b[dot2+1:])
	if err != nil || len(sig) == 0 {
		return nil, malformed("token signature malformed")
	}
	if terr := v.verifySignature(ctx, a, kid, hasKID, b[:dot2], sig); terr != nil {
		return nil, terr
	}
	// Only an authenticated payload is parsed.
	p64 := b[dot1+1 : dot2]
	payload, err := jwsBase64.AppendDecode(make([]byte, 0, jwsBase64.DecodedLen(len(p64))), p64)
	if err != nil {
		return nil, malformed("token payload malformed")
	}
	return v.claims(payload, p)
}

// parseHeader reads alg and kid from the JOSE header. Other members are
// ignored on purpose: jku, x5u, jwk and x5c would let the token choose its
// own key. crit is refused: no extension is implemented (RFC 7515 §4.1.11).
func (v *Verifier) parseHeader(hdr []byte) (a alg, kid []byte, hasKID bool, terr *TokenError) {
	if !json.Valid(hdr) {
		return 0, nil, false, malformed("token header malformed")
	}
	it := objectIter{b: hdr}
	if !it.open() {
		return 0, nil, false, malformed("token header malformed")
	}
	var algRaw, kidRaw []byte
	for {
		key, val, ok := it.next()
		if !ok {
			break
		}
		switch {
		case keyIs(key, "alg"):
			if algRaw != nil || val[0] != '"' {
				return 0, nil, false, malformed("token header alg malformed")
			}
			algRaw = val
		case keyIs(key, "kid"):
			if kidRaw != nil || val[0] != '"' {
				return 0, nil, false, malformed("token header kid malformed")
			}
			kidRaw = val
		case keyIs(key, "crit"):
			return 0, nil, false, &TokenError{Err: ErrTokenUnsupported, Description: `token header "crit" is not supported`}
		}
	}
	if algRaw == nil {
		return 0, nil, false, malformed("token header has no alg")
	}
	a, ok := v.lookupAlg(rawString(algRaw))
	if !ok {
		return 0, nil, false, tokenError(ErrAlgNotAllowed)
	}
	if kidRaw != nil {
		kid = rawString(kidRaw)
		hasKID = len(kid) > 0
	}
	return a, kid, hasKID, nil
}

// verifySignature checks sig over input with the keys lookup picks.
func (v *Verifier) verifySignature(ctx context.Context, a alg, kid []byte, hasKID bool, input, sig []byte) *TokenError {
	keys, known := v.keys.Load().lookup(kid, hasKID, a)
	if hasKID && !known && v.remote != nil && v.remote.refetchForUnknownKID(ctx) {
		keys, _ = v.keys.Load().lookup(kid, hasKID, a)
	}
	ver := v.verifiers[a]
	tried := 0
	for _, k := range keys {
		if !k.algs.has(a) {
			continue
		}
		if tried == maxKeyTries {
			break
		}
		tried++
		if ver.Verify(input, sig, k.key) == nil {
			return nil
		}
	}
	if tried == 0 {
		return tokenError(ErrUnknownKey)
	}
	return tokenError(ErrBadSignature)
}

// claims reads a verified payload and applies the checks of purpose p.
func (v *Verifier) claims(payload []byte, p Purpose) (*Claims, error) {
	if !json.Valid(payload) {
		return nil, malformed("token payload is not JSON")
	}
	it := objectIter{b: payload}
	if !it.open() {
		return nil, malformed("token claims are not a JSON object")
	}
	var buf [16][]byte
	vals := buf[:0]
	if len(v.claimNames) > len(buf) {
		vals = make([][]byte, 0, len(v.claimNames))
	}
	vals = vals[:len(v.claimNames)]
	for {
		key, val, ok := it.next()
		if !ok {
			break
		}
		s := v.findSlot(key)
		if s < 0 {
			continue
		}
		// RFC 7519 §4 allows rejecting duplicates; accepting them would let
		// these checks and the Token (last wins, as in jwx) disagree.
		if vals[s] != nil {
			return nil, malformed(fmt.Sprintf("duplicate claim %q", v.claimNames[s]))
		}
		vals[s] = val
	}

	c := &Claims{}
	exp, hasExp, terr := numericDate(vals[slotExp], "exp")
	if terr != nil {
		return nil, terr
	}
	nbf, hasNbf, terr := numericDate(vals[slotNbf], "nbf")
	if terr != nil {
		return nil, terr
	}
	iat, hasIat, terr := numericDate(vals[slotIat], "iat")
	if terr != nil {
		return nil, terr
	}
	for _, s := range [...]int{slotIss, slotJti, slotSub} {
		if val := vals[s]; val != nil && val[0] != '"' {
			return nil, malformed(fmt.Sprintf("claim %q is not a string", v.claimNames[s]))
		}
	}
	if val := vals[slotAud]; val != nil && !isStringOrStrings(val) {
		return nil, malformed(`claim "aud" is not a string or list of strings`)
	}
	if val := vals[slotJti]; val != nil {
		c.JTI = unquote(val)
	}
	if val := vals[v.subjectSlot]; val != nil {
		sub, err := canonicalSubject(val)
		if err != nil {
			return nil, malformed(fmt.Sprintf("subject claim %q: %v", v.subjectClaim, err))
		}
		c.Subject = sub
	}
	if hasExp {
		c.ExpiresAt = exp
	}
	if hasIat {
		c.IssuedAt = iat
	}

	if p != PurposeRevoke {
		if terr := v.checkTimes(exp, hasExp, nbf, hasNbf, iat, hasIat); terr != nil {
			return nil, terr
		}
		if len(v.issuers) > 0 && (vals[slotIss] == nil || !matchesAny(vals[slotIss], v.issuers)) {
			return nil, tokenError(ErrWrongIssuer)
		}
		if len(v.audiences) > 0 && (vals[slotAud] == nil || !audienceMatches(vals[slotAud], v.audiences)) {
			return nil, tokenError(ErrWrongAudience)
		}
		required := v.required[PurposeAccess]
		if p == PurposeRefresh {
			required = v.required[PurposeRefresh]
		}
		for _, rc := range required {
			val := vals[rc.slot]
			if val == nil {
				return nil, &TokenError{Err: ErrClaimMissing, Description: fmt.Sprintf("required claim %q missing", rc.name)}
			}
			if !rc.want.matches(val) {
				return nil, &TokenError{Err: ErrClaimMismatch, Description: fmt.Sprintf("required claim %q has the wrong value", rc.name)}
			}
		}
	}

	tok, err := v.buildToken(payload, vals, c)
	if err != nil {
		return nil, malformed("token claims malformed")
	}
	c.Token = tok
	return c, nil
}

// buildToken fills a jwt.Token for forward_headers from the members already
// found, decoding each value once. It gives what jwt.Parse would: strings,
// []string aud, time.Time dates, and encoding/json's types for other claims
// (float64 numbers). jwx's own decoder streams through json.Decoder.Token
// and costs several times the rest of Verify. Like jwx, a duplicated
// private claim keeps its last value (registered and configured claims
// cannot be duplicated: claims refused them).
func (v *Verifier) buildToken(payload []byte, vals [][]byte, c *Claims) (jwt.Token, error) {
	tok := jwt.New()
	set := tok.Set
	it := objectIter{b: payload}
	it.open()
	for {
		key, val, ok := it.next()
		if !ok {
			return tok, nil
		}
		var err error
		switch s := v.findSlot(key); s {
		case slotExp:
			err = set(jwt.ExpirationKey, c.ExpiresAt)
		case slotIat:
			err = set(jwt.IssuedAtKey, c.IssuedAt)
		case slotNbf:
			t, _, _ := numericDate(vals[slotNbf], "nbf")
			err = set(jwt.NotBeforeKey, t)
		case slotJti:
			err = set(jwt.JwtIDKey, c.JTI)
		case slotIss, slotSub:
			err = set(v.claimNames[s], unquote(val))
		case slotAud:
			var aud []string
			if val[0] == '"' {
				aud = []string{unquote(val)}
			} else {
				ai := arrayIter{b: val}
				ai.open()
				for e, ok := ai.next(); ok; e, ok = ai.next() {
					aud = append(aud, unquote(e))
				}
			}
			err = set(jwt.AudienceKey, aud)
		default:
			var x any
			if x, err = decodeValue(val); err == nil {
				err = set(unquote(key), x)
			}
		}
		if err != nil {
			return nil, err
		}
	}
}

// decodeValue decodes a JSON value as json.Unmarshal into an any would,
// without its machinery for the scalar cases.
func decodeValue(val []byte) (any, error) {
	switch val[0] {
	case '"':
		return unquote(val), nil
	case 't':
		return true, nil
	case 'f':
		return false, nil
	case 'n':
		return nil, nil
	case '{', '[':
		var x any
		err := json.Unmarshal(val, &x)
		return x, err
	}
	return strconv.ParseFloat(string(val), 64)
}

// checkTimes applies exp, nbf, iat and the lifetime bound, with leeway.
func (v *Verifier) checkTimes(exp time.Time, hasExp bool, nbf time.Time, hasNbf bool, iat time.Time, hasIat bool) *TokenError {
	if !hasExp {
		// Revocation entries live until exp (or max_token_lifetime past a
		// mark); a token that never expires would outlive them all.
		return &TokenError{Err: ErrClaimMissing, Description: `required claim "exp" missing: tokens that never expire are not accepted`}
	}
	now := v.now()
	if !now.Before(exp.Add(v.leeway)) {
		return tokenError(ErrTokenExpired)
	}
	if hasNbf && now.Add(v.leeway).Before(nbf) {
		return tokenError(ErrTokenNotYetValid)
	}
	if hasIat && iat.After(now.Add(v.leeway)) {
		return tokenError(ErrTokenIssuedLater)
	}
	// Without iat the lifetime is unknown; the most a token can still be
	// used is exp - now (plus leeway), which must fit under a mark's TTL of
	// max_token_lifetime plus leeway: so exp - now is held to
	// max_token_lifetime, with no leeway of its own.
	if hasIat && exp.Sub(iat) > v.maxLifetime ||
		!hasIat && exp.Sub(now) > v.maxLifetime {
		return tokenError(ErrLifetimeTooLong)
	}
	return nil
}

// slot returns the payload slot of claim name, adding one if needed.
func (v *Verifier) slot(name string) int {
	if i := slices.Index(v.claimNames, name); i >= 0 {
		return i
	}
	v.claimNames = append(v.claimNames, name)
	return len(v.claimNames) - 1
}

// findSlot returns the slot of a member key (raw JSON string), or -1.
func (v *Verifier) findSlot(key []byte) int {
	name := rawString(key)
	for i, n := range v.claimNames {
		if string(name) == n {
			return i
		}
	}
	return -1
}

// requiredClaims prepares one required-claims map, in name order so
// descriptions do not depend on map iteration.
func (v *Verifier) requiredClaims(key string, m map[string]any) ([]requiredClaim, error) {
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	slices.Sort(names)
	out := make([]requiredClaim, 0, len(m))
	for _, name := range names {
		want, err := newExpectedClaim(m[name])
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", key, name, err)
		}
		out = append(out, requiredClaim{name: name, slot: v.slot(name), want: want})
	}
	return out, nil
}

func (v *Verifier) lookupAlg(name []byte) (alg, bool) {
	for a := range numAlgs {
		if v.allowed.has(a) && string(name) == algTable[a].name {
			return a, true
		}
	}
	return 0, false
}

// alg indexes algTable.
type alg uint8

// numAlgs is the number of supported signature algorithms.
const numAlgs alg = 13

// algTable lists the supported algorithms and the key type each needs. It
// is never modified.
var algTable = [numAlgs]struct {
	name string
	kind keyKind
}{
	{"RS256", kindRSA}, {"RS384", kindRSA}, {"RS512", kindRSA},
	{"PS256", kindRSA}, {"PS384", kindRSA}, {"PS512", kindRSA},
	{"ES256", kindP256}, {"ES384", kindP384}, {"ES512", kindP521},
	{"EdDSA", kindEd25519},
	{"HS256", kindHMAC}, {"HS384", kindHMAC}, {"HS512", kindHMAC},
}

func parseAlg(name string) (alg, bool) {
	for a := range numAlgs {
		if algTable[a].name == name {
			return a, true
		}
	}
	return 0, false
}

// algSet is a set of algs, one bit each.
type algSet uint16

func (s algSet) has(a alg) bool { return s&(1<<a) != 0 }

// String lists the set's algorithms, comma-separated, in table order.
func (s algSet) String() string {
	var names []string
	for a := range numAlgs {
		if s.has(a) {
			names = append(names, algTable[a].name)
		}
	}
	return strings.Join(names, ",")
}

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
			return 0, fmt.Errorf("jwt.algorithms[%d]: unsupported algorithm %q (supported: %s)", i, name, (algSet(1)<<numAlgs - 1).String())
		}
		s |= 1 << a
	}
	return s, nil
}

func malformed(desc string) *TokenError {
	return &TokenError{Err: ErrTokenMalformed, Description: desc}
}

func isBase64URL(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// numericDate reads an exp, nbf or iat value: a JSON number of seconds,
// possibly fractional, truncated to whole seconds (floor).
func numericDate(val []byte, name string) (t time.Time, ok bool, terr *TokenError) {
	if val == nil {
		return time.Time{}, false, nil
	}
	if val[0] != '-' && (val[0] < '0' || val[0] > '9') {
		return time.Time{}, false, malformed(fmt.Sprintf("claim %q is not a number", name))
	}
	f, err := strconv.ParseFloat(string(val), 64)
	if err != nil || math.Abs(f) > maxNumericDate {
		return time.Time{}, false, malformed(fmt.Sprintf("claim %q out of range", name))
	}
	return time.Unix(int64(math.Floor(f)), 0), true, nil
}

// nonEmpty drops empty strings: an empty issuer or audience means unset.
func nonEmpty(list []string) []string {
	var out []string
	for _, s := range list {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// matchesAny reports whether the JSON string val equals one of want.
func matchesAny(val []byte, want []string) bool {
	if val[0] != '"' {
		return false
	}
	for _, w := range want {
		if stringEquals(val, w) {
			return true
		}
	}
	return false
}

// audienceMatches reports whether aud (a string or a list of strings)
// contains one of want.
func audienceMatches(aud []byte, want []string) bool {
	if aud[0] == '"' {
		return matchesAny(aud, want)
	}
	it := arrayIter{b: aud}
	it.open()
	for {
		e, ok := it.next()
		if !ok {
			return false
		}
		if matchesAny(e, want) {
			return true
		}
	}
}

func isStringOrStrings(val []byte) bool {
	if val[0] == '"' {
		return true
	}
	it := arrayIter{b: val}
	if !it.open() {
		return false
	}
	for {
		e, ok := it.next()
		if !ok {
			return true
		}
		if e[0] != '"' {
			return false
		}
	}
}

// The helpers below read JSON already checked by json.Valid: they find the
// boundaries of members and values without decoding them, so Verify does
// not allocate for claims it does not need. A value is a slice of the
// input: `"str"`, `42`, `{...}`.

// objectIter walks the members of a JSON object.
type objectIter struct {
	b []byte
	i int
}

func (it *objectIter) open() bool {
	it.i = skipSpace(it.b, 0)
	if it.i < len(it.b) && it.b[it.i] == '{' {
		it.i++
		return true
	}
	return false
}

// next returns the next member's key (a raw JSON string) and value.
func (it *objectIter) next() (key, val []byte, ok bool) {
	b := it.b
	i := skipSpace(b, it.i)
	if i < len(b) && b[i] == ',' {
		i = skipSpace(b, i+1)
	}
	if i >= len(b) || b[i] != '"' {
		return nil, nil, false // '}'
	}
	end := skipString(b, i)
	key = b[i:end]
	i = skipSpace(b, end)
	i = skipSpace(b, i+1) // ':'
	end = skipValue(b, i)
	val = b[i:end]
	it.i = end
	return key, val, len(val) > 0
}

// arrayIter walks the elements of a JSON array.
type arrayIter struct {
	b []byte
	i int
}

func (it *arrayIter) open() bool {
	it.i = skipSpace(it.b, 0)
	if it.i < len(it.b) && it.b[it.i] == '[' {
		it.i++
		return true
	}
	return false
}

func (it *arrayIter) next() (val []byte, ok bool) {
	b := it.b
	i := skipSpace(b, it.i)
	if i < len(b) && b[i] == ',' {
		i = skipSpace(b, i+1)
	}
	if i >= len(b) || b[i] == ']' {
		return nil, false
	}
	end := skipValue(b, i)
	it.i = end
	return b[i:end], end > i
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"'.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// skipValue returns the index after the value starting at b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	}
	for ; i < len(b); i++ {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			return i
		}
	}
	return i
}

// rawString returns the contents of a JSON string as bytes: a view of the
// input when it holds no escape and is valid UTF-8, else a decoded copy
// (invalid UTF-8 becomes U+FFFD, as encoding/json and so jwx decode it).
func rawString(val []byte) []byte {
	if len(val) < 2 || val[0] != '"' || val[len(val)-1] != '"' {
		return nil
	}
	inner := val[1 : len(val)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return inner
	}
	var s string
	if json.Unmarshal(val, &s) != nil {
		return nil
	}
	return []byte(s)
}

// unquote returns a JSON string's value.
func unquote(val []byte) string { return string(rawString(val)) }

// stringEquals reports whether the JSON string val equals s.
func stringEquals(val []byte, s string) bool {
	return val[0] == '"' && string(rawString(val)) == s
}

// keyIs reports whether the member key (a raw JSON string) is name.
func keyIs(key []byte, name string) bool { return string(rawString(key)) == name }
