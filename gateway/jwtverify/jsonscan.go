package jwtverify

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

func isBase64URL(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// objectIter walks the members of a JSON object.
type objectIter struct {
	b []byte
	i int
}

func (it *objectIter) open() bool {
	it.i = skipSpace(it.b, 0)
	if it.i < len(it.b) && it.b[it.i] == '{' {
		it.i++
		return true
	}
	return false
}

// next returns the next member's key (a raw JSON string) and value.
func (it *objectIter) next() (key, val []byte, ok bool) {
	b := it.b
	i := skipSpace(b, it.i)
	if i < len(b) && b[i] == ',' {
		i = skipSpace(b, i+1)
	}
	if i >= len(b) || b[i] != '"' {
		return nil, nil, false // '}'
	}
	end := skipString(b, i)
	key = b[i:end]
	i = skipSpace(b, end)
	i = skipSpace(b, i+1) // ':'
	end = skipValue(b, i)
	val = b[i:end]
	it.i = end
	return key, val, len(val) > 0
}

// arrayIter walks the elements of a JSON array.
type arrayIter struct {
	b []byte
	i int
}

func (it *arrayIter) open() bool {
	it.i = skipSpace(it.b, 0)
	if it.i < len(it.b) && it.b[it.i] == '[' {
		it.i++
		return true
	}
	return false
}

func (it *arrayIter) next() (val []byte, ok bool) {
	b := it.b
	i := skipSpace(b, it.i)
	if i < len(b) && b[i] == ',' {
		i = skipSpace(b, i+1)
	}
	if i >= len(b) || b[i] == ']' {
		return nil, false
	}
	end := skipValue(b, i)
	it.i = end
	return b[i:end], end > i
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"'.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// skipValue returns the index after the value starting at b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	}
	for ; i < len(b); i++ {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			return i
		}
	}
	return i
}

// rawString returns the contents of a JSON string as bytes: a view of the
// input when it holds no escape and is valid UTF-8, else a decoded copy
// (invalid UTF-8 becomes U+FFFD, as encoding/json and so jwx decode it).
func rawString(val []byte) []byte {
	if len(val) < 2 || val[0] != '"' || val[len(val)-1] != '"' {
		return nil
	}
	inner := val[1 : len(val)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return inner
	}
	var s string
	if json.Unmarshal(val, &s) != nil {
		return nil
	}
	return []byte(s)
}

// isUTF8String reports whether a JSON string decodes without loss: its raw
// bytes are valid UTF-8 and every \u escape of a UTF-16 surrogate is one
// half of a pair. rawString, like encoding/json, turns each bad sequence
// into U+FFFD, so where two strings must stay distinct (a subject, a jti)
// the value is refused instead.
func isUTF8String(val []byte) bool {
	if len(val) < 2 || val[0] != '"' || val[len(val)-1] != '"' {
		return false
	}
	inner := val[1 : len(val)-1]
	if !utf8.Valid(inner) {
		return false
	}
	high := false // the previous escape was a high surrogate
	for i := 0; i < len(inner); i++ {
		if inner[i] != '\\' {
			if high {
				return false
			}
			continue
		}
		i++
		if i < len(inner) && inner[i] != 'u' {
			if high {
				return false
			}
			continue
		}
		if i+5 > len(inner) {
			return false
		}
		r := hex4(inner[i+1 : i+5])
		i += 4
		switch {
		case r < 0:
			return false
		case 0xd800 <= r && r < 0xdc00:
			if high {
				return false
			}
			high = true
		case 0xdc00 <= r && r < 0xe000:
			if !high {
				return false
			}
			high = false
		case high:
			return false
		}
	}
	return !high
}

// hex4 reads four hex digits, or returns -1.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// unquote returns a JSON string's value.
func unquote(val []byte) string { return string(rawString(val)) }

// stringEquals reports whether the JSON string val equals s.
func stringEquals(val []byte, s string) bool {
	return val[0] == '"' && string(rawString(val)) == s
}

// keyIs reports whether the member key (a raw JSON string) is name.
func keyIs(key []byte, name string) bool { return string(rawString(key)) == name }
