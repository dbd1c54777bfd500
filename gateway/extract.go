package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"

	"github.com/revgate/revgate/gateway/jwtverify"

	"github.com/revgate/revgate/config"
)

// Extraction errors. jwtverify.ErrNoToken means no configured source held a
// token; these mean a source held something unusable.
var (
	errEmptyToken      = errors.New("empty bearer token")
	errDuplicateHeader = errors.New("more than one token header")
	errDuplicateCookie = errors.New("more than one token cookie")
	errDuplicateQuery  = errors.New("more than one token query parameter")
	errBadQuery        = errors.New("query string cannot be parsed unambiguously")
	// An upstream may read its token from another source than the gateway
	// did (simplejwt reads the header, a SPA's backend the cookie).
	errDifferentTokens = errors.New("different tokens in more than one place")
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

// extract returns the raw token. It fails with a *jwtverify.TokenError wrapping
// jwtverify.ErrNoToken when no source carries one, and with jwtverify.ErrTokenMalformed when a
// source carries something that cannot be a token (an empty bearer, two
// Authorization headers, two cookies or query parameters of the name) or
// two sources carry different tokens: a request must never be judged on an
// ambiguous credential, since the upstream may pick another one.
func (x *extractor) extract(r *http.Request) (string, error) {
	token := ""
	for _, l := range x.lookups {
		raw, found, err := lookupFrom(l, r)
		if err != nil {
			return "", &jwtverify.TokenError{Err: jwtverify.ErrTokenMalformed, Description: err.Error()}
		}
		switch {
		case !found:
		case token == "":
			if !tokenCharsOK(raw) {
				return "", &jwtverify.TokenError{Err: jwtverify.ErrTokenMalformed, Description: errTokenCharacters.Error()}
			}
			token = raw
		case raw != token:
			return "", &jwtverify.TokenError{Err: jwtverify.ErrTokenMalformed, Description: errDifferentTokens.Error()}
		}
	}
	if token == "" {
		return "", jwtverify.NewTokenError(jwtverify.ErrNoToken)
	}
	return token, nil
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
		cs := r.CookiesNamed(l.Name)
		if len(cs) > 1 {
			return "", false, errDuplicateCookie
		}
		if len(cs) == 0 || cs[0].Value == "" {
			return "", false, nil
		}
		return cs[0].Value, true, nil
	case config.LookupQuery:
		if r.URL.RawQuery == "" {
			return "", false, nil
		}
		// ParseQuery fails on a ';' pair, which Go drops but some
		// upstreams split into more parameters.
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return "", false, errBadQuery
		}
		vs := q[l.Name]
		if len(vs) > 1 {
			return "", false, errDuplicateQuery
		}
		if len(vs) == 0 || vs[0] == "" {
			return "", false, nil
		}
		return vs[0], true, nil
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
