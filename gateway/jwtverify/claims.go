package jwtverify

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwt"
)

// requiredClaim is one entry of required_claims or refresh_required_claims.
type requiredClaim struct {
	name string
	slot int
	want expectedClaim
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
		// these checks and the Token (last wins, as in jwx) disagree, or
		// a forwarded header and the upstream's own parse of the token
		// (which may keep the first).
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
		// As for subjects: two jtis must never decode to one.
		if !isUTF8String(val) {
			return nil, malformed(`claim "jti" is not valid UTF-8`)
		}
		c.JTI = unquote(val)
	}
	if val := vals[v.subjectSlot]; val != nil {
		sub, err := canonicalSubject(val)
		if err != nil {
			return nil, malformed(fmt.Sprintf("subject claim %q: %v", v.subjectClaim, err))
		}
		c.Subject = sub
	}
	if v.sessionSlot >= 0 && vals[v.sessionSlot] != nil {
		// A session id that is not a string, or not UTF-8, is refused
		// rather than ignored: read as absent, it would slip past a
		// revoked session whose id another parser decodes from it.
		val := vals[v.sessionSlot]
		if val[0] != '"' {
			return nil, malformed(fmt.Sprintf("session claim %q is not a string", v.sessionClaim))
		}
		if !isUTF8String(val) {
			return nil, malformed(fmt.Sprintf("session claim %q is not valid UTF-8", v.sessionClaim))
		}
		c.Session = unquote(val)
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
			return nil, NewTokenError(ErrWrongIssuer)
		}
		if len(v.audiences) > 0 && (vals[slotAud] == nil || !audienceMatches(vals[slotAud], v.audiences)) {
			return nil, NewTokenError(ErrWrongAudience)
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
// claim keeps its last value; only claims nobody reads can be duplicated
// here (claims refused duplicates of every claim with a slot).
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
		return NewTokenError(ErrTokenExpired)
	}
	if hasNbf && now.Add(v.leeway).Before(nbf) {
		return NewTokenError(ErrTokenNotYetValid)
	}
	if hasIat && iat.After(now.Add(v.leeway)) {
		return NewTokenError(ErrTokenIssuedLater)
	}
	// Without iat the lifetime is unknown; the most a token can still be
	// used is exp - now (plus leeway), which must fit under a mark's TTL of
	// max_token_lifetime plus leeway: so exp - now is held to
	// max_token_lifetime, with no leeway of its own.
	if hasIat && exp.Sub(iat) > v.maxLifetime ||
		!hasIat && exp.Sub(now) > v.maxLifetime {
		return NewTokenError(ErrLifetimeTooLong)
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

// forwardedClaims returns the claims forward_headers sends upstream, in
// name order so slots do not depend on map iteration.
func forwardedClaims(forward map[string]string) []string {
	names := make([]string, 0, len(forward))
	for _, name := range forward {
		if name != "" && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
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
