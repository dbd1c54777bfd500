package gateway

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/revgate/revgate/config"
)

// Upstream frameworks do not read header, cookie and query names byte for
// byte, and a name the gateway treats as "something else" may be the very
// one an upstream reads its credential or a trusted header from. sameName
// is the one place that says which names some common reader takes for the
// same: it is used wherever a name is compared for safety (the token
// lookups, the removal of client copies of headers the gateway sets).
//
// Each source has a fixed list of readings, one per family of readers;
// two names are the same when any one reader reads them alike. Readers
// disagree (Python strips a trailing space from a cookie name, PHP turns
// it into '_'), so the readings are compared one reader at a time, never
// merged into one loose key.
//
//   - header: CGI and WSGI (Gunicorn, uWSGI, PHP, older Apache for any
//     punctuation) read a name as HTTP_ + the name upper-cased with every
//     byte but letters and digits turned into '_'.
//   - cookie: Python (Django's parse_cookie, werkzeug, Starlette) strips
//     whitespace around a name with str.strip, which knows Unicode
//     whitespace, over a header decoded as Latin-1 (PEP 3333) or UTF-8;
//     PHP skips leading whitespace, URL-decoded cookie names before 8.1.11
//     (CVE-2022-31629), and reads the name as a PHP variable name (below).
//   - query (names already URL-decoded, as every reader does): most
//     readers take the name as it is; PHP reads it as a variable name.
//
// A PHP variable name: cut at a NUL, leading spaces skipped, ' ' and '.'
// turned into '_' up to the first '['; "name[...]" is an array under
// name, and an unmatched '[' becomes '_' (Rack and Node's qs read brackets
// the same way).
func sameName(source, a, b string) bool {
	if a == b {
		return true
	}
	switch source {
	case config.LookupHeader:
		return sameCGIName(a, b)
	case config.LookupCookie:
		return pythonCookieName(a, false) == pythonCookieName(b, false) ||
			pythonCookieName(a, true) == pythonCookieName(b, true) ||
			samePHPName(phpCookieName(a), phpCookieName(b))
	case config.LookupQuery:
		return samePHPName(phpVarName(a), phpVarName(b))
	}
	return false
}

// sameCGIName reports whether a and b are one CGI variable name: equal
// once letters are folded to one case and everything but letters and
// digits is read as '_'. It allocates nothing: it runs on every header of
// every request.
func sameCGIName(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if cgiByte(a[i]) != cgiByte(b[i]) {
			return false
		}
	}
	return true
}

func cgiByte(c byte) byte {
	switch {
	case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		return c
	case 'A' <= c && c <= 'Z':
		return c + ('a' - 'A')
	}
	return '_'
}

// pythonCookieName is name as Python's str.strip leaves it, the header
// decoded as UTF-8 when utf8Text (an invalid one is left as it is) or
// else as Latin-1, where every byte is one character.
func pythonCookieName(name string, utf8Text bool) string {
	if !utf8Text {
		i, j := 0, len(name)
		for i < j && pythonSpace(rune(name[i])) {
			i++
		}
		for j > i && pythonSpace(rune(name[j-1])) {
			j--
		}
		return name[i:j]
	}
	if !utf8.ValidString(name) {
		return name
	}
	return strings.TrimFunc(name, pythonSpace)
}

// pythonSpace is Python's str.isspace: Unicode White_Space and the
// information separators U+001C to U+001F.
func pythonSpace(r rune) bool {
	return unicode.IsSpace(r) || (0x1c <= r && r <= 0x1f)
}

// phpCookieName is the variable name PHP reads from a cookie name.
func phpCookieName(name string) string {
	name = strings.TrimLeft(name, " \t\n\v\f\r")
	if strings.ContainsAny(name, "%+") {
		name = phpURLDecode(name)
	}
	return phpVarName(name)
}

// phpURLDecode is PHP's urldecode: '+' is a space and a bad escape is kept.
func phpURLDecode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b.WriteByte(' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// phpVarName is the variable PHP's php_register_variable_ex registers a
// name under ("" for none).
func phpVarName(name string) string {
	if i := strings.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	name = strings.TrimLeft(name, " ")
	b := []byte(name)
	for i, c := range b {
		switch c {
		case ' ', '.':
			b[i] = '_'
		case '[':
			if strings.IndexByte(name[i+1:], ']') >= 0 {
				return string(b[:i]) // an array under the name before '['
			}
			b[i] = '_' // not an array: the rest is kept as it is
			return string(b)
		}
	}
	return string(b)
}

func samePHPName(a, b string) bool { return a != "" && a == b }
