package config

import (
	"fmt"
	"strings"
)

// Token lookup sources.
const (
	LookupHeader = "header"
	LookupCookie = "cookie"
	LookupQuery  = "query"
)

// Lookup is one parsed jwt.lookup entry: where a request carries its token.
type Lookup struct {
	// Source is header, cookie or query.
	Source string
	// Name is the header, cookie or query parameter name.
	Name string
	// Scheme, for a header, is the auth scheme before the token ("Bearer");
	// empty means the whole header value is the token.
	Scheme string
}

// ParseLookup parses "header:NAME[:SCHEME]", "cookie:NAME" or "query:NAME".
// Config validation and the gateway share it so they agree on the syntax.
func ParseLookup(s string) (Lookup, error) {
	source, rest, ok := strings.Cut(s, ":")
	if !ok || rest == "" {
		return Lookup{}, fmt.Errorf("%q: expected header:NAME[:SCHEME], cookie:NAME or query:NAME", s)
	}
	switch source {
	case LookupHeader:
		name, scheme, hasScheme := strings.Cut(rest, ":")
		if !isToken(name) || (hasScheme && !isToken(scheme)) {
			return Lookup{}, fmt.Errorf("%q: expected header:NAME[:SCHEME]", s)
		}
		return Lookup{Source: source, Name: name, Scheme: scheme}, nil
	case LookupCookie:
		// RFC 6265: a cookie name is a token.
		if !isToken(rest) {
			return Lookup{}, fmt.Errorf("%q: invalid %s name", s, source)
		}
		return Lookup{Source: source, Name: rest}, nil
	case LookupQuery:
		if strings.ContainsAny(rest, " \t:;=") {
			return Lookup{}, fmt.Errorf("%q: invalid %s name", s, source)
		}
		return Lookup{Source: source, Name: rest}, nil
	}
	return Lookup{}, fmt.Errorf("%q: unknown source %q (expected header, cookie or query)", s, source)
}

// String returns l in the syntax ParseLookup reads.
func (l Lookup) String() string {
	s := l.Source + ":" + l.Name
	if l.Scheme != "" {
		s += ":" + l.Scheme
	}
	return s
}
