package revocation

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// CanonicalEmail is the one form of an email address that email marks are
// keyed by: surrounding white space trimmed and every letter lower-cased
// (Unicode simple lower case), the whole address, local part included.
// RFC 5321 lets a mail server tell "Alice@x" from "alice@x", but no
// identity provider hands the two to different people, and a mark that
// also matches a case variant only refuses more: it fails closed. Bytes
// that are not UTF-8 are kept as they are (strings.ToLower would turn them
// all into U+FFFD), so two addresses that differ other than in case never
// share a mark. Every reader and writer of email marks goes through it:
// the stores apply it themselves.
func CanonicalEmail(address string) string {
	address = strings.TrimSpace(address)
	ascii, lower := true, true
	for i := 0; i < len(address); i++ {
		c := address[i]
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
		if 'A' <= c && c <= 'Z' {
			lower = false
		}
	}
	if ascii {
		if lower {
			return address // the common case: no allocation
		}
		return strings.ToLower(address)
	}
	var b strings.Builder
	b.Grow(len(address))
	for i := 0; i < len(address); {
		r, size := utf8.DecodeRuneInString(address[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteByte(address[i])
		} else {
			b.WriteRune(unicode.ToLower(r))
		}
		i += size
	}
	return b.String()
}
