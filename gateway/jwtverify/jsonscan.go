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

// unquote returns a JSON string's value.
func unquote(val []byte) string { return string(rawString(val)) }

// stringEquals reports whether the JSON string val equals s.
func stringEquals(val []byte, s string) bool {
	return val[0] == '"' && string(rawString(val)) == s
}

// keyIs reports whether the member key (a raw JSON string) is name.
func keyIs(key []byte, name string) bool { return string(rawString(key)) == name }
