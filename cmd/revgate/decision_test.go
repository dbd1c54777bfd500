package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/revgate/revgate/internal/redistest"
	"github.com/revgate/revgate/internal/testkit"
)

// decisionAddr finds the decision listener's address in the "revgate
// listening" line.
func decisionAddr(t *testing.T, p *process) string {
	t.Helper()
	for line := range strings.Lines(p.stderr.String()) {
		var rec struct{ Msg, Proxy, Decision string }
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "revgate listening" {
			if rec.Proxy != "off" {
				t.Errorf("proxy = %q in decision mode without an upstream, want off", rec.Proxy)
			}
			if rec.Decision == "" {
				t.Fatalf("no decision address in %s", line)
			}
			return rec.Decision
		}
	}
	t.Fatalf("no \"revgate listening\" line:\n%s", p.stderr.String())
	return ""
}

// decisionGateway runs `revgate serve` in decision mode alone (no
// upstream.url) on a real Redis, with /public/ an auth: none route.
type decisionGateway struct {
	*process
	decision string
	redis    *redistest.Server
	signer   signer
}

func startDecisionGateway(t *testing.T) *decisionGateway {
	t.Helper()
	redis := redistest.Start(t, redistest.Options{})
	s := newSigner(t)
	p := startGateway(t, fmt.Sprintf(`decision:
  listen: 127.0.0.1:0
routes:
  - prefix: /public/
    auth: none
jwt:
  jwks_file: %q
  algorithms: [ES256]
revocation:
  redis:
    url: %q
server:
  drain_delay: 0s
`, s.jwksPath, redis.URL()))
	return &decisionGateway{process: p, decision: decisionAddr(t, p), redis: redis, signer: s}
}

// revoke revokes a token through the admin API.
func (g *decisionGateway) revoke(t *testing.T, token string) {
	t.Helper()
	wantCall(t, 200, "revoking a token", http.MethodPost, "http://"+g.admin+"/v1/revocations/tokens", adminToken, `{"token":"`+token+`"}`)
}

func TestServeDecisionModeWithoutAnUpstream(t *testing.T) {
	g := startDecisionGateway(t)
	token := g.signer.mint(t, "alice")
	req, _ := http.NewRequest(http.MethodGet, "http://"+g.decision+"/forward-auth", nil)
	req.Header.Set("X-Forwarded-Method", "GET")
	req.Header.Set("X-Forwarded-Uri", "/orders")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Revgate-Subject") != "alice" {
		t.Errorf("/forward-auth: %d subject %q, want 200 alice", resp.StatusCode, resp.Header.Get("X-Revgate-Subject"))
	}
	out, _ := exec.Command(binary, "serve", "--help").CombinedOutput()
	for _, s := range []string{"decision.listen", "/forward-auth", "/auth-request", "/ext-authz/"} {
		if !strings.Contains(string(out), s) {
			t.Errorf("serve --help does not mention %s", s)
		}
	}
}

// recordingUpstream is the API behind the real proxies: it records the
// headers of every request it receives.
type recordingUpstream struct {
	addr string
	mu   sync.Mutex
	got  []http.Header
}

func newRecordingUpstream(t *testing.T) *recordingUpstream {
	u := &recordingUpstream{}
	ln := testkit.Listen(t)
	u.addr = ln.Addr().String()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.got = append(u.got, r.Header.Clone())
		u.mu.Unlock()
		_, _ = io.WriteString(w, "upstream says hi")
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return u
}

func (u *recordingUpstream) requests() []http.Header {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]http.Header(nil), u.got...)
}

// subjectHeaders returns every header an upstream could read as
// X-Revgate-Subject: any case, '-' or '_' (CGI and WSGI read both alike).
func subjectHeaders(h http.Header) []string {
	var vs []string
	for name, v := range h {
		if strings.ReplaceAll(strings.ToLower(name), "_", "-") == "x-revgate-subject" {
			vs = append(vs, v...)
		}
	}
	return vs
}

// freePort returns a loopback port nothing listens on right now. A proxy
// that cannot take an open listener binds it itself, so another process
// may win the port in between: callers retry on a bind failure.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// realProxy is a running NGINX or Caddy.
type realProxy struct {
	url string
	log *testkit.Buffer
}

// startRealProxy starts the command built by start for a free port, until
// it answers there, retrying with another port when it could not bind.
func startRealProxy(t *testing.T, name string, start func(port int) *exec.Cmd) *realProxy {
	t.Helper()
	for attempt := 0; attempt < 5; attempt++ {
		port := freePort(t)
		cmd := start(port)
		out := &testkit.Buffer{}
		cmd.Stdout, cmd.Stderr = out, out
		// NGINX's workers are its children: they are stopped with their
		// master as one process group, or they would hold the output pipe
		// (and the port) after the test.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.WaitDelay = 5 * time.Second
		stop := func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting %s: %v", name, err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(25 * time.Millisecond) {
			select {
			case err := <-done:
				if strings.Contains(out.String(), "address already in use") {
					goto retry
				}
				t.Fatalf("%s exited: %v\n%s", name, err, out.String())
			default:
			}
			if c, err := net.Dial("tcp", addr); err == nil {
				c.Close()
				t.Cleanup(func() {
					stop()
					<-done
					if t.Failed() {
						t.Logf("%s output:\n%s", name, out.String())
					}
				})
				return &realProxy{url: "http://" + addr, log: out}
			}
		}
		stop()
		<-done
		t.Fatalf("%s did not listen on %s within 10s\n%s", name, addr, out.String())
	retry:
	}
	t.Fatalf("%s: no free port after 5 attempts", name)
	return nil
}

// exampleFile reads a file of examples/decision, the very configurations
// the README shows.
func exampleFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", "decision", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func startNGINX(t *testing.T, revgateDecision, upstream string) *realProxy {
	t.Helper()
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		if nginx, err = exec.LookPath("/usr/sbin/nginx"); err != nil {
			t.Fatal("nginx is not installed (test.sh installs nginx-light)")
		}
	}
	example := exampleFile(t, "nginx.conf.tmpl")
	dir := t.TempDir()
	return startRealProxy(t, "nginx", func(port int) *exec.Cmd {
		server := strings.NewReplacer("${NGINX_LISTEN}", fmt.Sprintf("127.0.0.1:%d", port),
			"${REVGATE_DECISION}", revgateDecision, "${UPSTREAM}", upstream).Replace(example)
		user := ""
		if os.Geteuid() == 0 {
			user = "user root;" // the temporary directory is root's alone
		}
		conf := fmt.Sprintf(`%s
daemon off;
worker_processes 1;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log info;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path %[2]s/body;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;
%[3]s
}
`, user, dir, server)
		path := filepath.Join(dir, "nginx.conf")
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		return exec.Command(nginx, "-p", dir, "-c", path, "-e", filepath.Join(dir, "error.log"))
	})
}

func startCaddy(t *testing.T, revgateDecision, upstream string) *realProxy {
	t.Helper()
	caddy, err := exec.LookPath("caddy")
	if err != nil {
		t.Fatal("caddy is not installed (test.sh installs caddy)")
	}
	example, err := filepath.Abs(filepath.Join("..", "..", "examples", "decision", "Caddyfile"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// The test's global options, then the example as it is.
	conf := fmt.Sprintf("{\n\tadmin off\n\tauto_https off\n}\nimport %s\n", example)
	path := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return startRealProxy(t, "caddy", func(port int) *exec.Cmd {
		cmd := exec.Command(caddy, "run", "--config", path, "--adapter", "caddyfile")
		cmd.Env = append(cleanEnv(), "HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir,
			fmt.Sprintf("SITE_ADDRESS=http://127.0.0.1:%d", port),
			"REVGATE_DECISION="+revgateDecision, "UPSTREAM="+upstream)
		return cmd
	})
}

func TestRealProxiesAskRevgate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start func(t *testing.T, decision, upstream string) *realProxy
		// storeDown is what the proxy answers when revgate says 503,
		// badPath when revgate refuses a path (auth_request makes it 403:
		// NGINX turns a 400 into a 500).
		storeDown, badPath int
	}{
		{"nginx auth_request", startNGINX, 500, 403},
		{"caddy forward_auth", startCaddy, 503, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := startDecisionGateway(t)
			up := newRecordingUpstream(t)
			px := tc.start(t, g.decision, up.addr)
			send := func(method, path, token string, header ...string) (*http.Response, string) {
				t.Helper()
				req, _ := http.NewRequest(method, px.url+path, nil)
				if token != "" {
					req.Header.Set("Authorization", "Bearer "+token)
				}
				for i := 0; i+1 < len(header); i += 2 {
					req.Header[header[i]] = append(req.Header[header[i]], header[i+1])
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatalf("%s %s: %v", method, path, err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				return resp, string(b)
			}
			// refused sends a request that must not reach the upstream.
			refused := func(what string, wantStatus int, method, path, token string, header ...string) *http.Response {
				t.Helper()
				before := len(up.requests())
				resp, body := send(method, path, token, header...)
				if resp.StatusCode != wantStatus {
					t.Errorf("%s: %d, want %d (%s)", what, resp.StatusCode, wantStatus, body)
				}
				if n := len(up.requests()) - before; n != 0 {
					t.Errorf("%s reached the upstream %d times", what, n)
				}
				return resp
			}
			alice := g.signer.mint(t, "alice")

			t.Run("a valid token reaches the upstream with its subject", func(t *testing.T) {
				resp, body := send("GET", "/orders?x=1", alice, "X-Revgate-Subject", "admin", "X_Revgate_Subject", "admin")
				if resp.StatusCode != 200 || body != "upstream says hi" {
					t.Fatalf("%d %q, want the upstream's 200", resp.StatusCode, body)
				}
				got := up.requests()
				if vs := subjectHeaders(got[len(got)-1]); len(vs) != 1 || vs[0] != "alice" {
					t.Errorf("the upstream read the subject as %q, want exactly [alice]", vs)
				}
			})
			t.Run("a forged subject on an auth: none route never reaches the upstream", func(t *testing.T) {
				resp, _ := send("POST", "/public/login", "", "X-Revgate-Subject", "admin", "x-revgate-subject", "root",
					"X_Revgate_Subject", "admin", "X-REVGATE_subject", "admin")
				if resp.StatusCode != 200 {
					t.Fatalf("%d, want 200", resp.StatusCode)
				}
				got := up.requests()
				for _, v := range subjectHeaders(got[len(got)-1]) {
					if v != "" {
						t.Errorf("the upstream received a subject %q from the client (headers %v)", v, got[len(got)-1])
					}
				}
			})
			t.Run("no token is 401 and never forwarded", func(t *testing.T) {
				resp := refused("no token", 401, "GET", "/orders", "")
				if resp.Header.Get("WWW-Authenticate") != `Bearer realm="revgate"` {
					t.Errorf("WWW-Authenticate = %q", resp.Header.Get("WWW-Authenticate"))
				}
			})
			t.Run("a revoked token is 401 with revgate's challenge and never forwarded", func(t *testing.T) {
				bob := g.signer.mint(t, "bob")
				g.revoke(t, bob)
				resp := refused("a revoked token", 401, "GET", "/orders", bob)
				if wa := resp.Header.Get("WWW-Authenticate"); !strings.Contains(wa, `error="invalid_token"`) || !strings.Contains(wa, "revoked") {
					t.Errorf("WWW-Authenticate = %q, want revgate's invalid_token challenge", wa)
				}
			})
			t.Run("a path read two ways is refused, never forwarded", func(t *testing.T) {
				refused("an encoded slash", tc.badPath, "GET", "/public/..%2forders", "")
				refused("a dot segment with parameters", tc.badPath, "GET", "/public/..;/orders", "")
			})
			t.Run("logout is served by revgate through the proxy", func(t *testing.T) {
				carol := g.signer.mint(t, "carol")
				before := len(up.requests())
				resp, body := send("POST", "/auth/logout", carol)
				if resp.StatusCode != 200 || !strings.Contains(body, "logged_out") {
					t.Fatalf("logout: %d %s", resp.StatusCode, body)
				}
				if len(up.requests()) != before {
					t.Error("logout reached the upstream")
				}
				refused("the logged-out token", 401, "GET", "/orders", carol)
				refused("a logout path the proxy routes to the upstream", 403, "POST", "/auth/logout/", carol)
			})
			t.Run("an h2c upgrade is refused, never forwarded", func(t *testing.T) {
				refused("an h2c upgrade", 403, "GET", "/orders", alice,
					"Connection", "Upgrade, HTTP2-Settings", "Upgrade", "h2c", "Http2-Settings", "AAMAAABkAAQCAAAAAAIAAAAA")
			})
			t.Run("the store down is never 200 and never forwarded", func(t *testing.T) {
				g.redis.Stop()
				refused("the store down", tc.storeDown, "GET", "/orders", alice)
			})
		})
	}
}

// The README shows the very configurations the real-proxy tests run.
func TestREADMEShowsTheTestedProxyConfigurations(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"nginx.conf.tmpl", "Caddyfile"} {
		if !strings.Contains(string(b), exampleFile(t, name)) {
			t.Errorf("README.md does not include examples/decision/%s as it is", name)
		}
	}
}
