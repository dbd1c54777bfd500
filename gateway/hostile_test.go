package gateway

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/revgate/revgate/config"
	"github.com/revgate/revgate/internal/testkit"
	"github.com/revgate/revgate/revocation"
)

// The hostile input matrix: every attack here is sent to a real gateway,
// the in-process handler behind a real http.Server or called directly.
// The attacks whose protection lives in how `revgate serve` configures its
// listeners run against the binary, in cmd/revgate/deployed_test.go.

func TestHostilePathTricksNeverReachTheUpstreamUnauthenticated(t *testing.T) {
	wire := testkit.NewWireUpstream(t)
	h := newHarness(t, nil, func(c *config.Config) {
		c.Upstream.URL = wire.URL()
		c.Routes = []config.Route{{Prefix: "/public/", Auth: config.AuthNone}}
	})
	addr := strings.TrimPrefix(h.proxy.URL, "http://")
	// forwardedPaths are the decoded paths of the request lines the upstream
	// received.
	forwardedPaths := func() []string {
		var ps []string
		for _, r := range wire.Requests() {
			_, target, _ := strings.Cut(r.Line, " ")
			target, _, _ = strings.Cut(target, " ")
			u, err := url.ParseRequestURI(target)
			if err != nil {
				t.Fatalf("the upstream got an unparsable request line %q", r.Line)
			}
			ps = append(ps, u.Path)
		}
		return ps
	}
	cases := []struct {
		target string
		want   int
	}{
		{"/public/x", 200},
		{"/admin", 401},
		{"/public/../admin", 401},
		{"/public/./../admin", 401},
		{"/public/x/../../admin", 401},
		{"/public/%2e%2e/admin", 401},
		{"/public/%2E%2E/admin", 401},
		{"/public/.%2e/admin", 401},
		{"/PUBLIC/../admin", 401},
		{"//admin", 401},
		{"/./admin", 401},
		{"/admin;/", 401},
		{"/admin/", 401},
		{"http://evil.test/admin", 401}, // absolute-form request target
		{"/public%2F..%2Fadmin", 400},
		{"/public/..%2Fadmin", 400},
		{"/public/..%2fadmin", 400},
		{"/admin%2f", 400},
		{"/public/..;/admin", 400},     // Tomcat, Jetty, Spring: /admin
		{"/public/%2e%2e;/admin", 400}, // the same, encoded
		{"/public/..;jsessionid=x/admin", 400},
		{`/public/..\admin`, 400}, // IIS, ASP.NET: /admin
		{`/public\..\admin`, 400},
		{"/public/%5c../admin", 400},
		{"/public/%2e%2e%5cadmin", 400},
		{"/public/..%252fadmin", 200}, // a file named "..%2fadmin" under /public/
	}
	for _, c := range cases {
		before := len(forwardedPaths())
		got := testkit.Statuses(testkit.RawRequest(t, addr, "GET "+c.target+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 3*time.Second))
		if len(got) != 1 || got[0] != c.want {
			t.Errorf("GET %s: %v, want [%d]", c.target, got, c.want)
		}
		paths := forwardedPaths()[before:]
		if c.want != 200 && len(paths) != 0 {
			t.Errorf("GET %s: the upstream saw %q", c.target, paths)
		}
		for _, p := range paths {
			for _, reading := range upstreamReadings(p) {
				if !strings.HasPrefix(reading, "/public/") {
					t.Errorf("GET %s: the upstream got %q, which it may serve as %q, outside /public/", c.target, p, reading)
				}
			}
		}
	}
	// OPTIONS * is answered by the server itself.
	if got := testkit.Statuses(testkit.RawRequest(t, addr, "OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 3*time.Second)); len(got) != 1 || got[0] >= 300 {
		t.Errorf("OPTIONS *: %v", got)
	}
	if n := len(forwardedPaths()); n != 2 {
		t.Fatalf("the upstream saw %d requests, want the 2 public ones", n)
	}
}

func TestHostileTenThousandUnknownKidsHitTheIssuerAtMostOncePerCooldown(t *testing.T) {
	pub, err := testSigningKey(t).PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	set := jwk.NewSet()
	_ = set.AddKey(pub)
	body, _ := json.Marshal(set)
	jwks := testkit.NewJWKSServer(t, body)
	h := newHarness(t, nil, func(c *config.Config) {
		c.JWT.JWKSFile = ""
		c.JWT.JWKSURL = jwks.URL
		c.JWT.JWKSUnknownKidCooldown = time.Hour
	})
	if got := jwks.Hits.Load(); got != 1 {
		t.Fatalf("JWKS hits after start = %d, want 1", got)
	}
	handler := h.gw.ProxyHandler()
	const workers, each = 10, 1000
	var wrong atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				// A well-formed token with a kid nobody issued; the
				// signature is never reached.
				hdr := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT","kid":"` + randomJTI() + `"}`))
				raw := hdr + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"x","w":`+strconv.Itoa(w*each+i)+`}`)) + ".c2lnbmF0dXJl"
				req := httptest.NewRequest(http.MethodGet, "/x", nil)
				req.Header.Set("Authorization", "Bearer "+raw)
				rec := httptest.NewRecorder()
				handler.ServeHTTP(rec, req)
				if rec.Code != http.StatusUnauthorized {
					wrong.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if n := wrong.Load(); n != 0 {
		t.Errorf("%d of %d unknown-kid tokens were not refused with 401", n, workers*each)
	}
	if n := h.upstream.hits.Load(); n != 0 {
		t.Errorf("the upstream saw %d requests", n)
	}
	if got := jwks.Hits.Load(); got > 2 {
		t.Fatalf("JWKS hits after %d unknown kids = %d, want at most 2 (start and one refetch per cooldown)", workers*each, got)
	}
	// The issuer's own tokens still work.
	wantStatus(t, h.get("/x", mint(t, tok{})), http.StatusOK)
}

func TestHostileOversizedBodiesGet413AndStoreNothing(t *testing.T) {
	store := &countingStore{Store: revocation.NewMemory(nil)}
	h := newHarness(t, store, func(c *config.Config) {
		c.Routes = []config.Route{{Prefix: "/api/token/refresh/", Auth: config.AuthRefresh}}
		c.JWT.RefreshReuseDetection = true
	})
	access := mint(t, tok{sub: "alice", jti: "access-1"})
	refresh := mint(t, tok{sub: "alice", jti: "refresh-1"})
	// pad makes a JSON document of exactly n bytes: trailing whitespace is
	// valid JSON, so only the size can make it fail.
	pad := func(doc string, n int) string { return doc + strings.Repeat(" ", n-len(doc)) }

	cases := []struct {
		name, url, auth, doc string
		admin                bool
		okStatus             int
	}{
		{"refresh", h.proxy.URL + "/api/token/refresh/", "", `{"refresh":"` + refresh + `"}`, false, 200},
		{"logout", h.proxy.URL + "/auth/logout", access, `{"all":true}`, false, 200},
		{"admin token revocation", h.admin.URL + "/v1/revocations/tokens", testAdminToken, `{"jti":"admin-1"}`, true, 200},
		{"admin subject revocation", h.admin.URL + "/v1/revocations/subjects/bob", testAdminToken, `{"reason":"x"}`, true, 200},
		{"admin global revocation", h.admin.URL + "/v1/revocations/all", testAdminToken, `{}`, true, 200},
	}
	for _, c := range cases {
		for _, chunked := range []bool{false, true} {
			name := c.name + " with Content-Length"
			if chunked {
				name = c.name + " chunked"
			}
			t.Run(name, func(t *testing.T) {
				writes, hits := store.writes.Load(), h.upstream.hits.Load()
				var body io.Reader = strings.NewReader(pad(c.doc, maxBodyBytes+1))
				if chunked {
					body = io.MultiReader(body) // unknown length: sent chunked
				}
				req, _ := http.NewRequest(http.MethodPost, c.url, body)
				req.Header.Set("Content-Type", "application/json")
				if c.auth != "" {
					req.Header.Set("Authorization", "Bearer "+c.auth)
				}
				wantStatus(t, h.do(req), http.StatusRequestEntityTooLarge)
				if n := store.writes.Load() - writes; n != 0 {
					t.Errorf("%d writes to the store", n)
				}
				if n := h.upstream.hits.Load() - hits; n != 0 {
					t.Errorf("the upstream saw %d requests", n)
				}
			})
		}
	}
	if _, err := store.GetToken(t.Context(), "access-1"); !errors.Is(err, revocation.ErrNotFound) {
		t.Fatalf("an oversized logout revoked the caller's token (err %v)", err)
	}
	// At exactly the limit every body is accepted. The order matters: the
	// logout revokes alice, whose refresh token the first case uses, and
	// the global mark revokes every token.
	for _, i := range []int{0, 2, 3, 1, 4} {
		c := cases[i]
		req, _ := http.NewRequest(http.MethodPost, c.url, strings.NewReader(pad(c.doc, maxBodyBytes)))
		req.Header.Set("Content-Type", "application/json")
		if c.auth != "" {
			req.Header.Set("Authorization", "Bearer "+c.auth)
		}
		resp := h.do(req)
		if resp.StatusCode != c.okStatus {
			t.Errorf("%s at exactly %d bytes: %d, want %d", c.name, maxBodyBytes, resp.StatusCode, c.okStatus)
		}
	}
}

func TestHostileRefreshBodiesTheIssuerWouldReadDifferently(t *testing.T) {
	h := newHarness(t, nil, func(c *config.Config) {
		c.Routes = []config.Route{{Prefix: "/api/token/refresh/", Auth: config.AuthRefresh}}
		c.JWT.RefreshRequiredClaims = map[string]any{"token_type": "refresh"}
	})
	refresh := func(jti string) string {
		return mint(t, tok{sub: "alice", jti: jti, extra: map[string]any{"token_type": "refresh"}})
	}
	valid, revoked := refresh("valid-1"), refresh("revoked-1")
	h.mustAdmin(http.MethodPost, "/v1/revocations/tokens", `{"token":"`+revoked+`"}`)
	post := func(body string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, h.proxy.URL+"/api/token/refresh/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		return h.do(req)
	}
	wantStatus(t, post(`{"refresh":"`+revoked+`"}`), http.StatusUnauthorized)
	wantStatus(t, post(`{"refresh":"`+valid+`","other":"x"}`), http.StatusOK)
	hits := h.upstream.hits.Load()

	// encoding/json matches member names case-insensitively (and folds
	// U+017F to s); the issuer's parser (Python's json, for simplejwt)
	// matches them exactly. Each body would have the gateway check the
	// valid token while the issuer honors the revoked one.
	for name, body := range map[string]string{
		"a capitalized member":      `{"refresh":"` + revoked + `","Refresh":"` + valid + `"}`,
		"an upper-case member":      `{"refresh":"` + revoked + `","REFRESH":"` + valid + `"}`,
		"a long s":                  `{"refresh":"` + revoked + `","refre` + "\u017f" + `h":"` + valid + `"}`,
		"a long s, JSON-escaped":    `{"refresh":"` + revoked + `","refre\u017fh":"` + valid + `"}`,
		"a repeated member":         `{"refresh":"` + revoked + `","refresh":"` + valid + `"}`,
		"only a capitalized member": `{"Refresh":"` + valid + `"}`,
	} {
		if resp := post(body); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", name, resp.StatusCode)
		}
	}
	if n := h.upstream.hits.Load() - hits; n != 0 {
		t.Fatalf("the issuer saw %d of the ambiguous bodies", n)
	}

	// A body that is JSON to the gateway but a form to the issuer (Django
	// REST framework parses by Content-Type) would name another token:
	// only application/json is taken.
	postAs := func(body string, header http.Header) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, h.proxy.URL+"/api/token/refresh/", strings.NewReader(body))
		req.Header = header
		return h.do(req)
	}
	smuggled := `{"refresh":"` + valid + `","x":"&refresh=` + revoked + `&y=","z":1}`
	for name, header := range map[string]http.Header{
		"a form":                   {"Content-Type": {"application/x-www-form-urlencoded"}},
		"multipart":                {"Content-Type": {"multipart/form-data; boundary=x"}},
		"text/plain":               {"Content-Type": {"text/plain"}},
		"no Content-Type":          {},
		"two Content-Types":        {"Content-Type": {"application/json", "application/x-www-form-urlencoded"}},
		"a latin-1 charset":        {"Content-Type": {"application/json; charset=latin-1"}},
		"another parameter":        {"Content-Type": {"application/json; x=y"}},
		"a Content-Encoding":       {"Content-Type": {"application/json"}, "Content-Encoding": {"gzip"}},
		"a malformed Content-Type": {"Content-Type": {"application/json; charset"}},
	} {
		if resp := postAs(smuggled, header); resp.StatusCode != http.StatusUnsupportedMediaType {
			t.Errorf("%s: %d, want 415", name, resp.StatusCode)
		}
	}
	if n := h.upstream.hits.Load() - hits; n != 0 {
		t.Fatalf("the issuer saw %d of the non-JSON bodies", n)
	}
	wantStatus(t, postAs(`{"refresh":"`+valid+`"}`, http.Header{"Content-Type": {"Application/JSON; Charset=UTF-8"}}), http.StatusOK)
}
