package jwtverify

import (
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"
)

func TestCanonicalSubject(t *testing.T) {
	for _, tt := range []struct {
		name, in, want string
		wantErr        error
	}{
		{"an integer is itself", `42`, "42", nil},
		{"a trailing fractional zero is dropped", `42.0`, "42", nil},
		{"an exponent is written out", `4.2e1`, "42", nil},
		{"a capital E and plus sign are read", `4.2E+1`, "42", nil},
		{"a negative exponent is read", `420e-1`, "42", nil},
		{"zero with an exponent is zero", `0e10`, "0", nil},
		{"negative zero is zero", `-0.000`, "0", nil},
		{"a negative integer keeps its sign", `-17`, "-17", nil},
		{"a large integer stays exact", `12345678901234567890`, "12345678901234567890", nil},
		{"a large integer written with an exponent stays exact", `1.2345678901234567891e19`, "12345678901234567891", nil},
		{"a fraction is plain decimal", `1e-3`, "0.001", nil},
		{"a mixed number is plain decimal", `123.4500`, "123.45", nil},
		{"a huge zero exponent with zero digits is zero", `0.0e99999999999999999999`, "0", nil},
		{"a string is decoded", `"user 42"`, "user 42", nil},
		{"an empty string is empty", `""`, "", nil},
		{"an escaped string is decoded", `"a\/b\u0041"`, "a/bA", nil},
		{"a string with a raw invalid byte is refused", "\"a\xff\"", "", errNotUTF8},
		{"a string with a lone surrogate escape is refused", `"a\udc00"`, "", errNotUTF8},
		{"a number that would spell out too long is refused", `1e200`, "", errNumberLength},
		{"a tiny number that would spell out too long is refused", `1e-200`, "", errNumberLength},
		{"a leading zero is not JSON", `042`, "", errNotNumber},
		{"a bare dot is not JSON", `4.`, "", errNotNumber},
		{"a plus sign is not JSON", `+4`, "", errNotSubject},
		{"hex is not JSON", `0x10`, "", errNotNumber},
		{"a boolean is not a subject", `true`, "", errNotSubject},
		{"null is not a subject", `null`, "", errNotSubject},
		{"a list is not a subject", `[42]`, "", errNotSubject},
		{"nothing is not a subject", ``, "", errNotSubject},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := canonicalSubject([]byte(tt.in))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("canonicalSubject(%s) error = %v, want %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("canonicalSubject(%s) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestExpectedClaimComparesJSONishly(t *testing.T) {
	for _, tt := range []struct {
		name  string
		want  any // as YAML or code would give it
		raw   string
		match bool
	}{
		{"a string matches the same string", "access", `"access"`, true},
		{"a string matches an escaped spelling", "access", `"\u0061ccess"`, true},
		{"a string does not match another", "access", `"refresh"`, false},
		{"a string does not match a number", "42", `42`, false},
		{"an int matches the JSON number", 42, `42`, true},
		{"an int matches 42.0", 42, `42.0`, true},
		{"an int matches 4.2e1", int64(42), `4.2e1`, true},
		{"an int does not match the string", 42, `"42"`, false},
		{"a float 42.0 matches 42", 42.0, `42`, true},
		{"a uint64 beyond 2^53 matches exactly", uint64(12345678901234567891), `12345678901234567891`, true},
		{"a uint64 beyond 2^53 does not match its float64 neighbour", uint64(12345678901234567891), `12345678901234567890`, false},
		{"true matches true", true, `true`, true},
		{"true does not match 1", true, `1`, false},
		{"null matches null", nil, `null`, true},
		{"a list matches element by element", []any{"a", 1}, `["a", 1.0]`, true},
		{"a list does not match in another order", []any{"a", 1}, `[1, "a"]`, false},
		{"an object matches with keys in any order", map[string]any{"a": 1, "b": []any{true}}, `{"b":[true],"a":1e0}`, true},
		{"an object does not match with another value", map[string]any{"a": 1}, `{"a":2}`, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			want, err := newExpectedClaim(tt.want)
			if err != nil {
				t.Fatalf("newExpectedClaim(%v): %v", tt.want, err)
			}
			if got := want.matches([]byte(tt.raw)); got != tt.match {
				t.Errorf("%#v matches %s = %v, want %v", tt.want, tt.raw, got, tt.match)
			}
		})
	}
}

// vtRat parses a JSON number exactly, or reports false when its exponent is
// too large to expand cheaply.
func vtRat(s string) (*big.Rat, bool) {
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		exp := strings.TrimLeft(s[i+1:], "+-")
		if len(exp) > 4 {
			return nil, false
		}
	}
	return new(big.Rat).SetString(s)
}

// FuzzCanonicalSubject checks that equal numbers give equal strings and
// different numbers different strings (against math/big), that canonical
// forms are fixed points, and that exactly the JSON numbers are accepted.
func FuzzCanonicalSubject(f *testing.F) {
	f.Fuzz(func(t *testing.T, a, b string) {
		canon := make([]string, 2)
		for i, in := range []string{a, b} {
			out, err := canonicalSubject([]byte(in))
			isJSONNumber := len(in) > 0 && (in[0] == '-' || isDigit(in[0])) &&
				strings.TrimSpace(in) == in && json.Valid([]byte(in))
			if len(in) > 0 && (in[0] == '-' || isDigit(in[0])) {
				switch {
				case err == nil && !isJSONNumber:
					t.Fatalf("canonicalSubject accepted %q, which is not a JSON number", in)
				case err != nil && isJSONNumber && !errors.Is(err, errNumberLength):
					t.Fatalf("canonicalSubject(%q) = %v for a JSON number", in, err)
				}
			}
			if err != nil || !isJSONNumber {
				canon[i] = "\x00invalid"
				// Strings reach canonicalSubject from validated JSON only.
				if in != "" && in[0] == '"' && err == nil && json.Valid([]byte(in)) && strings.TrimSpace(in) == in {
					var s string
					if json.Unmarshal([]byte(in), &s) != nil || s != out {
						t.Fatalf("canonicalSubject(%s) = %q, encoding/json says %q", in, out, s)
					}
				}
				continue
			}
			canon[i] = out
			again, err := canonicalNumber([]byte(out))
			if err != nil || again != out {
				t.Fatalf("canonical form %q of %q is not a fixed point: %q, %v", out, in, again, err)
			}
			if len(out) > maxCanonicalNumberLen {
				t.Fatalf("canonical form of %q is %d bytes", in, len(out))
			}
			if r, ok := vtRat(in); ok {
				if rc, _ := new(big.Rat).SetString(out); rc.Cmp(r) != 0 {
					t.Fatalf("canonical form %q differs in value from %q", out, in)
				}
			}
		}
		if strings.HasPrefix(canon[0], "\x00") || strings.HasPrefix(canon[1], "\x00") {
			return
		}
		ra, okA := vtRat(a)
		rb, okB := vtRat(b)
		if !okA || !okB {
			return
		}
		if equal := ra.Cmp(rb) == 0; equal != (canon[0] == canon[1]) {
			t.Fatalf("%q and %q: equal numbers %v, canonical forms %q and %q", a, b, equal, canon[0], canon[1])
		}
	})
}
