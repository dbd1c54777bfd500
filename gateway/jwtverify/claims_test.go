package jwtverify

import (
	"errors"
	"fmt"
	"testing"
)

// vtPayload is a valid payload for the standard verifier at vtNow, written
// by hand so a test can add members encoding/json would never produce:
// extra is inserted before the closing brace.
func vtPayload(extra string) string {
	return `{"iss":"https://issuer.example","aud":"api","sub":"alice","jti":"jti-1",` +
		`"iat":1699999940,"exp":1700000600,"token_type":"access","ver":42` + extra + `}`
}

// A claim that two parsers read differently is a claim an attacker can
// split: revgate would check or forward one value while jwx (last wins) or
// the upstream's own JSON parser took the other. So every claim revgate
// reads or forwards must appear at most once.
func TestVerifyRefusesDuplicatesOfEveryClaimItReads(t *testing.T) {
	k := vtKeys()
	cfg := vtStandardConfig(t)
	cfg.JWT.SubjectClaim = "user_id"
	cfg.JWT.ForwardHeaders = map[string]string{
		"X-Email":  "email",
		"X-Groups": "groups",
		"X-Jti":    "jti", // a registered claim forwarded: still one slot
	}
	v := vtNewVerifier(t, cfg)
	for _, tt := range []struct {
		name  string
		extra string
		dup   string // the claim named in the description; "" for success
	}{
		{"a token with every read claim once is accepted", `,"user_id":"u1","email":"a@example","groups":["x"]`, ""},
		{"a duplicated exp is refused", `,"exp":1700000500`, "exp"},
		{"a duplicated iss is refused", `,"iss":"https://other.example"`, "iss"},
		{"a duplicated aud is refused", `,"aud":["web","api"]`, "aud"},
		{"a duplicated jti is refused", `,"jti":"jti-2"`, "jti"},
		{"a duplicated sub is refused even when it is not the subject claim", `,"sub":"mallory"`, "sub"},
		{"a duplicated subject claim is refused", `,"user_id":"u1","user_id":"u2"`, "user_id"},
		{"a duplicated required claim is refused", `,"ver":42`, "ver"},
		{"a duplicated forwarded claim is refused", `,"email":"a@example","email":"root@example"`, "email"},
		{"a duplicated forwarded claim holding a list is refused", `,"groups":["x"],"groups":["admin"]`, "groups"},
		{"a forwarded claim duplicated behind an escape is refused", `,"email":"a@example","\u0065mail":"root@example"`, "email"},
		{"a forwarded claim duplicated behind two escapes is refused", `,"\u0065mail":"a@example","em\u0061il":"root@example"`, "email"},
		{"a subject claim duplicated behind an escape is refused", `,"user_id":"u1","user\u005fid":"u2"`, "user_id"},
		// Nothing revgate decides or forwards depends on an unread claim,
		// so its duplicate splits nothing revgate does; the upstream sees
		// the token as it was signed, duplicate and all, and parses it
		// itself. Refusing every duplicate would be stricter still.
		{"a duplicated claim revgate does not read is accepted", `,"foo":1,"foo":2`, ""},
		{"a duplicated claim that only differs from a read one in case is accepted", `,"email":"a@example","Email":"root@example"`, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			raw := vtSign(t, "RS256", k.rsaA, nil, vtPayload(tt.extra))
			_, err := v.Verify(t.Context(), raw, PurposeAccess)
			if tt.dup == "" {
				vtWantErr(t, raw, err, nil)
				return
			}
			vtWantErr(t, raw, err, ErrTokenMalformed, "root@example", "mallory", "u2", "admin", "jti-2", "1700000500")
			var te *TokenError
			errors.As(err, &te)
			if want := fmt.Sprintf("duplicate claim %q", tt.dup); te.Description != want {
				t.Errorf("description = %q, want %q", te.Description, want)
			}
		})
	}
	t.Run("a duplicated forwarded claim is refused even when revoking", func(t *testing.T) {
		raw := vtSign(t, "RS256", k.rsaA, nil, vtPayload(`,"email":"a","email":"b"`))
		_, err := v.Verify(t.Context(), raw, PurposeRevoke)
		vtWantErr(t, raw, err, ErrTokenMalformed)
	})
	t.Run("a forwarded claim read once reaches the token", func(t *testing.T) {
		raw := vtSign(t, "RS256", k.rsaA, nil, vtPayload(`,"\u0065mail":"a@example"`))
		c, err := v.Verify(t.Context(), raw, PurposeAccess)
		vtWantErr(t, raw, err, nil)
		if got, _ := c.Token.Get("email"); got != "a@example" {
			t.Errorf("Token.Get(email) = %v", got)
		}
	})
}

func TestVerifyRefusesDuplicatesOfClaimsTheCallerSaysItReads(t *testing.T) {
	k := vtKeys()
	cfg := vtStandardConfig(t)
	cfg.ReadClaims = []string{"sid"}
	v := vtNewVerifier(t, cfg)
	for _, tt := range []struct {
		name  string
		extra string
		want  error
	}{
		{"a session claim read once is accepted", `,"sid":"s1"`, nil},
		{"a duplicated session claim is refused", `,"sid":"s1","sid":"s2"`, ErrTokenMalformed},
		{"a session claim duplicated behind an escape is refused", `,"sid":"s1","\u0073id":"s2"`, ErrTokenMalformed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			raw := vtSign(t, "RS256", k.rsaA, nil, vtPayload(tt.extra))
			_, err := v.Verify(t.Context(), raw, PurposeAccess)
			vtWantErr(t, raw, err, tt.want, "s2")
		})
	}
	t.Run("without being told, the verifier does not refuse it", func(t *testing.T) {
		v := vtNewVerifier(t, vtStandardConfig(t))
		raw := vtSign(t, "RS256", k.rsaA, nil, vtPayload(`,"sid":"s1","sid":"s2"`))
		_, err := v.Verify(t.Context(), raw, PurposeAccess)
		vtWantErr(t, raw, err, nil)
	})
}

// The session claim is read like the jti: once, as a UTF-8 string. A sid
// of another type is refused, not read as absent: that would let a token
// of a revoked session pass whenever its issuer (or a forger holding a
// key) wrote the id as a number or an object.
func TestVerifyReadsTheSessionClaim(t *testing.T) {
	k := vtKeys()
	cfg := vtStandardConfig(t)
	cfg.JWT.SessionClaim = "sid"
	v := vtNewVerifier(t, cfg)
	for _, tt := range []struct {
		name  string
		extra string
		want  error
		sid   string
	}{
		{"a session claim is read", `,"sid":"s1"`, nil, "s1"},
		{"an escaped session claim is read decoded", `,"\u0073id":"a\u003ab{}ü"`, nil, "a:b{}ü"},
		{"a token without the claim has no session", ``, nil, ""},
		{"an empty session claim is no session", `,"sid":""`, nil, ""},
		{"a duplicated session claim is refused", `,"sid":"s1","sid":"s2"`, ErrTokenMalformed, ""},
		{"a numeric session claim is refused", `,"sid":42`, ErrTokenMalformed, ""},
		{"a null session claim is refused", `,"sid":null`, ErrTokenMalformed, ""},
		{"an object session claim is refused", `,"sid":{"id":"s1"}`, ErrTokenMalformed, ""},
		{"a session claim of a lone surrogate is refused", `,"sid":"\ud800"`, ErrTokenMalformed, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			raw := vtSign(t, "RS256", k.rsaA, nil, vtPayload(tt.extra))
			c, err := v.Verify(t.Context(), raw, PurposeAccess)
			vtWantErr(t, raw, err, tt.want)
			if tt.want == nil && c.Session != tt.sid {
				t.Errorf("Session = %q, want %q", c.Session, tt.sid)
			}
		})
	}
	t.Run("with session_claim off the claim is not read", func(t *testing.T) {
		v := vtNewVerifier(t, vtStandardConfig(t))
		raw := vtSign(t, "RS256", k.rsaA, nil, vtPayload(`,"sid":42`))
		c, err := v.Verify(t.Context(), raw, PurposeAccess)
		vtWantErr(t, raw, err, nil)
		if c.Session != "" {
			t.Errorf("Session = %q with session_claim off, want empty", c.Session)
		}
	})
}
