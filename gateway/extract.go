package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"strings"

	"github.com/revgate/revgate/config"
)

// Extraction errors. ErrNoToken (token.go) means no configured source held a
// token; these mean a source held something unusable.
var (
	errEmptyToken      = errors.New("empty bearer token")
	errDuplicateHeader = errors.New("more than one token header")
	// A compact JWS is base64url and dots: whitespace or a control
	// character inside one (a decoded %20 or %0A in a query, "Bearer a b")
	// is a mangled or crafted credential, refused before anything parses it.
	errTokenCharacters = errors.New("token contains whitespace or control characters")
)

// extractor finds the token in a request, trying each configured lookup in
// order. It reads headers, cookies and the query string; never the body.
type extractor struct {
	lookups []config.Lookup
}

func newExtractor(entries []string) (*extractor, error) {
	x := &extractor{}
	for i, e := range entries {
		l, err := config.ParseLookup(e)
		if err != nil {
			return nil, fmt.Errorf("jwt.lookup[%d]: %w", i, err)
		}
		if l.Source == config.LookupHeader {
			l.Name = textproto.CanonicalMIMEHeaderKey(l.Name)
		}
		x.lookups = append(x.lookups, l)
	}
	return x, nil
}

// extract returns the raw token. It fails with a *TokenError wrapping
// ErrNoToken when no source carries one, and with ErrTokenMalformed when a
// source carries something that cannot be a token (an empty bearer, two
// Authorization headers): a request must never be judged on an ambiguous
// credential.
func (x *extractor) extract(r *http.Request) (string, error) {
	for _, l := range x.lookups {
		raw, found, err := lookupFrom(l, r)
		if err != nil {
			return "", &TokenError{Err: ErrTokenMalformed, Description: err.Error()}
		}
		if found {
			if !tokenCharsOK(raw) {
				return "", &TokenError{Err: ErrTokenMalformed, Description: errTokenCharacters.Error()}
			}
			return raw, nil
		}
	}
	return "", tokenError(ErrNoToken)
}

// lookupFrom reads one source. found is false when the source is absent or (for a
// header with a scheme) carries another scheme, so the next source is tried.
func lookupFrom(l config.Lookup, r *http.Request) (raw string, found bool, err error) {
	switch l.Source {
	case config.LookupHeader:
		values := r.Header[l.Name]
		if len(values) == 0 {
			return "", false, nil
		}
		if len(values) > 1 {
			return "", false, errDuplicateHeader
		}
		v := values[0]
		if l.Scheme != "" {
			if len(v) < len(l.Scheme) || !strings.EqualFold(v[:len(l.Scheme)], l.Scheme) {
				return "", false, nil
			}
			rest := v[len(l.Scheme):]
			if rest != "" && rest[0] != ' ' {
				return "", false, nil // "Bearerx": another scheme
			}
			v = rest
		}
		v = strings.TrimSpace(v)
		if v == "" {
			return "", false, errEmptyToken
		}
		return v, true, nil
	case config.LookupCookie:
		c, err := r.Cookie(l.Name)
		if err != nil || c.Value == "" {
			return "", false, nil
		}
		return c.Value, true, nil
	case config.LookupQuery:
		if r.URL.RawQuery == "" {
			return "", false, nil
		}
		v := r.URL.Query().Get(l.Name)
		return v, v != "", nil
	}
	return "", false, nil
}

// tokenCharsOK reports whether raw has no whitespace, control character or
// DEL.
func tokenCharsOK(raw string) bool {
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}
