package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/revgate/revgate/config"
	"github.com/revgate/revgate/revocation"
)

const (
	bclPath     = "/oidc/backchannel-logout"
	bclAudience = "orders-web"
)

func withBackchannel(c *config.Config) {
	c.BackchannelLogout.Path = bclPath
	c.BackchannelLogout.Audience = config.StringList{bclAudience}
}

// logoutClaims are a valid logout token's claims; tests change them.
func logoutClaims(sid string) map[string]any {
	return map[string]any{
		"iss":    testIssuer,
		"aud":    bclAudience,
		"iat":    time.Now().Unix(),
		"jti":    randomJTI(),
		"sid":    sid,
		"events": map[string]any{eventBackchannelLogout: map[string]any{}},
	}
}

// signLogout signs claims with the test key and header typ ("" = none).
func signLogout(t testing.TB, claims map[string]any, typ string) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	hdr := jws.NewHeaders()
	_ = hdr.Set(jws.KeyIDKey, "k1")
	if typ != "" {
		_ = hdr.Set(jws.TypeKey, typ)
	}
	b, err := jws.Sign(payload, jws.WithKey(jwa.RS256, testSigningKey(t), jws.WithProtectedHeaders(hdr)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (h *harness) postLogoutToken(token string) *http.Response {
	h.t.Helper()
	return h.postBackchannel("application/x-www-form-urlencoded", url.Values{"logout_token": {token}}.Encode())
}

func (h *harness) postBackchannel(contentType, body string) *http.Response {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.proxy.URL+bclPath, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	return h.do(req)
}

func wantNoStore(t *testing.T, resp *http.Response) {
	t.Helper()
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
}

func TestBackchannelLogoutRevokesTheSession(t *testing.T) {
	tests := []struct {
		name  string
		typ   string
		shape func(c map[string]any)
		// subject is the audit event's subject attribute, "" = none.
		subject string
	}{
		{"Hydra: sid only, no sub, no exp, typ JWT", "JWT", func(map[string]any) {}, ""},
		{"Keycloak: sid and sub, exp, typ logout+jwt", "logout+jwt", func(c map[string]any) {
			c["sub"] = "alice"
			c["exp"] = time.Now().Add(time.Minute).Unix()
			c["typ"] = "Logout" // Keycloak's own claim, not the header
		}, `"subject":"alice"`},
	}
	backends(t, func(t *testing.T, store func() revocation.Store) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				h := newHarness(t, store(), withBackchannel)
				inSession := mint(t, tok{sub: "alice", extra: map[string]any{"sid": "sess-1"}})
				otherSession := mint(t, tok{sub: "alice", extra: map[string]any{"sid": "sess-2"}})
				wantStatus(t, h.get("/x", inSession), 200)
				hits := h.upstream.hits.Load()

				claims := logoutClaims("sess-1")
				tt.shape(claims)
				resp := h.postLogoutToken(signLogout(t, claims, tt.typ))
				wantStatus(t, resp, 200)
				wantNoStore(t, resp)
				if h.upstream.hits.Load() != hits {
					t.Fatal("the logout request reached the upstream")
				}

				before, _ := h.scrape()
				got := wantStatus(t, h.get("/x", inSession), 401)
				if got["error_description"] != "token has been revoked" {
					t.Errorf("error_description = %v", got["error_description"])
				}
				after, _ := h.scrape()
				series := `revgate_requests_total{mode="proxy",outcome="revoked_session",route="default"}`
				if after[series]-before[series] != 1 {
					t.Errorf("%s went up by %v, want 1", series, after[series]-before[series])
				}
				wantStatus(t, h.get("/x", otherSession), 200)
				if _, err := h.store.GetSubject(context.Background(), "alice"); !errors.Is(err, revocation.ErrNotFound) {
					t.Errorf("a logout with sid marked the subject too: %v", err)
				}
				if !strings.Contains(h.logs.String(), `"actor":"oidc:`+testIssuer+`"`) {
					t.Errorf("no audit event with actor oidc:<iss>:\n%s", h.logs.String())
				}
				if got := strings.Contains(h.logs.String(), `"subject":`); got != (tt.subject != "") || !strings.Contains(h.logs.String(), tt.subject) {
					t.Errorf("audit event: want subject %q (none when the token has no sub):\n%s", tt.subject, h.logs.String())
				}
				if v := after[`revgate_backchannel_logout_requests_total{result="accepted"}`]; v != 1 {
					t.Errorf("accepted counter = %v, want 1", v)
				}
			})
		}
	})
}

func TestBackchannelLogoutWithSubOnlyMarksTheSubject(t *testing.T) {
	h := newHarness(t, nil, withBackchannel)
	old := mint(t, tok{sub: "bob", iat: time.Now().Add(-time.Minute)})
	claims := logoutClaims("")
	delete(claims, "sid")
	claims["sub"] = "bob"
	iat := time.Now().Add(-2 * time.Second).Unix()
	claims["iat"] = iat
	wantStatus(t, h.postLogoutToken(signLogout(t, claims, "logout+jwt")), 200)
	mark, err := h.store.GetSubject(context.Background(), "bob")
	if err != nil || mark.Unix() != iat {
		t.Fatalf("subject mark = %v, %v; want the logout token's iat %v", mark, err, time.Unix(iat, 0))
	}
	wantStatus(t, h.get("/x", old), 401)
}

func TestBackchannelLogoutRefusals(t *testing.T) {
	now := time.Now()
	valid := func(f func(c map[string]any)) func(t *testing.T) string {
		return func(t *testing.T) string {
			c := logoutClaims("sess-1")
			c["sub"] = "alice"
			f(c)
			return signLogout(t, c, "logout+jwt")
		}
	}
	form := func(tok string) string { return url.Values{"logout_token": {tok}}.Encode() }
	tests := []struct {
		name  string
		ct    string
		body  func(t *testing.T, h *harness) string
		token func(t *testing.T) string
	}{
		{name: "an access token (no events)", token: func(t *testing.T) string {
			return mint(t, tok{sub: "alice", extra: map[string]any{"sid": "sess-1", "aud": bclAudience}})
		}},
		{name: "an ID token with nonce", token: valid(func(c map[string]any) { c["nonce"] = "n-0S6_WzA2Mj" })},
		{name: "an ID token with nonce and no events", token: valid(func(c map[string]any) {
			c["nonce"] = "n-0S6_WzA2Mj"
			delete(c, "events")
		})},
		{name: "wrong aud", token: valid(func(c map[string]any) { c["aud"] = []string{"other-client", testAudience} })},
		{name: "no aud", token: valid(func(c map[string]any) { delete(c, "aud") })},
		{name: "wrong iss", token: valid(func(c map[string]any) { c["iss"] = "https://evil.test" })},
		{name: "no iat", token: valid(func(c map[string]any) { delete(c, "iat") })},
		{name: "old iat", token: valid(func(c map[string]any) { c["iat"] = now.Add(-6 * time.Minute).Unix() })},
		{name: "future iat", token: valid(func(c map[string]any) { c["iat"] = now.Add(2 * time.Minute).Unix() })},
		{name: "expired exp", token: valid(func(c map[string]any) { c["exp"] = now.Add(-time.Minute).Unix() })},
		{name: "no jti", token: valid(func(c map[string]any) { delete(c, "jti") })},
		{name: "events member not an object", token: valid(func(c map[string]any) {
			c["events"] = map[string]any{eventBackchannelLogout: "yes"}
		})},
		{name: "events without the logout member", token: valid(func(c map[string]any) {
			c["events"] = map[string]any{"http://schemas.openid.net/event/other": map[string]any{}}
		})},
		{name: "events not an object", token: valid(func(c map[string]any) { c["events"] = []string{eventBackchannelLogout} })},
		{name: "missing sub and sid", token: valid(func(c map[string]any) { delete(c, "sub"); delete(c, "sid") })},
		{name: "sid not a string", token: valid(func(c map[string]any) { c["sid"] = 42 })},
		{name: "bad typ at+jwt", token: func(t *testing.T) string { return signLogout(t, logoutClaims("sess-1"), "at+jwt") }},
		{name: "bad signature", token: func(t *testing.T) string {
			tk := signLogout(t, logoutClaims("sess-1"), "JWT")
			i := strings.LastIndexByte(tk, '.') + 10
			c := byte('A')
			if tk[i] == 'A' {
				c = 'B'
			}
			return tk[:i] + string(c) + tk[i+1:]
		}},
		{name: "wrong Content-Type", ct: "application/json", token: valid(func(map[string]any) {})},
		{name: "two logout_token params", body: func(t *testing.T, h *harness) string {
			a, b := valid(func(map[string]any) {})(t), valid(func(map[string]any) {})(t)
			return url.Values{"logout_token": {a, b}}.Encode()
		}},
		{name: "no logout_token", body: func(*testing.T, *harness) string { return "token=x" }},
		{name: "replayed jti", body: func(t *testing.T, h *harness) string {
			tk := valid(func(map[string]any) {})(t)
			wantStatus(t, h.postLogoutToken(tk), 200)
			// Undo the first logout: the replay must not redo it.
			ctx := context.Background()
			if err := h.store.UnrevokeSession(ctx, "sess-1"); err != nil {
				t.Fatal(err)
			}
			return form(tk)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil, withBackchannel)
			access := mint(t, tok{sub: "alice", extra: map[string]any{"sid": "sess-1"}})
			ct := tt.ct
			if ct == "" {
				ct = "application/x-www-form-urlencoded"
			}
			var body string
			if tt.body != nil {
				body = tt.body(t, h)
			} else {
				body = form(tt.token(t))
			}
			hits := h.upstream.hits.Load()
			resp := h.postBackchannel(ct, body)
			got := wantStatus(t, resp, 400)
			wantNoStore(t, resp)
			t.Logf("error_description: %v", got["error_description"])
			if got["error"] != "invalid_request" || got["error_description"] == "" {
				t.Errorf("body = %v", got)
			}
			if h.upstream.hits.Load() != hits {
				t.Error("the refused logout reached the upstream")
			}
			ctx := context.Background()
			if _, err := h.store.GetSession(ctx, "sess-1"); !errors.Is(err, revocation.ErrNotFound) {
				t.Errorf("session revoked by a refused logout: %v", err)
			}
			if _, err := h.store.GetSubject(ctx, "alice"); !errors.Is(err, revocation.ErrNotFound) {
				t.Errorf("subject marked by a refused logout: %v", err)
			}
			wantStatus(t, h.get("/x", access), 200)
		})
	}
}

func TestBackchannelLogoutOnlyTakesPOSTAndIsNeverForwarded(t *testing.T) {
	h := newHarness(t, nil, withBackchannel)
	for _, path := range []string{bclPath, bclPath + "/", bclPath + ";x=1"} {
		resp := h.get(path, mint(t, tok{sub: "alice"}))
		wantStatus(t, resp, http.StatusMethodNotAllowed)
		if resp.Header.Get("Allow") != http.MethodPost {
			t.Errorf("%s: Allow = %q", path, resp.Header.Get("Allow"))
		}
	}
	if n := h.upstream.hits.Load(); n != 0 {
		t.Errorf("upstream saw %d requests", n)
	}
}

func TestBackchannelLogoutStoreDownIs503AndTheRetryWorks(t *testing.T) {
	store, srv := redisStore(t)
	h := newHarness(t, store, withBackchannel)
	tk := signLogout(t, logoutClaims("sess-9"), "JWT")
	srv.Stop()
	resp := h.postLogoutToken(tk)
	got := wantStatus(t, resp, http.StatusServiceUnavailable)
	if got["error"] == "invalid_request" {
		t.Errorf("a store outage answered as a bad request: %v", got)
	}
	if h.upstream.hits.Load() != 0 {
		t.Error("the logout reached the upstream")
	}
	srv.Restart()
	// The identity provider retries the same token: it is not a replay.
	wantStatus(t, h.postLogoutToken(tk), 200)
	if _, err := store.GetSession(context.Background(), "sess-9"); err != nil {
		t.Errorf("session not revoked after the retry: %v", err)
	}
	wantStatus(t, h.postLogoutToken(tk), 400)
}

func TestBackchannelLogoutIsServedOnTheDecisionListener(t *testing.T) {
	d := newDecisionHarness(t, nil, withBackchannel)
	access := mint(t, tok{sub: "alice", extra: map[string]any{"sid": "sess-d"}})
	body := url.Values{"logout_token": {signLogout(t, logoutClaims("sess-d"), "logout+jwt")}}.Encode()
	req, _ := http.NewRequest(http.MethodPost, d.decision.URL+bclPath, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp := d.do(req)
	wantStatus(t, resp, 200)
	wantNoStore(t, resp)
	if _, err := d.store.GetSession(context.Background(), "sess-d"); err != nil {
		t.Fatalf("session not revoked: %v", err)
	}
	wantStatus(t, d.get("/x", access), 401)
	if n := d.upstream.hits.Load(); n != 0 {
		t.Errorf("upstream saw %d requests", n)
	}
}
