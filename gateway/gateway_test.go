package gateway

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/revgate/revgate/config"
	"github.com/revgate/revgate/revocation"
)

func TestAValidTokenIsForwardedWithClaimHeaders(t *testing.T) {
	h := newHarness(t, nil, nil)
	token := mint(t, tok{sub: "alice"})
	req, _ := http.NewRequest(http.MethodPost, h.proxy.URL+"/orders/7?expand=items", strings.NewReader(`{"qty":2}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("X-Revgate-Subject", "mallory") // a client's forgery
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	wantStatus(t, h.do(req), http.StatusOK)

	got, body := h.upstream.lastRequest()
	checks := []struct{ name, have, want string }{
		{"method", got.Method, http.MethodPost},
		{"path", got.URL.Path, "/orders/7"},
		{"query", got.URL.RawQuery, "expand=items"},
		{"body", string(body), `{"qty":2}`},
		{"subject header", strings.Join(got.Header.Values("X-Revgate-Subject"), ","), "alice"},
		{"authorization kept", got.Header.Get("Authorization"), "Bearer " + token},
		{"x-forwarded-for is the real peer only", got.Header.Get("X-Forwarded-For"), "127.0.0.1"},
		{"x-forwarded-proto", got.Header.Get("X-Forwarded-Proto"), "http"},
		{"x-forwarded-host", got.Header.Get("X-Forwarded-Host"), strings.TrimPrefix(h.proxy.URL, "http://")},
	}
	for _, c := range checks {
		if c.have != c.want {
			t.Errorf("upstream %s = %q, want %q", c.name, c.have, c.want)
		}
	}
}

func TestAClientSentClaimHeaderNeverReachesTheUpstream(t *testing.T) {
	h := newHarness(t, nil, func(c *config.Config) {
		c.Routes = []config.Route{{Prefix: "/public/", Auth: config.AuthNone}}
	})
	for _, path := range []string{"/public/x", "/private/x"} {
		req, _ := http.NewRequest(http.MethodGet, h.proxy.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+mint(t, tok{sub: "bob"}))
		req.Header.Add("X-Revgate-Subject", "admin")
		req.Header.Add("x-revgate-subject", "root")
		// CGI and WSGI stacks read these as the same header.
		req.Header["X_Revgate_Subject"] = []string{"admin"}
		req.Header["x_revgate-SUBJECT"] = []string{"root"}
		req.Header["X_Other_Header"] = []string{"kept"}
		wantStatus(t, h.do(req), http.StatusOK)
		got, _ := h.upstream.lastRequest()
		want := []string{"bob"}
		if path == "/public/x" {
			want = nil // a route with no auth forwards no claims, and no forgeries
		}
		if have := got.Header.Values("X-Revgate-Subject"); fmt.Sprint(have) != fmt.Sprint(want) {
			t.Errorf("%s: upstream X-Revgate-Subject = %q, want %q", path, have, want)
		}
		for name := range got.Header {
			if n := strings.ReplaceAll(name, "_", "-"); strings.EqualFold(n, "X-Revgate-Subject") && name != "X-Revgate-Subject" {
				t.Errorf("%s: upstream got the alias %s: %q", path, name, got.Header[name])
			}
		}
		if got.Header.Get("X_Other_Header") != "kept" {
			t.Errorf("%s: an unrelated header with underscores was dropped", path)
		}
	}
}

func TestStripAuthorizationDropsTheTokenBeforeForwarding(t *testing.T) {
	h := newHarness(t, nil, func(c *config.Config) { c.Upstream.StripAuthorization = true })
	wantStatus(t, h.get("/x", mint(t, tok{})), http.StatusOK)
	if got, _ := h.upstream.lastRequest(); got.Header.Get("Authorization") != "" {
		t.Fatal("Authorization reached the upstream despite strip_authorization")
	}
}

func TestRevocationRules(t *testing.T) {
	backends(t, func(t *testing.T, store func() revocation.Store) {
		h := newHarness(t, store(), nil)
		iat := time.Now().Add(-time.Minute).Truncate(time.Second)
		unix := func(t time.Time) string { return fmt.Sprint(t.Unix()) }

		revokedJTI := mint(t, tok{sub: "u-jti", jti: "jti-1", iat: iat})
		h.mustAdmin(http.MethodPost, "/v1/revocations/tokens", `{"jti":"jti-1"}`)

		sameSecond := mint(t, tok{sub: "u-same", iat: iat})
		h.mustAdmin(http.MethodPost, "/v1/revocations/subjects/u-same", `{"before":`+unix(iat)+`}`)
		secondBefore := mint(t, tok{sub: "u-before", iat: iat})
		h.mustAdmin(http.MethodPost, "/v1/revocations/subjects/u-before", `{"before":`+unix(iat.Add(-time.Second))+`}`)
		noIAT := mint(t, tok{sub: "u-noiat", noIAT: true})
		h.mustAdmin(http.MethodPost, "/v1/revocations/subjects/u-noiat", `{"before":`+unix(iat.Add(-time.Hour))+`}`)
		noIATNoMark := mint(t, tok{sub: "u-free", noIAT: true})
		otherUser := mint(t, tok{sub: "u-other", iat: iat})

		cases := []struct {
			name  string
			token string
			want  int
		}{
			{"a revoked jti is rejected", revokedJTI, 401},
			{"a token issued in the same second as its subject's mark is rejected", sameSecond, 401},
			{"a token issued one second after its subject's mark is accepted", secondBefore, 200},
			{"a token without iat is rejected when its subject has a mark", noIAT, 401},
			{"a token without iat is accepted when no mark applies", noIATNoMark, 200},
			{"another user's token is accepted", otherUser, 200},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				body := wantStatus(t, h.get("/x", c.token), c.want)
				if c.want == 401 && body["error_description"] != "token has been revoked" {
					t.Errorf("error_description = %v, want token has been revoked", body["error_description"])
				}
			})
		}

		t.Run("the global mark rejects tokens issued at or before it and no later", func(t *testing.T) {
			before := mint(t, tok{sub: "g1", iat: iat})
			after := mint(t, tok{sub: "g2", iat: iat.Add(time.Second)})
			h.mustAdmin(http.MethodPost, "/v1/revocations/all", `{"before":"`+iat.UTC().Format(time.RFC3339)+`"}`)
			wantStatus(t, h.get("/x", before), 401)
			wantStatus(t, h.get("/x", after), 200)
			h.mustAdmin(http.MethodDelete, "/v1/revocations/all", "")
			wantStatus(t, h.get("/x", before), 200)
		})

		t.Run("a subject mark never moves back", func(t *testing.T) {
			h.mustAdmin(http.MethodPost, "/v1/revocations/subjects/u-fwd", `{"before":`+unix(iat)+`}`)
			code, body := h.adminCall(http.MethodPost, "/v1/revocations/subjects/u-fwd", `{"before":`+unix(iat.Add(-time.Hour))+`}`)
			if code != 200 || body["revoked_before"] != iat.UTC().Format(time.RFC3339) {
				t.Fatalf("earlier mark answered %d %v, want the later mark %s kept", code, body, iat.UTC().Format(time.RFC3339))
			}
			wantStatus(t, h.get("/x", mint(t, tok{sub: "u-fwd", iat: iat})), 401)
		})

		t.Run("unrevoking a subject lets its tokens through again", func(t *testing.T) {
			h.mustAdmin(http.MethodDelete, "/v1/revocations/subjects/u-same", "")
			wantStatus(t, h.get("/x", sameSecond), 200)
		})
	})
}

func TestEndToEndRevocationStopsTheVeryNextRequest(t *testing.T) {
	backends(t, func(t *testing.T, store func() revocation.Store) {
		h := newHarness(t, store(), nil)
		alice1 := mint(t, tok{sub: "alice"})
		alice2 := mint(t, tok{sub: "alice"})
		bob := mint(t, tok{sub: "bob"})
		wantStatus(t, h.get("/x", alice1), 200)

		h.mustAdmin(http.MethodPost, "/v1/revocations/tokens", `{"token":"`+alice1+`","reason":"test"}`)
		hitsBefore := h.upstream.hits.Load()
		wantStatus(t, h.get("/x", alice1), 401)
		if h.upstream.hits.Load() != hitsBefore {
			t.Fatal("a revoked token's request reached the upstream")
		}
		wantStatus(t, h.get("/x", alice2), 200)

		h.mustAdmin(http.MethodPost, "/v1/revocations/subjects/alice", "")
		wantStatus(t, h.get("/x", alice2), 401)
		wantStatus(t, h.get("/x", bob), 200)
	})
}

func TestNumericSubjectsUseTheirCanonicalDecimalForm(t *testing.T) {
	h := newHarness(t, nil, func(c *config.Config) {
		c.JWT.SubjectClaim = "user_id"
		c.JWT.ForwardHeaders = map[string]string{"X-User-Id": "user_id"}
	})
	token := mint(t, tok{extra: map[string]any{"user_id": 42}})
	wantStatus(t, h.get("/x", token), 200)
	if got, _ := h.upstream.lastRequest(); got.Header.Get("X-User-Id") != "42" {
		t.Fatalf("X-User-Id = %q, want 42", got.Header.Get("X-User-Id"))
	}
	h.mustAdmin(http.MethodPost, "/v1/revocations/subjects/42", "")
	wantStatus(t, h.get("/x", token), 401)
}

func TestOddSubjectsRoundTripAndNeverCollide(t *testing.T) {
	backends(t, func(t *testing.T, store func() revocation.Store) {
		h := newHarness(t, store(), nil)
		subjects := []string{"a:b", "a", "{a}", "a b", "a/b", "ユーザー", "x%2Fy", strings.Repeat("s", 1024)}
		for i, s := range subjects {
			if i%2 == 1 {
				continue // revoke every other subject, check all
			}
			h.mustAdmin(http.MethodPost, "/v1/revocations/subjects/"+url.PathEscape(s), "")
		}
		for i, s := range subjects {
			want := 200
			if i%2 == 0 {
				want = 401
			}
			resp := h.get("/x", mint(t, tok{sub: s}))
			if resp.StatusCode != want {
				t.Errorf("subject %.20q: status %d, want %d", s, resp.StatusCode, want)
			}
			code, body := h.adminCall(http.MethodGet, "/v1/revocations/subjects/"+url.PathEscape(s), "")
			wantCode := map[int]int{200: 404, 401: 200}[want]
			if code != wantCode || (code == 200 && body["subject"] != s) {
				t.Errorf("GET subject %.20q = %d %v, want %d", s, code, body, wantCode)
			}
		}
	})
}

func TestRedisHoldsEachKeyForExactlyAsLongAsTheSpecSays(t *testing.T) {
	store, srv := redisStore(t)
	// The console is on: its trail is a key like the others, and expires
	// by itself too (revocation/trail_test.go checks its cap).
	h := newHarness(t, store, nil)
	if !h.cfg.Console.Enabled {
		t.Fatal("the console is off by default; this test must count its trail")
	}
	client := srv.NewClient()
	defer client.Close()
	ctx := t.Context()
	leeway := h.cfg.JWT.Leeway
	lifetime := h.cfg.Revocation.MaxTokenLifetime

	exp := time.Now().Add(10 * time.Minute).Truncate(time.Second)
	token := mint(t, tok{jti: "ttl-jti", exp: exp})
	h.mustAdmin(http.MethodPost, "/v1/revocations/tokens", `{"token":"`+token+`"}`)
	h.mustAdmin(http.MethodPost, "/v1/revocations/tokens", `{"jti":"ttl-noexp"}`)
	mark := time.Now().Add(-time.Hour).Truncate(time.Second)
	h.mustAdmin(http.MethodPost, "/v1/revocations/subjects/ttl-sub", fmt.Sprintf(`{"before":%d}`, mark.Unix()))
	h.mustAdmin(http.MethodPost, "/v1/revocations/all", fmt.Sprintf(`{"before":%d}`, mark.Unix()))

	keys, err := client.Keys(ctx, "revgate:*").Result()
	if err != nil || len(keys) != 5 {
		t.Fatalf("keys = %v (%v), want 5 (four records and the trail)", keys, err)
	}
	cases := []struct {
		name string
		want time.Duration
	}{
		{"a jti revoked from a token: until exp plus leeway", time.Until(exp.Add(leeway))},
		{"a jti revoked alone: max_token_lifetime plus leeway", lifetime + leeway},
		{"a subject mark: max_token_lifetime plus leeway past the mark", time.Until(mark.Add(lifetime + leeway))},
		{"the global mark: the same", time.Until(mark.Add(lifetime + leeway))},
	}
	// The console's trail: revocation.TrailRetention past its last change.
	if d, err := client.TTL(ctx, "revgate:trail").Result(); err != nil || d < revocation.TrailRetention-3*time.Second || d > revocation.TrailRetention {
		t.Errorf("TTL of the trail = %v, %v; want %v", d, err, revocation.TrailRetention)
	}
	ttls := map[time.Duration]bool{}
	for _, k := range keys {
		d, err := client.TTL(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		ttls[d] = true
	}
	for _, c := range cases {
		found := false
		for d := range ttls {
			if diff := d - c.want; diff > -3*time.Second && diff < 3*time.Second {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no key has TTL near %v (have %v)", c.name, c.want.Round(time.Second), ttls)
		}
	}
}

func TestStoreOutages(t *testing.T) {
	t.Run("with on_store_error closed a dead Redis gives 503, nothing is forwarded, and recovery needs no restart", func(t *testing.T) {
		store, srv := redisStore(t)
		h := newHarness(t, store, nil)
		token := mint(t, tok{})
		wantStatus(t, h.get("/x", token), 200)
		srv.Stop()
		hits := h.upstream.hits.Load()
		body := wantStatus(t, h.get("/x", token), http.StatusServiceUnavailable)
		if body["error"] != "revocation_unavailable" {
			t.Errorf("error = %v, want revocation_unavailable", body["error"])
		}
		if h.upstream.hits.Load() != hits {
			t.Fatal("the upstream saw a request while the store was down")
		}
		srv.Restart()
		deadline := time.Now().Add(10 * time.Second)
		for {
			resp := h.get("/x", token)
			if resp.StatusCode == 200 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("still %d 10s after Redis came back", resp.StatusCode)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	t.Run("with on_store_error open a verified token is forwarded and an invalid one still refused", func(t *testing.T) {
		store, srv := redisStore(t)
		h := newHarness(t, store, func(c *config.Config) {
			c.Revocation.OnStoreError = "open"
		})
		srv.Stop()
		wantStatus(t, h.get("/x", mint(t, tok{})), 200)
		wantStatus(t, h.get("/x", "garbage"), 401)
		if !strings.Contains(h.logs.String(), "on_store_error: open") {
			t.Error("fail-open forwarding was not logged")
		}
	})
}

func TestUpstreamFailuresMapToGatewayErrors(t *testing.T) {
	t.Run("an unreachable upstream gives 502", func(t *testing.T) {
		h := newHarness(t, nil, nil)
		h.upstream.srv.Close()
		wantStatus(t, h.get("/x", mint(t, tok{})), http.StatusBadGateway)
	})
	t.Run("a slow upstream gives 504 after upstream.timeout", func(t *testing.T) {
		h := newHarness(t, nil, func(c *config.Config) { c.Upstream.Timeout = 200 * time.Millisecond })
		h.upstream.delay.Store(int64(2 * time.Second))
		wantStatus(t, h.get("/x", mint(t, tok{})), http.StatusGatewayTimeout)
	})
}

func TestRoutesPickAuthByLongestPrefix(t *testing.T) {
	h := newHarness(t, nil, func(c *config.Config) {
		c.Routes = []config.Route{
			{Prefix: "/api/token/", Auth: config.AuthNone},
			{Prefix: "/api/token/verify/", Auth: config.AuthRequired},
			{Prefix: "/health", Auth: config.AuthNone},
		}
	})
	cases := []struct {
		path string
		want int
	}{
		{"/api/token/", 200},
		{"/api/token/obtain", 200},
		{"/api/token/verify/", 401},
		{"/api/other", 401},
		{"/health", 200},
		{"/", 401},
		{"/api/token/../orders", 401},
		{"/api/token/%2e%2e/orders", 401},
		{"/api/token/..%2Forders", 400},
		{"/api//token/x", 200},
		{"/api/./token/x", 200},
		// A required prefix nested in a none one, as a lenient upstream
		// reads it: ;parameters dropped, a missing trailing slash ignored.
		{"/api/token/verify;x/", 401},
		{"/api/token/verify;x", 401},
		{"/api/token/verify", 401},
		{"/api/token;x/verify/", 401},
		{"/api/token/verifyx", 200},
		{"/api/token/obtain;x", 200},
		// An empty segment with ;parameters: Tomcat collapses the "//" left.
		{"/api/token/;x/verify/", 400},
		{"/api/token/;/verify", 400},
		// The stricter reading wins: to an upstream that keeps
		// ;parameters or a missing slash, these are not under /api/token/.
		{"/api/token;x", 401},
		{"/api/token", 401},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, h.proxy.URL, nil)
			req.URL.Opaque = c.path // send the path exactly as written
			resp := h.do(req)
			if resp.StatusCode != c.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.want)
			}
		})
	}
	t.Run("the upstream receives the path that was judged", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, h.proxy.URL, nil)
		req.URL.Opaque = "/api/token/a/../b"
		wantStatus(t, h.do(req), 200)
		if got, _ := h.upstream.lastRequest(); got.URL.Path != "/api/token/b" {
			t.Fatalf("upstream path %q, want /api/token/b", got.URL.Path)
		}
	})
}

// A refresh route checks the body's refresh token, a required one the
// Authorization header: neither is stricter. A path that one reading sends
// to each could have a revoked refresh token judged by a valid access
// token, so it is refused.
func TestAPathReadAsTwoDifferentChecksIsRefused(t *testing.T) {
	h := newHarness(t, nil, func(c *config.Config) {
		c.Routes = []config.Route{{Prefix: "/api/token/refresh/", Auth: config.AuthRefresh}}
		c.JWT.RefreshRequiredClaims = map[string]any{"token_type": "refresh"}
	})
	access := mint(t, tok{sub: "mallory"})
	revoked := mint(t, tok{sub: "alice", extra: map[string]any{"token_type": "refresh"}})
	h.mustAdmin(http.MethodPost, "/v1/revocations/subjects/alice", "")
	for _, path := range []string{"/api/token/refresh;x/", "/api/token/refresh", "/api/token/refresh;x"} {
		req, _ := http.NewRequest(http.MethodPost, h.proxy.URL, strings.NewReader(`{"refresh":"`+revoked+`"}`))
		req.URL.Opaque = path
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+access)
		if resp := h.do(req); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("POST %s: %d, want 400", path, resp.StatusCode)
		}
	}
	if n := h.upstream.hits.Load(); n != 0 {
		t.Fatalf("the upstream saw %d requests", n)
	}
}

func TestTokenLookupFromHeaderCookieAndQuery(t *testing.T) {
	h := newHarness(t, nil, func(c *config.Config) {
		c.JWT.Lookup = []string{"header:Authorization:Bearer", "cookie:session", "query:access_token"}
	})
	token := mint(t, tok{})
	req, _ := http.NewRequest(http.MethodGet, h.proxy.URL+"/x", nil)
	req.AddCookie(&http.Cookie{Name: "session", Value: token})
	wantStatus(t, h.do(req), 200)
	wantStatus(t, h.get("/x?access_token="+token, ""), 200)

	req, _ = http.NewRequest(http.MethodGet, h.proxy.URL+"/x", nil)
	req.Header.Set("Authorization", "Basic dXNlcjpwYXNz")
	resp := h.do(req)
	wantStatus(t, resp, 401)
	if resp.Header.Get("WWW-Authenticate") != `Bearer realm="revgate"` {
		t.Fatalf("WWW-Authenticate = %q", resp.Header.Get("WWW-Authenticate"))
	}

	t.Run("an ambiguous credential is refused, since the upstream may read another one", func(t *testing.T) {
		other := mint(t, tok{sub: "bob"})
		hits := h.upstream.hits.Load()
		for name, set := range map[string]func(*http.Request){
			"two cookies of the name": func(r *http.Request) { r.Header["Cookie"] = []string{"session=" + token + "; session=" + other} },
			"two Cookie headers":      func(r *http.Request) { r.Header["Cookie"] = []string{"session=" + token, "session=" + other} },
			"two query parameters":    func(r *http.Request) { r.URL.RawQuery = "access_token=" + token + "&access_token=" + other },
			"a ;-separated query":     func(r *http.Request) { r.URL.RawQuery = "x=1;access_token=" + other + "&access_token=" + token },
			"header and cookie differ": func(r *http.Request) {
				r.Header.Set("Authorization", "Bearer "+token)
				r.Header["Cookie"] = []string{"session=" + other}
			},
			"cookie and query differ": func(r *http.Request) {
				r.Header["Cookie"] = []string{"session=" + token}
				r.URL.RawQuery = "access_token=" + other
			},
		} {
			req, _ := http.NewRequest(http.MethodGet, h.proxy.URL+"/x", nil)
			set(req)
			resp := h.do(req)
			if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "invalid_token") {
				t.Errorf("%s: %d %q, want 401 invalid_token", name, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
			}
		}
		if n := h.upstream.hits.Load() - hits; n != 0 {
			t.Fatalf("the upstream saw %d ambiguous requests", n)
		}
		req, _ := http.NewRequest(http.MethodGet, h.proxy.URL+"/x?access_token="+token, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		req.AddCookie(&http.Cookie{Name: "session", Value: token})
		wantStatus(t, h.do(req), 200) // the same token everywhere is fine
	})
}

// mustAdmin sends an admin request that must succeed.
func (h *harness) mustAdmin(method, path, body string) map[string]any {
	h.t.Helper()
	code, resp := h.adminCall(method, path, body)
	if code/100 != 2 {
		h.t.Fatalf("%s %s = %d %v", method, path, code, resp)
	}
	return resp
}
