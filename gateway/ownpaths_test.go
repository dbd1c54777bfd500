package gateway

import (
	"net/http"
	"testing"

	"github.com/revgate/revgate/config"
)

// An upstream that drops ;parameters (Tomcat, Jetty, Spring) or serves a
// path with and without its trailing slash reads these as the logout path.
// Forwarded, they would reach the upstream with the caller's token while
// the caller believes it logged out; so the gateway serves each as logout.
func TestEveryReadingOfTheLogoutPathLogsOutAndReachesNothing(t *testing.T) {
	cases := []struct {
		name       string
		logoutPath string
		path       string
	}{
		{"the configured path logs out", "/auth/logout", "/auth/logout"},
		{"a trailing slash logs out", "/auth/logout", "/auth/logout/"},
		{"a ;parameter logs out", "/auth/logout", "/auth/logout;x"},
		{"a ;parameter and a trailing slash log out", "/auth/logout", "/auth/logout;x/"},
		{"a ;parameter on an earlier segment logs out", "/auth/logout", "/auth;jsessionid=1/logout"},
		{"a repeated slash the gateway cleans logs out", "/auth/logout", "/auth//logout/"},
		{"a configured trailing slash is optional", "/auth/logout/", "/auth/logout"},
		{"a configured trailing slash with a ;parameter logs out", "/auth/logout/", "/auth/logout;x"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, nil, func(cfg *config.Config) { cfg.Logout.Path = c.logoutPath })
			token := mint(t, tok{sub: "u-logout", jti: randomJTI()})
			req, _ := http.NewRequest(http.MethodPost, h.proxy.URL+c.path, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			body := wantStatus(t, h.do(req), http.StatusOK)
			if body["status"] != "logged_out" {
				t.Errorf("POST %s answered %v, not a logout", c.path, body)
			}
			if n := h.upstream.hits.Load(); n != 0 {
				t.Fatalf("POST %s reached the upstream", c.path)
			}
			wantStatus(t, h.get("/x", token), http.StatusUnauthorized)
		})
	}
}

func TestPathsThatOnlyStartLikeTheLogoutPathAreForwarded(t *testing.T) {
	for _, p := range []string{"/auth/logoutx", "/auth/logout/x", "/auth/logout;x/y", "/auth/log;x", "/auth"} {
		t.Run(p, func(t *testing.T) {
			h := newHarness(t, nil, nil)
			token := mint(t, tok{sub: "u-not-logout", jti: randomJTI()})
			req, _ := http.NewRequest(http.MethodPost, h.proxy.URL+p, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			wantStatus(t, h.do(req), http.StatusOK)
			if got, _ := h.upstream.lastRequest(); got == nil || got.URL.Path != p {
				t.Fatalf("POST %s: the upstream received %v", p, got)
			}
			wantStatus(t, h.get("/x", token), http.StatusOK)
		})
	}
}
