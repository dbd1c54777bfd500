package gateway

import (
	"bufio"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode"

	"github.com/revgate/revgate/config"
)

// Fuzz targets for the hardening rules: what a request-target becomes on
// its way upstream, and names an upstream reads as a lookup's. Run each
// for minutes, not seconds:
//
//	go test -run '^$' -fuzz '^FuzzRequestTarget$' -fuzztime 5m -parallel 1 ./gateway/
//	go test -run '^$' -fuzz '^FuzzLookupNames$' -fuzztime 5m -parallel 1 ./gateway/

// FuzzRequestTarget sends a request line with any target and no token
// through the proxy to a real upstream. The oracle: whatever reaches the
// upstream was judged as what it is, so its path, however the upstream
// reads it (as written, with ;parameters dropped, backslashes as slashes,
// a trailing slash added), is a route that needs no token.
func FuzzRequestTarget(f *testing.F) {
	for _, seed := range []struct{ method, target string }{
		{"GET", "/public/x"},
		{"GET", "/x"},
		{"GET", "http:api/token/refresh/"},
		{"GET", "http:/public/../api/token/refresh/"},
		{"GET", "http://evil.test/public/../admin"},
		{"GET", "/public/..;/admin"},
		{"GET", "//public/x"},
		{"OPTIONS", "*"},
		{"GET", "*"},
		{"CONNECT", "evil.test:443"},
		{"GET", "foo://x/public/y"},
		{"POST", "/api/token/refresh;x/"},
		{"GET", "/public/%2e%2e/admin"},
		{"GET", "https://u:p@h/public/x"},
	} {
		f.Add(seed.method, seed.target)
	}
	fg := newFuzzGateway(f, nil, func(c *config.Config) {
		c.Routes = []config.Route{
			{Prefix: "/public/", Auth: config.AuthNone},
			{Prefix: "/api/token/", Auth: config.AuthNone},
			{Prefix: "/api/token/refresh/", Auth: config.AuthRefresh},
		}
	})
	f.Fuzz(func(t *testing.T, method, target string) {
		raw := method + " " + target + " HTTP/1.1\r\nHost: gateway.test\r\nContent-Length: 0\r\n\r\n"
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			return // the server would refuse the request line itself
		}
		req.RemoteAddr = "192.0.2.1:1234"
		before := fg.upstream.hits.Load()
		rec := serve(fg.proxy, req)
		if fg.upstream.hits.Load() == before {
			return
		}
		got, _ := fg.upstream.lastRequest()
		if !strings.HasPrefix(got.RequestURI, "/") {
			t.Fatalf("%s %q reached the upstream as %q (status %d): not origin-form", method, target, got.RequestURI, rec.Code)
		}
		for _, alt := range upstreamReadings(got.URL.Path) {
			rt, err := fg.gw.router.match(alt)
			if err != nil || rt.auth != config.AuthNone {
				t.Fatalf("%s %q reached the upstream as %q with no token, which an upstream may read as %q (route %q, auth %q, err %v)",
					method, target, got.RequestURI, alt, rt.label, rt.auth, err)
			}
		}
	})
}

// FuzzLookupNames sends a valid token under the lookup's name and another
// value under a second, fuzzed name, in a cookie or in the query. The
// oracle reads that second name as PHP and Python do (modelled here on
// their documented rules, independently of names.go): if either would read
// it as the lookup's name, the request must never reach the upstream.
func FuzzLookupNames(f *testing.F) {
	for _, seed := range []string{"access_token", "access.token", "access token", " access_token", "access_token ", "access_token\u00a0",
		"access_token[x]", "access[token", "other", "Access_token", "access%5Ftoken", "\u2003access_token", "access_token\x00x"} {
		f.Add(seed, true)
		f.Add(seed, false)
	}
	fg := newFuzzGateway(f, nil, func(c *config.Config) {
		c.JWT.Lookup = []string{"cookie:access_token", "query:access_token"}
	})
	token := mint(f, tok{})
	f.Fuzz(func(t *testing.T, name string, inCookie bool) {
		if name == "access_token" || name == "" {
			return
		}
		var req *http.Request
		if inCookie {
			if strings.ContainsAny(name, ";=\r\n\x00") {
				return // no such cookie pair
			}
			req = request(http.MethodGet, "/x", nil)
			req.Header.Set("Cookie", "access_token="+token+"; "+name+"=other-value")
		} else {
			req = request(http.MethodGet, "/x?access_token="+token+"&"+url.QueryEscape(name)+"=other-value", nil)
		}
		if req == nil {
			return
		}
		before := fg.upstream.hits.Load()
		rec := serve(fg.proxy, req)
		if fg.upstream.hits.Load() == before {
			return
		}
		if phpReads(name) == "access_token" || (inCookie && pythonReads(name) == "access_token") {
			t.Fatalf("a second credential named %q (cookie %v) reached the upstream with status %d", name, inCookie, rec.Code)
		}
	})
}

// phpReads is the variable name PHP gives a query or cookie name: cut at a
// NUL, leading whitespace skipped, '.' and ' ' made '_' (and a '[' without
// a closing ']' too) up to the first '[', and "a[b]" read as "a".
func phpReads(name string) string {
	name, _, _ = strings.Cut(name, "\x00")
	name = strings.TrimLeft(name, " \t\n\r\v\f")
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		switch c := name[i]; c {
		case '.', ' ':
			b.WriteByte('_')
		case '[':
			if strings.IndexByte(name[i:], ']') > 0 {
				return b.String()
			}
			b.WriteByte('_')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// pythonReads is a cookie name as Python's str.strip leaves it, reading
// the header as UTF-8.
func pythonReads(name string) string {
	return strings.TrimFunc(name, func(r rune) bool {
		return unicode.IsSpace(r) || r == '\x1c' || r == '\x1d' || r == '\x1e' || r == '\x1f' || r == '\x85'
	})
}
