package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/revgate/revgate/internal/testkit"
)

// process is a running `revgate serve`.
type process struct {
	cmd *exec.Cmd
	// proxy and admin are the addresses it bound, read from its log: it
	// is started on port 0, so no other test can take them meanwhile.
	proxy, admin string
	stderr       *testkit.Buffer
	// done receives the exit once; whoever takes it puts it back for the
	// cleanup.
	done chan error
}

// startServe starts cmd, a `revgate serve` whose configuration binds port
// 0, kills it when the test ends, and returns once it is ready.
func startServe(t *testing.T, cmd *exec.Cmd) *process {
	t.Helper()
	p := &process{cmd: cmd, stderr: &testkit.Buffer{}, done: make(chan error, 1)}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("revgate stderr:\n%s", p.stderr.String())
		}
	})
	p.proxy, p.admin = waitListening(t, p)
	waitReady(t, "http://"+p.admin+"/readyz", p)
	return p
}

// startGateway writes a config listening on port 0 and runs `revgate
// serve` with it until the test ends.
func startGateway(t *testing.T, configYAML string) *process {
	t.Helper()
	path := filepath.Join(t.TempDir(), "revgate.yaml")
	body := fmt.Sprintf("listen: 127.0.0.1:0\nadmin:\n  listen: 127.0.0.1:0\n  tokens:\n    - name: ops\n      token: %q\n%s", adminToken, configYAML)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "serve", "--config", path)
	cmd.Env = cleanEnv()
	return startServe(t, cmd)
}

// cleanEnv is the environment without REVGATE_ overrides from the caller.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "REVGATE_") {
			env = append(env, kv)
		}
	}
	return env
}

// exited fails the test when p has exited.
func (p *process) exited(t *testing.T) {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err
		t.Fatalf("revgate exited early: %v\n%s", err, p.stderr.String())
	default:
	}
}

// waitListening returns the addresses of p's "revgate listening" line.
func waitListening(t *testing.T, p *process) (proxy, admin string) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		p.exited(t)
		if proxy, admin, ok := listenedAddrs(p.stderr.String()); ok {
			return proxy, admin
		}
	}
	t.Fatalf("no \"revgate listening\" line after 15s\n%s", p.stderr.String())
	return "", ""
}

var textListening = regexp.MustCompile(`msg="revgate listening" proxy=(\S+) admin=(\S+)`)

// listenedAddrs finds the "revgate listening" line in log, in either
// log.format.
func listenedAddrs(log string) (proxy, admin string, ok bool) {
	for line := range strings.Lines(log) {
		var rec struct{ Msg, Proxy, Admin string }
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "revgate listening" {
			return rec.Proxy, rec.Admin, rec.Proxy != "" && rec.Admin != ""
		}
		if m := textListening.FindStringSubmatch(line); m != nil {
			return m[1], m[2], true
		}
	}
	return "", "", false
}

func waitReady(t *testing.T, url string, p *process) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		p.exited(t)
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
	}
	t.Fatalf("%s not ready after 15s\n%s", url, p.stderr.String())
}

// The tests learn where revgate listens from its log: the line must be
// there whatever log.level and log.format say.
func TestServeLogsTheBoundAddressesAtEveryLevelInEitherFormat(t *testing.T) {
	s := newSigner(t)
	for _, format := range []string{"json", "text"} {
		t.Run("at log.level error in "+format, func(t *testing.T) {
			p := startGateway(t, fmt.Sprintf("upstream:\n  url: http://127.0.0.1:3000\njwt:\n  jwks_file: %q\n  algorithms: [ES256]\nrevocation:\n  store: memory\nlog:\n  level: error\n  format: %s\n",
				s.jwksPath, format))
			// No token: the proxy itself answers, so it is the proxy.
			wantCall(t, http.StatusUnauthorized, "the proxy at the logged address", "GET", "http://"+p.proxy+"/x", "", "")
			wantCall(t, http.StatusOK, "/healthz at the logged admin address", "GET", "http://"+p.admin+"/healthz", "", "")
			if strings.Contains(p.stderr.String(), "revocation store is in memory") {
				t.Errorf("a warning was logged at log.level error:\n%s", p.stderr.String())
			}
		})
	}
}
