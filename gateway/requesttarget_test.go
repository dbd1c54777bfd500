package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/revgate/revgate/config"
	"github.com/revgate/revgate/internal/testkit"
)

// Go's server parses a request-target that does not start with "/" into
// URL.Opaque, URL.Host or a scheme-relative path. The gateway judges
// URL.Path, the transport writes URL.RequestURI(): when they differ, the
// upstream serves another path than the one judged.
func TestRequestTargetsReachTheUpstreamOnlyAsTheJudgedPath(t *testing.T) {
	wire := testkit.NewWireUpstream(t)
	h := newHarness(t, nil, func(c *config.Config) {
		c.Upstream.URL = wire.URL()
		c.Routes = []config.Route{
			{Prefix: "/public/", Auth: config.AuthNone},
			{Prefix: "/api/token/refresh/", Auth: config.AuthRefresh},
		}
	})
	addr := strings.TrimPrefix(h.proxy.URL, "http://")
	access := mint(t, tok{sub: "u-target"})
	cases := []struct {
		name   string
		method string
		target string
		want   int
		// forwarded is the request line the upstream must receive; "" means
		// it must receive nothing.
		forwarded string
	}{
		{"an origin-form path is forwarded as it is", "GET", "/public/x", 200, "GET /public/x HTTP/1.1"},
		{"a path starting with two slashes is judged and forwarded cleaned", "GET", "//evil.test/public/x", 200, "GET /evil.test/public/x HTTP/1.1"},
		{"an http absolute-form target is forwarded as its path", "GET", "http://evil.test/public/x", 200, "GET /public/x HTTP/1.1"},
		{"an https absolute-form target is forwarded as its path", "GET", "https://evil.test/public/x?q=1", 200, "GET /public/x?q=1 HTTP/1.1"},
		{"an absolute-form scheme in capitals is still http", "GET", "HTTP://evil.test/public/x", 200, "GET /public/x HTTP/1.1"},
		{"an absolute-form target without a path is forwarded as /", "GET", "http://evil.test", 200, "GET / HTTP/1.1"},
		{"an absolute-form target cannot dodge dot segments", "GET", "http://evil.test/public/../admin", 200, "GET /admin HTTP/1.1"},
		{"an absolute-form target with userinfo is refused", "GET", "http://user:pw@evil.test/public/x", 400, ""},
		{"an opaque target is refused", "GET", "http:foo", 400, ""},
		{"an opaque target naming the refresh route is refused", "GET", "http:api/token/refresh/", 400, ""},
		{"a scheme without an authority is refused", "GET", "http:/api/token/refresh/", 400, ""},
		{"a scheme other than http is refused", "GET", "foo://x/public/y", 400, ""},
		{"a relative path is refused", "GET", "foo/bar", 400, ""},
		{"authority-form is refused", "CONNECT", "evil.test:443", 400, ""},
		{"asterisk-form is refused for GET", "GET", "*", 400, ""},
		{"asterisk-form is answered, never forwarded, for OPTIONS", "OPTIONS", "*", 200, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wire.Reset()
			raw := c.method + " " + c.target + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + access + "\r\nConnection: close\r\n\r\n"
			got := testkit.Statuses(testkit.RawRequest(t, addr, raw, 3*time.Second))
			if len(got) != 1 || got[0] != c.want {
				t.Errorf("%s %s: %v, want [%d]", c.method, c.target, got, c.want)
			}
			reqs := wire.Requests()
			switch {
			case c.forwarded == "" && len(reqs) != 0:
				t.Errorf("%s %s: the upstream received %q", c.method, c.target, reqs[0].Line)
			case c.forwarded != "" && (len(reqs) != 1 || reqs[0].Line != c.forwarded):
				var lines []string
				for _, r := range reqs {
					lines = append(lines, r.Line)
				}
				t.Errorf("%s %s: the upstream received %q, want [%q]", c.method, c.target, lines, c.forwarded)
			}
		})
	}
	series, _ := h.scrape()
	if n := series[`revgate_requests_total{mode="proxy",outcome="bad_request",route="invalid_path"}`]; n != 7 {
		t.Errorf("bad_request on invalid_path counted %v times, want the 7 targets the gateway refused (Go refuses foo/bar itself)", n)
	}
}

// A server with DisableGeneralOptionsHandler hands "OPTIONS *" to the
// gateway: it is answered there, not forwarded as some path.
func TestOptionsAsteriskIsAnsweredByTheGatewayWhenTheServerPassesItOn(t *testing.T) {
	wire := testkit.NewWireUpstream(t)
	h := newHarness(t, nil, func(c *config.Config) { c.Upstream.URL = wire.URL() })
	srv := httptest.NewUnstartedServer(h.gw.ProxyHandler())
	srv.Config.DisableGeneralOptionsHandler = true
	srv.Start()
	t.Cleanup(srv.Close)
	access := mint(t, tok{sub: "u-options"})
	raw := "OPTIONS * HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + access + "\r\nConnection: close\r\n\r\n"
	got := testkit.RawRequest(t, strings.TrimPrefix(srv.URL, "http://"), raw, 3*time.Second)
	if len(got) != 1 || got[0].StatusCode != http.StatusOK {
		t.Errorf("OPTIONS *: %v, want [200]", testkit.Statuses(got))
	}
	if reqs := wire.Requests(); len(reqs) != 0 {
		t.Errorf("OPTIONS *: the upstream received %q", reqs[0].Line)
	}
}
