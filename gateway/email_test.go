package gateway

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/revgate/revgate/config"
	"github.com/revgate/revgate/revocation"
)

const testPushAuthorization = "Bearer ssf-push-0123456789abcdef"

// withSSF turns the Shared Signals receiver on (push only; its endpoint is
// not exercised here), so email marks apply. The transmitter's keys are
// the test issuer's file: only the configuration needs one.
func withSSF(more func(c *config.Config)) func(c *config.Config) {
	return func(c *config.Config) {
		c.SSF.Issuer = "https://transmitter.example"
		c.SSF.JWKSFile = c.JWT.JWKSFile
		c.SSF.Audience = "https://revgate.example"
		c.SSF.PushPath = "/ssf/events"
		c.SSF.PushAuthorization = testPushAuthorization
		if more != nil {
			more(c)
		}
	}
}

func emailPath(address string) string {
	return "/v1/revocations/emails/" + url.PathEscape(address)
}

// Revocation rule 5: with the receiver on, a token whose ssf.email_claim
// names a marked address and whose iat is at or before the mark is
// refused as revoked_email; later tokens, tokens of other addresses and
// tokens without the claim are not.
func TestAnEmailMarkRevokesTokensOfThatAddressIssuedUntilTheMark(t *testing.T) {
	backends(t, func(t *testing.T, store func() revocation.Store) {
		counting := &countingStore{Store: store()}
		h := newHarness(t, counting, withSSF(nil))
		now := time.Now().Truncate(time.Second)
		before := now.Add(-time.Minute)
		old := mint(t, tok{sub: "alice", iat: before.Add(-time.Minute), extra: map[string]any{"email": "alice@example.com"}})
		atTheMark := mint(t, tok{sub: "alice", iat: before, extra: map[string]any{"email": "alice@example.com"}})
		caseVariant := mint(t, tok{sub: "alice2", iat: before.Add(-time.Minute), extra: map[string]any{"email": " ALICE@Example.COM"}})
		newer := mint(t, tok{sub: "alice", iat: now.Add(-5 * time.Second), extra: map[string]any{"email": "alice@example.com"}})
		otherAddress := mint(t, tok{sub: "alice", iat: before.Add(-time.Minute), extra: map[string]any{"email": "bob@example.com"}})
		noClaim := mint(t, tok{sub: "alice", iat: before.Add(-time.Minute)})
		notAString := mint(t, tok{sub: "alice", iat: before.Add(-time.Minute), extra: map[string]any{"email": []string{"alice@example.com"}}})

		wantStatus(t, h.get("/x", old), 200)
		if q := counting.lastQuery.Load(); q == nil || q.Email != "alice@example.com" {
			t.Fatalf("a token with an email claim was checked with %+v, want Email alice@example.com", q)
		}

		body := h.mustAdmin(http.MethodPost, emailPath("Alice@Example.com"), `{"before":`+strconv.FormatInt(before.Unix(), 10)+`,"reason":"account disabled"}`)
		if body["email"] != "alice@example.com" || body["revoked_before"] != before.UTC().Format(time.RFC3339) {
			t.Fatalf("POST answered %v", body)
		}

		m0, _ := h.scrape()
		hits := h.upstream.hits.Load()
		for _, tt := range []struct{ name, token string }{
			{"a token issued before the mark", old},
			{"a token issued in the mark's second", atTheMark},
			{"a token naming the address in another case", caseVariant},
		} {
			resp := h.get("/x", tt.token)
			got := wantStatus(t, resp, 401)
			if got["error"] != "invalid_token" || got["error_description"] != "token has been revoked" {
				t.Errorf("%s: answered %v", tt.name, got)
			}
			if c := resp.Header.Get("WWW-Authenticate"); !strings.Contains(c, `error="invalid_token"`) {
				t.Errorf("%s: WWW-Authenticate = %q", tt.name, c)
			}
		}
		if h.upstream.hits.Load() != hits {
			t.Fatal("a request of an email-revoked token reached the upstream")
		}
		m1, _ := h.scrape()
		series := `revgate_requests_total{mode="proxy",outcome="revoked_email",route="default"}`
		if got := m1[series] - m0[series]; got != 3 {
			t.Errorf("%s went up by %v, want 3", series, got)
		}

		for _, tt := range []struct{ name, token string }{
			{"a token issued after the mark", newer},
			{"a token of another address", otherAddress},
			{"a token without the claim", noClaim},
			{"a token whose claim is not a string", notAString},
		} {
			if resp := h.get("/x", tt.token); resp.StatusCode != 200 {
				t.Errorf("%s: status %d, want 200", tt.name, resp.StatusCode)
			}
		}
		if q := counting.lastQuery.Load(); q == nil || q.Email != "" {
			t.Errorf("a token whose email claim is no string was checked with %+v, want no Email", q)
		}

		h.mustAdmin(http.MethodDelete, emailPath("alice@EXAMPLE.com"), "")
		wantStatus(t, h.get("/x", old), 200)
	})
}

// With the receiver off, the email claim is not read (no extra key in the
// lookup) and the admin API refuses to set a mark that would do nothing.
func TestEmailMarksNeedTheReceiver(t *testing.T) {
	counting := &countingStore{Store: revocation.NewMemory(nil)}
	h := newHarness(t, counting, nil)
	token := mint(t, tok{sub: "alice", extra: map[string]any{"email": "alice@example.com"}})
	if _, err := counting.MarkEmail(t.Context(), "alice@example.com", time.Now(), time.Hour); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, h.get("/x", token), 200)
	if q := counting.lastQuery.Load(); q == nil || q.Email != "" {
		t.Errorf("with the receiver off the token was checked with %+v, want no Email", q)
	}
	code, body := h.adminCall(http.MethodPost, emailPath("alice@example.com"), "")
	if code != 400 || body["error"] != "invalid_request" || !strings.Contains(body["message"].(string), "Shared Signals receiver") {
		t.Errorf("POST with the receiver off = %d %v, want 400 invalid_request naming the receiver", code, body)
	}
	// What is recorded can still be read and removed.
	if got := h.mustAdmin(http.MethodGet, emailPath("alice@example.com"), ""); got["email"] != "alice@example.com" {
		t.Errorf("GET answered %v", got)
	}
	h.mustAdmin(http.MethodDelete, emailPath("alice@example.com"), "")
}

func TestEmailAdminAPI(t *testing.T) {
	backends(t, func(t *testing.T, store func() revocation.Store) {
		h := newHarness(t, store(), withSSF(nil))
		path := emailPath(" Ünïcode.User+tag@Example.org")
		canonical := "ünïcode.user+tag@example.org"
		if code, body := h.adminCall(http.MethodGet, path, ""); code != 404 || body["error"] != "not_revoked" {
			t.Fatalf("GET before POST = %d %v, want 404 not_revoked", code, body)
		}
		start := time.Now().Truncate(time.Second)
		posted := h.mustAdmin(http.MethodPost, path, `{"reason":"credential compromise"}`)
		mark, err := time.Parse(time.RFC3339, posted["revoked_before"].(string))
		if posted["email"] != canonical || err != nil || mark.Before(start) || mark.After(time.Now()) {
			t.Fatalf("POST answered %v, want the canonical address and a mark of now", posted)
		}
		if _, ok := posted["subject"]; ok {
			t.Errorf("POST answered a subject member: %v", posted)
		}
		got := h.mustAdmin(http.MethodGet, emailPath(canonical), "")
		if got["email"] != canonical || got["revoked_before"] != posted["revoked_before"] {
			t.Fatalf("GET answered %v, want %v", got, posted)
		}
		// Marks only move forward.
		earlier := h.mustAdmin(http.MethodPost, path, `{"before":"2020-01-02T03:04:05Z"}`)
		if earlier["revoked_before"] != posted["revoked_before"] {
			t.Errorf("an earlier POST answered %v, want the later mark kept", earlier)
		}
		// A subject of the same text is another record.
		if code, _ := h.adminCall(http.MethodGet, "/v1/revocations/subjects/"+url.PathEscape(canonical), ""); code != 404 {
			t.Errorf("GET of a subject of the address's text = %d, want 404", code)
		}
		for _, tt := range []struct{ name, path, body string }{
			{"an address of white space only", emailPath("  "), ""},
			{"an oversized address", emailPath(strings.Repeat("a", maxEmailBytes+1)), ""},
			{"an unknown member", path, `{"reason":"a","extra":1}`},
			{"a mark too far ahead", path, `{"before":"` + time.Now().Add(48*time.Hour).UTC().Format(time.RFC3339) + `"}`},
		} {
			if code, body := h.adminCall(http.MethodPost, tt.path, tt.body); code != 400 || body["error"] != "invalid_request" {
				t.Errorf("POST of %s = %d %v, want 400 invalid_request", tt.name, code, body)
			}
		}
		if code, _ := h.adminCall(http.MethodDelete, path, ""); code != 204 {
			t.Fatalf("DELETE = %d, want 204", code)
		}
		if code, _ := h.adminCall(http.MethodGet, path, ""); code != 404 {
			t.Fatalf("GET after DELETE = %d, want 404", code)
		}

		logs := h.logs.String()
		for _, want := range []string{`"action":"revoke_email"`, `"action":"unrevoke_email"`, `"email":"` + canonical + `"`, `"reason":"credential compromise"`, `"actor":"ops"`} {
			if !strings.Contains(logs, want) {
				t.Errorf("the audit trail lacks %s", want)
			}
		}
		m, _ := h.scrape()
		if got := m[`revgate_revocations_total{kind="email",source="admin"}`]; got != 2 {
			t.Errorf(`revocations_total{kind="email",source="admin"} = %v, want 2`, got)
		}
	})
}

// An email-revoked token is inactive to introspection, and refused on the
// decision listener: every front door goes through the one core.
func TestAnEmailRevokedTokenIsInactiveAndDeniedEverywhere(t *testing.T) {
	d := newDecisionHarness(t, nil, withOAuth(withSSF(nil)))
	token := mint(t, tok{sub: "alice", extra: map[string]any{"email": "alice@example.com", "client_id": ordersID}})
	if code, body := d.introspect(token); code != 200 || body["active"] != true {
		t.Fatalf("introspection before the mark = %d %v, want active", code, body)
	}
	d.mustAdmin(http.MethodPost, emailPath("alice@example.com"), "")
	if code, body := d.introspect(token); code != 200 || body["active"] != false || len(body) != 1 {
		t.Errorf("introspection after the mark = %d %v, want only active: false", code, body)
	}
	resp, _ := d.ask(http.MethodGet, "/forward-auth", http.Header{
		"Authorization": {"Bearer " + token}, "X-Forwarded-Uri": {"/x"}, "X-Forwarded-Method": {"GET"},
	}, "")
	if resp.StatusCode != 401 {
		t.Errorf("forward-auth after the mark = %d, want 401", resp.StatusCode)
	}
	m, _ := d.scrape()
	if got := m[`revgate_requests_total{mode="forward_auth",outcome="revoked_email",route="default"}`]; got != 1 {
		t.Errorf("forward_auth revoked_email = %v, want 1", got)
	}
}

// The email claim is read only once: a token that repeats it is refused,
// since another parser might read the other copy.
func TestARepeatedEmailClaimIsRefused(t *testing.T) {
	h := newHarness(t, nil, withSSF(nil))
	if got := ReadClaims(h.cfg); !strings.Contains(strings.Join(got, ","), "email") {
		t.Fatalf("ReadClaims = %q, want the email claim", got)
	}
	now := time.Now().Unix()
	payload, _ := json.Marshal(map[string]any{"iss": testIssuer, "aud": testAudience, "sub": "alice", "iat": now - 5, "exp": now + 600})
	dup := strings.TrimSuffix(string(payload), "}") + `,"email":"alice@example.com","email":"mallory@example.com"}`
	signed, err := jws.Sign([]byte(dup), jws.WithKey(jwa.RS256, testSigningKey(t)))
	if err != nil {
		t.Fatal(err)
	}
	got := wantStatus(t, h.get("/x", string(signed)), 401)
	if got["error"] != "invalid_token" {
		t.Errorf("answered %v, want invalid_token", got)
	}
	// Without the receiver the claim is not read, and so not the verifier's
	// concern.
	off := newHarness(t, nil, nil)
	wantStatus(t, off.get("/x", string(signed)), 200)
}
