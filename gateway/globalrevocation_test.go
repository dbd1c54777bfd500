package gateway

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"

	"github.com/revgate/revgate/config"
	"github.com/revgate/revgate/revocation"
)

const (
	gtrPath     = "/global-token-revocation"
	gtrAudience = "https://api.example/global-token-revocation"
	// gtrClient is the identity provider's client allowed to call the
	// endpoint: gtrClaims' sub.
	gtrClient = "0oa1client"
)

func withGTR(c *config.Config) {
	c.GlobalRevocation.Path = gtrPath
	c.GlobalRevocation.Audience = gtrAudience
	c.GlobalRevocation.ClientIDs = config.StringList{gtrClient}
}

// gtrClaims are a valid bearer JWT's claims as Okta sends them (its
// documented jti, iss, sub = the app's client id, aud = the endpoint URL,
// exp 5 minutes ahead, nbf 5 minutes back, iat now); tests change them.
func gtrClaims() map[string]any {
	now := time.Now()
	return map[string]any{
		"jti": randomJTI(),
		"iss": testIssuer,
		"sub": gtrClient,
		"aud": gtrAudience,
		"exp": now.Add(5 * time.Minute).Unix(),
		"nbf": now.Add(-5 * time.Minute).Unix(),
		"iat": now.Unix(),
	}
}

// gtrBearerJWT signs gtrClaims, changed by shape, as Okta does.
func gtrBearerJWT(t testing.TB, shape func(c map[string]any)) string {
	t.Helper()
	c := gtrClaims()
	if shape != nil {
		shape(c)
	}
	return signLogout(t, c, "global-token-revocation+jwt")
}

// issSub is a request body naming subject sub of the test issuer.
func gtrIssSub(sub string) string {
	return `{"sub_id": {"format": "iss_sub", "iss": "` + testIssuer + `", "sub": "` + sub + `"}}`
}

// postGTR POSTs body to base+gtrPath with the bearer (none when "").
func (h *harness) postGTR(base, bearer, body string) *http.Response {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+gtrPath, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return h.do(req)
}

func TestGlobalRevocationMarksTheSubject(t *testing.T) {
	backends(t, func(t *testing.T, store func() revocation.Store) {
		h := newHarness(t, store(), withGTR)
		before := mint(t, tok{sub: "alice", iat: time.Now().Add(-time.Minute)})
		other := mint(t, tok{sub: "bob", iat: time.Now().Add(-time.Minute)})
		wantStatus(t, h.get("/x", before), 200)
		hits := h.upstream.hits.Load()

		start := time.Now().Truncate(time.Second)
		resp := h.postGTR(h.proxy.URL, gtrBearerJWT(t, nil), gtrIssSub("alice"))
		wantStatus(t, resp, http.StatusNoContent)
		wantNoStore(t, resp)
		if h.upstream.hits.Load() != hits {
			t.Fatal("the revocation request reached the upstream")
		}
		mark, err := h.store.GetSubject(context.Background(), "alice")
		if err != nil || mark.Before(start) || mark.After(time.Now()) {
			t.Fatalf("subject mark = %v, %v; want now (%v)", mark, err, start)
		}

		m0, _ := h.scrape()
		got := wantStatus(t, h.get("/x", before), 401)
		if got["error_description"] != "token has been revoked" {
			t.Errorf("error_description = %v", got["error_description"])
		}
		m1, _ := h.scrape()
		if s := `revgate_requests_total{mode="proxy",outcome="revoked_subject",route="default"}`; m1[s]-m0[s] != 1 {
			t.Errorf("%s went up by %v, want 1", s, m1[s]-m0[s])
		}
		wantStatus(t, h.get("/x", other), 200)
		wantStatus(t, h.get("/x", mint(t, tok{sub: "alice", iat: time.Now().Add(2 * time.Second)})), 200)

		for series, want := range map[string]float64{
			`revgate_global_revocation_requests_total{result="accepted"}`:                      1,
			`revgate_requests_total{mode="proxy",outcome="allowed",route="global_revocation"}`: 1,
			`revgate_revocations_total{kind="subject",source="global_revocation"}`:             1,
		} {
			if m1[series] != want {
				t.Errorf("%s = %v, want %v", series, m1[series], want)
			}
		}
		logs := h.logs.String()
		if !strings.Contains(logs, `"actor":"global_revocation:`+testIssuer+`"`) || !strings.Contains(logs, `"action":"revoke_subject"`) {
			t.Errorf("no audit event with actor global_revocation:<iss>:\n%s", logs)
		}
	})
}

func TestGlobalRevocationReadsWhatIdentityProvidersSend(t *testing.T) {
	tests := []struct {
		name, body, subject string
		typ                 string
	}{
		{"the draft's sub_id", gtrIssSub("carol"), "carol", "global-token-revocation+jwt"},
		{"Okta's documented subject member", `{"subject": {"format": "iss_sub", "iss": "` + testIssuer + `", "sub": "dave"}}`, "dave", "JWT"},
		{"a numeric sub in canonical form", `{"sub_id": {"format": "iss_sub", "iss": "` + testIssuer + `", "sub": 4.2e1}}`, "42", ""},
		{"an escaped sub and unknown members", `{"sub_id": {"format": "iss_sub", "iss": "` + testIssuer + `", "sub": "\u00e9ve", "x": 1}, "reason": "offboarding"}`, "\u00e9ve", "application/global-token-revocation+jwt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil, withGTR)
			old := mint(t, tok{sub: tt.subject, iat: time.Now().Add(-time.Minute)})
			bearer := signLogout(t, gtrClaims(), tt.typ)
			wantStatus(t, h.postGTR(h.proxy.URL, bearer, tt.body), http.StatusNoContent)
			if _, err := h.store.GetSubject(context.Background(), tt.subject); err != nil {
				t.Fatalf("subject %q not marked: %v", tt.subject, err)
			}
			wantStatus(t, h.get("/x", old), 401)
		})
	}
	t.Run("a numeric token subject is revoked by its decimal string", func(t *testing.T) {
		h := newHarness(t, nil, func(c *config.Config) {
			withGTR(c)
			c.JWT.SubjectClaim = "user_id"
		})
		old := mint(t, tok{iat: time.Now().Add(-time.Minute), extra: map[string]any{"user_id": 42}})
		wantStatus(t, h.get("/x", old), 200)
		wantStatus(t, h.postGTR(h.proxy.URL, gtrBearerJWT(t, nil), gtrIssSub("42")), http.StatusNoContent)
		wantStatus(t, h.get("/x", old), 401)
	})
}

func TestGlobalRevocationRefusesBadAuthentication(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name string
		// authz sets the Authorization header(s); nil sends none.
		authz     func(t *testing.T, req *http.Request)
		noBearer  bool
		wantInErr string
	}{
		{name: "no Authorization", noBearer: true},
		{name: "another scheme", noBearer: true, authz: func(t *testing.T, r *http.Request) {
			r.Header.Set("Authorization", "Basic b2t0YTpzZWNyZXQ=")
		}},
		{name: "Bearer with nothing", noBearer: true, authz: func(t *testing.T, r *http.Request) {
			r.Header.Set("Authorization", "Bearer ")
		}},
		{name: "two Authorization headers", wantInErr: "more than one", authz: func(t *testing.T, r *http.Request) {
			r.Header.Add("Authorization", "Bearer "+gtrBearerJWT(t, nil))
			r.Header.Add("Authorization", "Bearer "+gtrBearerJWT(t, nil))
		}},
		{name: "bad signature", wantInErr: "invalid", authz: bearerFrom(func(t *testing.T) string {
			tk := gtrBearerJWT(t, nil)
			i := strings.LastIndexByte(tk, '.') + 10
			c := byte('A')
			if tk[i] == 'A' {
				c = 'B'
			}
			return tk[:i] + string(c) + tk[i+1:]
		})},
		{name: "signed by an unknown key", wantInErr: "invalid", authz: bearerFrom(func(t *testing.T) string {
			return mint(t, tok{key: otherKey(t), alg: jwa.RS256, extra: map[string]any{"aud": gtrAudience}})
		})},
		{name: "an access token (aud is the API, not this endpoint)", wantInErr: "audience", authz: bearerFrom(func(t *testing.T) string {
			return mint(t, tok{sub: "alice"})
		})},
		{name: "wrong aud", wantInErr: "audience", authz: gtrWith(func(c map[string]any) { c["aud"] = []string{"https://api.example/other", testAudience} })},
		{name: "aud a prefix of the URL", wantInErr: "audience", authz: gtrWith(func(c map[string]any) { c["aud"] = "https://api.example/" })},
		{name: "no aud", wantInErr: "audience", authz: gtrWith(func(c map[string]any) { delete(c, "aud") })},
		{name: "sub another client", wantInErr: "global_revocation.client_ids", authz: gtrWith(func(c map[string]any) { c["sub"] = "0oa2other" })},
		{name: "sub differing only in case", wantInErr: "global_revocation.client_ids", authz: gtrWith(func(c map[string]any) { c["sub"] = "0OA1CLIENT" })},
		{name: "no sub", wantInErr: "global_revocation.client_ids", authz: gtrWith(func(c map[string]any) { delete(c, "sub") })},
		{name: "wrong iss", wantInErr: "issuer", authz: gtrWith(func(c map[string]any) { c["iss"] = "https://evil.test" })},
		{name: "no iss", wantInErr: "issuer", authz: gtrWith(func(c map[string]any) { delete(c, "iss") })},
		{name: "expired", wantInErr: "expired", authz: gtrWith(func(c map[string]any) { c["exp"] = now.Add(-time.Minute).Unix() })},
		{name: "no exp", wantInErr: `"exp"`, authz: gtrWith(func(c map[string]any) { delete(c, "exp") })},
		{name: "exp past max_token_lifetime", wantInErr: "max_token_lifetime", authz: gtrWith(func(c map[string]any) { c["exp"] = now.Add(25 * time.Hour).Unix() })},
		{name: "iat in the future", wantInErr: "future", authz: gtrWith(func(c map[string]any) { c["iat"] = now.Add(2 * time.Minute).Unix() })},
		{name: "nbf in the future", wantInErr: "not yet valid", authz: gtrWith(func(c map[string]any) { c["nbf"] = now.Add(2 * time.Minute).Unix() })},
		{name: "no jti", wantInErr: `"jti"`, authz: gtrWith(func(c map[string]any) { delete(c, "jti") })},
		{name: "typ of an access token", wantInErr: "typ", authz: bearerFrom(func(t *testing.T) string { return signLogout(t, gtrClaims(), "at+jwt") })},
		{name: "typ of a logout token", wantInErr: "typ", authz: bearerFrom(func(t *testing.T) string { return signLogout(t, gtrClaims(), "logout+jwt") })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil, withGTR)
			req, _ := http.NewRequest(http.MethodPost, h.proxy.URL+gtrPath, strings.NewReader(gtrIssSub("alice")))
			req.Header.Set("Content-Type", "application/json")
			if tt.authz != nil {
				tt.authz(t, req)
			}
			resp := h.do(req)
			got := wantStatus(t, resp, http.StatusUnauthorized)
			challenge := resp.Header.Get("WWW-Authenticate")
			if tt.noBearer {
				if challenge != `Bearer realm="revgate"` || got["error"] != "unauthorized" {
					t.Errorf("WWW-Authenticate = %q, body %v", challenge, got)
				}
			} else {
				desc, _ := got["error_description"].(string)
				if got["error"] != "invalid_token" || !strings.Contains(desc, tt.wantInErr) {
					t.Errorf("body = %v, want invalid_token mentioning %q", got, tt.wantInErr)
				}
				if !strings.HasPrefix(challenge, `Bearer realm="revgate", error="invalid_token", error_description="`) {
					t.Errorf("WWW-Authenticate = %q", challenge)
				}
			}
			if _, err := h.store.GetSubject(context.Background(), "alice"); !errors.Is(err, revocation.ErrNotFound) {
				t.Errorf("subject marked by an unauthenticated request: %v", err)
			}
			if h.upstream.hits.Load() != 0 {
				t.Error("the request reached the upstream")
			}
		})
	}
}

func bearerFrom(f func(t *testing.T) string) func(t *testing.T, r *http.Request) {
	return func(t *testing.T, r *http.Request) { r.Header.Set("Authorization", "Bearer "+f(t)) }
}

func gtrWith(shape func(c map[string]any)) func(t *testing.T, r *http.Request) {
	return bearerFrom(func(t *testing.T) string { return gtrBearerJWT(t, shape) })
}

func TestGlobalRevocationRefusesAReplayedBearer(t *testing.T) {
	h := newHarness(t, nil, withGTR)
	jwt := gtrBearerJWT(t, nil)
	wantStatus(t, h.postGTR(h.proxy.URL, jwt, gtrIssSub("alice")), http.StatusNoContent)
	resp := h.postGTR(h.proxy.URL, jwt, gtrIssSub("bob"))
	got := wantStatus(t, resp, http.StatusUnauthorized)
	if got["error_description"] != "bearer token already used (jti replayed)" {
		t.Errorf("body = %v", got)
	}
	if _, err := h.store.GetSubject(context.Background(), "bob"); !errors.Is(err, revocation.ErrNotFound) {
		t.Errorf("a replayed bearer marked another subject: %v", err)
	}
	m, _ := h.scrape()
	if v := m[`revgate_global_revocation_requests_total{result="replayed"}`]; v != 1 {
		t.Errorf("replayed counter = %v, want 1", v)
	}
	if v := m[`revgate_requests_total{mode="proxy",outcome="invalid_token",route="global_revocation"}`]; v != 1 {
		t.Errorf("invalid_token outcome = %v, want 1", v)
	}
}

func TestGlobalRevocationRefusesMalformedRequests(t *testing.T) {
	iss := `"iss": "` + testIssuer + `"`
	tests := []struct {
		name, contentType, body string
		encoding                string
		status                  int
		mutate                  func(c *config.Config)
	}{
		{name: "a Content-Encoding", encoding: "gzip", body: gtrIssSub("alice")},
		{name: "text/plain", contentType: "text/plain", body: gtrIssSub("alice")},
		{name: "a form", contentType: "application/x-www-form-urlencoded", body: "sub_id=alice"},
		{name: "a charset other than utf-8", contentType: "application/json; charset=latin1", body: gtrIssSub("alice")},
		{name: "not JSON", body: `{"sub_id": `},
		{name: "a JSON array", body: `[` + gtrIssSub("alice") + `]`},
		{name: "two JSON objects", body: gtrIssSub("alice") + gtrIssSub("bob")},
		{name: "empty", body: ``},
		{name: "no sub_id", body: `{"user": "alice"}`},
		{name: "sub_id not an object", body: `{"sub_id": "alice"}`},
		{name: "sub_id and subject both", body: `{"sub_id": {"format": "iss_sub", ` + iss + `, "sub": "alice"}, "subject": {"format": "iss_sub", ` + iss + `, "sub": "bob"}}`},
		{name: "sub_id twice", body: `{"sub_id": {"format": "iss_sub", ` + iss + `, "sub": "bob"}, "sub_id": {"format": "iss_sub", ` + iss + `, "sub": "alice"}}`},
		{name: "sub twice, once escaped", body: `{"sub_id": {"format": "iss_sub", ` + iss + `, "sub": "bob", "s\u0075b": "alice"}}`},
		{name: "no format", body: `{"sub_id": {` + iss + `, "sub": "alice"}}`},
		{name: "format not a string", body: `{"sub_id": {"format": 1, ` + iss + `, "sub": "alice"}}`},
		{name: "an unsupported format", body: `{"sub_id": {"format": "opaque", "id": "alice"}}`},
		{name: "iss_sub without iss", body: `{"sub_id": {"format": "iss_sub", "sub": "alice"}}`},
		{name: "iss_sub of another issuer", body: `{"sub_id": {"format": "iss_sub", "iss": "https://other.example", "sub": "alice"}}`},
		{name: "iss_sub without sub", body: `{"sub_id": {"format": "iss_sub", ` + iss + `}}`},
		{name: "an empty sub", body: `{"sub_id": {"format": "iss_sub", ` + iss + `, "sub": ""}}`},
		{name: "a sub that is not a string", body: `{"sub_id": {"format": "iss_sub", ` + iss + `, "sub": true}}`},
		{name: "a sub with a lone surrogate", body: `{"sub_id": {"format": "iss_sub", ` + iss + `, "sub": "al\ud800ice"}}`},
		{name: "a sub over 4 KiB", body: gtrIssSub(strings.Repeat("a", 4097))},
		{name: "an email that is no address", body: `{"sub_id": {"format": "email", "email": "alice"}}`},
		{name: "email without global_revocation.email_claim", body: `{"sub_id": {"format": "email", "email": "alice@example.com"}}`},
		{name: "a body over 64 KiB", body: `{"pad": "` + strings.Repeat("x", 64<<10) + `", ` + gtrIssSub("alice")[1:], status: http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil, func(c *config.Config) {
				withGTR(c)
				if tt.mutate != nil {
					tt.mutate(c)
				}
			})
			req, _ := http.NewRequest(http.MethodPost, h.proxy.URL+gtrPath, strings.NewReader(tt.body))
			ct := tt.contentType
			if ct == "" {
				ct = "application/json"
			}
			req.Header.Set("Content-Type", ct)
			if tt.encoding != "" {
				req.Header.Set("Content-Encoding", tt.encoding)
			}
			req.Header.Set("Authorization", "Bearer "+gtrBearerJWT(t, nil))
			status := tt.status
			if status == 0 {
				status = http.StatusBadRequest
			}
			resp := h.do(req)
			got := wantStatus(t, resp, status)
			wantNoStore(t, resp)
			t.Logf("error_description: %v", got["error_description"])
			if got["error"] != "invalid_request" || got["error_description"] == "" {
				t.Errorf("body = %v", got)
			}
			for _, sub := range []string{"alice", "bob"} {
				if _, err := h.store.GetSubject(context.Background(), sub); !errors.Is(err, revocation.ErrNotFound) {
					t.Errorf("subject %s marked by a refused request: %v", sub, err)
				}
			}
			if h.upstream.hits.Load() != 0 {
				t.Error("the request reached the upstream")
			}
		})
	}
}

func TestGlobalRevocationAuthenticatesBeforeReadingTheBody(t *testing.T) {
	h := newHarness(t, nil, withGTR)
	req, _ := http.NewRequest(http.MethodPost, h.proxy.URL+gtrPath, strings.NewReader("not json"))
	req.Header.Set("Content-Type", "text/plain")
	wantStatus(t, h.do(req), http.StatusUnauthorized)
}

func TestGlobalRevocationOnlyTakesPOSTAndIsNeverForwarded(t *testing.T) {
	h := newHarness(t, nil, withGTR)
	for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		for _, path := range []string{gtrPath, gtrPath + "/", gtrPath + ";x=1"} {
			req, _ := http.NewRequest(method, h.proxy.URL+path, strings.NewReader(gtrIssSub("alice")))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+gtrBearerJWT(t, nil))
			resp := h.do(req)
			wantStatus(t, resp, http.StatusMethodNotAllowed)
			if resp.Header.Get("Allow") != http.MethodPost {
				t.Errorf("%s %s: Allow = %q", method, path, resp.Header.Get("Allow"))
			}
		}
	}
	if n := h.upstream.hits.Load(); n != 0 {
		t.Errorf("upstream saw %d requests", n)
	}
	if _, err := h.store.GetSubject(context.Background(), "alice"); !errors.Is(err, revocation.ErrNotFound) {
		t.Errorf("subject marked by a refused method: %v", err)
	}
}

func TestGlobalRevocationStoreDownIs503AndTheRetryWorks(t *testing.T) {
	store, srv := redisStore(t)
	h := newHarness(t, store, withGTR)
	jwt := gtrBearerJWT(t, nil)
	srv.Stop()
	resp := h.postGTR(h.proxy.URL, jwt, gtrIssSub("erin"))
	got := wantStatus(t, resp, http.StatusServiceUnavailable)
	if got["error"] != "temporarily_unavailable" || resp.Header.Get("Retry-After") == "" {
		t.Errorf("body = %v, Retry-After = %q", got, resp.Header.Get("Retry-After"))
	}
	if h.upstream.hits.Load() != 0 {
		t.Error("the request reached the upstream")
	}
	srv.Restart()
	// The identity provider retries with the same JWT: not a replay.
	wantStatus(t, h.postGTR(h.proxy.URL, jwt, gtrIssSub("erin")), http.StatusNoContent)
	if _, err := store.GetSubject(context.Background(), "erin"); err != nil {
		t.Errorf("subject not marked after the retry: %v", err)
	}
	wantStatus(t, h.postGTR(h.proxy.URL, jwt, gtrIssSub("erin")), http.StatusUnauthorized)
}

func TestGlobalRevocationIsServedOnTheDecisionListener(t *testing.T) {
	d := newDecisionHarness(t, nil, withGTR)
	access := mint(t, tok{sub: "frank", iat: time.Now().Add(-time.Minute)})
	wantStatus(t, d.get("/x", access), 200)
	resp := d.postGTR(d.decision.URL, gtrBearerJWT(t, nil), gtrIssSub("frank"))
	wantStatus(t, resp, http.StatusNoContent)
	if _, err := d.store.GetSubject(context.Background(), "frank"); err != nil {
		t.Fatalf("subject not marked: %v", err)
	}
	wantStatus(t, d.get("/x", access), 401)
	resp, _ = d.ask(http.MethodGet, "/forward-auth", traefik("GET", "/orders", "Authorization", "Bearer "+access), "")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("forward-auth answered %d for a revoked subject's token", resp.StatusCode)
	}
	if n := d.upstream.hits.Load(); n != 1 {
		t.Errorf("upstream saw %d requests, want 1 (the first GET)", n)
	}
}

func TestGlobalRevocationEmailNeedsEmailClaim(t *testing.T) {
	store := revocation.NewMemory(nil)
	h := newHarness(t, store, withGTR)
	body := `{"sub_id": {"format": "email", "email": "alice@example.com"}}`
	got := wantStatus(t, h.postGTR(h.proxy.URL, gtrBearerJWT(t, nil), body), http.StatusBadRequest)
	if desc, _ := got["error_description"].(string); !strings.Contains(desc, "global_revocation.email_claim") {
		t.Errorf("body = %v, want it to name global_revocation.email_claim", got)
	}
	if _, err := store.GetEmail(context.Background(), "alice@example.com"); !errors.Is(err, revocation.ErrNotFound) {
		t.Errorf("email marked with email_claim unset: %v", err)
	}
}

// An email subject marks the address; with the Shared Signals receiver
// off, global_revocation.email_claim alone makes the proxy read that claim
// (config.EmailMarkClaim), so the mark rejects the address's tokens.
func TestGlobalRevocationEmailRevokesTokensCarryingTheAddress(t *testing.T) {
	backends(t, func(t *testing.T, store func() revocation.Store) {
		st := store()
		h := newHarness(t, st, func(c *config.Config) {
			withGTR(c)
			c.GlobalRevocation.EmailClaim = "mail"
		})
		iat := time.Now().Add(-time.Minute)
		carrying := mint(t, tok{sub: "u1", iat: iat, extra: map[string]any{"mail": "alice@example.com"}})
		otherClaim := mint(t, tok{sub: "u2", iat: iat, extra: map[string]any{"email": "alice@example.com"}})
		wantStatus(t, h.get("/x", carrying), http.StatusOK)

		start := time.Now().Truncate(time.Second)
		body := `{"sub_id": {"format": "email", "email": "Alice@Example.com"}}`
		wantStatus(t, h.postGTR(h.proxy.URL, gtrBearerJWT(t, nil), body), http.StatusNoContent)
		mark, err := st.GetEmail(context.Background(), "alice@example.com")
		if err != nil || mark.Before(start) || mark.After(time.Now()) {
			t.Fatalf("email mark = %v, %v; want now", mark, err)
		}
		if _, err := st.GetSubject(context.Background(), "Alice@Example.com"); !errors.Is(err, revocation.ErrNotFound) {
			t.Errorf("an email subject was marked as a plain subject: %v", err)
		}
		wantStatus(t, h.get("/x", carrying), http.StatusUnauthorized)
		wantStatus(t, h.get("/x", otherClaim), http.StatusOK)

		m, _ := h.scrape()
		if v := m[`revgate_revocations_total{kind="email",source="global_revocation"}`]; v != 1 {
			t.Errorf("email revocations = %v, want 1", v)
		}
		if v := m[`revgate_requests_total{mode="proxy",outcome="revoked_email",route="default"}`]; v != 1 {
			t.Errorf("revoked_email requests = %v, want 1", v)
		}
		if !strings.Contains(h.logs.String(), `"action":"revoke_email"`) {
			t.Errorf("no revoke_email audit event:\n%s", h.logs.String())
		}
	})
}

func TestGlobalRevocationRefusalsAreCounted(t *testing.T) {
	h := newHarness(t, nil, withGTR)
	wantStatus(t, h.postGTR(h.proxy.URL, "", gtrIssSub("alice")), http.StatusUnauthorized)
	wantStatus(t, h.postGTR(h.proxy.URL, gtrBearerJWT(t, func(c map[string]any) { c["aud"] = "x" }), gtrIssSub("alice")), http.StatusUnauthorized)
	wantStatus(t, h.postGTR(h.proxy.URL, gtrBearerJWT(t, nil), `{}`), http.StatusBadRequest)
	m, _ := h.scrape()
	for series, want := range map[string]float64{
		`revgate_global_revocation_requests_total{result="no_token"}`:                            1,
		`revgate_global_revocation_requests_total{result="invalid_token"}`:                       1,
		`revgate_global_revocation_requests_total{result="invalid_request"}`:                     1,
		`revgate_requests_total{mode="proxy",outcome="no_token",route="global_revocation"}`:      1,
		`revgate_requests_total{mode="proxy",outcome="invalid_token",route="global_revocation"}`: 1,
		`revgate_requests_total{mode="proxy",outcome="bad_request",route="global_revocation"}`:   1,
	} {
		if m[series] != want {
			t.Errorf("%s = %v, want %v", series, m[series], want)
		}
	}
}
