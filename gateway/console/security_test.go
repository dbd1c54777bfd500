package console

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/revgate/revgate/revocation"
)

func TestRebindSafeHostIsLoopbackNamesAndIPLiterals(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "localhost:9090": true, "LocalHost.:9090": true, "console.localhost:9090": true,
		"127.0.0.1": true, "127.0.0.1:9090": true, "127.8.9.10:80": true, "[::1]:9090": true, "[::1]": true,
		"10.1.2.3:9090": true, "[fe80::1%25eth0]:9090": true,
		// A rebinding page's own name, resolved to 127.0.0.1 by its DNS.
		"rebind.attacker.example": false, "rebind.attacker.example:9090": false, "127.0.0.1.nip.io:9090": false,
		"localhost.attacker.example:9090": false, "notlocalhost:9090": false, ".localhost": false,
		"": false, ":9090": false, "127.1:9090": false,
	} {
		if got := RebindSafeHost(host); got != want {
			t.Errorf("RebindSafeHost(%q) = %v, want %v", host, got, want)
		}
	}
}

func newInsecureConsole(t *testing.T) *Console {
	t.Helper()
	c, err := New(Options{
		API:        http.NotFoundHandler(),
		AsActor:    func(r *http.Request, _ string) *http.Request { return r },
		Anonymous:  "anonymous",
		Trail:      revocation.NewMemoryTrail(10),
		SessionTTL: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Without sign-in every page view starts a session: a DNS-rebinding page
// (its Host its attacker's name) must get neither a page, a session nor
// a CSRF token, on any path and any method.
func TestWithoutSignInOnlyLoopbackOrIPHostsAreAnswered(t *testing.T) {
	c := newInsecureConsole(t)
	for _, host := range []string{"rebind.attacker.example:9090", "rebind.attacker.example", ""} {
		for _, path := range []string{"/console/lookup", "/console/everything", "/console", "/console/style.css", "/console/nope"} {
			for _, method := range []string{http.MethodGet, http.MethodPost} {
				req := httptest.NewRequest(method, path, strings.NewReader("confirm=revoke+everything"))
				req.Host = host
				req.RemoteAddr = "127.0.0.1:5000"
				w := httptest.NewRecorder()
				c.ServeHTTP(w, req)
				if w.Code != http.StatusForbidden || w.Body.String() != hostRefusal+"\n" || len(w.Result().Cookies()) != 0 {
					t.Errorf("%s %s with Host %q: %d, cookies %v, body %q; want 403 with the Host refusal and no cookie",
						method, path, host, w.Code, w.Result().Cookies(), w.Body.String())
				}
			}
		}
	}
	for _, host := range []string{"127.0.0.1:9090", "localhost:9090", "[::1]:9090"} {
		req := httptest.NewRequest(http.MethodGet, "/console/lookup", nil)
		req.Host = host
		req.RemoteAddr = "127.0.0.1:5000"
		w := httptest.NewRecorder()
		c.ServeHTTP(w, req)
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `name="csrf"`) || len(w.Result().Cookies()) != 1 {
			t.Errorf("GET /console/lookup with Host %q: %d, cookies %v; want 200, a session and its form", host, w.Code, w.Result().Cookies())
		}
	}
}

// With sign-in a rebinding page has no session and no admin token: no
// Host rule, so the console works under any name a proxy gives it.
func TestWithSignInAnyHostIsAnswered(t *testing.T) {
	c := newTestConsole(t, &clock{t: time.Now()})
	req := httptest.NewRequest(http.MethodGet, "/console/lookup", nil)
	req.Host = "revgate-admin.corp.example"
	w := httptest.NewRecorder()
	c.ServeHTTP(w, req)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/console/signin" {
		t.Fatalf("GET /console/lookup without a session: %d to %q, want 303 to the sign-in", w.Code, w.Header().Get("Location"))
	}
}

// A TLS-terminating proxy on loopback (a mesh sidecar connecting from
// 127.0.0.6, nginx, cloudflared) connects over plain HTTP from loopback
// but says the browser used HTTPS: the cookie stays Secure.
func TestCookieIsSecureUnlessPlainHTTPFromLoopback(t *testing.T) {
	for _, tc := range []struct {
		name, remote string
		tls          bool
		headers      []string
		secure       bool
	}{
		{"plain HTTP from 127.0.0.1", "127.0.0.1:5000", false, nil, false},
		{"plain HTTP from ::1", "[::1]:5000", false, nil, false},
		{"X-Forwarded-Proto http", "127.0.0.1:5000", false, []string{"X-Forwarded-Proto", "http"}, false},
		{"Forwarded proto=http", "127.0.0.1:5000", false, []string{"Forwarded", "for=10.0.0.1;proto=http"}, false},
		{"from another machine", "10.1.2.3:5000", false, nil, true},
		{"TLS from loopback", "127.0.0.1:5000", true, nil, true},
		{"unparsable remote address", "somewhere", false, nil, true},
		{"sidecar from 127.0.0.6, X-Forwarded-Proto https", "127.0.0.6:41234", false, []string{"X-Forwarded-Proto", "https"}, true},
		{"X-Forwarded-Proto list", "127.0.0.1:5000", false, []string{"X-Forwarded-Proto", "http, HTTPS"}, true},
		{"Forwarded proto=https", "127.0.0.1:5000", false, []string{"Forwarded", `for="[2001:db8::1]";proto=https;host=a.example`}, true},
		{"Forwarded quoted, second hop", "[::1]:5000", false, []string{"Forwarded", `for=1.2.3.4, For=10.0.0.1; Proto="https"`}, true},
	} {
		req := httptest.NewRequest(http.MethodGet, "/console/lookup", nil)
		req.RemoteAddr = tc.remote
		if !tc.tls {
			req.TLS = nil
		} else {
			req.TLS = &tls.ConnectionState{}
		}
		for i := 0; i+1 < len(tc.headers); i += 2 {
			req.Header.Add(tc.headers[i], tc.headers[i+1])
		}
		for _, ck := range []*http.Cookie{cookie(req, sessionCookie, "v", 60), newSessions(time.Hour, time.Now).flash(req, "ok", "m")} {
			if ck.Secure != tc.secure || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode {
				t.Errorf("%s: %s Secure=%v HttpOnly=%v SameSite=%v, want Secure=%v, HttpOnly, Strict",
					tc.name, ck.Name, ck.Secure, ck.HttpOnly, ck.SameSite, tc.secure)
			}
		}
	}
}
