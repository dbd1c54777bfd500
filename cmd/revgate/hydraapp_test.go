package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/revgate/revgate/internal/testkit"
)

// hydraExample is the Ory Hydra recipe under test, used as it is.
const hydraExample = "../../examples/hydra"

// hydraExampleFile reads a template of examples/hydra and fills its
// ${PLACEHOLDERS}; a placeholder left unfilled fails the test.
func hydraExampleFile(t *testing.T, name string, vars map[string]string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(hydraExample, name))
	if err != nil {
		t.Fatal(err)
	}
	var pairs []string
	for k, v := range vars {
		pairs = append(pairs, "${"+k+"}", v)
	}
	out := strings.NewReplacer(pairs...).Replace(string(b))
	if i := strings.Index(out, "${"); i >= 0 {
		t.Fatalf("examples/hydra/%s: placeholder left unfilled at %q", name, out[i:min(len(out), i+24)])
	}
	return out
}

// hydraVersion is the Hydra release the recipe is tested with.
const hydraVersion = "v2.3.0"

// hydraBinary finds the hydra that test.sh builds: on PATH, else in
// $(go env GOPATH)/bin. Missing, or another release, the test fails: it
// never skips.
func hydraBinary(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("hydra")
	if err != nil {
		out, _ := exec.Command("go", "env", "GOPATH").Output()
		for _, dir := range filepath.SplitList(strings.TrimSpace(string(out))) {
			if p := filepath.Join(dir, "bin", "hydra"); bin == "" && fileExists(p) {
				bin = p
			}
		}
	}
	if bin == "" {
		t.Fatal("the Ory Hydra test needs hydra " + hydraVersion + " on PATH or in $(go env GOPATH)/bin: run ./test.sh, which builds it once (see examples/hydra/build)")
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil || !slices.ContainsFunc(strings.Split(string(out), "\n"), func(l string) bool {
		return slices.Equal(strings.Fields(l), []string{"Version:", hydraVersion})
	}) {
		t.Fatalf("%s is not Ory Hydra %s (%v): %s\nremove it and run ./test.sh, which builds %[2]s", bin, hydraVersion, err, out)
	}
	return bin
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// hydra is a running `hydra serve all`.
type hydra struct {
	issuer, admin string
	log           *testkit.Buffer
}

// startHydra runs Hydra with examples/hydra/hydra.yml.tmpl, its login,
// consent and logout URLs at app, until the test ends. Hydra takes ports,
// not listeners: it gets ports free a moment ago, and others when one was
// taken meanwhile.
func startHydra(t *testing.T, app string) *hydra {
	t.Helper()
	bin := hydraBinary(t)
	dir := t.TempDir()
	for attempt := 1; ; attempt++ {
		public, admin := freePort(t), freePort(t)
		h := &hydra{issuer: fmt.Sprintf("http://127.0.0.1:%d", public), admin: fmt.Sprintf("http://127.0.0.1:%d", admin), log: &testkit.Buffer{}}
		conf := hydraExampleFile(t, "hydra.yml.tmpl", map[string]string{
			"ISSUER": h.issuer, "PUBLIC_PORT": fmt.Sprint(public), "ADMIN_PORT": fmt.Sprint(admin),
			"APP": app, "SYSTEM_SECRET": randomID() + randomID(),
		})
		path := filepath.Join(dir, "hydra.yml")
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		// --dev: the issuer is plain http on loopback.
		cmd := exec.Command(bin, "serve", "all", "--dev", "--sqa-opt-out", "--config", path)
		// Hydra reads any configuration key from the environment (DSN,
		// SERVE_PUBLIC_PORT...): it gets none of the caller's.
		cmd.Dir, cmd.Env = dir, []string{"HOME=" + dir, "TMPDIR=" + dir}
		cmd.Stdout, cmd.Stderr = h.log, h.log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			<-done
			if t.Failed() {
				t.Logf("hydra log:\n%s", h.log.String())
			}
		})
		if h.waitReady(t, done) {
			return h
		}
		if attempt == 3 || !strings.Contains(h.log.String(), "address already in use") {
			t.Fatalf("hydra exited early:\n%s", h.log.String())
		}
	}
}

// waitReady reports whether both of Hydra's listeners answer /health/ready;
// false means it exited first.
func (h *hydra) waitReady(t *testing.T, done chan struct{}) bool {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		select {
		case <-done:
			return false
		default:
		}
		ready := 0
		for _, base := range []string{h.issuer, h.admin} {
			if resp, err := hydraClient.Get(base + "/health/ready"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					ready++
				}
			}
		}
		if ready == 2 {
			return true
		}
		if time.Now().After(deadline) {
			t.Fatalf("hydra not ready after 60s:\n%s", h.log.String())
		}
	}
}

// hydraClient talks to Hydra's APIs: bounded, so a stuck Hydra fails the
// test instead of hanging it.
var hydraClient = &http.Client{Timeout: 30 * time.Second}

// adminCall sends body (JSON when not nil) to Hydra's admin API and
// decodes the answer into out (when not nil); any status but want fails.
func (h *hydra) adminCall(method, path string, body, out any, want int) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, h.admin+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hydraClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return fmt.Errorf("hydra %s %s: %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// hydraApp is the login, consent and logout app Hydra redirects the
// browser to: it logs in one fixed user, remembered (Hydra sends
// back-channel logouts only for remembered login sessions), and copies the
// login session id into the access token as "sid", as examples/hydra's
// README shows.
type hydraApp struct {
	url     string
	subject string
	hydra   atomic.Pointer[hydra]
	// logoutTokens receives the logout tokens POSTed to /backchannel,
	// the logout URI of a client that records what Hydra sends.
	logoutTokens chan string
}

func startHydraApp(t *testing.T, subject string) *hydraApp {
	t.Helper()
	a := &hydraApp{subject: subject, logoutTokens: make(chan string, 8)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", a.login)
	mux.HandleFunc("GET /consent", a.consent)
	mux.HandleFunc("GET /logout", a.logout)
	// The client's redirect_uri: the code is the answer.
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		if e := r.URL.Query().Get("error"); e != "" {
			http.Error(w, e+": "+r.URL.Query().Get("error_description"), http.StatusBadRequest)
			return
		}
		fmt.Fprint(w, r.URL.Query().Get("code"))
	})
	mux.HandleFunc("POST /backchannel", func(w http.ResponseWriter, r *http.Request) {
		select {
		case a.logoutTokens <- r.PostFormValue("logout_token"):
		default:
		}
	})
	mux.HandleFunc("GET /logged-out", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "logged out") })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	a.url = srv.URL
	return a
}

// accept PUTs body to one of Hydra's accept endpoints and redirects the
// browser where Hydra says.
func (a *hydraApp) accept(w http.ResponseWriter, r *http.Request, path string, body any) {
	var res struct {
		RedirectTo string `json:"redirect_to"`
	}
	if err := a.hydra.Load().adminCall(http.MethodPut, path, body, &res, http.StatusOK); err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	http.Redirect(w, r, res.RedirectTo, http.StatusFound)
}

func (a *hydraApp) login(w http.ResponseWriter, r *http.Request) {
	q := url.Values{"login_challenge": {r.URL.Query().Get("login_challenge")}}
	a.accept(w, r, "/admin/oauth2/auth/requests/login/accept?"+q.Encode(), map[string]any{
		"subject":  a.subject,
		"remember": true,
	})
}

func (a *hydraApp) consent(w http.ResponseWriter, r *http.Request) {
	q := url.Values{"consent_challenge": {r.URL.Query().Get("consent_challenge")}}
	var req struct {
		RequestedScope    []string `json:"requested_scope"`
		RequestedAudience []string `json:"requested_access_token_audience"`
		LoginSessionID    string   `json:"login_session_id"`
	}
	if err := a.hydra.Load().adminCall(http.MethodGet, "/admin/oauth2/auth/requests/consent?"+q.Encode(), nil, &req, http.StatusOK); err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	if req.LoginSessionID == "" {
		http.Error(w, "consent request without login_session_id", http.StatusBadGateway)
		return
	}
	a.accept(w, r, "/admin/oauth2/auth/requests/consent/accept?"+q.Encode(), map[string]any{
		"grant_scope":                 req.RequestedScope,
		"grant_access_token_audience": req.RequestedAudience,
		"session": map[string]any{
			"access_token": map[string]any{"sid": req.LoginSessionID},
		},
	})
}

func (a *hydraApp) logout(w http.ResponseWriter, r *http.Request) {
	q := url.Values{"logout_challenge": {r.URL.Query().Get("logout_challenge")}}
	a.accept(w, r, "/admin/oauth2/auth/requests/logout/accept?"+q.Encode(), nil)
}

// newBrowser is one user agent: its own cookie jar, so its own Hydra login
// session.
func newBrowser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 30 * time.Second}
}

// get follows every redirect from u and returns the final body; any final
// status but 200 fails the test.
func get(t *testing.T, c *http.Client, u string) string {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s ended at %s with %d: %s", u, resp.Request.URL, resp.StatusCode, b)
	}
	return string(b)
}

// hydraTokens are the answer of Hydra's token endpoint.
type hydraTokens struct {
	AccessToken string `json:"access_token"`
	IDToken     string `json:"id_token"`
}

// tokenRequest posts form to Hydra's token endpoint as client id.
func tokenRequest(t *testing.T, h *hydra, id, secret string, form url.Values) hydraTokens {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.issuer+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := hydraClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token request (%s): %d: %s", form.Get("grant_type"), resp.StatusCode, b)
	}
	var tok hydraTokens
	if err := json.Unmarshal(b, &tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token answer without an access token (%v): %s", err, b)
	}
	return tok
}

// signIn runs the authorization code flow in browser c and returns its
// tokens.
func signIn(t *testing.T, h *hydra, app *hydraApp, c *http.Client, clientID, secret string) hydraTokens {
	t.Helper()
	redirect := app.url + "/callback"
	q := url.Values{
		"client_id": {clientID}, "response_type": {"code"}, "scope": {"openid orders"},
		"redirect_uri": {redirect}, "state": {randomID()}, "nonce": {randomID()},
	}
	code := get(t, c, h.issuer+"/oauth2/auth?"+q.Encode())
	if code == "" {
		t.Fatal("the authorization flow ended without a code")
	}
	tok := tokenRequest(t, h, clientID, secret, url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect},
	})
	if tok.IDToken == "" {
		t.Fatal("no ID token for scope openid")
	}
	return tok
}
