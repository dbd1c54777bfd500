package jwtverify

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/revgate/revgate/config"
)

// VerifierConfig configures a Verifier.
type VerifierConfig struct {
	// JWT holds the keys, algorithm allow-list, iss, aud, leeway,
	// subject_claim, session_claim ("" reads no session) and required
	// claims. Zero values of jwks_refresh (5m),
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
	// ReadClaims names claims the caller reads from Claims.Token besides
	// those of JWT (registered claims, subject_claim, required claims and
	// forward_headers, which the verifier knows of itself), such as a
	// session claim. Verify refuses a token that repeats any claim it
	// knows is read, since jwx keeps the last of two values and another
	// parser may keep the first.
	ReadClaims []string
	// Section names the configuration section the keys come from in
	// errors and logs ("jwt.jwks_url: ..."); "" means "jwt". The Shared
	// Signals receiver verifies its transmitter's SETs with a Verifier of
	// its own whose keys are ssf.jwks_url and ssf.jwks_file.
	Section string
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
	// claimNames are the payload members Verify reads or the caller is
	// known to read, indexed by slot: the registered claims first, then
	// subject_claim, session_claim, required claims, forward_headers
	// claims and ReadClaims not among them. Each may appear in a payload only once.
	claimNames   []string
	subjectClaim string
	subjectSlot  int
	// sessionClaim is jwt.session_claim, sessionSlot its slot; -1 when
	// session_claim is "" (off).
	sessionClaim string
	sessionSlot  int
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

// NewVerifier loads every configured key and, with jwks_url, starts the
// background refresh, which stops when ctx ends or Close is called. An
// unreachable jwks_url
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

// Close stops the background refresh of jwks_url and any fetch under way;
// the verifier keeps verifying with the keys it has. Ending the context
// given to NewVerifier does the same.
func (v *Verifier) Close() {
	if v.remote != nil {
		v.remote.close()
	}
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
	v.sessionClaim, v.sessionSlot = j.SessionClaim, -1
	if v.sessionClaim != "" {
		v.sessionSlot = v.slot(v.sessionClaim)
	}
	if v.required[PurposeAccess], err = v.requiredClaims("jwt.required_claims", j.RequiredClaims); err != nil {
		return nil, nil, err
	}
	if v.required[PurposeRefresh], err = v.requiredClaims("jwt.refresh_required_claims", j.RefreshRequiredClaims); err != nil {
		return nil, nil, err
	}
	for _, name := range forwardedClaims(j.ForwardHeaders) {
		v.slot(name)
	}
	for _, name := range cfg.ReadClaims {
		v.slot(name)
	}

	if v.static, err = loadStaticKeys(j, cfg.section(), allowed, now(), log); err != nil {
		return nil, nil, err
	}
	if j.JWKSURL == "" && len(v.static) == 0 {
		return nil, nil, errors.New("jwt: no verification key configured (set jwks_url, jwks_file, public_key_files or hmac_secret)")
	}
	v.keys.Store(newKeySet(v.static))
	return v, log, nil
}

// section is the configuration section named in errors and logs.
func (cfg VerifierConfig) section() string {
	if cfg.Section == "" {
		return "jwt"
	}
	return cfg.Section
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
//   - the payload is a JSON object in which no claim revgate reads or
//     forwards (see VerifierConfig.ReadClaims) appears twice;
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
		return nil, NewTokenError(ErrNoToken)
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
		return 0, nil, false, NewTokenError(ErrAlgNotAllowed)
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
	// stale: the token's key may exist although no loaded key carries its
	// kid, because the set could not be confirmed current.
	stale := false
	if hasKID && !known && v.remote != nil {
		fresh := v.remote.refetchForUnknownKID(ctx)
		// Looked up again even without a refetch of this request's own:
		// a background refresh may have brought the key meanwhile.
		keys, known = v.keys.Load().lookup(kid, hasKID, a)
		stale = !fresh && !known
	}
	if v.remote != nil && !v.remote.loaded.Load() {
		stale = true // no key set fetched yet: nothing is known
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
	err := ErrBadSignature
	if tried == 0 {
		err = ErrUnknownKey
	}
	if stale {
		// The description stays the sentinel's: an access token's answer
		// does not change, only callers that ask errors.Is see the cause.
		return &TokenError{Err: fmt.Errorf("%w: %w", err, ErrKeysUnavailable), Description: err.Error()}
	}
	return NewTokenError(err)
}

func malformed(desc string) *TokenError {
	return &TokenError{Err: ErrTokenMalformed, Description: desc}
}

// The helpers below read JSON already checked by json.Valid: they find the
// boundaries of members and values without decoding them, so Verify does
// not allocate for claims it does not need. A value is a slice of the
// input: `"str"`, `42`, `{...}`.
