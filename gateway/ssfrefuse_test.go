package gateway

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/revgate/revgate/revocation"
)

// wantNothingApplied checks that alice, her session and her token are
// untouched, and that no SET jti was recorded.
func wantNothingApplied(t *testing.T, h *harness, token string) {
	t.Helper()
	ctx := context.Background()
	wantStatus(t, h.get("/x", token), 200)
	if _, err := h.store.GetSubject(ctx, "alice"); !errors.Is(err, revocation.ErrNotFound) {
		t.Errorf("subject marked: %v", err)
	}
	if _, err := h.store.GetSession(ctx, "s-1"); !errors.Is(err, revocation.ErrNotFound) {
		t.Errorf("session revoked: %v", err)
	}
	if _, err := h.store.GetToken(ctx, "tok-1"); !errors.Is(err, revocation.ErrNotFound) {
		t.Errorf("token revoked: %v", err)
	}
}

func TestSSFPushRefusesInvalidSETs(t *testing.T) {
	tr := newTransmitter(t)
	valid := func() map[string]any {
		return setClaims(eventAccountDisabled, map[string]any{}, issSub("alice"))
	}
	with := func(change func(c map[string]any)) string {
		c := valid()
		change(c)
		return tr.set(t, c)
	}
	complexSub := func(session map[string]any) map[string]any {
		return map[string]any{"format": "complex", "session": session, "user": issSub("alice")}
	}
	hmacKey := []byte("0123456789abcdef0123456789abcdef")
	hs256, _ := jws.Sign([]byte(`{"iss":"`+ssfTestIssuer+`","aud":"`+ssfTestAudience+`","iat":`+nowString()+`,"jti":"h1","events":{"`+eventAccountDisabled+`":{}},"sub_id":{"format":"opaque","id":"alice"}}`),
		jws.WithKey(jwa.HS256, hmacKey, jws.WithProtectedHeaders(typHeader("secevent+jwt"))))
	tests := []struct {
		name string
		set  func(t *testing.T) string
		code string
	}{
		{"no typ header", func(t *testing.T) string { return tr.sign(t, valid(), "") }, setErrInvalidRequest},
		{"typ JWT", func(t *testing.T) string { return tr.sign(t, valid(), "JWT") }, setErrInvalidRequest},
		{"an access token of the gateway's own issuer", func(t *testing.T) string { return mint(t, tok{sub: "alice"}) }, setErrInvalidRequest},
		{"an access token's claims signed by the transmitter as a SET", func(t *testing.T) string {
			return tr.set(t, map[string]any{"iss": ssfTestIssuer, "aud": ssfTestAudience, "iat": time.Now().Unix(), "jti": "x", "sub": "alice", "exp": time.Now().Add(time.Hour).Unix()})
		}, setErrInvalidRequest},
		{"signed with the token issuer's key, not the transmitter's", func(t *testing.T) string {
			return signLogout(t, valid(), "secevent+jwt")
		}, setErrInvalidKey},
		{"signed with HS256", func(*testing.T) string { return string(hs256) }, setErrInvalidKey},
		{"a signature that does not verify", func(t *testing.T) string {
			s := tr.set(t, valid())
			return s[:len(s)-4] + "AAAA"
		}, setErrInvalidKey},
		{"another issuer", func(t *testing.T) string { return with(func(c map[string]any) { c["iss"] = "https://evil.example" }) }, setErrInvalidIssuer},
		{"another audience", func(t *testing.T) string {
			return with(func(c map[string]any) { c["aud"] = []string{"https://other.example"} })
		}, setErrInvalidAudience},
		{"no iat", func(t *testing.T) string { return with(func(c map[string]any) { delete(c, "iat") }) }, setErrInvalidRequest},
		{"iat in the future", func(t *testing.T) string {
			return with(func(c map[string]any) { c["iat"] = time.Now().Add(time.Hour).Unix() })
		}, setErrInvalidRequest},
		{"exp passed", func(t *testing.T) string {
			return with(func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() })
		}, setErrInvalidRequest},
		{"no jti", func(t *testing.T) string { return with(func(c map[string]any) { delete(c, "jti") }) }, setErrInvalidRequest},
		{"no events", func(t *testing.T) string { return with(func(c map[string]any) { delete(c, "events") }) }, setErrInvalidRequest},
		{"an event that is not an object", func(t *testing.T) string {
			return with(func(c map[string]any) { c["events"] = map[string]any{eventAccountDisabled: "yes"} })
		}, setErrInvalidRequest},
		{"no subject", func(t *testing.T) string { return with(func(c map[string]any) { delete(c, "sub_id") }) }, setErrInvalidRequest},
		{"an iss_sub of another issuer", func(t *testing.T) string {
			return with(func(c map[string]any) {
				c["sub_id"] = map[string]any{"format": "iss_sub", "iss": "https://other.example", "sub": "alice"}
			})
		}, setErrInvalidRequest},
		{"a jwt_id of another issuer", func(t *testing.T) string {
			return with(func(c map[string]any) {
				c["sub_id"] = map[string]any{"format": "jwt_id", "iss": ssfTestIssuer, "jti": "tok-1"}
			})
		}, setErrInvalidRequest},
		{"an unsupported subject format", func(t *testing.T) string {
			return with(func(c map[string]any) {
				c["sub_id"] = map[string]any{"format": "phone_number", "phone_number": "+12065550100"}
			})
		}, setErrInvalidRequest},
		{"an account subject (not among the five formats)", func(t *testing.T) string {
			return with(func(c map[string]any) {
				c["sub_id"] = map[string]any{"format": "account", "uri": "acct:alice@example.com"}
			})
		}, setErrInvalidRequest},
		{"an empty opaque id", func(t *testing.T) string {
			return with(func(c map[string]any) { c["sub_id"] = map[string]any{"format": "opaque", "id": " "} })
		}, setErrInvalidRequest},
		{"a complex subject whose session is not opaque", func(t *testing.T) string {
			return with(func(c map[string]any) {
				c["sub_id"] = complexSub(map[string]any{"format": "uri", "uri": "urn:example:session", "id": "s-1"})
			})
		}, setErrInvalidRequest},
		{"a complex subject with neither session nor user", func(t *testing.T) string {
			return with(func(c map[string]any) {
				c["sub_id"] = map[string]any{"format": "complex", "tenant": map[string]any{"format": "opaque", "id": "t"}}
			})
		}, setErrInvalidRequest},
		{"a complex subject whose user has an unsupported format", func(t *testing.T) string {
			return with(func(c map[string]any) {
				c["sub_id"] = map[string]any{"format": "complex", "session": map[string]any{"format": "opaque", "id": "s-1"},
					"user": map[string]any{"format": "did", "url": "did:example:123"}}
			})
		}, setErrInvalidRequest},
		{"sub_id and the event's subject differ", func(t *testing.T) string {
			return with(func(c map[string]any) {
				c["events"] = map[string]any{eventAccountDisabled: map[string]any{"subject": issSub("bob")}}
			})
		}, setErrInvalidRequest},
		{"credential-change without change_type", func(t *testing.T) string {
			return tr.set(t, setClaims(eventCredentialChange, map[string]any{"credential_type": "password"}, issSub("alice")))
		}, setErrInvalidRequest},
		{"a second, unreadable event refuses the whole SET", func(t *testing.T) string {
			return with(func(c map[string]any) {
				c["events"] = map[string]any{
					eventSessionRevoked:   map[string]any{"subject": map[string]any{"format": "opaque", "id": "alice"}},
					eventCredentialChange: map[string]any{"subject": map[string]any{"format": "opaque", "id": "alice"}},
				}
				delete(c, "sub_id")
			})
		}, setErrInvalidRequest},
		{"a member repeated inside sub_id", func(t *testing.T) string {
			return rawSET(t, tr, `{"iss":"`+ssfTestIssuer+`","aud":"`+ssfTestAudience+`","iat":`+nowString()+`,"jti":"d1",`+
				`"sub_id":{"format":"opaque","id":"bob","id":"alice"},"events":{"`+eventAccountDisabled+`":{}}}`)
		}, setErrInvalidRequest},
		{"a repeated event", func(t *testing.T) string {
			return rawSET(t, tr, `{"iss":"`+ssfTestIssuer+`","aud":"`+ssfTestAudience+`","iat":`+nowString()+`,"jti":"d2",`+
				`"sub_id":{"format":"opaque","id":"alice"},"events":{"`+eventVerification+`":{},"`+eventVerification+`":{}}}`)
		}, setErrInvalidRequest},
		{"a crit header", func(t *testing.T) string {
			hdr := typHeader("secevent+jwt")
			_ = hdr.Set(jws.CriticalKey, []string{"exp"})
			_ = hdr.Set(jws.KeyIDKey, "tx1")
			payload := []byte(`{"iss":"` + ssfTestIssuer + `","aud":"` + ssfTestAudience + `","iat":` + nowString() + `,"jti":"c1","sub_id":{"format":"opaque","id":"alice"},"events":{"` + eventAccountDisabled + `":{}}}`)
			b, err := jws.Sign(payload, jws.WithKey(jwa.ES256, tr.key, jws.WithProtectedHeaders(hdr)))
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}, setErrInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newSSFHarness(t, nil, tr, nil)
			token := mint(t, tok{sub: "alice", jti: "tok-1", iat: time.Now().Add(-time.Minute), extra: map[string]any{"sid": "s-1"}})
			resp := h.push(tt.set(t))
			wantSETError(t, resp, http.StatusBadRequest, tt.code)
			wantNothingApplied(t, h, token)
			series, _ := h.scrape()
			refused := 0.0
			for k, v := range series {
				if strings.HasPrefix(k, "revgate_ssf_events_total{") && strings.Contains(k, `result="refused"`) {
					refused += v
				}
			}
			if refused < 1 {
				t.Errorf("no refused event counted")
			}
			if v := series[`revgate_requests_total{mode="proxy",outcome="bad_request",route="ssf_push"}`]; v != 1 {
				t.Errorf("bad_request ssf_push = %v, want 1", v)
			}
		})
	}
}

func TestSSFPushRefusesBadRequests(t *testing.T) {
	tr := newTransmitter(t)
	h := newSSFHarness(t, nil, tr, nil)
	set := tr.set(t, setClaims(eventAccountDisabled, map[string]any{}, issSub("alice")))
	token := mint(t, tok{sub: "alice", jti: "tok-1", iat: time.Now().Add(-time.Minute)})

	t.Run("GET is 405", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, h.proxy.URL+ssfTestPath, nil)
		req.Header.Set("Authorization", ssfTestAuth)
		resp := h.do(req)
		wantSETError(t, resp, http.StatusMethodNotAllowed, setErrInvalidRequest)
		if resp.Header.Get("Allow") != http.MethodPost {
			t.Errorf("Allow = %q", resp.Header.Get("Allow"))
		}
	})
	t.Run("no Authorization is 401", func(t *testing.T) {
		wantSETError(t, h.pushWith(set, "application/secevent+jwt", ""), http.StatusUnauthorized, "authentication_failed")
	})
	t.Run("a wrong Authorization is 403", func(t *testing.T) {
		wantSETError(t, h.pushWith(set, "application/secevent+jwt", ssfTestAuth+"x"), http.StatusForbidden, "access_denied")
		wantSETError(t, h.pushWith(set, "application/secevent+jwt", "Bearer"), http.StatusForbidden, "access_denied")
	})
	t.Run("two Authorization headers are 403", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, h.proxy.URL+ssfTestPath, strings.NewReader(set))
		req.Header.Set("Content-Type", "application/secevent+jwt")
		req.Header.Add("Authorization", ssfTestAuth)
		req.Header.Add("Authorization", ssfTestAuth)
		wantSETError(t, h.do(req), http.StatusForbidden, "access_denied")
	})
	t.Run("another Content-Type is 400", func(t *testing.T) {
		wantSETError(t, h.pushWith(set, "application/json", ssfTestAuth), http.StatusBadRequest, setErrInvalidRequest)
		wantSETError(t, h.pushWith(set, "application/x-www-form-urlencoded", ssfTestAuth), http.StatusBadRequest, setErrInvalidRequest)
	})
	t.Run("a body over 64 KiB is 413", func(t *testing.T) {
		wantSETError(t, h.pushWith(strings.Repeat("a", 64<<10+1), "application/secevent+jwt", ssfTestAuth), http.StatusRequestEntityTooLarge, setErrInvalidRequest)
	})
	wantNothingApplied(t, h, token)
	// The same SET, properly delivered, is then applied.
	wantAccepted(t, h.pushWith(set+"\n", "application/secevent+jwt; charset=utf-8", ssfTestAuth))
	wantStatus(t, h.get("/x", token), 401)
}

func nowString() string { return strconv.FormatInt(time.Now().Unix(), 10) }

func typHeader(typ string) jws.Headers {
	hdr := jws.NewHeaders()
	_ = hdr.Set(jws.TypeKey, typ)
	return hdr
}
