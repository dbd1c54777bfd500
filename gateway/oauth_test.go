package gateway

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/revgate/revgate/config"
	"github.com/revgate/revgate/revocation"
)

const (
	introspectPath = "/oauth2/introspect"
	revokePath     = "/oauth2/revoke"
	ordersID       = "orders-api"
	ordersSecret   = "orders-secret-0123456789"
	opsID          = "ops:console" // needs escaping in client_secret_basic
	opsSecret      = "ops secret+/=%0123456789"
)

// withOAuth turns both endpoints on with two clients: orders-api, which
// may revoke only its own tokens, and ops:console, which may revoke any.
func withOAuth(more func(c *config.Config)) func(c *config.Config) {
	return func(c *config.Config) {
		c.OAuth.IntrospectionPath = introspectPath
		c.OAuth.RevocationPath = revokePath
		c.OAuth.Clients = []config.OAuthClient{
			{ID: ordersID, Secret: ordersSecret},
			{ID: opsID, Secret: opsSecret, RevokeAny: true},
		}
		if more != nil {
			more(c)
		}
	}
}

// basicAuth is client_secret_basic: id and secret form-urlencoded, then
// base64 (RFC 6749 2.3.1).
func basicAuth(id, secret string) func(*http.Request) {
	return func(r *http.Request) {
		cred := url.QueryEscape(id) + ":" + url.QueryEscape(secret)
		r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(cred)))
	}
}

var ordersBasic = basicAuth(ordersID, ordersSecret)

// oauthPost sends a form to an OAuth endpoint on the proxy listener.
func (h *harness) oauthPost(path string, form url.Values, auth func(*http.Request)) *http.Response {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.proxy.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if auth != nil {
		auth(req)
	}
	return h.do(req)
}

func (h *harness) introspect(token string) (int, map[string]any) {
	h.t.Helper()
	resp := h.oauthPost(introspectPath, url.Values{"token": {token}}, ordersBasic)
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode == 200 && ct != "application/json" {
		h.t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		h.t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	return resp.StatusCode, decodeBody(h.t, resp)
}

func TestIntrospectionOfAnActiveTokenGivesItsClaims(t *testing.T) {
	h := newHarness(t, nil, withOAuth(nil))
	iat := time.Now().Add(-time.Minute).Truncate(time.Second)
	exp := iat.Add(time.Hour)
	token := mint(t, tok{sub: "alice", jti: "active-1", iat: iat, exp: exp, extra: map[string]any{
		"client_id": ordersID, "scope": "orders:read orders:write", "token_type": "access", "email": "a@example.test",
	}})
	code, body := h.introspect(token)
	want := map[string]any{
		"active": true, "sub": "alice", "jti": "active-1", "iss": testIssuer, "aud": testAudience,
		"iat": float64(iat.Unix()), "exp": float64(exp.Unix()),
		"scope": "orders:read orders:write", "client_id": ordersID, "token_type": "access",
	}
	if code != 200 {
		t.Fatalf("status %d, want 200", code)
	}
	if d := cmp.Diff(want, body); d != "" {
		t.Errorf("introspection (-want +got):\n%s", d)
	}

	t.Run("members the token lacks are left out, and several audiences are a list", func(t *testing.T) {
		token := mint(t, tok{sub: "bob", jti: "-", extra: map[string]any{"aud": []string{testAudience, "other"}}})
		_, body := h.introspect(token)
		for _, k := range []string{"jti", "scope", "client_id", "token_type"} {
			if _, ok := body[k]; ok {
				t.Errorf("member %q present though the token has no such claim: %v", k, body)
			}
		}
		if d := cmp.Diff([]any{testAudience, "other"}, body["aud"]); d != "" {
			t.Errorf("aud (-want +got):\n%s", d)
		}
	})
	t.Run("a scope given as a list is one space-separated string", func(t *testing.T) {
		_, body := h.introspect(mint(t, tok{extra: map[string]any{"scope": []string{"a", "b"}}}))
		if body["scope"] != "a b" {
			t.Errorf("scope = %v, want \"a b\"", body["scope"])
		}
	})
	if h.upstream.hits.Load() != 0 {
		t.Errorf("the upstream received %d requests; the endpoint is never forwarded", h.upstream.hits.Load())
	}
}

func TestIntrospectionOfEveryOtherTokenIsInactiveAndNothingElse(t *testing.T) {
	backends(t, func(t *testing.T, store func() revocation.Store) {
		h := newHarness(t, store(), withOAuth(func(c *config.Config) {
			c.JWT.RequiredClaims = map[string]any{"token_type": "access"}
		}))
		old := time.Now().Add(-10 * time.Minute)
		revokedJTI := mint(t, tok{jti: "gone-1", extra: map[string]any{"token_type": "access"}})
		revokedSub := mint(t, tok{sub: "mallory", iat: old, extra: map[string]any{"token_type": "access"}})
		h.mustAdmin(http.MethodPost, "/v1/revocations/tokens", `{"jti":"gone-1"}`)
		h.mustAdmin(http.MethodPost, "/v1/revocations/subjects/mallory", "")
		tokens := map[string]string{
			"a revoked jti":             revokedJTI,
			"a revoked subject":         revokedSub,
			"an expired token":          mint(t, tok{iat: old.Add(-time.Hour), exp: old, extra: map[string]any{"token_type": "access"}}),
			"a tampered token":          mint(t, tok{extra: map[string]any{"token_type": "access"}}) + "x",
			"a token of another key":    mint(t, tok{key: otherKey(t), alg: jwa.RS256, extra: map[string]any{"token_type": "access"}}),
			"a token missing a claim":   mint(t, tok{}),
			"a refresh token (no rule)": mint(t, tok{extra: map[string]any{"token_type": "refresh"}}),
			"something not a JWT":       "opaque-reference-token",
		}
		for name, token := range tokens {
			t.Run(name, func(t *testing.T) {
				code, body := h.introspect(token)
				if code != 200 {
					t.Fatalf("status %d, want 200", code)
				}
				if d := cmp.Diff(map[string]any{"active": false}, body); d != "" {
					t.Errorf("introspection (-want +got):\n%s", d)
				}
			})
		}
		t.Run("a global mark makes every earlier token inactive", func(t *testing.T) {
			token := mint(t, tok{iat: old, extra: map[string]any{"token_type": "access"}})
			if _, body := h.introspect(token); body["active"] != true {
				t.Fatalf("before the mark: %v", body)
			}
			h.mustAdmin(http.MethodPost, "/v1/revocations/all", "")
			if _, body := h.introspect(token); body["active"] != false || len(body) != 1 {
				t.Errorf("after the mark: %v", body)
			}
		})
	})
}

// otherKey is a signing key the gateway does not know.
func otherKey(t *testing.T) jwk.Key {
	k, err := jwk.FromRaw(mustRSA(t))
	if err != nil {
		t.Fatal(err)
	}
	_ = k.Set(jwk.KeyIDKey, "k1") // the known key's kid, another key
	_ = k.Set(jwk.AlgorithmKey, jwa.RS256)
	return k
}

func TestIntrospectionOfRefreshTokensFollowsTheRefreshRules(t *testing.T) {
	h := newHarness(t, nil, withOAuth(func(c *config.Config) {
		c.JWT.RequiredClaims = map[string]any{"token_type": "access"}
		c.JWT.RefreshRequiredClaims = map[string]any{"token_type": "refresh"}
	}))
	refresh := mint(t, tok{jti: "r-1", extra: map[string]any{"token_type": "refresh"}})
	if _, body := h.introspect(refresh); body["active"] != true || body["token_type"] != "refresh" {
		t.Errorf("a valid refresh token: %v, want active with token_type refresh", body)
	}
	if _, body := h.introspect(mint(t, tok{extra: map[string]any{"token_type": "id"}})); body["active"] != false {
		t.Errorf("a token meeting neither rule: %v, want inactive", body)
	}
	h.mustAdmin(http.MethodPost, "/v1/revocations/tokens", `{"jti":"r-1"}`)
	if _, body := h.introspect(refresh); body["active"] != false {
		t.Errorf("a revoked refresh token: %v, want inactive", body)
	}
}

func TestIntrospectionAnswers503WhenTheStoreIsDownWhateverOnStoreError(t *testing.T) {
	for _, mode := range []string{config.OnStoreErrorClosed, config.OnStoreErrorOpen} {
		t.Run("on_store_error "+mode, func(t *testing.T) {
			store, srv := redisStore(t)
			h := newHarness(t, store, withOAuth(func(c *config.Config) {
				c.Revocation.OnStoreError = mode
				c.Revocation.LookupTimeout = 300 * time.Millisecond
			}))
			token := mint(t, tok{})
			srv.Stop()
			resp := h.oauthPost(introspectPath, url.Values{"token": {token}}, ordersBasic)
			body := wantStatus(t, resp, http.StatusServiceUnavailable)
			if body["error"] != "temporarily_unavailable" || body["active"] != nil {
				t.Errorf("body %v, want temporarily_unavailable and no active member", body)
			}
			if resp.Header.Get("Retry-After") == "" {
				t.Error("no Retry-After")
			}
		})
	}
}

func TestOAuthClientAuthentication(t *testing.T) {
	h := newHarness(t, nil, withOAuth(nil))
	token := mint(t, tok{})
	form := func(kv ...string) url.Values {
		v := url.Values{"token": {token}}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	header := func(v string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("Authorization", v) }
	}
	tests := []struct {
		name string
		form url.Values
		auth func(*http.Request)
		want int
	}{
		{"client_secret_basic is accepted", form(), ordersBasic, 200},
		{"client_secret_basic form-urlencodes id and secret", form(), basicAuth(opsID, opsSecret), 200},
		{"client_secret_post is accepted", form("client_id", ordersID, "client_secret", ordersSecret), nil, 200},
		{"basic with the same client_id in the body is accepted", form("client_id", ordersID), ordersBasic, 200},
		{"no authentication is invalid_client", form(), nil, 401},
		{"a wrong secret is invalid_client", form(), basicAuth(ordersID, ordersSecret+"x"), 401},
		{"an unknown client is invalid_client", form(), basicAuth("stranger", ordersSecret), 401},
		{"another client's secret is invalid_client", form(), basicAuth(ordersID, opsSecret), 401},
		{"an id unescaped is not the id", form(), header("Basic " + base64.StdEncoding.EncodeToString([]byte("ops%3Aconsole:"+url.QueryEscape(opsSecret)+"x"))), 401},
		{"a bearer token is not client authentication", form(), header("Bearer " + token), 401},
		{"basic without a colon is invalid_client", form(), header("Basic " + base64.StdEncoding.EncodeToString([]byte(ordersID))), 401},
		{"basic that is not base64 is invalid_client", form(), header("Basic !!!"), 401},
		{"client_id alone is invalid_client", form("client_id", ordersID), nil, 401},
		{"a body client_id naming another client is invalid_client", form("client_id", opsID), ordersBasic, 401},
		{"two methods at once are refused", form("client_id", ordersID, "client_secret", ordersSecret), ordersBasic, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := h.oauthPost(introspectPath, tt.form, tt.auth)
			body := wantStatus(t, resp, tt.want)
			switch tt.want {
			case 401:
				if d := cmp.Diff(map[string]any{"error": "invalid_client"}, body); d != "" {
					t.Errorf("body (-want +got):\n%s", d)
				}
				if got := resp.Header.Get("WWW-Authenticate"); got != `Basic realm="revgate"` {
					t.Errorf("WWW-Authenticate = %q", got)
				}
			case 400:
				if body["error"] != "invalid_request" {
					t.Errorf("body %v, want invalid_request", body)
				}
			}
		})
	}
	t.Run("revocation authenticates clients the same way", func(t *testing.T) {
		resp := h.oauthPost(revokePath, form(), basicAuth(ordersID, "wrong-secret-0123456789"))
		if body := wantStatus(t, resp, 401); body["error"] != "invalid_client" {
			t.Errorf("body %v", body)
		}
		if got := resp.Header.Get("WWW-Authenticate"); got != `Basic realm="revgate"` {
			t.Errorf("WWW-Authenticate = %q", got)
		}
	})
}

func TestOAuthRequestLimits(t *testing.T) {
	h := newHarness(t, nil, withOAuth(nil))
	token := mint(t, tok{})
	send := func(method, path, contentType, body string) *http.Response {
		req, _ := http.NewRequest(method, h.proxy.URL+path, strings.NewReader(body))
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		ordersBasic(req)
		return h.do(req)
	}
	const form = "application/x-www-form-urlencoded"
	tests := []struct {
		name, method, path, contentType, body string
		want                                  int
	}{
		{"GET is refused with 405", http.MethodGet, introspectPath, "", "", 405},
		{"a JSON body is refused", http.MethodPost, introspectPath, "application/json", `{"token":"` + token + `"}`, 400},
		{"no Content-Type is refused", http.MethodPost, revokePath, "", "token=" + token, 400},
		{"a charset other than UTF-8 is refused", http.MethodPost, introspectPath, form + "; charset=latin1", "token=" + token, 400},
		{"charset UTF-8 is accepted", http.MethodPost, introspectPath, form + "; charset=UTF-8", "token=" + token, 200},
		{"a body over 64 KiB is refused", http.MethodPost, introspectPath, form, "token=" + token + "&pad=" + strings.Repeat("a", 64<<10), 413},
		{"a repeated token is refused", http.MethodPost, introspectPath, form, "token=" + token + "&token=" + token, 400},
		{"a repeated hint is refused", http.MethodPost, revokePath, form, "token=" + token + "&token_type_hint=a&token_type_hint=b", 400},
		{"a malformed form is refused", http.MethodPost, introspectPath, form, "token=%zz", 400},
		{"no token is refused", http.MethodPost, introspectPath, form, "token_type_hint=access_token", 400},
		{"a token only in the query is not read", http.MethodPost, introspectPath + "?token=" + token, form, "", 400},
		{"the path with a trailing slash is the endpoint", http.MethodPost, introspectPath + "/", form, "token=" + token, 200},
		{"the path with ;parameters is the endpoint", http.MethodPost, "/oauth2;x/introspect", form, "token=" + token, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := send(tt.method, tt.path, tt.contentType, tt.body)
			body := wantStatus(t, resp, tt.want)
			if tt.want != 200 && body["error"] != "invalid_request" {
				t.Errorf("body %v, want invalid_request", body)
			}
			if tt.want == 405 && resp.Header.Get("Allow") != http.MethodPost {
				t.Errorf("Allow = %q", resp.Header.Get("Allow"))
			}
		})
	}
	if n := h.upstream.hits.Load(); n != 0 {
		t.Errorf("the upstream received %d requests", n)
	}
}

func TestOAuthRateLimits(t *testing.T) {
	t.Run("each client has its own token bucket", func(t *testing.T) {
		h := newHarness(t, nil, withOAuth(func(c *config.Config) { c.OAuth.RateLimit, c.OAuth.RateBurst = 1, 3 }))
		form := url.Values{"token": {mint(t, tok{})}}
		for range 3 {
			wantStatus(t, h.oauthPost(introspectPath, form, ordersBasic), 200)
		}
		resp := h.oauthPost(revokePath, form, ordersBasic)
		if body := wantStatus(t, resp, 429); body["error"] != "rate_limited" {
			t.Errorf("body %v", body)
		}
		if resp.Header.Get("Retry-After") != "1" {
			t.Errorf("Retry-After = %q, want 1", resp.Header.Get("Retry-After"))
		}
		wantStatus(t, h.oauthPost(introspectPath, form, basicAuth(opsID, opsSecret)), 200)
		series, _ := h.scrape()
		if got := series[`revgate_oauth_requests_total{answer="rate_limited",client="orders-api",endpoint="revocation"}`]; got != 1 {
			t.Errorf("rate_limited count = %v, want 1", got)
		}
	})
	t.Run("failed authentication is limited per address, before the secret is checked", func(t *testing.T) {
		h := newHarness(t, nil, withOAuth(nil))
		form := url.Values{"token": {mint(t, tok{})}}
		for range authFailureBurst {
			wantStatus(t, h.oauthPost(introspectPath, form, basicAuth(ordersID, "guess-0123456789abcdef")), 401)
		}
		resp := h.oauthPost(introspectPath, form, ordersBasic)
		wantStatus(t, resp, 429)
		if resp.Header.Get("Retry-After") == "" {
			t.Error("no Retry-After")
		}
	})
	t.Run("guessing one client's secret does not lock another client out of the same address", func(t *testing.T) {
		h := newHarness(t, nil, withOAuth(nil))
		form := url.Values{"token": {mint(t, tok{})}}
		for range authFailureBurst + 5 {
			h.oauthPost(introspectPath, form, basicAuth(opsID, "guess-0123456789abcdef")).Body.Close()
		}
		wantStatus(t, h.oauthPost(introspectPath, form, basicAuth(opsID, opsSecret)), 429)
		wantStatus(t, h.oauthPost(introspectPath, form, ordersBasic), 200)
	})
}

func TestLimiterRefillsAndStaysBounded(t *testing.T) {
	clock := newManualClock()
	l := newLimiter(2, 2, 3, clock.Now)
	for _, want := range []bool{true, true, false} {
		if ok, _ := l.take("a"); ok != want {
			t.Fatalf("take = %v, want %v", ok, want)
		}
	}
	if _, wait := l.take("a"); wait != 500*time.Millisecond {
		t.Errorf("wait = %v, want 500ms", wait)
	}
	clock.Advance(500 * time.Millisecond)
	if ok, _ := l.take("a"); !ok {
		t.Error("no token after the refill time")
	}
	for i := range 10 {
		l.spend(fmt.Sprint("addr-", i))
	}
	if n := len(l.buckets); n > 3 {
		t.Errorf("%d buckets, want at most 3", n)
	}
}

// readAll is the body as a string.
func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestIntrospectionRefusesATokenRepeatingAClaimItAnswers: with two
// client_id members jwx keeps the last, another parser the first; such a
// token is not active, and not revocable by either client.
func TestIntrospectionRefusesATokenRepeatingAClaimItAnswers(t *testing.T) {
	h := newHarness(t, nil, withOAuth(nil))
	now := time.Now().Unix()
	payload := fmt.Sprintf(`{"iss":%q,"aud":%q,"sub":"alice","jti":"dup-1","iat":%d,"exp":%d,"client_id":"other-app","client_id":%q}`,
		testIssuer, testAudience, now-5, now+600, ordersID)
	signed, err := jws.Sign([]byte(payload), jws.WithKey(jwa.RS256, testSigningKey(t)))
	if err != nil {
		t.Fatal(err)
	}
	status, body := h.introspect(string(signed))
	if status != http.StatusOK || len(body) != 1 || body["active"] != false {
		t.Fatalf("introspection = %d %v, want exactly {\"active\": false}", status, body)
	}
	// The same claims once each: active, so the refusal above was the
	// repetition.
	single := strings.Replace(payload, `"client_id":"other-app",`, "", 1)
	signed, err = jws.Sign([]byte(single), jws.WithKey(jwa.RS256, testSigningKey(t)))
	if err != nil {
		t.Fatal(err)
	}
	if status, body := h.introspect(string(signed)); status != http.StatusOK || body["active"] != true {
		t.Fatalf("introspection of the same token without the repeat = %d %v, want active", status, body)
	}
}
