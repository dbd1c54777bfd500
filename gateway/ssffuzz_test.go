package gateway

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// FuzzSETPayload feeds arbitrary signed-payload bytes through what the
// receiver reads after the signature: the strict JSON reader, the claim
// checks and the event plan. Whatever the input, it must not panic, every
// refusal must be a *setError with a description, and a planned effect
// must name exactly one target.
func FuzzSETPayload(f *testing.F) {
	now := time.Unix(1615305200, 0)
	for _, seed := range []string{
		`{"iss":"` + ssfTestIssuer + `","jti":"24c63fb56e5a2d77a6b512616ca9fa24","iat":1615305159,"aud":"` + ssfTestAudience + `","txn":"8675309","sub_id":{"format":"opaque","id":"dMTlD|1600802906337.16|16008.16"},"events":{"` + eventSessionRevoked + `":{"event_timestamp":1615304991}}}`,
		`{"iss":"` + ssfTestIssuer + `","jti":"j","iat":1615305159,"aud":["x","` + ssfTestAudience + `"],"sub_id":{"format":"complex","session":{"format":"opaque","id":"s"},"user":{"format":"iss_sub","iss":"` + testIssuer + `","sub":42.0}},"events":{"` + eventAccountDisabled + `":{}}}`,
		`{"iss":"` + ssfTestIssuer + `","jti":"j","iat":1615305159,"aud":"` + ssfTestAudience + `","events":{"` + eventCredentialChange + `":{"change_type":"update","subject":{"format":"email","email":"a@b"}}}}`,
		`{"iss":"` + ssfTestIssuer + `","jti":"j","iat":1615305159,"aud":"` + ssfTestAudience + `","events":{"` + eventVerification + `":{"state":"s"}}}`,
		`{"a":{"b":{"c":[1,2,{"d":"d","d":"e"}]}}}`,
		`[]`, `{`, `{"iat":1e400}`,
	} {
		f.Add([]byte(seed))
	}
	rc := &ssfReceiver{ssfSettings: ssfSettings{issuer: ssfTestIssuer, audience: []string{ssfTestAudience}},
		tokenIssuers: []string{testIssuer}}
	f.Fuzz(func(t *testing.T, payload []byte) {
		doc, err := decodeStrictJSON(payload)
		if err != nil {
			return
		}
		if !json.Valid(payload) {
			t.Fatalf("decoded invalid JSON %q", payload)
		}
		claims, ok := doc.(map[string]any)
		if !ok {
			return
		}
		se, err := rc.checkSETClaims(claims, now, time.Minute)
		if err != nil {
			var sete *setError
			if !errors.As(err, &sete) || sete.Description == "" {
				t.Fatalf("refusal %v is not a described *setError", err)
			}
			return
		}
		actions, serr := rc.plan(se, now, 25*time.Hour)
		if serr != nil {
			if serr.Description == "" || serr.Code != setErrInvalidRequest {
				t.Fatalf("plan refusal %+v", serr)
			}
			return
		}
		for _, a := range actions {
			if a.target == nil {
				continue
			}
			n := 0
			for _, v := range []string{a.target.subject, a.target.email, a.target.session, a.target.jti} {
				if v != "" {
					n++
				}
			}
			if n != 1 || a.at.After(now) || a.at.Before(now.Add(-25*time.Hour)) {
				t.Fatalf("action %+v: want exactly one target and a time in [now-ttl, now]", a)
			}
		}
	})
}
