package gateway

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/revgate/revgate/config"
	"github.com/revgate/revgate/revocation"
)

// decisionHarness is a gateway with its decision listener on a real HTTP
// server.
type decisionHarness struct {
	*harness
	decision *httptest.Server
}

func newDecisionHarness(t *testing.T, store revocation.Store, mutate func(*config.Config)) *decisionHarness {
	h := newHarness(t, store, func(c *config.Config) {
		decisionRoutes(c)
		c.Decision.Listen = "127.0.0.1:0"
		if mutate != nil {
			mutate(c)
		}
	})
	srv := httptest.NewServer(h.gw.DecisionHandler())
	t.Cleanup(srv.Close)
	return &decisionHarness{harness: h, decision: srv}
}

// ask sends a decision request: method and path on the decision listener,
// the given headers (each value a separate field line), and a body.
func (d *decisionHarness) ask(method, path string, header http.Header, body string) (*http.Response, string) {
	d.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, d.decision.URL+path, rd)
	if err != nil {
		d.t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp := d.do(req)
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// hdr builds a header from name, value pairs, keeping the names' spelling.
func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h[kv[i]] = append(h[kv[i]], kv[i+1])
	}
	return h
}

// wantAllowed checks a 200 with no body carrying X-Revgate-Subject: sub
// (present and empty when sub is "").
func wantAllowed(t *testing.T, resp *http.Response, body, sub string) {
	t.Helper()
	if resp.StatusCode != 200 || body != "" {
		t.Fatalf("status %d body %q, want 200 and no body", resp.StatusCode, body)
	}
	v, present := resp.Header["X-Revgate-Subject"]
	if !present || len(v) != 1 || v[0] != sub {
		t.Errorf("X-Revgate-Subject = %q (present %v), want exactly %q", v, present, sub)
	}
}

// wantRefused checks a refusal's status, error code and, for 401s, the
// WWW-Authenticate challenge.
func wantRefused(t *testing.T, resp *http.Response, body string, status int, code string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d (body %s)", resp.StatusCode, status, body)
	}
	var eb errorBody
	if err := json.Unmarshal([]byte(body), &eb); err != nil || eb.Error != code {
		t.Errorf("body %q, want error %q", body, code)
	}
	if status == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer ") {
		t.Errorf("401 without a Bearer challenge: %q", resp.Header.Get("WWW-Authenticate"))
	}
	if _, has := resp.Header["X-Revgate-Subject"]; has {
		t.Errorf("a refusal carries X-Revgate-Subject")
	}
}

// traefik is what Traefik's forwardAuth sends for a client request: GET
// to the address, the client's headers, and X-Forwarded-* naming it.
func traefik(method, uri string, client ...string) http.Header {
	h := hdr(client...)
	h["X-Forwarded-Method"] = []string{method}
	h["X-Forwarded-Proto"] = []string{"https"}
	h["X-Forwarded-Host"] = []string{"api.example"}
	h["X-Forwarded-Uri"] = []string{uri}
	h["X-Forwarded-For"] = []string{"203.0.113.7"}
	return h
}

func TestForwardAuthFollowsTraefiksContract(t *testing.T) {
	d := newDecisionHarness(t, nil, nil)
	token := mint(t, tok{sub: "alice"})
	revoked := mint(t, tok{sub: "bob"})
	d.mustAdmin(http.MethodPost, "/v1/revocations/tokens", `{"token":"`+revoked+`"}`)

	t.Run("a valid token is allowed with its subject", func(t *testing.T) {
		resp, body := d.ask("GET", "/forward-auth", traefik("DELETE", "/orders/7?x=1", "Authorization", "Bearer "+token), "")
		wantAllowed(t, resp, body, "alice")
	})
	t.Run("a revoked token is refused with the proxy's 401", func(t *testing.T) {
		resp, body := d.ask("GET", "/forward-auth", traefik("GET", "/orders", "Authorization", "Bearer "+revoked), "")
		wantRefused(t, resp, body, 401, "invalid_token")
		if !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Errorf("WWW-Authenticate = %q", resp.Header.Get("WWW-Authenticate"))
		}
	})
	t.Run("no token is a 401 with the realm", func(t *testing.T) {
		resp, body := d.ask("GET", "/forward-auth", traefik("GET", "/orders"), "")
		wantRefused(t, resp, body, 401, "unauthorized")
		if resp.Header.Get("WWW-Authenticate") != `Bearer realm="revgate"` {
			t.Errorf("WWW-Authenticate = %q", resp.Header.Get("WWW-Authenticate"))
		}
	})
	t.Run("an auth: none route announces an empty subject to overwrite a forged one", func(t *testing.T) {
		resp, body := d.ask("GET", "/forward-auth", traefik("POST", "/public/login", "X-Revgate-Subject", "admin"), "")
		wantAllowed(t, resp, body, "")
	})
	t.Run("the path judged is the original's, cleaned", func(t *testing.T) {
		resp, body := d.ask("GET", "/forward-auth", traefik("GET", "/public/../orders"), "")
		wantRefused(t, resp, body, 401, "unauthorized")
		resp, body = d.ask("GET", "/forward-auth", traefik("GET", "/public/..%2forders"), "")
		wantRefused(t, resp, body, 400, "invalid_request")
	})
	t.Run("a query token is read from X-Forwarded-Uri, not the decision request", func(t *testing.T) {
		q := newDecisionHarness(t, nil, func(c *config.Config) { c.JWT.Lookup = []string{"query:access_token"} })
		resp, body := q.ask("GET", "/forward-auth?access_token="+token, traefik("GET", "/orders"), "")
		wantRefused(t, resp, body, 401, "unauthorized")
		resp, body = q.ask("GET", "/forward-auth", traefik("GET", "/orders?access_token="+token), "")
		wantAllowed(t, resp, body, "alice")
	})
	t.Run("forwardBody lets a refresh route decide", func(t *testing.T) {
		h := traefik("POST", "/api/token/refresh/", "Content-Type", "application/json")
		resp, body := d.ask("POST", "/forward-auth", h, `{"refresh":"`+token+`"}`)
		wantAllowed(t, resp, body, "alice")
		resp, body = d.ask("GET", "/forward-auth", h, "")
		wantRefused(t, resp, body, 403, "forbidden")
	})
	for _, tt := range []struct {
		name   string
		header http.Header
	}{
		{"no X-Forwarded-Uri", hdr("X-Forwarded-Method", "GET", "Authorization", "Bearer "+token)},
		{"no X-Forwarded-Method", hdr("X-Forwarded-Uri", "/orders", "Authorization", "Bearer "+token)},
		{"an empty X-Forwarded-Uri", hdr("X-Forwarded-Method", "GET", "X-Forwarded-Uri", "", "Authorization", "Bearer "+token)},
		{"two X-Forwarded-Uri", hdr("X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/public/", "X-Forwarded-Uri", "/orders", "Authorization", "Bearer "+token)},
		{"an absolute X-Forwarded-Uri", hdr("X-Forwarded-Method", "GET", "X-Forwarded-Uri", "http://api.example/orders", "Authorization", "Bearer "+token)},
		{"NGINX's headers instead", hdr("X-Original-Method", "GET", "X-Original-Uri", "/orders", "Authorization", "Bearer "+token)},
	} {
		t.Run(tt.name+" is 400, never 200", func(t *testing.T) {
			resp, body := d.ask("GET", "/forward-auth", tt.header, "")
			wantRefused(t, resp, body, 400, "invalid_request")
		})
	}
}

func TestAuthRequestFollowsNGINXsContract(t *testing.T) {
	store, srv := redisStore(t)
	d := newDecisionHarness(t, store, nil)
	token := mint(t, tok{sub: "alice"})
	revoked := mint(t, tok{sub: "bob"})
	d.mustAdmin(http.MethodPost, "/v1/revocations/tokens", `{"token":"`+revoked+`"}`)
	nginx := func(method, uri string, client ...string) http.Header {
		h := hdr(client...)
		h["X-Original-Method"], h["X-Original-Uri"] = []string{method}, []string{uri}
		return h
	}

	resp, body := d.ask("GET", "/auth-request", nginx("PUT", "/orders", "Authorization", "Bearer "+token), "")
	wantAllowed(t, resp, body, "alice")
	resp, body = d.ask("GET", "/auth-request", nginx("GET", "/orders", "Authorization", "Bearer "+revoked), "")
	wantRefused(t, resp, body, 401, "invalid_token")

	t.Run("ingress-nginx's absolute X-Original-URL is read", func(t *testing.T) {
		h := hdr("X-Original-Method", "GET", "X-Original-Url", "https://api.example/orders?x=1", "Authorization", "Bearer "+token)
		resp, body := d.ask("GET", "/auth-request", h, "")
		wantAllowed(t, resp, body, "alice")
		h["X-Original-Uri"] = []string{"/orders?x=1"}
		resp, body = d.ask("GET", "/auth-request", h, "")
		wantAllowed(t, resp, body, "alice")
		h = hdr("X-Original-Method", "GET", "X-Original-Url", "https://api.example", "Authorization", "Bearer "+token)
		resp, body = d.ask("GET", "/auth-request", h, "")
		wantAllowed(t, resp, body, "alice")
	})
	// NGINX turns every status but 2xx, 401 and 403 into a 500.
	for _, tt := range []struct {
		name   string
		header http.Header
	}{
		{"no original URI", hdr("X-Original-Method", "GET")},
		{"no original method", hdr("X-Original-Uri", "/public/")},
		{"an X-Original-URI and an X-Original-URL that disagree", hdr("X-Original-Method", "GET",
			"X-Original-Uri", "/public/", "X-Original-Url", "https://api.example/orders")},
		{"an X-Original-URL that is not http(s)", hdr("X-Original-Method", "GET", "X-Original-Url", "ftp://api.example/public/")},
		{"an X-Original-URL with credentials", hdr("X-Original-Method", "GET", "X-Original-Url", "https://u:p@api.example/public/")},
		{"an ambiguous path", nginx("GET", "/public/..;/orders")},
		{"a backslash", nginx("GET", `/public/..\orders`)},
		{"a refresh route without its body", nginx("POST", "/api/token/refresh/", "Content-Type", "application/json")},
	} {
		t.Run(tt.name+" is 403, never 200", func(t *testing.T) {
			resp, body := d.ask("GET", "/auth-request", tt.header, "")
			wantRefused(t, resp, body, 403, map[bool]string{true: "forbidden", false: "invalid_request"}[strings.Contains(tt.name, "refresh")])
		})
	}
	t.Run("the store down is 503, never 200", func(t *testing.T) {
		srv.Stop()
		resp, body := d.ask("GET", "/auth-request", nginx("GET", "/orders", "Authorization", "Bearer "+token), "")
		wantRefused(t, resp, body, 503, "revocation_unavailable")
	})
}

// envoy is what Envoy's HTTP ext_authz filter sends: the original method,
// path_prefix + the original path and query, the allowed headers.
func envoy(client ...string) http.Header {
	h := hdr(client...)
	h["X-Forwarded-Proto"] = []string{"https"}
	h["X-Request-Id"] = []string{"4b5f6c3e-envoy"}
	h["X-Envoy-Expected-Rq-Timeout-Ms"] = []string{"200"}
	return h
}

func TestExtAuthzHTTPAnswersAsEnvoyExpects(t *testing.T) {
	d := newDecisionHarness(t, nil, nil)
	token := mint(t, tok{sub: "alice"})
	revoked := mint(t, tok{sub: "bob"})
	d.mustAdmin(http.MethodPost, "/v1/revocations/tokens", `{"token":"`+revoked+`"}`)

	t.Run("allowed with the headers for allowed_upstream_headers", func(t *testing.T) {
		resp, body := d.ask("PATCH", "/ext-authz/orders/7?expand=1", envoy("Authorization", "Bearer "+token), "")
		wantAllowed(t, resp, body, "alice")
		if resp.Header.Get(headerEnvoyRemove) != "" {
			t.Errorf("%s = %q with no forged spelling", headerEnvoyRemove, resp.Header.Get(headerEnvoyRemove))
		}
	})
	t.Run("forged spellings go in x-envoy-auth-headers-to-remove", func(t *testing.T) {
		resp, body := d.ask("GET", "/ext-authz/public/x", envoy("X_Revgate_Subject", "admin", "X-Revgate-Subject", "admin"), "")
		wantAllowed(t, resp, body, "")
		if got := resp.Header.Get(headerEnvoyRemove); got != "x_revgate_subject" {
			t.Errorf("%s = %q, want x_revgate_subject", headerEnvoyRemove, got)
		}
	})
	t.Run("denied with status, challenge and body for the client", func(t *testing.T) {
		resp, body := d.ask("GET", "/ext-authz/orders", envoy("Authorization", "Bearer "+revoked), "")
		wantRefused(t, resp, body, 401, "invalid_token")
		if !strings.Contains(body, "token has been revoked") {
			t.Errorf("body %s does not say the token was revoked", body)
		}
		resp, body = d.ask("GET", "/ext-authz/a%2Fb", envoy("Authorization", "Bearer "+token), "")
		wantRefused(t, resp, body, 400, "invalid_request")
	})
	t.Run("with_request_body decides a refresh route", func(t *testing.T) {
		h := envoy("Content-Type", "application/json")
		resp, body := d.ask("POST", "/ext-authz/api/token/refresh/", h, `{"refresh":"`+token+`"}`)
		wantAllowed(t, resp, body, "alice")
		resp, body = d.ask("POST", "/ext-authz/api/token/refresh/", h, `{"refresh":"`+revoked+`"}`)
		wantRefused(t, resp, body, 401, "invalid_token")
		resp, body = d.ask("POST", "/ext-authz/api/token/refresh/", h, "")
		wantRefused(t, resp, body, 403, "forbidden")
		h["X-Envoy-Auth-Partial-Body"] = []string{"true"}
		resp, body = d.ask("POST", "/ext-authz/api/token/refresh/", h, `{"refresh":"`+token+`"}`)
		wantRefused(t, resp, body, 403, "forbidden")
	})
}

func TestDecisionListenerServesLogoutAndNothingElse(t *testing.T) {
	d := newDecisionHarness(t, nil, nil)
	token := mint(t, tok{sub: "alice"})

	resp, body := d.ask("POST", "/auth/logout", hdr("Authorization", "Bearer "+token), "")
	if resp.StatusCode != 200 || !strings.Contains(body, "logged_out") {
		t.Fatalf("logout on the decision listener: %d %s", resp.StatusCode, body)
	}
	resp, body = d.ask("GET", "/forward-auth", traefik("GET", "/orders", "Authorization", "Bearer "+token), "")
	wantRefused(t, resp, body, 401, "invalid_token")
	resp, body = d.ask("GET", "/auth/logout", hdr("Authorization", "Bearer "+token), "")
	wantRefused(t, resp, body, 405, "invalid_request")

	for _, p := range []string{"/", "/orders", "/forward-auth/x", "/ext-authz", "/Auth-Request", "/%66orward-auth", "/metrics", "/v1/revocations/all"} {
		resp, _ := d.ask("GET", p, traefik("GET", "/public/", "Authorization", "Bearer "+token), "")
		if resp.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404", p, resp.StatusCode)
		}
	}
	series, _ := d.scrape()
	if n := series[`revgate_requests_total{mode="decision",outcome="allowed",route="logout"}`]; n != 1 {
		t.Errorf("logout on the decision listener counted %v times under mode decision, want 1", n)
	}
	if n := series[`revgate_requests_total{mode="forward_auth",outcome="revoked_jti",route="default"}`]; n != 1 {
		t.Errorf("forward_auth revoked_jti = %v, want 1", n)
	}
	if d.upstream.hits.Load() != 0 {
		t.Errorf("the upstream was reached %d times", d.upstream.hits.Load())
	}
}

// TestAnOriginalURLWhoseHostHidesThePathIsRefused: NGINX accepts a Host of
// "api.example:80?", so ingress-nginx's X-Original-URL for GET /api/secret
// became http://api.example:80?/api/secret, once judged as "/" while NGINX
// forwarded /api/secret.
func TestAnOriginalURLWhoseHostHidesThePathIsRefused(t *testing.T) {
	for _, abs := range []string{
		"http://api.example:80?/api/secret",
		"https://api.example?/api/secret",
		"http://api.example:80?x",
		"http://api.example%2F/api/secret",
		"http://user@api.example/api/secret",
		"http:///api/secret",
		"ftp://api.example/api/secret",
		"http://api.example/api/secret#frag",
	} {
		if uri, host, ok := originForm(abs); ok {
			t.Errorf("originForm(%q) = %q, %q: accepted", abs, uri, host)
		}
	}
	for abs, want := range map[string]string{
		"http://api.example/api/secret?x=1": "/api/secret?x=1",
		"https://api.example:8443/":         "/",
		"http://[::1]:80/a":                 "/a",
		"http://api.example":                "/",
	} {
		if uri, _, ok := originForm(abs); !ok || uri != want {
			t.Errorf("originForm(%q) = %q, %v; want %q", abs, uri, ok, want)
		}
	}
}

// TestDecisionsRefuseUpgradesTheRouteDoesNotAllow: in decision mode the
// asking proxy holds the tunnel, so an h2c upgrade (whose streams would
// never be checked) or a WebSocket on a route without websocket: true is
// refused, on every front door; a WebSocket on a websocket route passes.
func TestDecisionsRefuseUpgradesTheRouteDoesNotAllow(t *testing.T) {
	d := newDecisionHarness(t, nil, func(c *config.Config) {
		c.Routes = []config.Route{{Prefix: "/ws/", Auth: config.AuthRequired, WebSocket: true}}
	})
	token := mint(t, tok{})
	ask := func(path string, extra ...string) (*http.Response, string) {
		h := hdr(append([]string{"X-Forwarded-Method", "GET", "X-Forwarded-Uri", path, "Authorization", "Bearer " + token}, extra...)...)
		return d.ask("GET", "/forward-auth", h, "")
	}
	for _, tt := range []struct {
		name  string
		path  string
		extra []string
	}{
		{"h2c", "/orders", []string{"Connection", "Upgrade, HTTP2-Settings", "Upgrade", "h2c", "Http2-Settings", "AAMAAABkAAQCAAAAAAIAAAAA"}},
		{"h2c in another case", "/orders", []string{"Upgrade", "H2C"}},
		{"HTTP2-Settings alone", "/orders", []string{"Http2-Settings", "AAMAAABkAAQCAAAAAAIAAAAA"}},
		{"a WebSocket on a route without websocket: true", "/orders", []string{"Connection", "Upgrade", "Upgrade", "websocket"}},
		{"h2c on a websocket route", "/ws/chat", []string{"Connection", "Upgrade", "Upgrade", "h2c"}},
		{"websocket offered with h2c on a websocket route", "/ws/chat", []string{"Upgrade", "websocket, h2c"}},
		{"an upgrade NGINX passes as X-Original-Upgrade", "/orders", []string{"X-Original-Upgrade", "h2c"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := ask(tt.path, tt.extra...)
			wantRefused(t, resp, body, http.StatusForbidden, "forbidden")
		})
	}
	resp, body := ask("/ws/chat", "Connection", "Upgrade", "Upgrade", "websocket")
	wantAllowed(t, resp, body, "alice")
	resp, body = ask("/orders")
	wantAllowed(t, resp, body, "alice")
}
