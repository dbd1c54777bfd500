package gateway

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/revgate/revgate/config"
	"github.com/revgate/revgate/internal/redistest"
	"github.com/revgate/revgate/revocation"
)

// browser is a cookie-keeping client of the console that does not follow
// redirects, so tests see each answer.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// send makes one request; headers are extra request headers.
func (b *browser) send(method, path string, form url.Values, headers ...string) (*http.Response, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	return resp, string(got)
}

func (b *browser) get(path string) (*http.Response, string) { return b.send(http.MethodGet, path, nil) }

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the CSRF token off a console page.
func (b *browser) csrf() string {
	b.t.Helper()
	_, page := b.get("/console/lookup")
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		b.t.Fatalf("no CSRF token on the lookup page:\n%s", page)
	}
	return m[1]
}

func (b *browser) signIn(token string) *http.Response {
	b.t.Helper()
	resp, _ := b.send(http.MethodPost, "/console/signin", url.Values{"token": {token}})
	return resp
}

// post sends a console form with the session's CSRF token.
func (b *browser) post(path string, form url.Values, headers ...string) (*http.Response, string) {
	b.t.Helper()
	form.Set("csrf", b.csrf())
	return b.send(http.MethodPost, path, form, headers...)
}

func signedIn(t *testing.T, h *harness) *browser {
	t.Helper()
	b := newBrowser(t, h.admin.URL)
	if resp := b.signIn(testAdminToken); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d, want 303", resp.StatusCode)
	}
	return b
}

func TestConsoleSendsItsSecurityHeadersOnEveryAnswer(t *testing.T) {
	h := newHarness(t, nil, nil)
	b := signedIn(t, h)
	want := map[string]string{
		"Content-Security-Policy": "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "no-referrer",
		"X-Content-Type-Options":  "nosniff",
	}
	for _, path := range []string{"/console/", "/console/signin", "/console/lookup", "/console/trail", "/console/status",
		"/console/everything", "/console/style.css", "/console/nope"} {
		resp, _ := b.get(path)
		for k, v := range want {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("%s: %s = %q, want %q", path, k, got, v)
			}
		}
		if path != "/console/style.css" && resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control = %q, want no-store", path, resp.Header.Get("Cache-Control"))
		}
	}
}

func TestConsoleSignIn(t *testing.T) {
	h := newHarness(t, nil, nil)

	t.Run("a wrong token is refused and gets no session", func(t *testing.T) {
		b := newBrowser(t, h.admin.URL)
		if resp := b.signIn("not-the-token-0123456789"); resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) != 0 {
			t.Fatalf("sign-in with a wrong token: %d, cookies %v; want 401 and none", resp.StatusCode, resp.Cookies())
		}
		if resp, _ := b.get("/console/lookup"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/signin" {
			t.Fatalf("lookup after a refused sign-in: %d to %q; want 303 to the sign-in", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
	t.Run("the right token gets a strict, HttpOnly cookie that holds no token", func(t *testing.T) {
		b := newBrowser(t, h.admin.URL)
		resp := b.signIn(testAdminToken)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/lookup" {
			t.Fatalf("sign-in: %d to %q; want 303 to the lookup", resp.StatusCode, resp.Header.Get("Location"))
		}
		var c *http.Cookie
		for _, k := range resp.Cookies() {
			if k.Name == "revgate_console" {
				c = k
			}
		}
		if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/console/" || c.MaxAge != int((8*time.Hour).Seconds()) {
			t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/console/, Max-Age 8h", c)
		}
		// The test server is on loopback: no Secure, or plain-HTTP
		// port-forwarding could not keep the cookie.
		if c.Secure {
			t.Fatal("session cookie is Secure on a loopback connection")
		}
		if strings.Contains(c.Value, testAdminToken) {
			t.Fatal("the session cookie holds the admin token")
		}
		for _, p := range []string{"/console/lookup", "/console/trail", "/console/status", "/console/everything"} {
			resp, page := b.get(p)
			if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Signed in as <strong>ops</strong>") {
				t.Fatalf("%s: %d, want 200 naming ops:\n%s", p, resp.StatusCode, page)
			}
			if strings.Contains(page, testAdminToken) {
				t.Fatalf("%s shows the admin token", p)
			}
		}
	})
	t.Run("a sign-in from another site is refused", func(t *testing.T) {
		b := newBrowser(t, h.admin.URL)
		resp, _ := b.send(http.MethodPost, "/console/signin", url.Values{"token": {testAdminToken}}, "Sec-Fetch-Site", "cross-site")
		if resp.StatusCode != http.StatusForbidden || len(resp.Cookies()) != 0 {
			t.Fatalf("cross-site sign-in: %d, cookies %v; want 403 and none", resp.StatusCode, resp.Cookies())
		}
	})
	t.Run("no session: pages redirect to the sign-in, forms are refused", func(t *testing.T) {
		b := newBrowser(t, h.admin.URL)
		if resp, _ := b.get("/console/trail"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/signin" {
			t.Fatalf("trail without a session: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		resp, _ := b.send(http.MethodPost, "/console/change", url.Values{"kind": {"subject"}, "value": {"alice"}, "reason": {"x"}, "op": {"revoke"}})
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("change without a session: %d, want 401", resp.StatusCode)
		}
		if _, err := h.store.GetSubject(context.Background(), "alice"); err == nil {
			t.Fatal("a change without a session was made")
		}
	})
	t.Run("a tampered cookie is no session", func(t *testing.T) {
		b := signedIn(t, h)
		u, _ := url.Parse(h.admin.URL + "/console/")
		c := b.c.Jar.Cookies(u)[0]
		// The payload names the actor: another name under the same MAC.
		p64, mac, _ := strings.Cut(c.Value, ".")
		payload, _ := base64.RawURLEncoding.DecodeString(p64)
		forged := base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), "|ops", "|root", 1))) + "." + mac
		for _, value := range []string{c.Value, forged} {
			resp, _ := newBrowser(t, h.admin.URL).send(http.MethodGet, "/console/lookup", nil, "Cookie", c.Name+"="+value)
			if want := map[bool]int{true: http.StatusOK, false: http.StatusSeeOther}[value == c.Value]; resp.StatusCode != want {
				t.Fatalf("lookup with cookie %q: %d, want %d", value, resp.StatusCode, want)
			}
		}
	})
	t.Run("signing out ends the session, even for a copy of the cookie", func(t *testing.T) {
		b := signedIn(t, h)
		u, _ := url.Parse(h.admin.URL + "/console/")
		saved := b.c.Jar.Cookies(u)
		if resp, _ := b.post("/console/signout", url.Values{}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-out: %d", resp.StatusCode)
		}
		replay := newBrowser(t, h.admin.URL)
		replay.c.Jar.SetCookies(u, saved)
		if resp, _ := replay.get("/console/lookup"); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("a signed-out cookie replayed: %d, want 303 to the sign-in", resp.StatusCode)
		}
	})
}

func TestConsoleRefusesFormsWithoutTheirCSRFToken(t *testing.T) {
	h := newHarness(t, nil, nil)
	b := signedIn(t, h)
	form := func() url.Values {
		return url.Values{"kind": {"subject"}, "value": {"alice"}, "reason": {"test"}, "op": {"revoke"}}
	}
	good := b.csrf()
	tests := []struct {
		name    string
		csrf    string
		headers []string
	}{
		{"no CSRF token", "", nil},
		{"a wrong CSRF token", good[:len(good)-2] + "AA", nil},
		{"another session's CSRF token", signedIn(t, h).csrf(), nil},
		{"the right token, from another site (Sec-Fetch-Site)", good, []string{"Sec-Fetch-Site", "cross-site"}},
		{"the right token, from another origin", good, []string{"Origin", "http://evil.example"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := form()
			if tt.csrf != "" {
				f.Set("csrf", tt.csrf)
			}
			resp, _ := b.send(http.MethodPost, "/console/change", f, tt.headers...)
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("%d, want 403", resp.StatusCode)
			}
			if _, err := h.store.GetSubject(context.Background(), "alice"); err == nil {
				t.Fatal("the change was made")
			}
		})
	}
	t.Run("the right token from the console's own page is taken", func(t *testing.T) {
		f := form()
		f.Set("csrf", good)
		resp, _ := b.send(http.MethodPost, "/console/change", f, "Sec-Fetch-Site", "same-origin", "Origin", h.admin.URL)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("%d, want 303", resp.StatusCode)
		}
		if _, err := h.store.GetSubject(context.Background(), "alice"); err != nil {
			t.Fatalf("the change was not made: %v", err)
		}
	})
}

func TestConsoleRevokesAndUnrevokesThroughTheAdminAPI(t *testing.T) {
	backends(t, func(t *testing.T, store func() revocation.Store) {
		h := newHarness(t, store(), nil)
		b := signedIn(t, h)
		token := mint(t, tok{sub: "alice"})
		if resp := h.get("/x", token); resp.StatusCode != http.StatusOK {
			t.Fatalf("before: %d", resp.StatusCode)
		}

		resp, _ := b.post("/console/change", url.Values{"kind": {"subject"}, "value": {"alice"}, "reason": {"laptop stolen"}, "op": {"revoke"}})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/lookup?kind=subject&q=alice" {
			t.Fatalf("revoke: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		if resp := h.get("/x", token); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("a token of the revoked subject: %d, want 401", resp.StatusCode)
		}
		_, page := b.get("/console/lookup?kind=subject&q=alice")
		for _, want := range []string{"Subject alice revoked", `<strong class="revoked">revoked</strong>`, "revoke_subject by <strong>ops</strong>", "laptop stolen"} {
			if !strings.Contains(page, want) {
				t.Errorf("lookup page lacks %q:\n%s", want, page)
			}
		}
		_, page = b.get("/console/trail?subject=alice")
		if !strings.Contains(page, "laptop stolen") || !strings.Contains(page, "<td>ops</td>") {
			t.Errorf("trail lacks the revocation:\n%s", page)
		}
		if _, page = b.get("/console/trail?actor=someone-else"); strings.Contains(page, "laptop stolen") {
			t.Error("the trail filtered by another actor shows ops's change")
		}

		// Unrevoking needs a reason too; it reaches the audit log.
		resp, _ = b.post("/console/change", url.Values{"kind": {"subject"}, "value": {"alice"}, "reason": {" "}, "op": {"unrevoke"}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("unrevoke without a reason: %d", resp.StatusCode)
		}
		if resp := h.get("/x", token); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("unrevoked without a reason: %d", resp.StatusCode)
		}
		b.post("/console/change", url.Values{"kind": {"subject"}, "value": {"alice"}, "reason": {"found it"}, "op": {"unrevoke"}})
		if resp := h.get("/x", token); resp.StatusCode != http.StatusOK {
			t.Fatalf("after unrevoking: %d, want 200", resp.StatusCode)
		}
		logs := h.logs.String()
		for _, want := range []string{`"action":"revoke_subject","actor":"ops"`, `"reason":"laptop stolen"`,
			`"action":"unrevoke_subject","actor":"ops"`, `"reason":"found it"`} {
			if !strings.Contains(logs, want) {
				t.Errorf("audit log lacks %s", want)
			}
		}
		ev, err := h.gw.trail.Recent(context.Background(), revocation.TrailFilter{Subject: "alice"}, 10)
		if err != nil || len(ev) != 2 || ev[0].Action != "unrevoke_subject" || ev[0].Reason != "found it" || ev[1].Actor != "ops" {
			t.Fatalf("trail = %+v, %v", ev, err)
		}
	})
}

func TestConsoleRevokesAPastedTokenWithoutShowingIt(t *testing.T) {
	h := newHarness(t, nil, nil)
	b := signedIn(t, h)
	jti := randomJTI()
	token := mint(t, tok{sub: "bob", jti: jti})
	resp, _ := b.post("/console/change", url.Values{"kind": {"token"}, "value": {token}, "reason": {"leaked in a ticket"}, "op": {"revoke"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/lookup?kind=jti&q="+url.QueryEscape(jti) {
		t.Fatalf("revoke: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, err := h.store.GetToken(context.Background(), jti); err != nil {
		t.Fatalf("jti not revoked: %v", err)
	}
	_, page := b.get(resp.Header.Get("Location"))
	if !strings.Contains(page, "Token revoked (jti "+jti) {
		t.Errorf("no confirmation:\n%s", page)
	}
	if strings.Contains(page, token) || strings.Contains(page, strings.Split(token, ".")[2]) {
		t.Fatal("the page shows the pasted token")
	}
	// A token that does not verify changes nothing and is not echoed.
	bad := token[:len(token)-4] + "AAAA"
	resp, _ = b.post("/console/change", url.Values{"kind": {"token"}, "value": {bad}, "reason": {"x"}, "op": {"revoke"}})
	_, page = b.get(resp.Header.Get("Location"))
	if !strings.Contains(page, "Nothing was changed") || strings.Contains(page, bad) {
		t.Fatalf("a bad token: want a refusal that does not show it:\n%s", page)
	}
}

func TestConsoleRevokesEverythingOnlyWhenTyped(t *testing.T) {
	h := newHarness(t, nil, nil)
	b := signedIn(t, h)
	b.post("/console/everything", url.Values{"reason": {"key leaked"}, "confirm": {"revoke"}, "op": {"revoke"}})
	if _, err := h.store.GetGlobal(context.Background()); err == nil {
		t.Fatal("revoked everything without the typed confirmation")
	}
	_, page := b.get("/console/everything")
	if !strings.Contains(page, `type &#34;revoke everything&#34; to confirm`) {
		t.Errorf("no explanation of the refusal:\n%s", page)
	}
	b.post("/console/everything", url.Values{"reason": {"key leaked"}, "confirm": {"revoke everything"}, "op": {"revoke"}})
	if _, err := h.store.GetGlobal(context.Background()); err != nil {
		t.Fatalf("not revoked with the confirmation: %v", err)
	}
	if resp := h.get("/x", mint(t, tok{sub: "carol", iat: time.Now().Add(-time.Minute)})); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a token after revoking everything: %d", resp.StatusCode)
	}
	b.post("/console/everything", url.Values{"reason": {"rotated"}, "confirm": {"unrevoke everything"}, "op": {"unrevoke"}})
	if _, err := h.store.GetGlobal(context.Background()); err == nil {
		t.Fatal("the global mark stays after clearing it")
	}
}

func TestConsoleWithoutAuthNeedsNoSignIn(t *testing.T) {
	h := newHarness(t, nil, func(c *config.Config) {
		c.Admin.Tokens, c.Admin.InsecureNoAuth = nil, true
	})
	b := newBrowser(t, h.admin.URL)
	if resp, _ := b.get("/console/signin"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in page with no auth: %d, want 303 to the lookup", resp.StatusCode)
	}
	b.post("/console/change", url.Values{"kind": {"subject"}, "value": {"dave"}, "reason": {"demo"}, "op": {"revoke"}})
	if _, err := h.store.GetSubject(context.Background(), "dave"); err != nil {
		t.Fatalf("not revoked: %v", err)
	}
	if !strings.Contains(h.logs.String(), `"actor":"anonymous (insecure_no_auth)"`) {
		t.Fatal("audit event without the anonymous actor")
	}
	// Still a CSRF token: any page open on this machine could post here.
	resp, _ := b.send(http.MethodPost, "/console/change", url.Values{"kind": {"subject"}, "value": {"erin"}, "reason": {"x"}, "op": {"revoke"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("no CSRF token with no auth: %d, want 403", resp.StatusCode)
	}
}

func TestConsolePagesStayUnder50KB(t *testing.T) {
	h := newHarness(t, nil, nil)
	b := signedIn(t, h)
	long := strings.Repeat("a reason that goes on ", 46) // ~1 KiB, the most a reason may be
	for i := range 150 {
		code, _ := h.adminCall(http.MethodPost, "/v1/revocations/subjects/user-"+strings.Repeat("x", 30)+string(rune('a'+i%26)), `{"reason":"`+long+`"}`)
		if code != http.StatusOK {
			t.Fatalf("revoke: %d", code)
		}
	}
	for _, p := range []string{"/console/signin", "/console/lookup?kind=subject&q=user-" + strings.Repeat("x", 30) + "a", "/console/trail", "/console/status", "/console/everything"} {
		_, page := b.get(p)
		if len(page) > 50<<10 {
			t.Errorf("%s is %d bytes, over 50 KB", p, len(page))
		}
	}
}

func TestConsoleTrailFailureDoesNotFailTheRevocation(t *testing.T) {
	h := newHarness(t, nil, nil)
	srv := redistest.Start(t, redistest.Options{})
	client := srv.NewClient()
	t.Cleanup(func() { _ = client.Close() })
	h.gw.trail = revocation.NewRedisTrail(client, "", 100)
	srv.Stop()
	code, _ := h.adminCall(http.MethodPost, "/v1/revocations/subjects/frank", `{"reason":"test"}`)
	if code != http.StatusOK {
		t.Fatalf("revoke with the trail down: %d, want 200", code)
	}
	if _, err := h.store.GetSubject(context.Background(), "frank"); err != nil {
		t.Fatalf("not revoked: %v", err)
	}
	series, _ := h.scrape()
	var n float64
	for k, v := range series {
		if strings.HasPrefix(k, "revgate_store_errors_total{") && strings.Contains(k, `op="trail"`) {
			n += v
		}
	}
	if n != 1 {
		t.Fatalf(`store_errors_total{op="trail"} = %v, want 1`, n)
	}
	if !strings.Contains(h.logs.String(), "writing the console trail failed") {
		t.Fatal("the trail failure was not logged")
	}
}

func TestConsoleOffServesNothing(t *testing.T) {
	h := newHarness(t, nil, func(c *config.Config) { c.Console.Enabled = false })
	resp, err := http.Get(h.admin.URL + "/console/signin")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("console.enabled false: %d, want 404", resp.StatusCode)
	}
	if h.gw.trail != nil {
		t.Fatal("a trail is written with the console off")
	}
}

func TestConsoleCarriesAwkwardIDsIntact(t *testing.T) {
	h := newHarness(t, nil, nil)
	b := signedIn(t, h)
	for _, id := range []string{"team/α b?x=1#y", "..", "%2F", "auth0|5f7c<script>"} {
		b.post("/console/change", url.Values{"kind": {"subject"}, "value": {id}, "reason": {"test"}, "op": {"revoke"}})
		if _, err := h.store.GetSubject(context.Background(), id); err != nil {
			t.Errorf("subject %q not revoked: %v", id, err)
		}
		_, page := b.get("/console/lookup?kind=subject&q=" + url.QueryEscape(id))
		if !strings.Contains(page, `<strong class="revoked">revoked</strong>`) {
			t.Errorf("lookup of %q does not show it revoked", id)
		}
		if strings.Contains(page, "<script>") {
			t.Errorf("lookup of %q shows it unescaped", id)
		}
	}
}

func TestConsoleStatusShowsTheStoreKeysAndRequests(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{Args: []string{"--maxmemory-policy", "allkeys-lru"}})
	client := srv.NewClient()
	t.Cleanup(func() { _ = client.Close() })
	h := newHarness(t, revocation.NewRedis(client, revocation.RedisOptions{}), nil)
	h.gw.eviction = func(ctx context.Context) (string, error) { return revocation.EvictionPolicy(ctx, client) }
	b := signedIn(t, h)

	h.gw.console.requests.Sample()
	for range 3 {
		h.get("/x", mint(t, tok{sub: "alice"}))
	}
	h.get("/x", "")
	_, page := b.get("/console/status")
	for _, want := range []string{"<dt>Reachable</dt><dd>yes</dd>", "allkeys-lru", "UNSAFE",
		`<tr><td>allowed</td><td class="num">3</td>`, `<tr><td>no_token</td><td class="num">1</td>`} {
		if !strings.Contains(page, want) {
			t.Errorf("status page lacks %s", want)
		}
	}
	if !strings.Contains(page, "<td>RS256</td>") {
		t.Errorf("status page lists no RS256 key:\n%s", page)
	}

	srv.Stop()
	if _, page = b.get("/console/status"); !strings.Contains(page, `<dt>Reachable</dt><dd><strong class="revoked">no</strong></dd>`) {
		t.Errorf("status page with Redis down:\n%s", page)
	}
	// The trail cannot be read: said so, not a failed page.
	if resp, page := b.get("/console/trail"); resp.StatusCode != http.StatusOK || !strings.Contains(page, "cannot be read now") {
		t.Errorf("trail with Redis down: %d\n%s", resp.StatusCode, page)
	}
}

func TestConsoleLooksUpTokensAndSessions(t *testing.T) {
	h := newHarness(t, nil, nil)
	b := signedIn(t, h)
	b.post("/console/change", url.Values{"kind": {"jti"}, "value": {"j-42"}, "reason": {"leaked"}, "op": {"revoke"}})
	b.post("/console/change", url.Values{"kind": {"session"}, "value": {"sid-7"}, "reason": {"stolen laptop"}, "op": {"revoke"}})
	for _, q := range []struct{ kind, id, reason string }{{"jti", "j-42", "leaked"}, {"session", "sid-7", "stolen laptop"}} {
		_, page := b.get("/console/lookup?kind=" + q.kind + "&q=" + q.id)
		for _, want := range []string{`<strong class="revoked">revoked</strong>`, "<dt>Record expires</dt><dd>20", q.reason} {
			if !strings.Contains(page, want) {
				t.Errorf("lookup of %s %s lacks %s", q.kind, q.id, want)
			}
		}
	}
	_, page := b.get("/console/lookup?kind=session&q=sid-unknown")
	if !strings.Contains(page, "<dd>not revoked</dd>") || !strings.Contains(page, "none in the trail") {
		t.Errorf("lookup of an unknown session:\n%s", page)
	}
}
