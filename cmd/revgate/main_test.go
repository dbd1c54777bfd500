package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/revgate/revgate/internal/redistest"
)

// binary is the revgate binary built once for the process-level tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "revgate-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "revgate")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building revgate:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// signer is an ES256 key whose public half is written as a JWKS file.
type signer struct {
	key      jwk.Key
	jwksPath string
}

func newSigner(t testing.TB) signer {
	t.Helper()
	raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := jwk.FromRaw(raw)
	_ = key.Set(jwk.KeyIDKey, "e2e")
	_ = key.Set(jwk.AlgorithmKey, jwa.ES256)
	pub, _ := key.PublicKey()
	set := jwk.NewSet()
	_ = set.AddKey(pub)
	b, _ := json.Marshal(set)
	path := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return signer{key: key, jwksPath: path}
}

func (s signer) mint(t testing.TB, sub string) string {
	t.Helper()
	tok, err := mint(s.key, jwa.ES256, mintRequest{Subject: sub, TTL: time.Hour, Now: time.Now().Add(-2 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

const adminToken = "e2e-admin-token-0123456789"

func call(t *testing.T, method, url, token, body string) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// wantCall makes a call that must answer want.
func wantCall(t *testing.T, want int, what, method, url, token, body string) {
	t.Helper()
	if code := call(t, method, url, token, body); code != want {
		t.Fatalf("%s: %d, want %d", what, code, want)
	}
}

func newUpstream(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

func TestTwoGatewayProcessesSharingOneRedisAgreeOnTheVeryNextRequest(t *testing.T) {
	redis := redistest.Start(t, redistest.Options{})
	s := newSigner(t)
	upstream := newUpstream(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(200) })
	cfg := fmt.Sprintf("upstream:\n  url: %q\njwt:\n  jwks_file: %q\n  algorithms: [ES256]\nrevocation:\n  redis:\n    url: %q\nlog:\n  level: warn\n",
		upstream, s.jwksPath, redis.URL())
	one, two := startGateway(t, cfg), startGateway(t, cfg)

	alice, bob := s.mint(t, "alice"), s.mint(t, "bob")
	for _, gw := range []*process{one, two} {
		wantCall(t, 200, "before revocation", "GET", "http://"+gw.proxy+"/x", alice, "")
	}
	wantCall(t, 200, "revoke through gateway one", "POST", "http://"+one.admin+"/v1/revocations/tokens", adminToken, `{"token":"`+alice+`"}`)
	wantCall(t, 401, "gateway two on the very next request", "GET", "http://"+two.proxy+"/x", alice, "")
	wantCall(t, 200, "revoke subject through gateway two", "POST", "http://"+two.admin+"/v1/revocations/subjects/bob", adminToken, "")
	wantCall(t, 401, "gateway one on the very next request", "GET", "http://"+one.proxy+"/x", bob, "")
	for _, gw := range []*process{one, two} {
		if strings.Contains(gw.stderr.String(), alice) || strings.Contains(gw.stderr.String(), adminToken) {
			t.Error("a token appears in the gateway's logs")
		}
	}
}

// Operators quiet the access log with log.level; that must never silence
// the audit trail.
func TestAuditEventsAreWrittenAtEveryLogLevel(t *testing.T) {
	s := newSigner(t)
	upstream := newUpstream(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(200) })
	gw := startGateway(t, fmt.Sprintf("upstream:\n  url: %q\njwt:\n  jwks_file: %q\n  algorithms: [ES256]\nrevocation:\n  store: memory\nlog:\n  level: error\n",
		upstream, s.jwksPath))

	alice := s.mint(t, "alice")
	wantCall(t, 200, "before revocation", "GET", "http://"+gw.proxy+"/x", alice, "")
	wantCall(t, 200, "revoke subject", "POST", "http://"+gw.admin+"/v1/revocations/subjects/bob", adminToken, `{"reason":"stolen laptop"}`)
	wantCall(t, 200, "logout", "POST", "http://"+gw.proxy+"/auth/logout", alice, "")
	// The logout's event may be written just after its answer.
	var audit []string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		audit = audit[:0]
		for _, line := range strings.Split(gw.stderr.String(), "\n") {
			if strings.Contains(line, `"log":"audit"`) {
				audit = append(audit, line)
			}
		}
		if len(audit) >= 2 || time.Now().After(deadline) {
			break
		}
	}
	if strings.Contains(gw.stderr.String(), `"log":"access"`) {
		t.Errorf("an access log line at log.level error:\n%s", gw.stderr.String())
	}
	if len(audit) != 2 || !strings.Contains(audit[0], `"reason":"stolen laptop"`) || !strings.Contains(audit[1], `"actor":"self-service"`) {
		t.Fatalf("at log.level error, want the admin and the logout audit events, got %d:\n%s", len(audit), strings.Join(audit, "\n"))
	}
	if strings.Contains(gw.stderr.String(), alice) {
		t.Error("a token appears in the gateway's logs")
	}
}

func TestSIGTERMDrainsInFlightRequestsAndExitsZero(t *testing.T) {
	release := make(chan struct{})
	upstream := newUpstream(t, func(w http.ResponseWriter, _ *http.Request) {
		<-release
		w.WriteHeader(200)
	})
	s := newSigner(t)
	p := startGateway(t, fmt.Sprintf("upstream:\n  url: %q\njwt:\n  jwks_file: %q\n  algorithms: [ES256]\nrevocation:\n  store: memory\nserver:\n  drain_delay: 1s\n  shutdown_timeout: 10s\n",
		upstream, s.jwksPath))
	token := s.mint(t, "alice")

	const inFlight = 5
	results := make(chan int, inFlight)
	for range inFlight {
		go func() {
			req, _ := http.NewRequest("GET", "http://"+p.proxy+"/slow", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				results <- -1
				return
			}
			resp.Body.Close()
			results <- resp.StatusCode
		}()
	}
	time.Sleep(300 * time.Millisecond) // let the requests reach the upstream
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if code := call(t, "GET", "http://"+p.admin+"/readyz", "", ""); code != 503 {
		t.Errorf("readyz during the drain = %d, want 503", code)
	}
	close(release)
	for range inFlight {
		if code := <-results; code != 200 {
			t.Errorf("an in-flight request ended with %d, want 200", code)
		}
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("revgate exited with %v, want 0", err)
		}
		p.done <- nil // for the cleanup
	case <-time.After(15 * time.Second):
		t.Fatal("revgate did not exit after SIGTERM")
	}
}

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "redis-password")
	_ = os.WriteFile(secretFile, []byte("s3cret-redis-password\n"), 0o600)
	s := newSigner(t)
	valid := fmt.Sprintf("upstream:\n  url: http://127.0.0.1:3000\njwt:\n  jwks_file: %q\n  algorithms: [ES256]\n  hmac_secret: \"\"\nrevocation:\n  redis:\n    url: redis://127.0.0.1:6390/0\n    password_file: %q\nadmin:\n  tokens:\n    - name: ops\n      token: inline-admin-token-0123456789\n", s.jwksPath, secretFile)
	invalid := "upstream:\n  url: ftp://x\njwt:\n  algoritms: [RS256]\n"

	t.Run("a valid configuration prints redacted and exits 0", func(t *testing.T) {
		path := filepath.Join(dir, "ok.yaml")
		_ = os.WriteFile(path, []byte(valid), 0o600)
		out, code := runCLI(t, "config", "check", "--config", path)
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		for _, secret := range []string{"s3cret-redis-password", "inline-admin-token-0123456789"} {
			if strings.Contains(out, secret) {
				t.Errorf("output contains a secret: %s", out)
			}
		}
		if !strings.Contains(out, "redacted") || !strings.Contains(out, "127.0.0.1:3000") {
			t.Errorf("output lacks the effective configuration:\n%s", out)
		}
	})
	t.Run("an invalid configuration names the key and exits non-zero", func(t *testing.T) {
		path := filepath.Join(dir, "bad.yaml")
		_ = os.WriteFile(path, []byte(invalid), 0o600)
		out, code := runCLI(t, "config", "check", "--config", path)
		if code == 0 || !strings.Contains(out, "algoritms") {
			t.Fatalf("exit %d, output:\n%s", code, out)
		}
	})
	t.Run("a key file serve could not load fails the check", func(t *testing.T) {
		garbage := filepath.Join(dir, "garbage.jwks")
		_ = os.WriteFile(garbage, []byte("not a JWKS"), 0o600)
		for name, jwks := range map[string]string{
			"missing": filepath.Join(dir, "missing.jwks"),
			"garbage": garbage,
		} {
			path := filepath.Join(dir, name+".yaml")
			_ = os.WriteFile(path, []byte(strings.Replace(valid, s.jwksPath, jwks, 1)), 0o600)
			out, code := runCLI(t, "config", "check", "--config", path)
			if code != 1 || !strings.Contains(out, "jwt.jwks_file") {
				t.Errorf("%s jwks_file: exit %d, want 1 naming jwt.jwks_file:\n%s", name, code, out)
			}
		}
	})
}

func runCLI(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = cleanEnv()
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}

func TestTheDemoShowsATokenRejectedAfterRevocation(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "demo", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0")
	cmd.Env = cleanEnv()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() }()

	vars := map[string]string{}
	var proxy, admin, console string
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	exportRe := regexp.MustCompile(`export (\w+)='([^']+)'`)
	for sc.Scan() {
		line := sc.Text()
		if m := exportRe.FindStringSubmatch(line); m != nil {
			vars[m[1]] = m[2]
		}
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "proxy:" {
			proxy = f[1]
		}
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "admin:" {
			admin = f[1]
		}
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "console:" {
			console = f[1]
		}
		if strings.HasPrefix(line, "Press Ctrl-C") {
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	if proxy == "" || admin == "" || vars["ALICE"] == "" || vars["BOB"] == "" {
		t.Fatalf("demo output incomplete: proxy=%q admin=%q vars=%v", proxy, admin, vars)
	}
	// The console's URL opens the console, with no sign-in in the demo.
	if console != admin+"/console/" {
		t.Fatalf("demo prints the console at %q, want %s/console/", console, admin)
	}
	resp, err := http.Get(console)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "anonymous (insecure_no_auth)") {
		t.Fatalf("the demo's console: %d\n%s", resp.StatusCode, page)
	}
	steps := []struct {
		name                     string
		method, url, token, body string
		want                     int
	}{
		{"alice's token is accepted", "GET", proxy + "/hello", vars["ALICE"], "", 200},
		{"no token is refused", "GET", proxy + "/hello", "", "", 401},
		{"the public route needs none", "GET", proxy + "/public/x", "", "", 200},
		{"revoking alice's token succeeds", "POST", admin + "/v1/revocations/tokens", "", `{"token":"` + vars["ALICE"] + `"}`, 200},
		{"alice's token is now rejected", "GET", proxy + "/hello", vars["ALICE"], "", 401},
		{"her other token still works", "GET", proxy + "/hello", vars["ALICE2"], "", 200},
		{"revoking alice everywhere succeeds", "POST", admin + "/v1/revocations/subjects/alice", "", "", 200},
		{"her other token is now rejected", "GET", proxy + "/hello", vars["ALICE2"], "", 401},
		{"bob is unaffected", "GET", proxy + "/hello", vars["BOB"], "", 200},
		{"bob logs himself out", "POST", proxy + "/auth/logout", vars["BOB"], "", 200},
		{"bob's token is now rejected", "GET", proxy + "/hello", vars["BOB"], "", 401},
	}
	for _, s := range steps {
		if code := call(t, s.method, s.url, s.token, s.body); code != s.want {
			t.Fatalf("%s: %d, want %d", s.name, code, s.want)
		}
	}
}

func TestUsageErrorsExit2OnEveryCommand(t *testing.T) {
	for _, args := range [][]string{
		{"bogus"}, {"serv"}, {"serve", "extra"}, {"demo", "extra"}, {"version", "extra"},
		{"config"}, {"config", "validate"}, {"config", "check", "extra"}, {"serve", "--no-such-flag"},
	} {
		out, code := runCLI(t, args...)
		if code != 2 || !strings.Contains(out, "--help") {
			t.Errorf("revgate %s: exit %d, want 2 pointing at --help:\n%s", strings.Join(args, " "), code, out)
		}
	}
	if out, code := runCLI(t); code != 0 || !strings.Contains(out, "Usage:") {
		t.Errorf("revgate alone: exit %d, want 0 with the help:\n%s", code, out)
	}
}
