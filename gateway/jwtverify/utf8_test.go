package jwtverify

import (
	"errors"
	"strings"
	"testing"
)

// A subject or jti that is not valid UTF-8 would be decoded with U+FFFD in
// place of each bad sequence (as encoding/json does), so "a\xff" and
// "a\xfe" would share one revocation mark: revoking one user would revoke
// the other, and a revoked jti would stand for tokens never revoked.
func TestVerifyRefusesSubjectsAndJTIsThatAreNotUTF8(t *testing.T) {
	k := vtKeys()
	v := vtNewVerifier(t, vtStandardConfig(t))
	cfg := vtStandardConfig(t)
	cfg.JWT.SubjectClaim = "user_id"
	vUserID := vtNewVerifier(t, cfg)
	sign := func(sub, jti string) string {
		return vtSign(t, "RS256", k.rsaA, nil, `{"iss":"https://issuer.example","aud":"api","sub":"`+sub+
			`","jti":"`+jti+`","iat":1699999940,"exp":1700000600,"token_type":"access","ver":42}`)
	}
	for _, tt := range []struct {
		name     string
		sub, jti string // JSON string contents, raw
		want     error
		wantSub  string
		wantJTI  string
	}{
		{"a subject with a raw 0xff byte is refused", "a\xffb", "jti-77", ErrTokenMalformed, "", ""},
		{"a subject with a truncated UTF-8 sequence is refused", "caf\xc3", "jti-77", ErrTokenMalformed, "", ""},
		{"a subject with an overlong encoding of / is refused", "\xc0\xaf", "jti-77", ErrTokenMalformed, "", ""},
		{"a subject with a UTF-8 encoded surrogate is refused", "\xed\xa0\x80", "jti-77", ErrTokenMalformed, "", ""},
		{"a subject with a lone low surrogate escape is refused", `\udc00`, "jti-77", ErrTokenMalformed, "", ""},
		{"a subject with a lone high surrogate escape is refused", `a\ud800`, "jti-77", ErrTokenMalformed, "", ""},
		{"a subject with a high surrogate escape before a letter is refused", `\ud800\u0041`, "jti-77", ErrTokenMalformed, "", ""},
		{"a subject with two high surrogate escapes is refused", `\ud83d\ud83d`, "jti-77", ErrTokenMalformed, "", ""},
		{"a subject with reversed surrogate escapes is refused", `\ude00\ud83d`, "jti-77", ErrTokenMalformed, "", ""},
		{"a subject with a surrogate pair escape is accepted", `\ud83d\ude00`, "jti-77", nil, "\U0001F600", "jti-77"},
		{"a subject with an escaped U+FFFD is accepted as itself", `\ufffd`, "jti-77", nil, "\uFFFD", "jti-77"},
		{"a subject with raw multi-byte UTF-8 is accepted", "caf\xc3\xa9", "jti-77", nil, "café", "jti-77"},
		{"a subject with an escaped backslash before ud800 is accepted", `\\ud800`, "jti-77", nil, `\ud800`, "jti-77"},
		{"a jti with a raw 0xff byte is refused", "alice", "jti-77\xff", ErrTokenMalformed, "", ""},
		{"a jti with a lone surrogate escape is refused", "alice", `jti-77\udc00`, ErrTokenMalformed, "", ""},
		{"a jti with a surrogate pair escape is accepted", "alice", `jti-77\ud83d\ude00`, nil, "alice", "jti-77\U0001F600"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			raw := sign(tt.sub, tt.jti)
			c, err := v.Verify(t.Context(), raw, PurposeAccess)
			vtWantErr(t, raw, err, tt.want, tt.sub, tt.jti)
			if err != nil {
				var te *TokenError
				errors.As(err, &te)
				if !strings.Contains(te.Description, "not valid UTF-8") {
					t.Errorf("description = %q, want it to say not valid UTF-8", te.Description)
				}
				return
			}
			if c.Subject != tt.wantSub || c.JTI != tt.wantJTI {
				t.Errorf("Subject, JTI = %q, %q, want %q, %q", c.Subject, c.JTI, tt.wantSub, tt.wantJTI)
			}
		})
	}
	t.Run("a subject claim other than sub is refused the same way", func(t *testing.T) {
		raw := vtSign(t, "RS256", k.rsaA, nil, vtPayload(`,"user_id":"u\udc00"`))
		_, err := vUserID.Verify(t.Context(), raw, PurposeAccess)
		vtWantErr(t, raw, err, ErrTokenMalformed)
	})
	t.Run("subjects that differ only in invalid bytes are never accepted", func(t *testing.T) {
		// Every byte that cannot start a UTF-8 sequence on its own; were
		// any accepted, all would map to one subject "user\uFFFD".
		for b := 0x80; b <= 0xff; b++ {
			for _, p := range []Purpose{PurposeAccess, PurposeRevoke} {
				raw := sign("user"+string([]byte{byte(b)}), "jti-77")
				if c, err := v.Verify(t.Context(), raw, p); err == nil {
					t.Fatalf("subject user\\x%02x accepted (purpose %d) as %q", b, p, c.Subject)
				}
			}
		}
	})
}

func TestIsUTF8String(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   string // a JSON string, quotes included
		want bool
	}{
		{"an empty string is valid", `""`, true},
		{"plain ASCII is valid", `"alice"`, true},
		{"raw multi-byte UTF-8 is valid", "\"caf\xc3\xa9\"", true},
		{"a raw four-byte sequence is valid", "\"\xf0\x9f\x98\x80\"", true},
		{"short escapes are valid", `"a\"b\\c\/d\n"`, true},
		{"an escaped BMP character is valid", `"caf\u00e9"`, true},
		{"an escaped U+FFFD is valid", `"\ufffd"`, true},
		{"a surrogate pair in lower case is valid", `"\ud83d\ude00"`, true},
		{"a surrogate pair in upper case is valid", `"\uD83D\uDE00"`, true},
		{"an escaped backslash before u is not an escape", `"\\ud800"`, true},
		{"a raw 0xff byte is invalid", "\"a\xff\"", false},
		{"a raw continuation byte alone is invalid", "\"\x80\"", false},
		{"a truncated sequence is invalid", "\"\xc3\"", false},
		{"an overlong encoding is invalid", "\"\xc0\xaf\"", false},
		{"a UTF-8 encoded surrogate is invalid", "\"\xed\xa0\x80\"", false},
		{"a lone high surrogate at the end is invalid", `"a\ud800"`, false},
		{"a lone low surrogate is invalid", `"\udc00"`, false},
		{"a high surrogate before a plain character is invalid", `"\ud800a"`, false},
		{"a high surrogate before a short escape is invalid", `"\ud800\n"`, false},
		{"a high surrogate before an escaped BMP character is invalid", `"\ud800\u0041"`, false},
		{"two high surrogates are invalid", `"\ud800\ud800\udc00"`, false},
		{"a pair in the wrong order is invalid", `"\ude00\ud83d"`, false},
		{"a value that is not a string is invalid", `42`, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := isUTF8String([]byte(tt.in)); got != tt.want {
				t.Errorf("isUTF8String(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}
