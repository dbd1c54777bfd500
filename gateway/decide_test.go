package gateway

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/revgate/revgate/config"
)

// decisionRoutes are the routes the decision tests judge under.
func decisionRoutes(c *config.Config) {
	c.Routes = []config.Route{
		{Prefix: "/public/", Auth: config.AuthNone},
		{Prefix: "/api/token/refresh/", Auth: config.AuthRefresh},
	}
}

func bearer(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}

func TestDecideAllowsAValidTokenWithEveryForwardHeader(t *testing.T) {
	h := newHarness(t, nil, func(c *config.Config) {
		decisionRoutes(c)
		c.JWT.ForwardHeaders = map[string]string{"X-Revgate-Subject": "sub", "X-Revgate-Tenant": "tenant"}
	})
	a := h.gw.decide(context.Background(), decisionInput{mode: ModeForwardAuth, method: "GET", uri: "/orders?x=1",
		header: bearer(mint(t, tok{sub: "alice"}))})
	if !a.allowed || a.status != 200 || a.body != nil {
		t.Fatalf("answer = %+v, want allowed 200 with no body", a)
	}
	// A claim the token lacks is still announced, empty, so the asking
	// proxy overwrites a client's copy with nothing.
	want := http.Header{"X-Revgate-Subject": {"alice"}, "X-Revgate-Tenant": {""}}
	if diff := cmp.Diff(want, a.header); diff != "" {
		t.Errorf("headers to set (-want +got):\n%s", diff)
	}
	if a.route != "default" || a.outcome != OutcomeAllowed || a.claims == nil || a.claims.Subject != "alice" {
		t.Errorf("route %q outcome %q claims %v", a.route, a.outcome, a.claims)
	}
}

func TestDecideOnAnAuthNoneRouteSetsEmptyHeadersAndRemovesForgedSpellings(t *testing.T) {
	h := newHarness(t, nil, decisionRoutes)
	forged := http.Header{
		"X-Revgate-Subject": {"admin"},
		"X_revgate_subject": {"admin"}, // WSGI reads it as HTTP_X_REVGATE_SUBJECT
		"X-Revgate_subject": {"admin"},
		"X-Other":           {"kept"},
	}
	a := h.gw.decide(context.Background(), decisionInput{mode: ModeExtAuthzHTTP, method: "POST", uri: "/public/login", header: forged})
	if !a.allowed || a.route != "/public/" {
		t.Fatalf("answer = %+v, want allowed on /public/", a)
	}
	if diff := cmp.Diff(http.Header{"X-Revgate-Subject": {""}}, a.header); diff != "" {
		t.Errorf("headers to set (-want +got):\n%s", diff)
	}
	slices.Sort(a.remove)
	if diff := cmp.Diff([]string{"X-Revgate_subject", "X_revgate_subject"}, a.remove); diff != "" {
		t.Errorf("headers to remove (-want +got):\n%s", diff)
	}
	if forged.Get("X-Revgate-Subject") != "admin" || len(forged) != 4 {
		t.Errorf("decide modified the input headers: %v", forged)
	}
}

// TestDecideRefusesExactlyAsTheProxyDoes asks the proxy and decide about
// the same requests and compares status, headers and body byte for byte:
// both come from one row of proxyRefusals.
func TestDecideRefusesExactlyAsTheProxyDoes(t *testing.T) {
	h := newHarness(t, nil, decisionRoutes)
	revoked := mint(t, tok{sub: "gone"})
	h.mustAdmin(http.MethodPost, "/v1/revocations/tokens", `{"token":"`+revoked+`"}`)
	ofRevokedSession := mint(t, tok{sub: "alice", extra: map[string]any{"sid": "ended"}})
	h.mustAdmin(http.MethodPost, "/v1/revocations/sessions/ended", "")
	tests := []struct {
		name, uri, token string
		status           int
		outcome          string
	}{
		{"no token", "/orders", "", 401, OutcomeNoToken},
		{"a revoked token", "/orders", revoked, 401, OutcomeRevokedJTI},
		{"a token of a revoked session", "/orders", ofRevokedSession, 401, OutcomeRevokedSession},
		{"a tampered token", "/orders", mint(t, tok{}) + "x", 401, OutcomeInvalidToken},
		{"an encoded slash", "/public/..%2Forders", "", 400, OutcomeBadRequest},
		{"a dot segment with parameters", "/public/..;/orders", "", 400, OutcomeBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, h.proxy.URL+tt.uri, nil)
			hdr := http.Header{}
			if tt.token != "" {
				hdr = bearer(tt.token)
				req.Header = hdr.Clone()
			}
			resp := h.do(req)
			proxyBody, _ := io.ReadAll(resp.Body)

			a := h.gw.decide(context.Background(), decisionInput{mode: ModeForwardAuth, method: "GET", uri: tt.uri, header: hdr})
			if a.allowed || a.status != tt.status || a.outcome != tt.outcome {
				t.Fatalf("answer: allowed %v status %d outcome %q, want %d %q", a.allowed, a.status, a.outcome, tt.status, tt.outcome)
			}
			if resp.StatusCode != a.status {
				t.Errorf("proxy answered %d, decide %d", resp.StatusCode, a.status)
			}
			if string(proxyBody) != string(a.body) {
				t.Errorf("bodies differ:\nproxy  %s\ndecide %s", proxyBody, a.body)
			}
			for _, name := range []string{"Www-Authenticate", "Content-Type", "Cache-Control"} {
				if resp.Header.Get(name) != a.header.Get(name) {
					t.Errorf("%s: proxy %q, decide %q", name, resp.Header.Get(name), a.header.Get(name))
				}
			}
			if h.upstream.hits.Load() != 0 {
				t.Errorf("the upstream was reached %d times", h.upstream.hits.Load())
			}
		})
	}
}

func TestDecideNeverAllowsARequestItCannotRead(t *testing.T) {
	h := newHarness(t, nil, decisionRoutes)
	valid := bearer(mint(t, tok{}))
	tests := []struct {
		name        string
		in          decisionInput
		status      int
		authRequest int // the status on /auth-request
	}{
		{"no method", decisionInput{uri: "/orders"}, 400, 403},
		{"no URI", decisionInput{method: "GET"}, 400, 403},
		{"a method that is not a token", decisionInput{method: "GET /x", uri: "/orders"}, 400, 403},
		{"an absolute URI", decisionInput{method: "GET", uri: "http://api.example/orders"}, 400, 403},
		{"an asterisk", decisionInput{method: "OPTIONS", uri: "*"}, 400, 403},
		{"a relative path", decisionInput{method: "GET", uri: "orders"}, 400, 403},
		{"a URI that does not parse", decisionInput{method: "GET", uri: "/orders%zz"}, 400, 403},
		{"a front door's own complaint", decisionInput{method: "GET", uri: "/orders", invalid: errDecisionRequest}, 400, 403},
		{"the logout path", decisionInput{method: "POST", uri: "/auth/logout"}, 403, 403},
		{"the logout path read leniently", decisionInput{method: "POST", uri: "/auth/logout;x/"}, 403, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, mode := range []string{ModeForwardAuth, ModeAuthRequest} {
				in := tt.in
				in.mode, in.header = mode, valid
				a := h.gw.decide(context.Background(), in)
				want := tt.status
				if mode == ModeAuthRequest {
					want = tt.authRequest
				}
				if a.allowed || a.status != want || a.outcome != OutcomeBadRequest {
					t.Errorf("%s: allowed %v status %d outcome %q, want %d bad_request", mode, a.allowed, a.status, a.outcome, want)
				}
			}
		})
	}
}

func TestDecideJudgesTheCleanedOriginalPath(t *testing.T) {
	h := newHarness(t, nil, decisionRoutes)
	a := h.gw.decide(context.Background(), decisionInput{mode: ModeForwardAuth, method: "GET", uri: "/public/../orders"})
	if a.allowed || a.route != "default" || a.outcome != OutcomeNoToken {
		t.Errorf("/public/../orders without a token: allowed %v route %q outcome %q, want refused on default", a.allowed, a.route, a.outcome)
	}
	a = h.gw.decide(context.Background(), decisionInput{mode: ModeForwardAuth, method: "GET", uri: "//public//x"})
	if !a.allowed || a.route != "/public/" {
		t.Errorf("//public//x: allowed %v route %q, want allowed on /public/", a.allowed, a.route)
	}
}

func TestDecideReadsAQueryTokenFromTheOriginalURI(t *testing.T) {
	h := newHarness(t, nil, func(c *config.Config) { c.JWT.Lookup = []string{"query:access_token"} })
	token := mint(t, tok{sub: "q"})
	a := h.gw.decide(context.Background(), decisionInput{mode: ModeAuthRequest, method: "GET", uri: "/orders?access_token=" + token})
	if !a.allowed || a.header.Get("X-Revgate-Subject") != "q" {
		t.Errorf("answer = %+v, want allowed as q", a)
	}
	a = h.gw.decide(context.Background(), decisionInput{mode: ModeAuthRequest, method: "GET", uri: "/orders?access_token=" + token + "&access.token=x"})
	if a.allowed || a.status != 401 {
		t.Errorf("a name PHP reads as the token's: allowed %v status %d, want 401", a.allowed, a.status)
	}
}

func TestDecideOnARefreshRouteNeedsTheBody(t *testing.T) {
	h := newHarness(t, nil, decisionRoutes)
	refresh := mint(t, tok{sub: "r"})
	revoked := mint(t, tok{sub: "r2"})
	h.mustAdmin(http.MethodPost, "/v1/revocations/tokens", `{"token":"`+revoked+`"}`)
	jsonType := http.Header{"Content-Type": {"application/json"}}
	ask := func(body io.Reader) decisionAnswer {
		return h.gw.decide(context.Background(), decisionInput{mode: ModeExtAuthzHTTP, method: "POST",
			uri: "/api/token/refresh/", header: jsonType, body: body})
	}

	a := ask(nil)
	if a.allowed || a.status != 403 || a.outcome != OutcomeBadRequest || !strings.Contains(string(a.body), "with_request_body") {
		t.Errorf("without a body: allowed %v status %d outcome %q body %s, want 403 naming with_request_body", a.allowed, a.status, a.outcome, a.body)
	}
	a = ask(strings.NewReader(`{"refresh":"` + refresh + `"}`))
	if !a.allowed || a.header.Get("X-Revgate-Subject") != "r" {
		t.Errorf("with a valid refresh token: %+v, want allowed as r", a)
	}
	a = ask(strings.NewReader(`{"refresh":"` + revoked + `"}`))
	if a.allowed || a.status != 401 || a.outcome != OutcomeRevokedJTI {
		t.Errorf("with a revoked refresh token: allowed %v status %d outcome %q, want 401 revoked_jti", a.allowed, a.status, a.outcome)
	}
	a = ask(strings.NewReader(""))
	if a.allowed || a.status != 401 || a.outcome != OutcomeNoToken {
		t.Errorf("with an empty body: allowed %v status %d outcome %q, want 401 no_token", a.allowed, a.status, a.outcome)
	}
}

func TestDecideWithTheStoreDownNeverAllows(t *testing.T) {
	store, srv := redisStore(t)
	h := newHarness(t, store, nil)
	token := mint(t, tok{})
	srv.Stop()
	a := h.gw.decide(context.Background(), decisionInput{mode: ModeAuthRequest, method: "GET", uri: "/orders", header: bearer(token)})
	if a.allowed || a.status != 503 || a.outcome != OutcomeStoreUnavailable {
		t.Fatalf("allowed %v status %d outcome %q, want 503 store_unavailable", a.allowed, a.status, a.outcome)
	}
	var body errorBody
	if err := json.Unmarshal(a.body, &body); err != nil || body.Error != "revocation_unavailable" {
		t.Errorf("body %s, want revocation_unavailable", a.body)
	}
}

func TestDecideCountsAndLogsUnderItsMode(t *testing.T) {
	h := newHarness(t, nil, nil)
	token := mint(t, tok{})
	h.gw.decide(context.Background(), decisionInput{mode: ModeForwardAuth, method: "GET", uri: "/a", header: bearer(token)})
	h.gw.decide(context.Background(), decisionInput{mode: ModeAuthRequest, method: "GET", uri: "/a"})
	h.gw.decide(context.Background(), decisionInput{mode: ModeExtAuthzHTTP, method: "GET", uri: "/a", header: bearer(token)})
	series, _ := h.scrape()
	for _, s := range []string{
		`revgate_requests_total{mode="forward_auth",outcome="allowed",route="default"}`,
		`revgate_requests_total{mode="auth_request",outcome="no_token",route="default"}`,
		`revgate_requests_total{mode="ext_authz_http",outcome="allowed",route="default"}`,
		`revgate_request_duration_seconds_count{mode="forward_auth",route="default"}`,
	} {
		if series[s] != 1 {
			t.Errorf("%s = %v, want 1", s, series[s])
		}
	}
	var modes []string
	for _, l := range strings.Split(h.logs.String(), "\n") {
		if !strings.Contains(l, `"log":"access"`) {
			continue
		}
		if strings.Contains(l, token) {
			t.Errorf("an access line holds the token: %s", l)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		modes = append(modes, m["mode"].(string)+" "+m["outcome"].(string))
	}
	want := []string{"forward_auth allowed", "auth_request no_token", "ext_authz_http allowed"}
	if diff := cmp.Diff(want, modes); diff != "" {
		t.Errorf("access lines (-want +got):\n%s", diff)
	}
}

// A decision asked about one of revgate's own paths (which the ingress
// must route to revgate, not judge) is refused, and counted under that
// path's own route, as the proxy listener counts it.
func TestDecideRefusesEveryOwnPathUnderItsOwnRoute(t *testing.T) {
	h := newHarness(t, nil, func(c *config.Config) {
		decisionRoutes(c)
		withOAuth(nil)(c)
		withBackchannel(c)
		withGTR(c)
		withSSF(nil)(c)
	})
	valid := bearer(mint(t, tok{}))
	for path, route := range map[string]string{
		"/auth/logout":  "logout",
		introspectPath:  "oauth_introspection",
		revokePath:      "oauth_revocation",
		bclPath:         "backchannel_logout",
		gtrPath:         "global_revocation",
		"/ssf/events/":  "ssf_push",
		bclPath + ";x/": "backchannel_logout",
	} {
		a := h.gw.decide(context.Background(), decisionInput{mode: ModeForwardAuth, method: "POST", uri: path, header: valid})
		if a.allowed || a.status != 403 || a.route != route {
			t.Errorf("%s: allowed %v status %d route %q, want 403 on route %q", path, a.allowed, a.status, a.route, route)
		}
	}
}
