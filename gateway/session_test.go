package gateway

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/revgate/revgate/config"
	"github.com/revgate/revgate/revocation"
)

// Revocation rule 4: a token whose jwt.session_claim names a revoked
// session is refused, whatever else it carries.
func TestASessionRevocationStopsEveryTokenOfThatSessionAndNoOther(t *testing.T) {
	backends(t, func(t *testing.T, store func() revocation.Store) {
		counting := &countingStore{Store: store()}
		h := newHarness(t, counting, nil)
		inSession := mint(t, tok{sub: "alice", jti: randomJTI(), extra: map[string]any{"sid": "sess-1"}})
		sameSessionNoJTI := mint(t, tok{sub: "alice", jti: "-", extra: map[string]any{"sid": "sess-1"}})
		otherSession := mint(t, tok{sub: "alice", extra: map[string]any{"sid": "sess-2"}})
		noSession := mint(t, tok{sub: "alice"})
		// A jti or subject of the session's text is not that session.
		lookalike := mint(t, tok{sub: "sess-1", jti: "sess-1"})

		wantStatus(t, h.get("/x", inSession), 200)
		body := h.mustAdmin(http.MethodPost, "/v1/revocations/sessions/sess-1", `{"reason":"idp logout"}`)
		if body["session"] != "sess-1" || body["revoked"] != true {
			t.Fatalf("POST answered %v", body)
		}

		before, _ := h.scrape()
		hits := h.upstream.hits.Load()
		for _, tt := range []struct {
			name, token string
		}{{"a token of the session", inSession}, {"a token of the session without jti", sameSessionNoJTI}} {
			got := wantStatus(t, h.get("/x", tt.token), 401)
			if got["error_description"] != "token has been revoked" {
				t.Errorf("%s: error_description = %v", tt.name, got["error_description"])
			}
		}
		if h.upstream.hits.Load() != hits {
			t.Fatal("a request of a revoked session reached the upstream")
		}
		after, _ := h.scrape()
		series := `revgate_requests_total{mode="proxy",outcome="revoked_session",route="default"}`
		if got := after[series] - before[series]; got != 2 {
			t.Errorf("%s went up by %v, want 2", series, got)
		}

		wantStatus(t, h.get("/x", otherSession), 200)
		if q := counting.lastQuery.Load(); q == nil || q.Session != "sess-2" {
			t.Errorf("a token with sid sess-2 was checked with %+v, want Session sess-2", q)
		}
		wantStatus(t, h.get("/x", lookalike), 200)
		wantStatus(t, h.get("/x", noSession), 200)
		if q := counting.lastQuery.Load(); q == nil || q.Session != "" {
			t.Errorf("a token without sid was checked with %+v, want no Session asked for", q)
		}

		h.mustAdmin(http.MethodDelete, "/v1/revocations/sessions/sess-1", "")
		wantStatus(t, h.get("/x", inSession), 200)
	})
}

func TestSessionClaimNamesTheClaimAndEmptyTurnsItOff(t *testing.T) {
	t.Run("another claim name is read", func(t *testing.T) {
		h := newHarness(t, nil, func(c *config.Config) { c.JWT.SessionClaim = "session_state" })
		keycloakish := mint(t, tok{sub: "alice", extra: map[string]any{"session_state": "kc-1", "sid": "other"}})
		h.mustAdmin(http.MethodPost, "/v1/revocations/sessions/kc-1", "")
		wantStatus(t, h.get("/x", keycloakish), 401)
	})
	t.Run(`"" reads no session claim`, func(t *testing.T) {
		counting := &countingStore{Store: revocation.NewMemory(nil)}
		h := newHarness(t, counting, func(c *config.Config) { c.JWT.SessionClaim = "" })
		token := mint(t, tok{sub: "alice", extra: map[string]any{"sid": "sess-1"}})
		h.mustAdmin(http.MethodPost, "/v1/revocations/sessions/sess-1", "")
		wantStatus(t, h.get("/x", token), 200)
		if q := counting.lastQuery.Load(); q == nil || q.Session != "" {
			t.Errorf("with session_claim off the check asked %+v", q)
		}
	})
	t.Run("a token whose session claim is not a string is refused", func(t *testing.T) {
		h := newHarness(t, nil, nil)
		wantStatus(t, h.get("/x", mint(t, tok{sub: "alice", extra: map[string]any{"sid": 42}})), 401)
	})
}

func TestAdminSessionEndpoints(t *testing.T) {
	backends(t, func(t *testing.T, store func() revocation.Store) {
		h := newHarness(t, store(), nil)
		start := time.Now().Truncate(time.Second)
		odd := "a:b/{c} ü?#%"
		path := "/v1/revocations/sessions/" + url.PathEscape(odd)

		if code, body := h.adminCall(http.MethodGet, path, ""); code != 404 || body["error"] != "not_revoked" {
			t.Fatalf("GET before POST = %d %v, want 404 not_revoked", code, body)
		}
		posted := h.mustAdmin(http.MethodPost, path, `{"reason":"stolen laptop"}`)
		if posted["session"] != odd || posted["revoked"] != true {
			t.Fatalf("POST answered %v", posted)
		}
		// The record lives max_token_lifetime plus leeway from now.
		exp, err := time.Parse(time.RFC3339, posted["expires_at"].(string))
		lifetime := h.cfg.Revocation.MaxTokenLifetime + h.cfg.JWT.Leeway
		if err != nil || exp.Before(start.Add(lifetime)) || exp.After(time.Now().Add(lifetime+time.Second)) {
			t.Fatalf("expires_at = %v (%v), want about now + %v", posted["expires_at"], err, lifetime)
		}
		got := h.mustAdmin(http.MethodGet, path, "")
		if got["session"] != odd || got["revoked"] != true || got["expires_at"] != posted["expires_at"] {
			t.Fatalf("GET answered %v, want %v", got, posted)
		}
		if code, _ := h.adminCall(http.MethodGet, "/v1/revocations/sessions/a:b", ""); code != 404 {
			t.Errorf("GET of a prefix of the session = %d, want 404", code)
		}
		if code, _ := h.adminCall(http.MethodGet, "/v1/revocations/tokens/"+url.PathEscape(odd), ""); code != 404 {
			t.Errorf("GET of a jti of the session's text = %d, want 404", code)
		}
		if code, body := h.adminCall(http.MethodPost, "/v1/revocations/sessions/x", `{"reason":"a","extra":1}`); code != 400 {
			t.Errorf("POST with an unknown member = %d %v, want 400", code, body)
		}
		if code, body := h.adminCall(http.MethodPost, "/v1/revocations/sessions/"+strings.Repeat("s", maxSessionBytes+1), ""); code != 400 {
			t.Errorf("POST of an oversized session = %d %v, want 400", code, body)
		}
		if code, _ := h.adminCall(http.MethodDelete, path, ""); code != 204 {
			t.Fatalf("DELETE = %d, want 204", code)
		}
		if code, _ := h.adminCall(http.MethodGet, path, ""); code != 404 {
			t.Fatalf("GET after DELETE = %d, want 404", code)
		}

		logs := h.logs.String()
		for _, want := range []string{`"action":"revoke_session"`, `"action":"unrevoke_session"`, `"reason":"stolen laptop"`, `"actor":"ops"`} {
			if !strings.Contains(logs, want) {
				t.Errorf("the audit trail lacks %s", want)
			}
		}
		m, _ := h.scrape()
		if got := m[`revgate_revocations_total{kind="session",source="admin"}`]; got != 1 {
			t.Errorf(`revocations_total{kind="session",source="admin"} = %v, want 1`, got)
		}
	})
}
