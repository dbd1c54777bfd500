package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// encoding/json decodes a lone surrogate escape to U+FFFD: were it read
// so, "a\ud800b" and "a\ufffdb" would be one subject, and a SET about one
// would revoke the other. Such a SET is refused whole.
func TestSSFPushRefusesLoneSurrogateEscapes(t *testing.T) {
	tr := newTransmitter(t)
	payload := func(jti, subID string) string {
		return `{"iss":"` + ssfTestIssuer + `","aud":"` + ssfTestAudience + `","iat":` + nowString() +
			`,"jti":"` + jti + `","sub_id":` + subID + `,"events":{"` + eventSessionRevoked + `":{}}}`
	}
	for _, tt := range []struct{ name, jti, subID string }{
		{"an opaque id with a lone high surrogate", "j1", `{"format":"opaque","id":"a\ud800b"}`},
		{"an iss_sub sub with a lone low surrogate", "j2", `{"format":"iss_sub","iss":"` + testIssuer + `","sub":"a\udc00b"}`},
		{"an iss_sub sub with reversed surrogates", "j3", `{"format":"iss_sub","iss":"` + testIssuer + `","sub":"a\ude00\ud83d"}`},
		{"an email with a lone surrogate", "j4", `{"format":"email","email":"alice\ud800@example.com"}`},
		{"a complex subject's session with a lone surrogate", "j5", `{"format":"complex","session":{"format":"opaque","id":"s-1\ud800"}}`},
		{"a jwt_id with a lone surrogate", "j6", `{"format":"jwt_id","iss":"` + testIssuer + `","jti":"tok-1\ud800"}`},
		{"a jti with a lone surrogate", `j7\ud800`, `{"format":"opaque","id":"alice"}`},
		{"a member name with a lone surrogate", "j8", `{"format":"opaque","id":"alice","x\ud800":1}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newSSFHarness(t, nil, tr, nil)
			token := mint(t, tok{sub: "alice", jti: "tok-1", iat: time.Now().Add(-time.Minute), extra: map[string]any{"sid": "s-1"}})
			resp := h.push(rawSET(t, tr, payload(tt.jti, tt.subID)))
			body := decodeBody(t, resp)
			if resp.StatusCode != http.StatusBadRequest || body["err"] != setErrInvalidRequest ||
				!strings.Contains(body["description"].(string), "not valid UTF-8") {
				t.Fatalf("push answered %d %v, want 400 invalid_request: not valid UTF-8", resp.StatusCode, body)
			}
			wantNothingApplied(t, h, token)
			for _, s := range []string{"a\ufffdb", "a\ufffd\ufffd"} {
				if _, err := h.store.GetSubject(context.Background(), s); err == nil {
					t.Errorf("subject %q marked", s)
				}
			}
			if _, err := h.store.GetEmail(context.Background(), "alice\ufffd@example.com"); err == nil {
				t.Error("email marked")
			}
		})
	}

	t.Run("a surrogate pair and an escaped U+FFFD are two different subjects", func(t *testing.T) {
		h := newSSFHarness(t, nil, tr, nil)
		wantAccepted(t, h.push(rawSET(t, tr, payload("p1", `{"format":"opaque","id":"a\ud83d\ude00b"}`))))
		wantAccepted(t, h.push(rawSET(t, tr, payload("p2", `{"format":"opaque","id":"a\ufffdb"}`))))
		for _, s := range []string{"a\U0001F600b", "a\ufffdb"} {
			if _, err := h.store.GetSubject(context.Background(), s); err != nil {
				t.Errorf("subject %q not marked: %v", s, err)
			}
		}
	})
}

// The strict reader finds each string's raw text through the decoder's
// offsets: white space, commas and colons around strings must not shift
// it, and every valid document decodes as encoding/json decodes it.
func TestDecodeStrictJSONReadsStringsWhereverTheyAre(t *testing.T) {
	for _, doc := range []string{
		`"top"`,
		` "top" `,
		`{"a":"b"}`,
		"{ \"a\" :\t\"b\" ,\n \"c\" : [ \"d\" , \"e\\\"\" , {\"f\" : \"\\u00e9\\ud83d\\ude00\"} ] }",
		`{"a\\":"\\ud800","b":"\"\\"}`,
		`["x",1,true,null,{"y":"z"}]`,
	} {
		got, err := decodeStrictJSON([]byte(doc))
		if err != nil {
			t.Errorf("decodeStrictJSON(%s): %v", doc, err)
			continue
		}
		dec := json.NewDecoder(strings.NewReader(doc))
		dec.UseNumber()
		var want any
		if err := dec.Decode(&want); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("decodeStrictJSON(%s) differs from encoding/json (-want +got):\n%s", doc, diff)
		}
	}
	for _, doc := range []string{`"\ud800"`, `{"a":"\udfff"}`, `{"\ud800":1}`, `["ok","\ud83d\u0041"]`, `{"a":{"b":["\ud83d"]}}`} {
		if _, err := decodeStrictJSON([]byte(doc)); err == nil || !strings.Contains(err.Error(), "lone surrogate") {
			t.Errorf("decodeStrictJSON(%s) = %v, want a lone surrogate refusal", doc, err)
		}
	}
}
