package gateway

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/revgate/revgate/config"
	"github.com/revgate/revgate/gateway/adminapi"
	"github.com/revgate/revgate/revocation"
)

// asHost is a transport sending every request with Host set to host, as
// a browser does for a page loaded from a name that DNS resolves to
// 127.0.0.1.
type asHost string

func (h asHost) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Host = string(h)
	return http.DefaultTransport.RoundTrip(r)
}

func insecureHarness(t *testing.T) *harness {
	return newHarness(t, nil, func(c *config.Config) { c.Admin.Tokens, c.Admin.InsecureNoAuth = nil, true })
}

// A DNS-rebinding page is same-origin with itself: its Origin and
// Sec-Fetch-Site pass the console's checks, and without sign-in its
// first GET would get a session and the CSRF token. Its Host gives it
// away: the console answers it nothing, and "revoke everything" fails.
func TestInsecureConsoleRefusesADNSRebindingPage(t *testing.T) {
	h := insecureHarness(t)
	const name = "rebind.attacker.example"
	_, port, _ := strings.Cut(strings.TrimPrefix(h.admin.URL, "http://127.0.0.1"), ":")
	page := []string{"Origin", "http://" + name + ":" + port, "Sec-Fetch-Site", "same-origin"}
	b := newBrowser(t, h.admin.URL)
	b.c.Transport = asHost(name + ":" + port)
	csrf := "guess"
	for _, p := range []string{"/console/lookup", "/console/everything", "/console/"} {
		resp, body := b.send(http.MethodGet, p, nil, page...)
		if m := csrfField.FindStringSubmatch(body); m != nil {
			csrf = m[1]
		}
		if resp.StatusCode != http.StatusForbidden || len(resp.Cookies()) != 0 || strings.Contains(body, "csrf") {
			t.Errorf("GET %s from the rebinding page: %d, cookies %v; want 403 and no session", p, resp.StatusCode, resp.Cookies())
		}
	}
	form := url.Values{"reason": {"pwned"}, "confirm": {"revoke everything"}, "op": {"revoke"}, "csrf": {csrf}}
	if resp, _ := b.send(http.MethodPost, "/console/everything", form, page...); resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST /console/everything from the rebinding page: %d, want 403", resp.StatusCode)
	}
	if _, err := h.store.GetGlobal(context.Background()); !errors.Is(err, revocation.ErrNotFound) {
		t.Fatalf("the rebinding page set the global mark: %v", err)
	}

	// The same console under localhost and 127.0.0.1 works, its changes
	// (in-process API calls, which carry no Host) included.
	for _, host := range []string{"localhost:" + port, "127.0.0.1:" + port} {
		b := newBrowser(t, h.admin.URL)
		b.c.Transport = asHost(host)
		b.post("/console/change", url.Values{"kind": {"subject"}, "value": {"dave-" + host}, "reason": {"demo"}, "op": {"revoke"}},
			"Origin", "http://"+host, "Sec-Fetch-Site", "same-origin")
		if _, err := h.store.GetSubject(context.Background(), "dave-"+host); err != nil {
			t.Errorf("revoking through the console at %s: %v", host, err)
		}
	}
}

// The rest of the admin listener is as readable by a rebinding page:
// its GETs carry no Origin. Without a token to require, every path
// answers only loopback names and IP literals.
func TestInsecureAdminListenerRefusesOtherHosts(t *testing.T) {
	h := insecureHarness(t)
	get := func(host, path string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodGet, h.admin.URL+path, nil)
		req.Host = host
		resp := h.do(req)
		if resp.Header.Get("Content-Type") != "application/json" {
			return resp.StatusCode, nil
		}
		return resp.StatusCode, decodeBody(t, resp)
	}
	for _, p := range []string{"/v1/config", "/v1/keys", "/v1/revocations/all", "/v1/revocations/subjects/bob", "/healthz", "/readyz", "/metrics", "/nope"} {
		for _, host := range []string{"rebind.attacker.example", "rebind.attacker.example:9090", "127.0.0.1.nip.io"} {
			code, body := get(host, p)
			if code != http.StatusForbidden || body["error"] != adminapi.CodeForbidden || !strings.Contains(body["message"].(string), "localhost or an IP address") {
				t.Errorf("GET %s with Host %s: %d %v, want 403 %s", p, host, code, body, adminapi.CodeForbidden)
			}
		}
	}
	for host, want := range map[string]int{"127.0.0.1:9090": http.StatusOK, "localhost": http.StatusOK, "[::1]:9090": http.StatusOK} {
		if code, body := get(host, "/v1/keys"); code != want {
			t.Errorf("GET /v1/keys with Host %s: %d %v, want %d", host, code, body, want)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, h.admin.URL+"/v1/revocations/all", strings.NewReader(`{}`))
	req.Host = "rebind.attacker.example"
	if resp := h.do(req); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("POST /v1/revocations/all with a rebinding Host: %d, want 403", resp.StatusCode)
	}
	if _, err := h.store.GetGlobal(context.Background()); !errors.Is(err, revocation.ErrNotFound) {
		t.Fatalf("a refused request set the global mark: %v", err)
	}
}

// With admin tokens a rebinding page has none to present (nor a console
// session): no Host rule, so proxies and DNS names keep working.
func TestAdminListenerWithTokensAnswersAnyHost(t *testing.T) {
	h := newHarness(t, nil, nil)
	req, _ := http.NewRequest(http.MethodGet, h.admin.URL+"/v1/keys", nil)
	req.Host = "revgate-admin.corp.example"
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	wantStatus(t, h.do(req), http.StatusOK)
	b := newBrowser(t, h.admin.URL)
	b.c.Transport = asHost("revgate-admin.corp.example")
	if resp := b.signIn(testAdminToken); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("console sign-in under a DNS name: %d, want 303", resp.StatusCode)
	}
	if resp, _ := b.get("/console/lookup"); resp.StatusCode != http.StatusOK {
		t.Fatalf("console under a DNS name, signed in: %d, want 200", resp.StatusCode)
	}
}
