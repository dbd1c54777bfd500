package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/revgate/revgate/internal/redistest"
	"github.com/revgate/revgate/internal/testkit"
)

// djangoPython is Debian's interpreter, where the python3-django and
// python3-djangorestframework-simplejwt packages install. The python3 first
// in PATH may be another one (pyenv) without them.
const djangoPython = "/usr/bin/python3"

const djangoInstallHint = "apt-get install -y python3-django python3-djangorestframework-simplejwt"

// simplejwtExample is the recipe under test, used as it is.
const simplejwtExample = "../../examples/simplejwt"

// requireDjango fails (never skips) when the issuer cannot run here.
func requireDjango(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(djangoPython); err != nil {
		t.Fatalf("the simplejwt integration test needs %s with Django REST framework simplejwt: %s", djangoPython, djangoInstallHint)
	}
	out, err := exec.Command(djangoPython, "-c", "import django, rest_framework, rest_framework_simplejwt").CombinedOutput()
	if err != nil {
		t.Fatalf("the simplejwt integration test needs Django REST framework simplejwt for %s (%v: %s): %s",
			djangoPython, err, strings.TrimSpace(string(out)), djangoInstallHint)
	}
}

// issuer is the example's Django project running under runserver.
type issuer struct {
	url     string
	keyFile string
	log     *testkit.Buffer
}

// startIssuer migrates a fresh SQLite database, creates users with the
// example's createuser command and serves the example issuer until the test
// ends.
func startIssuer(t *testing.T, dir string, users map[string]string) *issuer {
	t.Helper()
	requireDjango(t)
	tmp := t.TempDir()
	is := &issuer{keyFile: filepath.Join(tmp, "jwt-signing-key")}
	if err := os.WriteFile(is.keyFile, []byte(randomID()+randomID()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(cleanEnv(),
		"SIMPLEJWT_SIGNING_KEY_FILE="+is.keyFile,
		"SIMPLEJWT_DB="+filepath.Join(tmp, "db.sqlite3"),
		"PYTHONDONTWRITEBYTECODE=1", // keep the example directory clean
		"PYTHONUNBUFFERED=1",
	)
	manage := func(args ...string) {
		t.Helper()
		cmd := exec.Command(djangoPython, append([]string{"manage.py"}, args...)...)
		cmd.Dir, cmd.Env = dir, env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("manage.py %s: %v\n%s", args[0], err, out)
		}
	}
	manage("migrate", "--verbosity", "0")
	for name, password := range users {
		manage("createuser", name, "--password", password)
	}

	// runserver takes no listener and, given port 0, does not say which
	// port it bound: it gets one free a moment ago, and another when that
	// one was taken meanwhile.
	for attempt := 1; ; attempt++ {
		if is.serve(t, dir, env, freePortNow(t)) {
			return is
		}
		if attempt == 3 || !strings.Contains(is.log.String(), "That port is already in use") {
			t.Fatalf("Django exited early:\n%s", is.log.String())
		}
	}
}

// serve runs the issuer on addr until the test ends, and reports whether
// it answers; false means it exited first.
func (is *issuer) serve(t *testing.T, dir string, env []string, addr string) bool {
	t.Helper()
	log := &testkit.Buffer{}
	is.log = log
	cmd := exec.Command(djangoPython, "manage.py", "runserver", "--noreload", addr)
	cmd.Dir, cmd.Env = dir, env
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("Django log:\n%s", log.String())
		}
	})
	base := "http://" + addr
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		select {
		case <-done:
			return false
		default:
		}
		if resp, err := http.Get(base + "/api/me/"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized {
				is.url = base
				return true
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("Django not answering after 30s:\n%s", log.String())
		}
	}
}

// freePortNow returns a loopback address whose port was free a moment
// ago, for a child that cannot be handed a listener; see startIssuer.
func freePortNow(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// spy sits between revgate and the issuer and counts what reaches the
// issuer, by path.
type spy struct {
	mu   sync.Mutex
	seen map[string]int
}

func newSpy(t *testing.T, target string) (*spy, string) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	s := &spy{seen: map[string]int{}}
	proxy := httputil.NewSingleHostReverseProxy(u)
	return s, newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.seen[r.URL.Path]++
		s.mu.Unlock()
		proxy.ServeHTTP(w, r)
	})
}

func (s *spy) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[path]
}

// startExampleGateway runs `revgate serve --config revgate.yaml` in the
// example's directory; the environment points it at port 0 and at this
// test's upstream, key, Redis and admin token, as REVGATE_* overrides are
// meant to.
func startExampleGateway(t *testing.T, dir, upstream, keyFile, redisURL string) *process {
	t.Helper()
	cmd := exec.Command(binary, "serve", "--config", "revgate.yaml")
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(),
		"REVGATE_LISTEN=127.0.0.1:0",
		"REVGATE_ADMIN_LISTEN=127.0.0.1:0",
		"REVGATE_UPSTREAM_URL="+upstream,
		"REVGATE_JWT_HMAC_SECRET_FILE="+keyFile,
		"REVGATE_REVOCATION_REDIS_URL="+redisURL,
		`REVGATE_ADMIN_TOKENS=[{"name":"ops","token":"`+adminToken+`"}]`,
	)
	return startServe(t, cmd)
}

// session is a client of the gateway.
type session struct {
	t       *testing.T
	gateway string
	tokens  *[]string // every token seen, to check none reaches a log
}

// post sends JSON (with bearer, when not "") and decodes a JSON answer.
func (s session) do(method, path, bearer string, body any) (int, map[string]any) {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.gateway+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&doc)
	return resp.StatusCode, doc
}

// login gets a token pair from the issuer through the gateway.
func (s session) login(user, password string) (access, refresh string) {
	s.t.Helper()
	code, doc := s.do("POST", "/api/token/", "", map[string]string{"username": user, "password": password})
	access, _ = doc["access"].(string)
	refresh, _ = doc["refresh"].(string)
	if code != 200 || access == "" || refresh == "" {
		s.t.Fatalf("login of %s through the gateway: %d %v", user, code, doc)
	}
	*s.tokens = append(*s.tokens, access, refresh)
	return access, refresh
}

// refresh presents a refresh token at the issuer's refresh route.
func (s session) refresh(refresh string) (code int, access, next string) {
	s.t.Helper()
	code, doc := s.do("POST", "/api/token/refresh/", "", map[string]string{"refresh": refresh})
	access, _ = doc["access"].(string)
	next, _ = doc["refresh"].(string)
	*s.tokens = append(*s.tokens, access, next)
	return code, access, next
}

func (s session) me(access string) (int, map[string]any) {
	s.t.Helper()
	return s.do("GET", "/api/me/", access, nil)
}

// nextSecond waits for the next whole second: a token issued in the same
// second as a revocation mark counts as revoked.
func nextSecond() {
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 50*time.Millisecond)))
}

func TestSimplejwtIssuerBehindRevgate(t *testing.T) {
	dir, err := filepath.Abs(simplejwtExample)
	if err != nil {
		t.Fatal(err)
	}
	users := map[string]string{"alice": "alice-password-1", "bob": "bob-password-1"}
	django := startIssuer(t, dir, users)
	seen, spyURL := newSpy(t, django.url)
	redis := redistest.Start(t, redistest.Options{})
	gw := startExampleGateway(t, dir, spyURL, django.keyFile, redis.URL())
	var tokens []string
	s := session{t: t, gateway: "http://" + gw.proxy, tokens: &tokens}
	const refreshPath = "/api/token/refresh/"

	// alice's user_id is 1 or 2, depending on creation order.
	access1, refresh1 := s.login("alice", users["alice"])
	code, doc := s.me(access1)
	if code != 200 || doc["username"] != "alice" {
		t.Fatalf("the protected path with alice's access token: %d %v", code, doc)
	}
	aliceID := fmt.Sprint(doc["user_id"])
	if doc["revgate_subject"] != aliceID {
		t.Fatalf("X-Revgate-Subject %v, want the user_id %s", doc["revgate_subject"], aliceID)
	}
	bobAccess, _ := s.login("bob", users["bob"])
	bobStillIn := func(step string) {
		t.Helper()
		if code, _ := s.me(bobAccess); code != 200 {
			t.Fatalf("%s: bob's access token got %d, want 200", step, code)
		}
	}

	// Each step builds on the one before: stop at the first failure.
	step := func(name string, f func(t *testing.T)) {
		t.Helper()
		if !t.Run(name, f) {
			t.FailNow()
		}
	}

	step("a wrong password is the issuer's answer, passed through", func(t *testing.T) {
		code, _ := s.do("POST", "/api/token/", "", map[string]string{"username": "alice", "password": "wrong"})
		if code != 401 {
			t.Fatalf("got %d, want 401", code)
		}
	})
	step("the protected path needs a token", func(t *testing.T) {
		before := seen.count("/api/me/")
		if code, _ := s.me(""); code != 401 {
			t.Fatalf("got %d, want 401", code)
		}
		if seen.count("/api/me/") != before {
			t.Fatal("the issuer saw a request without a token")
		}
	})
	step("a refresh token used as an access token is refused", func(t *testing.T) {
		before := seen.count("/api/me/")
		if code, _ := s.me(refresh1); code != 401 {
			t.Fatalf("got %d, want 401", code)
		}
		if seen.count("/api/me/") != before {
			t.Fatal("the issuer saw the request")
		}
	})
	step("an access token used as a refresh token is refused", func(t *testing.T) {
		before := seen.count(refreshPath)
		if code, _, _ := s.refresh(access1); code != 401 {
			t.Fatalf("got %d, want 401", code)
		}
		if seen.count(refreshPath) != before {
			t.Fatal("the issuer saw the request")
		}
	})

	var access2, refresh2 string
	step("a refresh token refreshes, rotated", func(t *testing.T) {
		code, access2, refresh2 = s.refresh(refresh1)
		if code != 200 || access2 == "" || refresh2 == "" || refresh2 == refresh1 {
			t.Fatalf("refresh: %d", code)
		}
		if code, _ := s.me(access2); code != 200 {
			t.Fatalf("the new access token: %d", code)
		}
	})
	step("logout revokes the presented access and refresh tokens and is never forwarded", func(t *testing.T) {
		code, doc := s.do("POST", "/auth/logout", access2, map[string]string{"refresh": refresh2})
		if code != 200 || doc["status"] != "logged_out" {
			t.Fatalf("logout: %d %v", code, doc)
		}
		if seen.count("/auth/logout") != 0 {
			t.Fatal("the logout reached the issuer")
		}
		if code, _ := s.me(access2); code != 401 {
			t.Fatalf("the logged-out access token: %d, want 401", code)
		}
		before := seen.count(refreshPath)
		if code, _, _ := s.refresh(refresh2); code != 401 {
			t.Fatalf("the logged-out refresh token: %d, want 401", code)
		}
		if seen.count(refreshPath) != before {
			t.Fatal("the issuer saw the logged-out refresh token")
		}
		if code, _ := s.me(access1); code != 200 {
			t.Fatalf("alice's other session: %d, want 200", code)
		}
		bobStillIn("after alice's logout")
	})

	step("logout everywhere: every token of the user is refused, the refresh token never reaches the issuer", func(t *testing.T) {
		access3, refresh3 := s.login("alice", users["alice"]) // another device
		if code, _ := s.me(access3); code != 200 {
			t.Fatalf("the other device: %d", code)
		}
		code, doc := s.do("POST", "/auth/logout", access1, map[string]bool{"all": true})
		if code != 200 {
			t.Fatalf("logout everywhere: %d %v", code, doc)
		}
		for name, tok := range map[string]string{"access1": access1, "access3": access3} {
			if code, _ := s.me(tok); code != 401 {
				t.Fatalf("%s after logout everywhere: %d, want 401", name, code)
			}
		}
		before := seen.count(refreshPath)
		if code, _, _ := s.refresh(refresh3); code != 401 {
			t.Fatalf("refresh after logout everywhere: %d, want 401", code)
		}
		if seen.count(refreshPath) != before {
			t.Fatal("the issuer saw a refresh token of a user logged out everywhere")
		}
		bobStillIn("after alice logged out everywhere")

		r := runCLIEnv(t, nil, "", "status", "subject", aliceID, "--admin-url", "http://"+gw.admin, "--admin-token", adminToken)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "subject "+aliceID+": tokens issued at or before ") {
			t.Fatalf("revgate status subject %s: %s", aliceID, r)
		}
	})

	var access4, refresh4 string
	step("a login in a later second works again", func(t *testing.T) {
		nextSecond()
		access4, refresh4 = s.login("alice", users["alice"])
		if code, _ := s.me(access4); code != 200 {
			t.Fatalf("fresh login: %d, want 200", code)
		}
	})
	step("a replayed rotated refresh token revokes the user", func(t *testing.T) {
		code, access5, refresh5 := s.refresh(refresh4)
		if code != 200 {
			t.Fatalf("first use: %d", code)
		}
		if code, _ := s.me(access5); code != 200 {
			t.Fatalf("access token from the refresh: %d", code)
		}
		before := seen.count(refreshPath)
		if code, _, _ := s.refresh(refresh4); code != 401 {
			t.Fatalf("replay: %d, want 401", code)
		}
		if seen.count(refreshPath) != before {
			t.Fatal("the issuer saw the replayed refresh token")
		}
		for name, tok := range map[string]string{"access4": access4, "access5": access5} {
			if code, _ := s.me(tok); code != 401 {
				t.Fatalf("%s after the replay: %d, want 401", name, code)
			}
		}
		if code, _, _ := s.refresh(refresh5); code != 401 {
			t.Fatalf("the thief's (or the user's) rotated refresh token after the replay: %d, want 401", code)
		}
		bobStillIn("after alice's refresh token was replayed")
	})
	step("after the replay, a login in a later second works", func(t *testing.T) {
		nextSecond()
		access6, refresh6 := s.login("alice", users["alice"])
		if code, _ := s.me(access6); code != 200 {
			t.Fatalf("fresh login: %d, want 200", code)
		}
		if code, _, _ := s.refresh(refresh6); code != 200 {
			t.Fatalf("its refresh: %d, want 200", code)
		}
	})

	logs := gw.stderr.String()
	if !strings.Contains(logs, "refresh_reuse_detected") {
		t.Errorf("no audit event for the reuse:\n%s", logs)
	}
	for _, tok := range append(tokens, bobAccess, adminToken) {
		if tok != "" && strings.Contains(logs, tok) {
			t.Errorf("a token (%.12s...) appears in the gateway log", tok)
		}
	}
}
