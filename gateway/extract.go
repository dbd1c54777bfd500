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
	// A name the gateway would pass over that an upstream reads as the
	// token's (access.token to PHP, " access_token" to Django, X_Token to
	// WSGI) is a credential the gateway never judged.
	errNameVariant = errors.New("a name that an upstream reads as the token's")
	errBadQuery    = errors.New("query string cannot be parsed unambiguously")
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
		if variantHeader(r.Header, l.Name) {
			if len(values) > 0 {
				return "", false, errDuplicateHeader
			}
			return "", false, errNameVariant
		}
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
		// Every cookie Go returns is one of the pairs counted; one more
		// is a second credential, or the only one if Go dropped it.
		n := cookiesNamed(r.Header, l.Name)
		if len(cs) > 1 || n > 1 {
			return "", false, errDuplicateCookie
		}
		if n != len(cs) {
			return "", false, errNameVariant
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
		n := queryNamed(r.URL.RawQuery, l.Name)
		if len(vs) > 1 || n > 1 {
			return "", false, errDuplicateQuery
		}
		if n != len(vs) {
			return "", false, errNameVariant
		}
		if len(vs) == 0 || vs[0] == "" {
			return "", false, nil
		}
		return vs[0], true, nil
	}
	return "", false, nil
}

// variantHeader reports whether hdr has a header other than name that a
// CGI or WSGI upstream reads as name (X_Token beside X-Token).
func variantHeader(hdr http.Header, name string) bool {
	for k := range hdr {
		if k != name && sameName(config.LookupHeader, k, name) {
			return true
		}
	}
	return false
}

// cookiesNamed counts the cookie pairs in the raw Cookie headers that some
// upstream reads as name. It reads the header itself: Go's parser drops
// pairs (a name with a space or a non-ASCII byte) that Python and PHP keep.
// A pair without '=' is a name to PHP.
func cookiesNamed(hdr http.Header, name string) int {
	n := 0
	for _, line := range hdr["Cookie"] {
		for pair := range strings.SplitSeq(line, ";") {
			k, _, _ := strings.Cut(pair, "=")
			if sameName(config.LookupCookie, k, name) {
				n++
			}
		}
	}
	return n
}

// queryNamed counts the parameters of a query that ParseQuery accepted
// whose decoded names some upstream reads as name.
func queryNamed(rawQuery, name string) int {
	n := 0
	for pair := range strings.SplitSeq(rawQuery, "&") {
		k, _, _ := strings.Cut(pair, "=")
		if k, err := url.QueryUnescape(k); err == nil && sameName(config.LookupQuery, k, name) {
			n++
		}
	}
	return n
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
