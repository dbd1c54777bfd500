package gateway

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/revgate/revgate/gateway/adminapi"
	"github.com/revgate/revgate/gateway/jwtverify"

	"github.com/revgate/revgate/config"
	"github.com/revgate/revgate/revocation"
)

func TestAdminAPIRefusesMissingAndWrongTokens(t *testing.T) {
	h := newHarness(t, nil, nil)
	cases := []struct {
		name   string
		header []string
	}{
		{"no Authorization header", nil},
		{"a wrong token", []string{"Bearer wrong-token-0123456789abcdef"}},
		{"the right token with another scheme", []string{"Basic " + testAdminToken}},
		{"the right token twice", []string{"Bearer " + testAdminToken, "Bearer " + testAdminToken}},
		{"a prefix of the right token", []string{"Bearer " + testAdminToken[:10]}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, h.admin.URL+"/v1/revocations/all", nil)
			for _, v := range c.header {
				req.Header.Add("Authorization", v)
			}
			resp := h.do(req)
			body := wantStatus(t, resp, http.StatusUnauthorized)
			if body["error"] != "unauthorized" || body["message"] == "" {
				t.Errorf("body = %v", body)
			}
			if resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("no WWW-Authenticate")
			}
		})
	}
	if code, _ := h.adminCall(http.MethodGet, "/v1/revocations/all", ""); code != 404 {
		t.Fatalf("nothing should have been revoked; GET all = %d", code)
	}
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := http.Get(h.admin.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s without auth = %d, want 200", path, resp.StatusCode)
		}
	}
}

func TestAdminAPIRejectsBadInputNamingTheField(t *testing.T) {
	h := newHarness(t, nil, nil)
	cases := []struct {
		name, method, path, body string
		want                     int
		field                    string
	}{
		{"a body over 1 MiB", "POST", "/v1/revocations/tokens", `{"jti":"` + strings.Repeat("a", 1<<20) + `"}`, 413, ""},
		{"malformed JSON", "POST", "/v1/revocations/tokens", `{"jti":`, 400, ""},
		{"an unknown field", "POST", "/v1/revocations/tokens", `{"jit":"x"}`, 400, "jit"},
		{"neither token nor jti", "POST", "/v1/revocations/tokens", `{}`, 400, "token"},
		{"both token and jti", "POST", "/v1/revocations/tokens", `{"token":"a.b.c","jti":"x"}`, 400, "token"},
		{"a token that does not verify", "POST", "/v1/revocations/tokens", `{"token":"a.b.c"}`, 400, "token"},
		{"a bad expires_at", "POST", "/v1/revocations/tokens", `{"jti":"x","expires_at":"tomorrow"}`, 400, "expires_at"},
		{"a negative expires_at", "POST", "/v1/revocations/tokens", `{"jti":"x","expires_at":-5}`, 400, "expires_at"},
		{"a jti that is too long", "POST", "/v1/revocations/tokens", `{"jti":"` + strings.Repeat("j", 2000) + `"}`, 400, "jti"},
		{"a bad before", "POST", "/v1/revocations/subjects/alice", `{"before":"yesterday"}`, 400, "before"},
		{"a before far in the future", "POST", "/v1/revocations/subjects/alice", `{"before":"2999-01-01T00:00:00Z"}`, 400, "before"},
		{"an empty subject", "POST", "/v1/revocations/subjects/", ``, 400, "subject"},
		{"a subject that is not UTF-8", "POST", "/v1/revocations/subjects/%FF%FE", ``, 400, "subject"},
		{"an unknown endpoint", "GET", "/v1/nothing", ``, 404, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, h.admin.URL, strings.NewReader(c.body))
			req.URL.Opaque = c.path
			req.Header.Set("Authorization", "Bearer "+testAdminToken)
			body := wantStatus(t, h.do(req), c.want)
			msg, _ := body["message"].(string)
			if body["error"] == nil || msg == "" {
				t.Fatalf("body = %v, want error and message", body)
			}
			if c.field != "" && !strings.Contains(msg, c.field) {
				t.Errorf("message %q does not name %q", msg, c.field)
			}
		})
	}
	for _, path := range []string{"/v1/revocations/all", "/v1/revocations/subjects/alice", "/v1/revocations/tokens/x"} {
		if code, _ := h.adminCall(http.MethodGet, path, ""); code != 404 {
			t.Errorf("after bad input, GET %s = %d, want 404 (nothing stored)", path, code)
		}
	}
}

func TestAdminAPITokenRevocations(t *testing.T) {
	h := newHarness(t, nil, nil)
	exp := time.Now().Add(-time.Minute).Truncate(time.Second)

	t.Run("an already expired token can be revoked by the token itself", func(t *testing.T) {
		token := mint(t, tok{jti: "expired-1", iat: exp.Add(-time.Hour), exp: exp})
		body := h.mustAdmin(http.MethodPost, "/v1/revocations/tokens", `{"token":"`+token+`"}`)
		if body["jti"] != "expired-1" || body["expires_at"] != exp.Add(h.cfg.JWT.Leeway).UTC().Format(time.RFC3339) || body["revoked_at"] == nil {
			t.Fatalf("body = %v", body)
		}
	})
	t.Run("a jti with expires_at in unix seconds reads back", func(t *testing.T) {
		until := time.Now().Add(time.Hour).Truncate(time.Second)
		h.mustAdmin(http.MethodPost, "/v1/revocations/tokens", `{"jti":"j-2","expires_at":`+itoa(until.Unix())+`,"reason":"lost phone"}`)
		body := h.mustAdmin(http.MethodGet, "/v1/revocations/tokens/j-2", "")
		if body["revoked"] != true || body["expires_at"] != until.Add(h.cfg.JWT.Leeway).UTC().Format(time.RFC3339) {
			t.Fatalf("body = %v", body)
		}
	})
	t.Run("unrevoking answers 204 and the record is gone", func(t *testing.T) {
		code, _ := h.adminCall(http.MethodDelete, "/v1/revocations/tokens/j-2", "")
		if code != 204 {
			t.Fatalf("DELETE = %d", code)
		}
		if code, _ := h.adminCall(http.MethodGet, "/v1/revocations/tokens/j-2", ""); code != 404 {
			t.Fatalf("GET after DELETE = %d", code)
		}
	})
	t.Run("every change is one audit event without the token", func(t *testing.T) {
		logs := h.logs.String()
		for _, want := range []string{`"action":"revoke_token"`, `"actor":"ops"`, `"reason":"lost phone"`, `"action":"unrevoke_token"`} {
			if !strings.Contains(logs, want) {
				t.Errorf("logs lack %s", want)
			}
		}
		if strings.Contains(logs, testAdminToken) || strings.Contains(logs, "eyJ") {
			t.Error("a token appears in the logs")
		}
	})
}

func TestReadyzNamesTheFailingCheck(t *testing.T) {
	store, srv := redisStore(t)
	h := newHarness(t, store, nil)
	get := func() (int, map[string]any) {
		resp, err := http.Get(h.admin.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return resp.StatusCode, decodeBody(t, resp)
	}
	if code, body := get(); code != 200 {
		t.Fatalf("readyz = %d %v", code, body)
	}
	srv.Stop()
	code, body := get()
	checks, _ := body["checks"].(map[string]any)
	if code != 503 || checks["store"] == "ok" || checks["keys"] != "ok" {
		t.Fatalf("with Redis down readyz = %d %v", code, body)
	}
	srv.Restart()
	h.gw.StartDraining()
	code, body = get()
	checks, _ = body["checks"].(map[string]any)
	if code != 503 || checks["shutdown"] != "draining" {
		t.Fatalf("while draining readyz = %d %v", code, body)
	}
}

func TestLogout(t *testing.T) {
	newH := func(t *testing.T) *harness {
		return newHarness(t, nil, func(c *config.Config) {
			c.JWT.RequiredClaims = map[string]any{"token_type": "access"}
			c.JWT.RefreshRequiredClaims = map[string]any{"token_type": "refresh"}
		})
	}
	access := func(sub string) string { return mint(t, tok{sub: sub, extra: map[string]any{"token_type": "access"}}) }
	refresh := func(sub string) string { return mint(t, tok{sub: sub, extra: map[string]any{"token_type": "refresh"}}) }
	logout := func(h *harness, token, body string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, h.proxy.URL+"/auth/logout", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp := h.do(req)
		return resp.StatusCode, decodeBody(t, resp)
	}

	t.Run("logging out revokes the presented token only and is never forwarded", func(t *testing.T) {
		h := newH(t)
		a1, a2 := access("alice"), access("alice")
		code, body := logout(h, a1, "")
		if code != 200 || body["status"] != "logged_out" {
			t.Fatalf("logout = %d %v", code, body)
		}
		if h.upstream.hits.Load() != 0 {
			t.Fatal("logout reached the upstream")
		}
		wantStatus(t, h.get("/x", a1), 401)
		wantStatus(t, h.get("/x", a2), 200)
	})
	t.Run("a refresh token of the same subject is revoked too", func(t *testing.T) {
		h := newH(t)
		a, r := access("alice"), refresh("alice")
		code, body := logout(h, a, `{"refresh":"`+r+`"}`)
		if code != 200 || len(body["revoked"].([]any)) != 2 {
			t.Fatalf("logout = %d %v", code, body)
		}
		claims, err := h.gw.verifier.Verify(t.Context(), r, jwtverify.PurposeRefresh)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.store.GetToken(t.Context(), claims.JTI); err != nil {
			t.Fatalf("refresh jti not revoked: %v", err)
		}
	})
	t.Run("another subject's refresh token is refused with 403 and nothing is revoked", func(t *testing.T) {
		h := newH(t)
		a := access("alice")
		code, _ := logout(h, a, `{"refresh":"`+refresh("bob")+`","all":true}`)
		if code != 403 {
			t.Fatalf("logout = %d, want 403", code)
		}
		wantStatus(t, h.get("/x", a), 200)
	})
	t.Run("two tokens without a subject are not one owner's", func(t *testing.T) {
		h := newH(t)
		a := mint(t, tok{sub: "", extra: map[string]any{"token_type": "access"}})
		r := mint(t, tok{sub: "", extra: map[string]any{"token_type": "refresh"}})
		code, _ := logout(h, a, `{"refresh":"`+r+`"}`)
		if code != 403 {
			t.Fatalf("logout = %d, want 403", code)
		}
		wantStatus(t, h.get("/x", a), 200)
	})
	t.Run("a refresh token that does not verify is refused with 400 and nothing is revoked", func(t *testing.T) {
		h := newH(t)
		a := access("alice")
		code, _ := logout(h, a, `{"refresh":"`+access("alice")+`"}`) // an access token is no refresh token
		if code != 400 {
			t.Fatalf("logout = %d, want 400", code)
		}
		wantStatus(t, h.get("/x", a), 200)
	})
	t.Run("all: true logs the subject out everywhere and nobody else", func(t *testing.T) {
		h := newH(t)
		a1, a2, b := access("alice"), access("alice"), access("bob")
		if code, body := logout(h, a1, `{"all":true}`); code != 200 {
			t.Fatalf("logout = %d %v", code, body)
		}
		wantStatus(t, h.get("/x", a2), 401)
		wantStatus(t, h.get("/x", b), 200)
	})
	t.Run("logout without a valid token is 401 like any protected route", func(t *testing.T) {
		h := newH(t)
		if code, _ := logout(h, "garbage", ""); code != 401 {
			t.Fatalf("logout = %d", code)
		}
		if code, _ := logout(h, refresh("alice"), ""); code != 401 {
			t.Fatalf("logout with a refresh token as access token = %d", code)
		}
	})
}

func TestRefreshRoutes(t *testing.T) {
	newH := func(t *testing.T, reuse bool) *harness {
		return newHarness(t, nil, func(c *config.Config) {
			c.Routes = []config.Route{{Prefix: "/api/token/refresh/", Auth: config.AuthRefresh}}
			c.JWT.RefreshRequiredClaims = map[string]any{"token_type": "refresh"}
			c.JWT.RefreshReuseDetection = reuse
		})
	}
	refresh := func(sub string) string { return mint(t, tok{sub: sub, extra: map[string]any{"token_type": "refresh"}}) }
	post := func(h *harness, body string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, h.proxy.URL+"/api/token/refresh/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		return h.do(req)
	}
	t.Run("a valid refresh token is forwarded with the body unchanged", func(t *testing.T) {
		h := newH(t, false)
		body := `{"refresh":"` + refresh("alice") + `","extra":1}`
		wantStatus(t, post(h, body), 200)
		if _, got := h.upstream.lastRequest(); string(got) != body {
			t.Fatalf("upstream body %q", got)
		}
	})
	t.Run("a revoked subject's refresh token is refused and the issuer sees nothing", func(t *testing.T) {
		h := newH(t, false)
		r := refresh("alice")
		h.mustAdmin(http.MethodPost, "/v1/revocations/subjects/alice", "")
		wantStatus(t, post(h, `{"refresh":"`+r+`"}`), 401)
		if h.upstream.hits.Load() != 0 {
			t.Fatal("the issuer saw the request")
		}
	})
	t.Run("an access token is no refresh token", func(t *testing.T) {
		h := newH(t, false)
		wantStatus(t, post(h, `{"refresh":"`+mint(t, tok{extra: map[string]any{"token_type": "access"}})+`"}`), 401)
		wantStatus(t, post(h, `{}`), 401)
		wantStatus(t, post(h, `not json`), 401)
	})
	t.Run("a replayed refresh token revokes its whole subject", func(t *testing.T) {
		h := newH(t, true)
		r := refresh("alice")
		other := mint(t, tok{sub: "alice", iat: time.Now().Add(-10 * time.Second)})
		wantStatus(t, post(h, `{"refresh":"`+r+`"}`), 200)
		wantStatus(t, post(h, `{"refresh":"`+r+`"}`), 401)
		wantStatus(t, h.get("/x", other), 401)
		if !strings.Contains(h.logs.String(), `"action":"refresh_reuse_detected"`) {
			t.Error("no audit event for the reuse")
		}
	})
	t.Run("two presentations at once: one gets new tokens, the other 401 and the subject is revoked", func(t *testing.T) {
		// The issuer answers only once both requests have reached it, so
		// both passed the gateway's check before either was recorded.
		var arrived sync.WaitGroup
		arrived.Add(2)
		issuer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			arrived.Done()
			done := make(chan struct{})
			go func() { arrived.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
			}
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Set-Cookie", "refresh=NEW-REFRESH; HttpOnly")
			w.Header().Set("Access-Control-Allow-Origin", "https://app.example")
			_, _ = io.WriteString(w, `{"access":"NEW-ACCESS","refresh":"NEW-REFRESH"}`)
		}))
		t.Cleanup(issuer.Close)
		h := newHarness(t, nil, func(c *config.Config) {
			c.Upstream.URL = issuer.URL
			c.Routes = []config.Route{{Prefix: "/api/token/refresh/", Auth: config.AuthRefresh}}
			c.JWT.RefreshRequiredClaims = map[string]any{"token_type": "refresh"}
			c.JWT.RefreshReuseDetection = true
		})
		r := refresh("alice")
		other := mint(t, tok{sub: "alice", iat: time.Now().Add(-10 * time.Second)})
		type answer struct {
			code   int
			body   string
			header http.Header
		}
		answers := make(chan answer, 2)
		for range 2 {
			go func() {
				resp := post(h, `{"refresh":"`+r+`"}`)
				b, _ := io.ReadAll(resp.Body)
				answers <- answer{resp.StatusCode, string(b), resp.Header}
			}()
		}
		a, b := <-answers, <-answers
		if a.code > b.code {
			a, b = b, a
		}
		if a.code != 200 || b.code != 401 {
			t.Fatalf("answers %d and %d, want 200 and 401", a.code, b.code)
		}
		if strings.Contains(b.body, "NEW-") || len(b.header.Values("Set-Cookie")) != 0 {
			t.Fatalf("the refused request got the issuer's tokens: %s %v", b.body, b.header)
		}
		if !strings.Contains(b.header.Get("WWW-Authenticate"), `error="invalid_token"`) || b.header.Get("Access-Control-Allow-Origin") != "https://app.example" {
			t.Fatalf("the refusal's headers: %v", b.header)
		}
		if _, err := h.store.GetSubject(t.Context(), "alice"); err != nil {
			t.Fatalf("the subject was not revoked: %v", err)
		}
		wantStatus(t, h.get("/x", other), 401)
		if !strings.Contains(h.logs.String(), `"action":"refresh_reuse_detected"`) {
			t.Error("no audit event for the reuse")
		}
	})
	t.Run("a refresh the issuer refused is not recorded as used", func(t *testing.T) {
		h := newH(t, true)
		h.upstream.status.Store(400)
		r := refresh("alice")
		post(h, `{"refresh":"`+r+`"}`)
		h.upstream.status.Store(200)
		wantStatus(t, post(h, `{"refresh":"`+r+`"}`), 200)
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestInsecureNoAuthRefusesBrowserRequests(t *testing.T) {
	h := newHarness(t, nil, func(c *config.Config) {
		c.Admin.InsecureNoAuth = true
		c.Admin.Tokens = nil
	})
	post := func(path string, header http.Header) int {
		req, _ := http.NewRequest(http.MethodPost, h.admin.URL+path, strings.NewReader(`{}`))
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// A page open in a browser on this machine posting cross-site.
	for name, header := range map[string]http.Header{
		"an Origin":             {"Origin": {"https://evil.example"}},
		"a null Origin":         {"Origin": {"null"}},
		"Sec-Fetch-Site":        {"Sec-Fetch-Site": {"cross-site"}},
		"an Origin and a token": {"Origin": {"https://evil.example"}, "Authorization": {"Bearer x"}},
	} {
		if code := post("/v1/revocations/subjects/bob", header); code != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, code)
		}
	}
	if _, err := h.store.GetSubject(t.Context(), "bob"); !errors.Is(err, revocation.ErrNotFound) {
		t.Fatalf("a refused request changed the store: %v", err)
	}
	if code := post("/v1/revocations/subjects/bob", nil); code != http.StatusOK {
		t.Fatalf("a request from the CLI or curl: %d, want 200", code)
	}
}

func TestNotRecordedAndNoSuchEndpointHaveDistinctCodes(t *testing.T) {
	h := newHarness(t, nil, nil)
	status, body := h.adminCall(http.MethodGet, "/v1/revocations/tokens/never-revoked", "")
	if status != http.StatusNotFound || body["error"] != adminapi.CodeNotRevoked {
		t.Errorf("GET of an unrevoked jti = %d %v, want 404 %s", status, body, adminapi.CodeNotRevoked)
	}
	status, body = h.adminCall(http.MethodGet, "/v1/no-such-thing", "")
	if status != http.StatusNotFound || body["error"] != adminapi.CodeNoSuchEndpoint {
		t.Errorf("GET of an unknown endpoint = %d %v, want 404 %s", status, body, adminapi.CodeNoSuchEndpoint)
	}
}
