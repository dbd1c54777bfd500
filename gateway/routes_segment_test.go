package gateway

import (
	"net/http"
	"testing"

	"github.com/revgate/revgate/config"
)

// segmentRoutes are the routes of the chart's examples (charts/examples/
// orders-app and ci/standalone-values.yaml give /health and /healthz auth
// none) plus a required route without a trailing slash nested in a none
// one, and a refresh route, so both readings of a path are exercised.
var segmentRoutes = []config.Route{
	{Prefix: "/health", Auth: config.AuthNone},
	{Prefix: "/healthz", Auth: config.AuthNone},
	{Prefix: "/api/token/", Auth: config.AuthNone},
	{Prefix: "/api/token/verify", Auth: config.AuthRequired},
	{Prefix: "/api/token/refresh/", Auth: config.AuthRefresh},
}

func TestRoutePrefixesMatchWholeSegments(t *testing.T) {
	rt := newRouter(segmentRoutes)
	cases := []struct {
		name, path string
		wantPrefix string // "" for the fallback (a token is needed)
	}{
		{name: "a prefix matches the path itself", path: "/health", wantPrefix: "/health"},
		{name: "a prefix matches a path below it", path: "/health/x", wantPrefix: "/health"},
		{name: "a prefix matches the path with a trailing slash", path: "/health/", wantPrefix: "/health"},
		{name: "a prefix never matches a longer segment", path: "/healthy-admin-dump", wantPrefix: ""},
		{name: "a longer segment with a path below it is not under the prefix either", path: "/healthy/x", wantPrefix: ""},
		{name: "a longer prefix that is a whole segment matches on its own", path: "/healthz", wantPrefix: "/healthz"},
		{name: "a prefix ending in a slash keeps matching every path that starts with it", path: "/api/token/obtain", wantPrefix: "/api/token/"},
		{name: "a nested prefix matches its own segment", path: "/api/token/verify", wantPrefix: "/api/token/verify"},
		{name: "a nested prefix matches below its segment", path: "/api/token/verify/", wantPrefix: "/api/token/verify"},
		{name: "a longer segment next to a nested prefix falls to the enclosing route", path: "/api/token/verifyx", wantPrefix: "/api/token/"},

		// The literal reading keeps ;parameters, the lenient one drops
		// them: the segment rule holds in each, and the stricter wins.
		{name: "a ;parameter makes the literal reading a longer segment, so the token-free lenient reading loses", path: "/health;x", wantPrefix: ""},
		{name: "a ;parameter below the prefix's segment is under it in both readings", path: "/health/x;y", wantPrefix: "/health"},
		{name: "a longer segment with a ;parameter is under the prefix in neither reading", path: "/healthy;x", wantPrefix: ""},
		{name: "a ;parameter on a nested required segment is required by the lenient reading", path: "/api/token/verify;x", wantPrefix: "/api/token/verify"},
		{name: "a ;parameter on a longer segment next to a nested prefix is none in both readings", path: "/api/token/verifyx;y", wantPrefix: "/api/token/"},
		{name: "a ;parameter on the refresh route's segment is still that route", path: "/api/token/refresh;x/", wantPrefix: "/api/token/refresh/"},
		{name: "a missing trailing slash reads as the refresh route leniently", path: "/api/token/refresh", wantPrefix: "/api/token/refresh/"},
		{name: "a longer segment than the refresh route is the enclosing none route in both readings", path: "/api/token/refreshx", wantPrefix: "/api/token/"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := rt.match(c.path)
			if err != nil {
				t.Fatalf("match(%q): %v", c.path, err)
			}
			want := c.wantPrefix
			if want == "" {
				want = rt.fallback.prefix
			}
			if got.prefix != want {
				t.Fatalf("match(%q) = route %q (auth %s), want %q", c.path, got.prefix, got.auth, want)
			}
		})
	}
}

func TestUnderReadsAPrefixAsWholeSegments(t *testing.T) {
	cases := []struct {
		p, prefix string
		want      bool
	}{
		{"/health", "/health", true},
		{"/health/", "/health", true},
		{"/health/a/b", "/health", true},
		{"/healthy", "/health", false},
		{"/health;x", "/health", false},
		{"/health.json", "/health", false},
		{"/heal", "/health", false},
		{"/api/token/", "/api/token/", true},
		{"/api/token/x", "/api/token/", true},
		{"/api/tokenx", "/api/token/", false},
		{"/api/token", "/api/token/", false}, // the lenient reading's business, not under's
		{"/anything", "/", true},
	}
	for _, c := range cases {
		if got := under(c.p, c.prefix); got != c.want {
			t.Errorf("under(%q, %q) = %v, want %v", c.p, c.prefix, got, c.want)
		}
	}
}

// TestALongerSegmentThanANoneRouteNeedsAToken is the reported bypass end to
// end: with /health open, /healthy-admin-dump must not reach the upstream
// without a token.
func TestALongerSegmentThanANoneRouteNeedsAToken(t *testing.T) {
	h := newHarness(t, nil, func(c *config.Config) { c.Routes = segmentRoutes })
	cases := []struct {
		name, path string
		want       int
	}{
		{"the health endpoint needs no token", "/health", http.StatusOK},
		{"a path below it needs none", "/health/live", http.StatusOK},
		{"healthz, a route of its own, needs none", "/healthz", http.StatusOK},
		{"a longer segment needs a token", "/healthy-admin-dump", http.StatusUnauthorized},
		{"a longer segment with a path below it needs a token", "/healthy/dump", http.StatusUnauthorized},
		{"the health segment with a ;parameter needs a token", "/health;x", http.StatusUnauthorized},
		{"a longer segment with a ;parameter needs a token", "/healthy;x", http.StatusUnauthorized},
		{"a nested required segment with a ;parameter needs a token", "/api/token/verify;x", http.StatusUnauthorized},
		{"a longer segment than the nested required route is the enclosing none route", "/api/token/verifyx", http.StatusOK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hits := h.upstream.hits.Load()
			req, _ := http.NewRequest(http.MethodGet, h.proxy.URL, nil)
			req.URL.Opaque = c.path // send the path exactly as written
			wantStatus(t, h.do(req), c.want)
			forwarded := h.upstream.hits.Load() - hits
			if (c.want == http.StatusOK) != (forwarded == 1) {
				t.Fatalf("answered %d, and the upstream saw %d requests", c.want, forwarded)
			}
		})
	}
	t.Run("with a valid token a longer segment is forwarded as any required path", func(t *testing.T) {
		wantStatus(t, h.get("/healthy-admin-dump", mint(t, tok{})), http.StatusOK)
	})
}
