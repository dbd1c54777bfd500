package main

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/revgate/revgate/internal/redistest"
)

// TestHydraBackchannelLogoutRevokesTheSession runs the examples/hydra recipe
// against a real, unmodified Ory Hydra v2.3.0: two browsers sign in as the
// same user (two login sessions), a client_credentials client gets a token
// of its own, and revgate, on a real Redis, checks each. Hydra ends a
// session twice, each way sending a logout token to revgate's
// backchannel_logout.path: RP-initiated logout with the ID token as
// id_token_hint, and the admin API deleting a login session by sid. Only
// that session's access token is refused afterwards.
func TestHydraBackchannelLogoutRevokesTheSession(t *testing.T) {
	redis := redistest.Start(t, redistest.Options{})
	upstream := newUpstream(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	app := startHydraApp(t, "alice")
	h := startHydra(t, app.url)
	app.hydra.Store(h)

	gw := startGateway(t, hydraExampleFile(t, "revgate.yaml.tmpl", map[string]string{
		"ISSUER": h.issuer, "UPSTREAM": upstream, "REDIS": redis.URL(),
	})+"log:\n  format: json\nserver:\n  drain_delay: 0s\n")

	// The recipe's client, its logout URI at revgate's proxy listener.
	const webSecret = "orders-web-secret-0123456789"
	client := hydraExampleFile(t, "client.json.tmpl", map[string]string{
		"CLIENT_SECRET": webSecret, "REDIRECT_URI": app.url + "/callback", "REVGATE": "http://" + gw.proxy,
	})
	if err := h.adminCall(http.MethodPost, "/admin/clients", jsonRaw(client), nil, http.StatusCreated); err != nil {
		t.Fatal(err)
	}
	// A client recording the logout tokens Hydra sends, to check their
	// shape against what the README says.
	const recorderSecret = "orders-recorder-secret-0123456789"
	if err := h.adminCall(http.MethodPost, "/admin/clients", map[string]any{
		"client_id": "orders-recorder", "client_secret": recorderSecret,
		"grant_types": []string{"authorization_code"}, "response_types": []string{"code"},
		"scope": "openid orders", "redirect_uris": []string{app.url + "/callback"},
		"backchannel_logout_uri": app.url + "/backchannel", "backchannel_logout_session_required": true,
	}, nil, http.StatusCreated); err != nil {
		t.Fatal(err)
	}
	const batchSecret = "orders-batch-secret-0123456789"
	if err := h.adminCall(http.MethodPost, "/admin/clients", map[string]any{
		"client_id": "orders-batch", "client_secret": batchSecret,
		"grant_types": []string{"client_credentials"}, "scope": "orders",
		"token_endpoint_auth_method": "client_secret_basic",
	}, nil, http.StatusCreated); err != nil {
		t.Fatal(err)
	}

	browserA := newBrowser(t)
	a := signIn(t, h, app, browserA, "orders-web", webSecret)
	// The same login session (browser A's cookie) signs in to the recorder.
	recorded := signIn(t, h, app, browserA, "orders-recorder", recorderSecret)
	b := signIn(t, h, app, newBrowser(t), "orders-web", webSecret)
	batch := tokenRequest(t, h, "orders-batch", batchSecret, url.Values{"grant_type": {"client_credentials"}, "scope": {"orders"}}).AccessToken
	sidA, sidB := accessTokenSID(t, a.AccessToken), accessTokenSID(t, b.AccessToken)
	if sidA == sidB {
		t.Fatalf("two browsers share the login session %q", sidA)
	}
	if sid := accessTokenSID(t, recorded.AccessToken); sid != sidA {
		t.Fatalf("browser A's second client got session %q, want %q", sid, sidA)
	}
	if _, claims := jwtParts(t, batch); claims["sid"] != nil {
		t.Fatalf("the client_credentials token has a sid: %v", claims["sid"])
	}

	api := "http://" + gw.proxy + "/orders"
	for name, tok := range map[string]string{"session A": a.AccessToken, "session A, other client": recorded.AccessToken, "session B": b.AccessToken, "client_credentials": batch} {
		wantCall(t, http.StatusOK, name+"'s token before any logout", http.MethodGet, api, tok, "")
	}

	// (a) RP-initiated logout of session A: Hydra asks the logout app,
	// then POSTs a logout token for sid A to every client of the session
	// that registered a backchannel_logout_uri, asynchronously.
	get(t, newBrowser(t), h.issuer+"/oauth2/sessions/logout?"+url.Values{"id_token_hint": {a.IDToken}}.Encode())
	waitRefused(t, gw, api, a.AccessToken, "session A after RP-initiated logout")
	checkHydraLogoutToken(t, app, h.issuer, sidA)
	// The session's tokens of every client are refused, by that one sid.
	wantCall(t, http.StatusUnauthorized, "session A's token of the other client", http.MethodGet, api, recorded.AccessToken, "")
	wantCall(t, http.StatusOK, "session B's token after A's logout", http.MethodGet, api, b.AccessToken, "")
	wantCall(t, http.StatusOK, "the client_credentials token after A's logout", http.MethodGet, api, batch, "")

	// (b) The admin API ends session B by its sid.
	if err := h.adminCall(http.MethodDelete, "/admin/oauth2/auth/sessions/login?"+url.Values{"sid": {sidB}}.Encode(), nil, nil, http.StatusNoContent); err != nil {
		t.Fatal(err)
	}
	waitRefused(t, gw, api, b.AccessToken, "session B after the admin API deleted it")
	wantCall(t, http.StatusOK, "the client_credentials token after both logouts", http.MethodGet, api, batch, "")
	wantCall(t, http.StatusUnauthorized, "session A's token still", http.MethodGet, api, a.AccessToken, "")

	// revgate writes its audit event and counts the logout, and Hydra logs
	// the answer, a moment after the revocation is visible: wait for all.
	var events []string
	var metrics string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		events = events[:0]
		for line := range strings.Lines(gw.stderr.String()) {
			if strings.Contains(line, `"log":"audit"`) {
				events = append(events, line)
			}
		}
		metrics = get(t, http.DefaultClient, "http://"+gw.admin+"/metrics")
		done := len(events) >= 2 && strings.Count(h.log.String(), "Back-Channel Logout Request") >= 3 &&
			strings.Contains(metrics, "\nrevgate_backchannel_logout_requests_total{result=\"accepted\"} 2\n")
		if done || time.Now().After(deadline) {
			break
		}
	}

	// One audit event per logout token, each naming Hydra and the session.
	if len(events) != 2 {
		t.Fatalf("want 2 audit events, got %d:\n%s", len(events), strings.Join(events, ""))
	}
	for i, sid := range []string{sidA, sidB} {
		for _, want := range []string{`"action":"revoke_session"`, `"actor":"oidc:` + h.issuer + `"`, `"session":"` + sid + `"`} {
			if !strings.Contains(events[i], want) {
				t.Errorf("audit event %d lacks %s: %s", i+1, want, events[i])
			}
		}
		if strings.Contains(events[i], `"subject":`) {
			t.Errorf("audit event %d names a subject, but Hydra's logout tokens have no sub: %s", i+1, events[i])
		}
	}
	for _, sid := range []string{sidA, sidB} {
		wantCall(t, http.StatusOK, "the admin API's record of session "+sid, http.MethodGet, "http://"+gw.admin+"/v1/revocations/sessions/"+sid, adminToken, "")
	}
	if !strings.Contains(metrics, "\nrevgate_backchannel_logout_requests_total{result=\"accepted\"} 2\n") {
		t.Errorf("want 2 accepted back-channel logouts in /metrics:\n%s", grepLines(metrics, "backchannel"))
	}
	if n := strings.Count(h.log.String(), "Back-Channel Logout Request"); n != 3 || strings.Contains(h.log.String(), "Unable to execute OpenID Connect Back-Channel Logout") {
		t.Errorf("hydra logged %d successful back-channel logout requests, want 3 (revgate twice, the recorder once), and no failure", n)
	}
	for _, tok := range []string{a.AccessToken, b.AccessToken, a.IDToken, batch} {
		if strings.Contains(gw.stderr.String(), tok) {
			t.Error("a token appears in revgate's log")
		}
	}
}

// jsonRaw passes a JSON document through adminCall's encoder unchanged.
type jsonRaw string

func (j jsonRaw) MarshalJSON() ([]byte, error) { return []byte(j), nil }

// accessTokenSID is the top-level sid of a Hydra access token, where the
// recipe's consent app and oauth2.allowed_top_level_claims put it.
func accessTokenSID(t *testing.T, tok string) string {
	t.Helper()
	header, claims := jwtParts(t, tok)
	sid, _ := claims["sid"].(string)
	if sid == "" {
		t.Fatalf("the access token has no top-level sid: %v", claims)
	}
	if header["alg"] != "RS256" {
		t.Fatalf("Hydra signed with %v, the recipe allows RS256", header["alg"])
	}
	return sid
}

// waitRefused waits (boundedly: Hydra sends logout tokens from a goroutine
// after answering the browser or admin) until tok gets 401.
func waitRefused(t *testing.T, gw *process, api, tok, what string) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		code := call(t, http.MethodGet, api, tok, "")
		if code == http.StatusUnauthorized {
			return
		}
		if code != http.StatusOK || time.Now().After(deadline) {
			t.Fatalf("%s: %d, want 401 within 15s", what, code)
		}
	}
}

// examples/hydra's README shows the very files the Hydra test runs.
func TestHydraREADMEShowsTheTestedFiles(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(hydraExample, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"hydra.yml.tmpl", "client.json.tmpl", "revgate.yaml.tmpl"} {
		f, err := os.ReadFile(filepath.Join(hydraExample, name))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), string(f)) {
			t.Errorf("examples/hydra/README.md does not include %s as it is", name)
		}
	}
}

// grepLines returns the lines of s containing sub.
func grepLines(s, sub string) string {
	var out strings.Builder
	for line := range strings.Lines(s) {
		if strings.Contains(line, sub) {
			out.WriteString(line)
		}
	}
	return out.String()
}

// checkHydraLogoutToken takes the logout token the recorder client got for
// session sid and checks it is what examples/hydra's README says Hydra
// sends: typ JWT, RS256, and exactly iss, aud, iat, jti, events and sid
// (no sub, no exp).
func checkHydraLogoutToken(t *testing.T, app *hydraApp, issuer, sid string) {
	t.Helper()
	var tok string
	select {
	case tok = <-app.logoutTokens:
	case <-time.After(15 * time.Second):
		t.Fatal("the recorder client got no logout token within 15s")
	}
	header, claims := jwtParts(t, tok)
	if header["typ"] != "JWT" || header["alg"] != "RS256" {
		t.Errorf("logout token header %v, want typ JWT and alg RS256", header)
	}
	var names []string
	for k := range claims {
		names = append(names, k)
	}
	slices.Sort(names)
	if want := []string{"aud", "events", "iat", "iss", "jti", "sid"}; !slices.Equal(names, want) {
		t.Errorf("logout token claims %v, want %v", names, want)
	}
	aud, _ := claims["aud"].([]any)
	if claims["iss"] != issuer || claims["sid"] != sid || len(aud) != 1 || aud[0] != "orders-recorder" {
		t.Errorf("logout token iss %v, sid %v, aud %v; want %s, %s, [orders-recorder]", claims["iss"], claims["sid"], claims["aud"], issuer, sid)
	}
}
