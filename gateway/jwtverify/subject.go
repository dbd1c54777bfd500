package jwtverify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Subjects and claim values are compared in canonical form, so the same
// user never hides behind two spellings: simplejwt's user_id 42 may arrive
// as 42, 42.0 or 4.2e1, and all must hit the same revocation mark, while
// 12345678901234567890 and 12345678901234567891 (equal as float64) must not.
// Numbers are therefore read from their JSON text, never through float64.

// maxCanonicalNumberLen bounds a canonical number's length: 1e999999999 is
// valid JSON, and spelling it out would cost a gigabyte.
const maxCanonicalNumberLen = 128

var (
	errNotSubject   = errors.New("not a string or number")
	errNotUTF8      = errors.New("not valid UTF-8")
	errNotNumber    = errors.New("not a JSON number")
	errNumberLength = fmt.Errorf("number longer than %d digits when written out", maxCanonicalNumberLen)
)

// canonicalSubject returns the subject a JSON value names: a string as is
// (decoded), a number in canonical decimal. Anything else is an error, and
// so is a string that is not valid UTF-8: decoded, its bad sequences would
// all become U+FFFD, and users "a\xff" and "a\xfe" would share one
// revocation mark.
func canonicalSubject(val []byte) (string, error) {
	if len(val) == 0 {
		return "", errNotSubject
	}
	switch c := val[0]; {
	case c == '"':
		if !isUTF8String(val) {
			return "", errNotUTF8
		}
		s := rawString(val)
		if s == nil {
			return "", errNotSubject
		}
		return string(s), nil
	case c == '-' || '0' <= c && c <= '9':
		return canonicalNumber(val)
	}
	return "", errNotSubject
}

// CanonicalSubject returns the subject the JSON value val (a string or a
// number) names, in the canonical form Claims.Subject has, so a subject
// named elsewhere (a Security Event Token's iss_sub) reaches the same
// revocation mark as the token's own claim.
func CanonicalSubject(val []byte) (string, error) { return canonicalSubject(val) }

// canonicalNumber writes a JSON number in plain decimal with no exponent,
// no leading zeros, no trailing fractional zeros, no "-" on zero and no "."
// on an integer: 42, 42.0, 4.2e1 and 420e-1 all give "42"; 0.5 gives
// "0.5"; -0 gives "0". Equal numbers give equal strings and different
// numbers different strings, at any size up to maxCanonicalNumberLen.
func canonicalNumber(b []byte) (string, error) {
	i, n := 0, len(b)
	neg := i < n && b[i] == '-'
	if neg {
		i++
	}
	start := i
	switch {
	case i < n && b[i] == '0':
		i++
	case i < n && '1' <= b[i] && b[i] <= '9':
		for i < n && isDigit(b[i]) {
			i++
		}
	default:
		return "", errNotNumber
	}
	intPart := b[start:i]
	var frac []byte
	if i < n && b[i] == '.' {
		i++
		start = i
		for i < n && isDigit(b[i]) {
			i++
		}
		if i == start {
			return "", errNotNumber
		}
		frac = b[start:i]
	}
	exp := 0
	if i < n && (b[i] == 'e' || b[i] == 'E') {
		i++
		expNeg := false
		if i < n && (b[i] == '+' || b[i] == '-') {
			expNeg = b[i] == '-'
			i++
		}
		start = i
		for i < n && isDigit(b[i]) {
			// Saturate: past 1e8 the number is too long either way
			// (unless it is zero), and exp stays far from overflow.
			if exp < 1e8 {
				exp = exp*10 + int(b[i]-'0')
			}
			i++
		}
		if i == start {
			return "", errNotNumber
		}
		if expNeg {
			exp = -exp
		}
	}
	if i != n {
		return "", errNotNumber
	}

	// The value is 0.D × 10^point, D being the digits of intPart and frac.
	var buf [64]byte
	d := append(append(buf[:0], intPart...), frac...)
	point := len(intPart) + exp
	for len(d) > 0 && d[0] == '0' {
		d = d[1:]
		point--
	}
	for len(d) > 0 && d[len(d)-1] == '0' {
		d = d[:len(d)-1]
	}
	if len(d) == 0 {
		return "0", nil
	}
	var size int
	switch {
	case point >= len(d): // integer: D then zeros
		size = point
	case point <= 0: // 0.000D
		size = 2 - point + len(d)
	default: // DD.DD
		size = len(d) + 1
	}
	if neg {
		size++
	}
	if size > maxCanonicalNumberLen {
		return "", errNumberLength
	}
	var sb strings.Builder
	sb.Grow(size)
	if neg {
		sb.WriteByte('-')
	}
	switch {
	case point >= len(d):
		sb.Write(d)
		for range point - len(d) {
			sb.WriteByte('0')
		}
	case point <= 0:
		sb.WriteString("0.")
		for range -point {
			sb.WriteByte('0')
		}
		sb.Write(d)
	default:
		sb.Write(d[:point])
		sb.WriteByte('.')
		sb.Write(d[point:])
	}
	return sb.String(), nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// expectedClaim is an expected claim value (required_claims) in canonical
// form, compared "JSON-ishly": YAML 42 equals JSON 42, 42.0 and 4.2e1, but
// not the string "42"; lists and objects compare element by element, with
// object keys in any order.
type expectedClaim struct {
	// kind is '"' (string), 'n' (number), 't', 'f', '0' (null), '{' or
	// '['.
	kind byte
	// text is the decoded string, canonical number or canonical JSON.
	text string
}

// newExpectedClaim converts a configured value (from YAML, JSON or code).
func newExpectedClaim(v any) (expectedClaim, error) {
	if f, ok := v.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
		return expectedClaim{}, errors.New("not a finite number")
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return expectedClaim{}, fmt.Errorf("not representable as JSON: %w", err)
	}
	cv, err := parseExpectedClaim(raw)
	if err != nil {
		return expectedClaim{}, err
	}
	return cv, nil
}

// parseExpectedClaim canonicalizes a JSON value.
func parseExpectedClaim(raw []byte) (expectedClaim, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return expectedClaim{}, errors.New("empty value")
	}
	switch c := raw[0]; {
	case c == '"':
		return expectedClaim{kind: '"', text: unquote(raw)}, nil
	case c == '-' || isDigit(c):
		s, err := canonicalNumber(raw)
		return expectedClaim{kind: 'n', text: s}, err
	case c == 't' || c == 'f':
		return expectedClaim{kind: c}, nil
	case c == 'n':
		return expectedClaim{kind: '0'}, nil
	default:
		s, err := canonicalJSON(raw)
		return expectedClaim{kind: c, text: s}, err
	}
}

// matches reports whether a claim's JSON value equals cv. Strings, the
// common case, compare without allocating.
func (cv expectedClaim) matches(raw []byte) bool {
	if cv.kind == '"' {
		return stringEquals(raw, cv.text)
	}
	got, err := parseExpectedClaim(raw)
	return err == nil && got == cv
}

// canonicalJSON re-encodes a JSON value with canonical numbers and sorted
// object keys.
func canonicalJSON(raw []byte) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", err
	}
	var sb strings.Builder
	if err := writeCanonical(&sb, v); err != nil {
		return "", err
	}
	return sb.String(), nil
}

func writeCanonical(sb *strings.Builder, v any) error {
	switch x := v.(type) {
	case nil:
		sb.WriteString("null")
	case bool:
		if x {
			sb.WriteString("true")
		} else {
			sb.WriteString("false")
		}
	case json.Number:
		s, err := canonicalNumber([]byte(x))
		if err != nil {
			return err
		}
		sb.WriteString(s)
	case string:
		b, _ := json.Marshal(x)
		sb.Write(b)
	case []any:
		sb.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				sb.WriteByte(',')
			}
			if err := writeCanonical(sb, e); err != nil {
				return err
			}
		}
		sb.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		sb.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				sb.WriteByte(',')
			}
			b, _ := json.Marshal(k)
			sb.Write(b)
			sb.WriteByte(':')
			if err := writeCanonical(sb, x[k]); err != nil {
				return err
			}
		}
		sb.WriteByte('}')
	default:
		return fmt.Errorf("unexpected JSON value %T", v)
	}
	return nil
}
