package gateway

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/revgate/revgate/gateway/jwtverify"
)

// setError is a refused SET: a code of the Security Event Token Error
// Codes registry (RFC 8935 §2.4 and §7.1, shared by RFC 8936) and a
// description that names what failed and never echoes the SET or a
// claim value. Push answers it with 400; poll reports it in setErrs.
type setError struct {
	Code        string `json:"err"`
	Description string `json:"description"`
}

func (e *setError) Error() string { return e.Code + ": " + e.Description }

// SET error codes (RFC 8935 §7.1).
const (
	setErrInvalidRequest  = "invalid_request"
	setErrInvalidKey      = "invalid_key"
	setErrInvalidIssuer   = "invalid_issuer"
	setErrInvalidAudience = "invalid_audience"
)

// errSETKeysUnavailable is a SET whose kid no loaded transmitter key
// carries while the transmitter's key set could not be confirmed current
// (jwtverify.ErrKeysUnavailable). It is a temporary failure, like a store
// outage: push answers 503, poll leaves the SET for redelivery.
var errSETKeysUnavailable = errors.New("ssf: the SET's signing key is not in the transmitter's key set, which could not be refreshed")

func invalidSET(format string, args ...any) *setError {
	return &setError{setErrInvalidRequest, fmt.Sprintf(format, args...)}
}

// maxSETDepth bounds the nesting of a SET's JSON: a complex subject is
// four levels deep, and a deeper document is refused, not recursed into.
const maxSETDepth = 16

// securityEvent is a verified SET: everything the receiver acts on.
type securityEvent struct {
	iss, jti string
	iat      time.Time
	// subID is the top-level sub_id; nil when absent.
	subID map[string]any
	// events maps each event type URI to its payload object.
	events map[string]map[string]any
}

// verifySET applies RFC 8417 as SSF 1.0 profiles it to raw, with nothing
// written anywhere: the header typ, the signature with the transmitter's
// keys, then iss, aud, iat, exp, jti and events. Every refusal is a
// *setError; any other error is the verifier's own failure.
func (s *ssfReceiver) verifySET(ctx context.Context, raw string, now time.Time, leeway time.Duration) (*securityEvent, error) {
	if err := checkSETTyp(raw); err != nil {
		return nil, err
	}
	if _, err := s.verifier.Verify(ctx, raw, jwtverify.PurposeRevoke); err != nil {
		var te *jwtverify.TokenError
		if !errors.As(err, &te) {
			return nil, err
		}
		switch {
		case errors.Is(te, jwtverify.ErrKeysUnavailable):
			// Signed, perhaps, by a key the transmitter has published
			// since: refused for good, the SET would be lost.
			return nil, errSETKeysUnavailable
		case errors.Is(te, jwtverify.ErrUnknownKey), errors.Is(te, jwtverify.ErrBadSignature), errors.Is(te, jwtverify.ErrAlgNotAllowed):
			return nil, &setError{setErrInvalidKey, "SET signature: " + te.Description}
		}
		return nil, invalidSET("SET invalid: %s", te.Description)
	}
	// Verify checked the signature: the payload read below is the one
	// signed. It is read again, strictly, so no member anywhere in it can
	// appear twice (a transmitter's library may keep the first of two
	// "format" or "session" members where Go keeps the last).
	parts := strings.Split(raw, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, invalidSET("SET payload malformed")
	}
	if !utf8.Valid(payload) {
		// Decoded, bad bytes would all become U+FFFD, and two subjects
		// that differ in them would share one mark.
		return nil, invalidSET("SET payload is not valid UTF-8")
	}
	doc, err := decodeStrictJSON(payload)
	if err != nil {
		return nil, invalidSET("SET payload: %v", err)
	}
	claims, ok := doc.(map[string]any)
	if !ok {
		return nil, invalidSET("SET payload is not a JSON object")
	}
	return s.checkSETClaims(claims, now, leeway)
}

// checkSETClaims checks the registered claims and the events of a SET.
func (s *ssfReceiver) checkSETClaims(claims map[string]any, now time.Time, leeway time.Duration) (*securityEvent, error) {
	se := &securityEvent{}
	iss, _ := claims["iss"].(string)
	if iss == "" || iss != s.issuer {
		return nil, &setError{setErrInvalidIssuer, `SET "iss" is not ssf.issuer`}
	}
	se.iss = iss
	if !audienceContains(claims["aud"], s.audience) {
		return nil, &setError{setErrInvalidAudience, `SET "aud" does not contain ssf.audience`}
	}
	iat, ok, err := setNumericDate(claims, "iat")
	switch {
	case err != nil:
		return nil, err
	case !ok:
		return nil, invalidSET(`SET has no "iat"`)
	case iat.After(now.Add(leeway)):
		return nil, invalidSET("SET issued in the future")
	}
	se.iat = iat
	if exp, ok, err := setNumericDate(claims, "exp"); err != nil {
		return nil, err
	} else if ok && !now.Before(exp.Add(leeway)) {
		return nil, invalidSET("SET expired")
	}
	jti, _ := claims["jti"].(string)
	if jti == "" {
		return nil, invalidSET(`SET has no "jti" string`)
	}
	se.jti = jti
	if v, present := claims["sub_id"]; present {
		if se.subID, ok = v.(map[string]any); !ok {
			return nil, invalidSET(`SET "sub_id" is not an object`)
		}
	}
	evs, ok := claims["events"].(map[string]any)
	if !ok || len(evs) == 0 {
		// An access or ID token that found its way here has no events.
		return nil, invalidSET(`SET has no "events" object: not a Security Event Token`)
	}
	se.events = make(map[string]map[string]any, len(evs))
	for uri, v := range evs {
		body, ok := v.(map[string]any)
		if !ok {
			return nil, invalidSET("SET event payload is not an object")
		}
		se.events[uri] = body
	}
	return se, nil
}

// audienceContains reports whether aud (a string or a list of strings)
// holds one of want.
func audienceContains(aud any, want []string) bool {
	switch a := aud.(type) {
	case string:
		return slices.Contains(want, a)
	case []any:
		for _, e := range a {
			if s, ok := e.(string); ok && slices.Contains(want, s) {
				return true
			}
		}
	}
	return false
}

// setNumericDate reads a NumericDate member of m in whole seconds.
func setNumericDate(m map[string]any, name string) (time.Time, bool, error) {
	v, present := m[name]
	if !present {
		return time.Time{}, false, nil
	}
	n, ok := v.(json.Number)
	if !ok {
		return time.Time{}, false, invalidSET("%q is not a number", name)
	}
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) || math.Abs(f) > 253402300799 {
		return time.Time{}, false, invalidSET("%q out of range", name)
	}
	return time.Unix(int64(math.Floor(f)), 0), true, nil
}

// checkSETTyp requires the JOSE header typ of a SET (RFC 8417 §2.3, which
// SSF 1.0 makes mandatory): "secevent+jwt", with or without the
// "application/" prefix, in any case (RFC 7515 §4.1.9). It is what tells
// a SET from an access or ID token signed by the same keys.
func checkSETTyp(raw string) error {
	head, _, ok := strings.Cut(raw, ".")
	if !ok {
		return invalidSET("SET is not a compact JWS")
	}
	hdr, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return invalidSET("SET header malformed")
	}
	doc, err := decodeStrictJSON(hdr)
	if err != nil {
		return invalidSET("SET header: %v", err)
	}
	h, ok := doc.(map[string]any)
	if !ok {
		return invalidSET("SET header malformed")
	}
	typ, _ := h["typ"].(string)
	if t := strings.TrimPrefix(strings.ToLower(typ), "application/"); t != "secevent+jwt" {
		return invalidSET(`SET header "typ" must be "secevent+jwt": not a Security Event Token`)
	}
	return nil
}

// decodeStrictJSON decodes one JSON value with numbers as json.Number,
// refusing a member name repeated in any object, nesting deeper than
// maxSETDepth, a string with a lone surrogate escape and anything after
// the value.
func decodeStrictJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := decodeStrictValue(dec, b, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the JSON value")
	}
	return v, nil
}

// strictToken reads the next token of dec, which reads b. A string's raw
// text is checked as jwtverify reads a subject: encoding/json decodes a
// lone surrogate escape ("\ud800") to U+FFFD, so "a\ud800b" and
// "a\ufffdb" would name one subject, and two subjects must never share a
// mark.
func strictToken(dec *json.Decoder, b []byte) (json.Token, error) {
	start := dec.InputOffset()
	tok, err := dec.Token()
	if err != nil {
		return nil, errors.New("malformed JSON")
	}
	if _, ok := tok.(string); ok {
		// Between start and the string: only white space, ',' and ':'.
		raw := b[start:dec.InputOffset()]
		q := bytes.IndexByte(raw, '"')
		if q < 0 {
			return nil, errors.New("malformed JSON")
		}
		if _, err := jwtverify.SubjectFromJSON(raw[q:]); err != nil {
			return nil, errors.New("a string is not valid UTF-8 (a lone surrogate escape)")
		}
	}
	return tok, nil
}

func decodeStrictValue(dec *json.Decoder, b []byte, depth int) (any, error) {
	tok, err := strictToken(dec, b)
	if err != nil {
		return nil, err
	}
	d, isDelim := tok.(json.Delim)
	if !isDelim {
		return tok, nil
	}
	if depth == maxSETDepth {
		return nil, errors.New("JSON nested too deeply")
	}
	switch d {
	case '{':
		m := map[string]any{}
		for dec.More() {
			kt, err := strictToken(dec, b)
			if err != nil {
				return nil, err
			}
			k, _ := kt.(string)
			if _, dup := m[k]; dup {
				return nil, fmt.Errorf("member %.64q appears twice", k)
			}
			if m[k], err = decodeStrictValue(dec, b, depth+1); err != nil {
				return nil, err
			}
		}
		if _, err := dec.Token(); err != nil {
			return nil, errors.New("malformed JSON")
		}
		return m, nil
	case '[':
		a := []any{}
		for dec.More() {
			v, err := decodeStrictValue(dec, b, depth+1)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		if _, err := dec.Token(); err != nil {
			return nil, errors.New("malformed JSON")
		}
		return a, nil
	}
	return nil, errors.New("malformed JSON")
}
