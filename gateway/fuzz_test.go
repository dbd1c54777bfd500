package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/revgate/revgate/gateway/jwtverify"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/revgate/revgate/config"
	"github.com/revgate/revgate/revocation"
)

// These fuzz targets run their seed corpora (testdata/fuzz/<Name>/) as
// ordinary tests. To fuzz one:
//
//	go test -run '^$' -fuzz '^FuzzExtract$' -fuzztime 5m -parallel 1 ./gateway/
//
// Corpus entries for the handler targets may hold placeholders ($ACCESS,
// $VALID, ...) that the target replaces with tokens signed at start, so a
// static corpus can reach the paths behind a valid signature.

// fuzzGateway is a gateway driven through its handlers without a network
// between client and gateway (the upstream is a real loopback server).
type fuzzGateway struct {
	gw       *Gateway
	cfg      *config.Config
	proxy    http.Handler
	admin    http.Handler
	upstream *upstreamRecorder
	store    *countingStore
}

// newFuzzGateway builds a gateway on store (nil: memory) with a registry of
// its own. mutate may change the configuration before validation.
func newFuzzGateway(tb testing.TB, store revocation.Store, mutate func(*config.Config)) *fuzzGateway {
	tb.Helper()
	if store == nil {
		store = revocation.NewMemory(nil)
	}
	fg := &fuzzGateway{upstream: newUpstream(tb), store: &countingStore{Store: store}}
	fg.cfg = testConfig(tb, fg.upstream.srv.URL)
	if mutate != nil {
		mutate(fg.cfg)
	}
	if err := fg.cfg.Validate(); err != nil {
		tb.Fatalf("test configuration invalid: %v", err)
	}
	logger := slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	v, err := jwtverify.NewVerifier(ctx, jwtverify.VerifierConfig{JWT: fg.cfg.JWT, MaxTokenLifetime: fg.cfg.Revocation.MaxTokenLifetime, Logger: logger})
	if err != nil {
		tb.Fatalf("NewVerifier: %v", err)
	}
	reg := prometheus.NewRegistry()
	fg.gw, err = New(Options{Config: fg.cfg, Store: fg.store, Verifier: v, Logger: logger, Registerer: reg, Gatherer: reg})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	fg.proxy, fg.admin = fg.gw.ProxyHandler(), fg.gw.AdminHandler()
	return fg
}

// reset gives the gateway an empty store, so one input's effects never
// change the next one's answer.
func (fg *fuzzGateway) reset() *revocation.Memory {
	m := revocation.NewMemory(nil)
	fg.store.Store = m
	fg.store.checks.Store(0)
	fg.store.writes.Store(0)
	return m
}

// serve runs one request through h and returns the recorded response.
func serve(h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// request builds a request as the server would from a request line, or nil
// when no server would accept target.
func request(method, target string, body []byte) *http.Request {
	u, err := url.ParseRequestURI(target)
	if err != nil || strings.ContainsAny(target, " \t\r\n") {
		return nil
	}
	req := httptest.NewRequest(method, "/", bytes.NewReader(body))
	req.URL, req.RequestURI = u, target
	req.ContentLength = int64(len(body))
	return req
}

// placeholders replaces $NAME in b with the tokens in subs.
func placeholders(b []byte, subs map[string]string) []byte {
	for k, v := range subs {
		b = bytes.ReplaceAll(b, []byte(k), []byte(v))
	}
	return b
}

func FuzzExtract(f *testing.F) {
	x, err := newExtractor([]string{"header:Authorization:Bearer", "header:X-Token", "cookie:tok", "query:access_token"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, authorization, xToken, cookie, rawQuery string) {
		req := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/", RawQuery: rawQuery}, Header: http.Header{}}
		// A NUL separates repeated headers, so duplicates are fuzzed too.
		for name, v := range map[string]string{"Authorization": authorization, "X-Token": xToken, "Cookie": cookie} {
			if v != "" {
				req.Header[name] = strings.Split(v, "\x00")
			}
		}
		raw, err := x.extract(req)
		if err != nil {
			var te *jwtverify.TokenError
			if !errors.As(err, &te) || !(errors.Is(err, jwtverify.ErrNoToken) || errors.Is(err, jwtverify.ErrTokenMalformed)) {
				t.Fatalf("extract error %v (%T) is neither jwtverify.ErrNoToken nor ErrTokenMalformed", err, err)
			}
			for _, in := range []string{authorization, xToken, cookie, rawQuery} {
				if len(in) >= 8 && strings.Contains(te.Description, in) {
					t.Fatalf("error description %q echoes the input", te.Description)
				}
			}
			return
		}
		if raw == "" {
			t.Fatal("extract returned an empty token without an error")
		}
		for i := 0; i < len(raw); i++ {
			if c := raw[i]; c <= ' ' || c == 0x7f {
				t.Fatalf("extracted token %q contains whitespace or a control character (byte %d)", raw, i)
			}
		}
	})
}

func FuzzCleanPath(f *testing.F) {
	rt := newRouter([]config.Route{
		{Prefix: "/public/", Auth: config.AuthNone},
		{Prefix: "/api/token/", Auth: config.AuthNone},
		{Prefix: "/api/token/refresh/", Auth: config.AuthRefresh},
		{Prefix: "/admin", Auth: config.AuthRequired},
		// Prefixes without a trailing slash match whole segments: /health
		// is not /healthy, and /api/token/verify, nested in a `none`
		// route, is not /api/token/verifyx.
		{Prefix: "/health", Auth: config.AuthNone},
		{Prefix: "/api/token/verify", Auth: config.AuthRequired},
	})
	f.Fuzz(func(t *testing.T, target string) {
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return
		}
		c, changed, err := cleanPath(u.Path, u.RawPath)
		if err != nil {
			if !errors.Is(err, errAmbiguousPath) {
				t.Fatalf("cleanPath(%q): unexpected error %v", u.Path, err)
			}
			return
		}
		switch {
		case !strings.HasPrefix(c, "/"):
			t.Fatalf("cleanPath(%q) = %q: does not start with /", u.Path, c)
		case strings.Contains(c, "/../") || strings.HasSuffix(c, "/..") || strings.Contains(c, "/./") || strings.HasSuffix(c, "/.") || strings.Contains(c, "//"):
			t.Fatalf("cleanPath(%q) = %q: not clean", u.Path, c)
		case changed != (c != u.Path):
			t.Fatalf("cleanPath(%q) = %q, changed=%v", u.Path, c, changed)
		}
		if want := path.Clean(c); c != want && c != want+"/" {
			t.Fatalf("cleanPath(%q) = %q, path.Clean gives %q", u.Path, c, want)
		}
		again, changedAgain, err := cleanPath(c, "")
		if err != nil || again != c || changedAgain {
			t.Fatalf("cleanPath is not idempotent: %q -> %q -> %q (changed=%v, err=%v)", u.Path, c, again, changedAgain, err)
		}

		// The route: the longest prefix the cleaned path is under, or the
		// path with its ;parameters dropped and a prefix's trailing slash
		// optional; whichever is not `none` when they differ, and no route
		// at all when they name two different checks. A prefix covers whole
		// segments in both readings: the path itself, or the path cut
		// right after the prefix's last segment (a prefix ending in "/"
		// has already ended it).
		got, matchErr := rt.match(c)
		bare := c
		if strings.Contains(c, ";") {
			segs := strings.Split(c, "/")
			for i, s := range segs {
				segs[i], _, _ = strings.Cut(s, ";")
			}
			bare = strings.Join(segs, "/")
		}
		longest := func(p string, slashOptional bool) route {
			best := rt.fallback
			for _, r := range rt.routes {
				segments := p == r.prefix || strings.HasPrefix(p, strings.TrimSuffix(r.prefix, "/")+"/")
				matches := segments || (slashOptional && strings.HasSuffix(r.prefix, "/") && p == strings.TrimSuffix(r.prefix, "/"))
				if matches && (best == rt.fallback || len(r.prefix) > len(best.prefix)) {
					best = r
				}
			}
			return best
		}
		literal, lenient := longest(c, false), longest(bare, true)
		switch {
		case literal.auth != lenient.auth && literal.auth != config.AuthNone && lenient.auth != config.AuthNone:
			if !errors.Is(matchErr, errAmbiguousPath) {
				t.Fatalf("%q reads as route %q (%s) and as %q (%s): matched %+v, %v; want errAmbiguousPath",
					c, literal.label, literal.auth, lenient.label, lenient.auth, got, matchErr)
			}
			return
		case matchErr != nil:
			t.Fatalf("match(%q): %v", c, matchErr)
		case literal.auth == config.AuthNone && got != lenient, literal.auth != config.AuthNone && got != literal:
			t.Fatalf("route for %q = %+v; readings %+v and %+v", c, got, literal, lenient)
		}

		// What the upstream receives (the cleaned path, re-escaped when it
		// changed; the original bytes otherwise) decodes to the judged path...
		out := &url.URL{Path: c}
		if !changed {
			out.RawPath = u.RawPath
		}
		back, err := url.ParseRequestURI(out.EscapedPath())
		if err != nil || back.Path != c {
			t.Fatalf("forwarded path %q decodes to %q (err %v), judged %q", out.EscapedPath(), back.Path, err, c)
		}
		// ...and however the upstream reads it, it lands in a route with the
		// same check as the one judged, or in one with none.
		for _, alt := range upstreamReadings(c) {
			if r := longest(alt, false); r.auth != got.auth && r.auth != config.AuthNone {
				t.Fatalf("%q is judged as route %q (auth %s) but an upstream may serve %q (route %q, auth %s)",
					c, got.label, got.auth, alt, r.label, r.auth)
			}
		}
	})
}

// upstreamReadings are paths an upstream may resolve p to: p itself, with
// backslashes read as slashes (IIS, ASP.NET, several Java and Node stacks),
// and with ;parameters dropped from each segment before dot segments are
// resolved (Tomcat, Jetty, Spring). Each keeps p's trailing slash.
func upstreamReadings(p string) []string {
	resolve := func(s string) string {
		c := path.Clean("/" + s)
		if strings.HasSuffix(s, "/") && c != "/" {
			c += "/"
		}
		return c
	}
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i], _, _ = strings.Cut(s, ";")
	}
	readings := []string{p, resolve(strings.ReplaceAll(p, `\`, "/")), resolve(strings.Join(segs, "/"))}
	// Many frameworks serve /x/ for /x (Spring before 6, Flask's
	// strict_slashes=False, Django's APPEND_SLASH redirect).
	for _, r := range readings[:3] {
		if !strings.HasSuffix(r, "/") {
			readings = append(readings, r+"/")
		}
	}
	return readings
}

func FuzzParseTime(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, err := parseTime("before", raw)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.status != http.StatusBadRequest || !strings.HasPrefix(ae.message, "before: ") {
				t.Fatalf("parseTime(%q) error %v does not name the field as a 400", raw, err)
			}
			return
		}
		if got.IsZero() {
			return // absent: the caller's default applies
		}
		if got.Location() != time.UTC || got.Nanosecond() != 0 {
			t.Fatalf("parseTime(%q) = %v: not whole seconds in UTC", raw, got)
		}
		// It reads back the same from both forms an answer or a client uses.
		forms := []string{strconv.Quote(got.Format(time.RFC3339))}
		if got.Unix() >= 0 {
			forms = append(forms, strconv.FormatInt(got.Unix(), 10), strconv.Quote(strconv.FormatInt(got.Unix(), 10)))
		}
		for _, form := range forms {
			back, err := parseTime("before", []byte(form))
			if err != nil || !back.Equal(got) {
				t.Fatalf("parseTime(%q) = %v, but %s reads back as %v (err %v)", raw, got, form, back, err)
			}
		}
	})
}

// adminBodyFields are the fields a 400 from the admin API may name.
var adminBodyFields = []string{"token: ", "jti: ", "expires_at: ", "reason: ", "before: ", "subject: ", "session: ", errBadBody.Error()}

func FuzzAdminBodies(f *testing.F) {
	fg := newFuzzGateway(f, nil, nil)
	subs := map[string]string{
		"$TOKEN":   mint(f, tok{sub: "alice"}),
		"$NOJTI":   mint(f, tok{sub: "alice", jti: "-"}),
		"$EXPIRED": mint(f, tok{sub: "alice", iat: time.Now().Add(-3 * time.Hour), exp: time.Now().Add(-2 * time.Hour)}),
	}
	endpoints := []string{"/v1/revocations/tokens", "/v1/revocations/subjects/alice", "/v1/revocations/all", "/v1/revocations/sessions/s1"}
	f.Fuzz(func(t *testing.T, endpoint uint8, body []byte) {
		store := fg.reset()
		ep := endpoints[int(endpoint)%len(endpoints)]
		req := httptest.NewRequest(http.MethodPost, ep, bytes.NewReader(placeholders(body, subs)))
		req.Header.Set("Authorization", "Bearer "+testAdminToken)
		rec := serve(fg.admin, req)
		writes := fg.store.writes.Load()
		var resp map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
			t.Fatalf("%s: status %d with a body that is not JSON: %q", ep, rec.Code, rec.Body.String())
		}
		switch rec.Code {
		case http.StatusOK:
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			if writes != 0 {
				t.Fatalf("%s answered %d but wrote %d records", ep, rec.Code, writes)
			}
			msg, _ := resp["message"].(string)
			if rec.Code == http.StatusBadRequest && !hasAnyPrefix(msg, adminBodyFields) {
				t.Fatalf("%s: 400 message %q names no field", ep, msg)
			}
			return
		default:
			t.Fatalf("%s answered %d: %s", ep, rec.Code, rec.Body.String())
		}

		if writes != 1 {
			t.Fatalf("%s answered 200 after %d writes, want 1", ep, writes)
		}
		now := time.Now()
		ctx := t.Context()
		if ep == endpoints[0] {
			jti, _ := resp["jti"].(string)
			exp, err := time.Parse(time.RFC3339, str(resp["expires_at"]))
			if jti == "" || err != nil {
				t.Fatalf("200 without jti and expires_at: %v", resp)
			}
			rec, err := store.GetToken(ctx, jti)
			switch {
			case err == nil && !rec.ExpiresAt.Equal(exp):
				t.Fatalf("answered expires_at %v, stored %v", exp, rec.ExpiresAt)
			case errors.Is(err, revocation.ErrNotFound) && exp.After(now.Add(time.Second)):
				t.Fatalf("answered 200 for jti until %v but nothing is stored", exp)
			case err != nil && !errors.Is(err, revocation.ErrNotFound):
				t.Fatal(err)
			}
			return
		}
		if ep == endpoints[3] {
			exp, err := time.Parse(time.RFC3339, str(resp["expires_at"]))
			if resp["session"] != "s1" || resp["revoked"] != true || err != nil {
				t.Fatalf("200 without session, revoked and expires_at: %v", resp)
			}
			rec, err := store.GetSession(ctx, "s1")
			if err != nil || !rec.ExpiresAt.Equal(exp) {
				t.Fatalf("answered expires_at %v, stored %+v, %v", exp, rec, err)
			}
			return
		}
		mark, err := time.Parse(time.RFC3339, str(resp["revoked_before"]))
		if err != nil {
			t.Fatalf("200 without revoked_before: %v", resp)
		}
		var stored time.Time
		if ep == endpoints[1] {
			stored, err = store.GetSubject(ctx, "alice")
		} else {
			stored, err = store.GetGlobal(ctx)
		}
		switch {
		case err == nil && !stored.Equal(mark):
			t.Fatalf("answered revoked_before %v, stored %v", mark, stored)
		case errors.Is(err, revocation.ErrNotFound) && mark.Add(fg.gw.markTTL).After(now.Add(time.Second)):
			t.Fatalf("answered 200 with mark %v but nothing is stored", mark)
		case err != nil && !errors.Is(err, revocation.ErrNotFound):
			t.Fatal(err)
		}
	})
}

func str(v any) string { s, _ := v.(string); return s }

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func FuzzAdminPathParams(f *testing.F) {
	fg := newFuzzGateway(f, nil, nil)
	admin := func(method, target string, body []byte) (*httptest.ResponseRecorder, map[string]any) {
		req := request(method, target, body)
		if req == nil {
			return nil, nil
		}
		req.Header.Set("Authorization", "Bearer "+testAdminToken)
		rec := serve(fg.admin, req)
		var resp map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &resp)
		return rec, resp
	}
	f.Fuzz(func(t *testing.T, kind uint8, value string) {
		fg.reset()
		var prefix, field, post string
		var postBody []byte
		var limit int
		want := value
		switch kind % 6 {
		case 0, 2:
			prefix, field, limit = subjectsPrefix, "subject", maxSubjectBytes
		case 4, 5:
			prefix, field, limit = sessionsPrefix, "session", maxSessionBytes
		case 1, 3:
			prefix, field, limit = tokensPrefix, "jti", maxJTIBytes
			// JSON carries only valid UTF-8: what the API sees is what the
			// decoder makes of the encoded value.
			postBody, _ = json.Marshal(map[string]string{"jti": value})
			var decoded map[string]string
			_ = json.Unmarshal(postBody, &decoded)
			want = decoded["jti"]
		}
		valid := want != "" && len(want) <= limit && utf8.ValidString(want)
		target := prefix + url.PathEscape(want)
		if k := kind % 6; k == 2 || k == 3 || k == 5 {
			// The raw bytes as a client might send them, unescaped.
			target = prefix + value
			u, err := url.ParseRequestURI(target)
			if err != nil || strings.ContainsAny(target, " \t\r\n") || !strings.HasPrefix(u.EscapedPath(), prefix) {
				return
			}
			unescaped, err := url.PathUnescape(strings.TrimPrefix(u.EscapedPath(), prefix))
			if err != nil {
				return
			}
			want = unescaped
			valid = want != "" && len(want) <= limit && utf8.ValidString(want)
			if field == "jti" {
				postBody, _ = json.Marshal(map[string]string{"jti": want})
				var decoded map[string]string
				_ = json.Unmarshal(postBody, &decoded)
				if decoded["jti"] != want {
					return
				}
			}
		}

		if field != "jti" {
			post = target
		} else {
			post = "/v1/revocations/tokens"
		}
		rec, resp := admin(http.MethodPost, post, postBody)
		if rec == nil {
			return
		}
		if rec.Code >= 500 {
			t.Fatalf("POST %q answered %d: %s", post, rec.Code, rec.Body.String())
		}
		if !valid {
			named := field
			if field == "jti" && want == "" {
				named = "token" // neither token nor jti given
			}
			if rec.Code != http.StatusBadRequest || !strings.HasPrefix(str(resp["message"]), named+": ") {
				t.Fatalf("POST for invalid %s %q answered %d %v, want 400 naming %s", field, want, rec.Code, resp, field)
			}
			return
		}
		if rec.Code != http.StatusOK || resp[field] != want {
			t.Fatalf("POST for %s %q answered %d %v, want 200 echoing it", field, want, rec.Code, resp)
		}
		rec, resp = admin(http.MethodGet, target, nil)
		if rec == nil || rec.Code != http.StatusOK || resp[field] != want {
			t.Fatalf("GET %q: %v %v, want 200 with %s %q", target, rec.Code, resp, field, want)
		}
		if rec, _ = admin(http.MethodDelete, target, nil); rec.Code != http.StatusNoContent {
			t.Fatalf("DELETE %q: %d, want 204", target, rec.Code)
		}
		if rec, _ = admin(http.MethodGet, target, nil); rec.Code != http.StatusNotFound {
			t.Fatalf("GET %q after DELETE: %d, want 404", target, rec.Code)
		}
	})
}

func FuzzLogoutBody(f *testing.F) {
	fg := newFuzzGateway(f, nil, nil)
	access := mint(f, tok{sub: "alice", jti: "access-jti"})
	subs := map[string]string{
		"$VALID":   mint(f, tok{sub: "alice", jti: "refresh-jti"}),
		"$OTHER":   mint(f, tok{sub: "bob", jti: "bob-refresh-jti"}),
		"$NOJTI":   mint(f, tok{sub: "alice", jti: "-"}),
		"$EXPIRED": mint(f, tok{sub: "alice", iat: time.Now().Add(-3 * time.Hour), exp: time.Now().Add(-2 * time.Hour)}),
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		store := fg.reset()
		hits := fg.upstream.hits.Load()
		req := httptest.NewRequest(http.MethodPost, "/auth/logout", bytes.NewReader(placeholders(body, subs)))
		req.Header.Set("Authorization", "Bearer "+access)
		rec := serve(fg.proxy, req)
		if fg.upstream.hits.Load() != hits {
			t.Fatal("a logout reached the upstream")
		}
		writes := fg.store.writes.Load()
		switch rec.Code {
		case http.StatusOK:
		case http.StatusBadRequest, http.StatusForbidden, http.StatusRequestEntityTooLarge:
			if writes != 0 {
				t.Fatalf("logout answered %d but wrote %d records", rec.Code, writes)
			}
			return
		default:
			t.Fatalf("logout answered %d: %s", rec.Code, rec.Body.String())
		}
		var resp logoutResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil || resp.Status != "logged_out" {
			t.Fatalf("200 with body %q", rec.Body.String())
		}
		if int64(len(resp.Revoked)) != writes {
			t.Fatalf("answered revoked %v after %d writes", resp.Revoked, writes)
		}
		if _, err := store.GetToken(t.Context(), "access-jti"); err != nil {
			t.Fatalf("logout answered 200 but the access token is not revoked: %v", err)
		}
		if _, err := store.GetToken(t.Context(), "bob-refresh-jti"); err == nil {
			t.Fatal("alice's logout revoked bob's refresh token")
		}
		if _, err := store.GetSubject(t.Context(), "bob"); err == nil {
			t.Fatal("alice's logout revoked bob")
		}
	})
}

func FuzzRefreshBody(f *testing.F) {
	fg := newFuzzGateway(f, nil, func(c *config.Config) {
		c.Routes = []config.Route{{Prefix: "/api/token/refresh/", Auth: config.AuthRefresh}}
		c.JWT.RefreshRequiredClaims = map[string]any{"token_type": "refresh"}
		c.JWT.RefreshReuseDetection = true
	})
	refresh := func(sub, jti string) string {
		return mint(f, tok{sub: sub, jti: jti, extra: map[string]any{"token_type": "refresh"}})
	}
	revoked := refresh("alice", "revoked-jti")
	subs := map[string]string{
		"$VALID":   refresh("alice", "valid-jti"),
		"$OTHER":   refresh("bob", "bob-jti"),
		"$REVOKED": revoked,
		"$ACCESS":  mint(f, tok{sub: "alice", extra: map[string]any{"token_type": "access"}}),
	}
	forwardable := map[string]bool{subs["$VALID"]: true, subs["$OTHER"]: true}
	f.Fuzz(func(t *testing.T, body []byte) {
		store := fg.reset()
		if err := store.RevokeToken(t.Context(), "revoked-jti", time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		hits := fg.upstream.hits.Load()
		sent := placeholders(body, subs)
		req := httptest.NewRequest(http.MethodPost, "/api/token/refresh/", bytes.NewReader(sent))
		req.Header.Set("Content-Type", "application/json")
		rec := serve(fg.proxy, req)
		forwarded := fg.upstream.hits.Load() - hits
		if rec.Code >= 500 {
			t.Fatalf("refresh answered %d: %s", rec.Code, rec.Body.String())
		}
		if rec.Code != http.StatusOK {
			if forwarded != 0 {
				t.Fatalf("refresh answered %d but the upstream saw the request", rec.Code)
			}
			return
		}
		if forwarded != 1 {
			t.Fatalf("refresh answered 200 after %d upstream requests, want 1", forwarded)
		}
		_, got := fg.upstream.lastRequest()
		if !bytes.Equal(got, sent) {
			t.Fatalf("the upstream got body %q, the client sent %q", got, sent)
		}
		// The issuer reads the body its own way: exact member names, the
		// last of duplicates (Python's json, most others). The token it
		// will honor must be one the gateway would have let through.
		var issuer map[string]any
		if err := json.Unmarshal(got, &issuer); err != nil {
			return // the issuer refuses what it cannot parse
		}
		if tok, ok := issuer["refresh"].(string); ok && !forwardable[tok] {
			what := "an invalid token"
			if tok == revoked {
				what = "the revoked token"
			}
			t.Fatalf("forwarded %q: the issuer reads %s as the refresh token", got, what)
		}
	})
}
