package gateway

import (
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/revgate/revgate/config"
)

// The real RFC 7662 client: Apache httpd with Debian's
// libapache2-mod-auth-openidc, as an OAuth 2.0 resource server in front of
// a recording backend, configured by examples/introspection.

const (
	apacheBinary     = "/usr/sbin/apache2"
	apacheModules    = "/usr/lib/apache2/modules"
	apacheInstallMsg = "apt-get install -y apache2 libapache2-mod-auth-openidc (test.sh does)"
	// recommendedInterval is the example's OIDCOAuthTokenIntrospectionInterval.
	recommendedInterval = 5 * time.Second
)

// backendRecorder is the application behind Apache.
type backendRecorder struct {
	srv  *httptest.Server
	mu   sync.Mutex
	subs []string // OIDC_CLAIM_sub of each request
}

func newBackend(t *testing.T) *backendRecorder {
	b := &backendRecorder{}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.subs = append(b.subs, r.Header.Get("OIDC_CLAIM_sub"))
		b.mu.Unlock()
		_, _ = w.Write([]byte("backend"))
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *backendRecorder) received() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.subs...)
}

// startApache runs httpd in the foreground on a free loopback port with the
// example configuration included, and stops it when the test ends. extra is
// appended to the generated configuration.
func startApache(t *testing.T, vars map[string]string, extra string) string {
	t.Helper()
	for _, p := range []string{apacheBinary, filepath.Join(apacheModules, "mod_auth_openidc.so")} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s missing: %s", p, apacheInstallMsg)
		}
	}
	example, err := filepath.Abs(filepath.Join("..", "examples", "introspection", "revgate-introspection.conf"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // httpd binds it itself

	var conf strings.Builder
	fmt.Fprintf(&conf, "ServerRoot %q\nServerName 127.0.0.1\nListen %s\n", dir, addr)
	fmt.Fprintf(&conf, "PidFile %q\nErrorLog %q\nDefaultRuntimeDir %q\nDocumentRoot %q\n",
		filepath.Join(dir, "httpd.pid"), filepath.Join(dir, "error.log"), dir, dir)
	conf.WriteString("LogLevel warn auth_openidc:debug\n")
	for _, m := range []string{"mpm_event", "authz_core", "authz_user", "authn_core", "proxy", "proxy_http", "auth_openidc"} {
		fmt.Fprintf(&conf, "LoadModule %s_module %s\n", m, filepath.Join(apacheModules, "mod_"+m+".so"))
	}
	for k, v := range vars {
		fmt.Fprintf(&conf, "Define %s %q\n", k, v)
	}
	fmt.Fprintf(&conf, "Include %q\n%s", example, extra)
	confPath := filepath.Join(dir, "httpd.conf")
	if err := os.WriteFile(confPath, []byte(conf.String()), 0o600); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(apacheBinary, "-f", confPath, "-DFOREGROUND")
	cmd.Env = append(os.Environ(), "APACHE_RUN_DIR="+dir, "APACHE_LOCK_DIR="+dir, "APACHE_LOG_DIR="+dir)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting apache2: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	errorLog := func() string { b, _ := os.ReadFile(filepath.Join(dir, "error.log")); return string(b) }
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("apache2 output:\n%s\nerror.log:\n%s", out.String(), errorLog())
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-exited:
			t.Fatalf("apache2 exited at start:\n%s\n%s", out.String(), errorLog())
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			_ = c.Close()
			return "http://" + addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("apache2 not listening on %s after 15s:\n%s\n%s", addr, out.String(), errorLog())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestModAuthOpenIDCIntrospectsThroughRevgate(t *testing.T) {
	hmacSecret := "apache-test-hmac-secret-0123456789abcdef"
	hmacKey, err := jwk.FromRaw([]byte(hmacSecret))
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, nil, withOAuth(func(c *config.Config) {
		// HS256 tokens are short enough for mod_auth_openidc's shm cache
		// (its keys are the token itself, at most 512 bytes with a prefix);
		// the test's RS256 tokens are not, and are never cached.
		c.JWT.Algorithms = []string{"RS256", "HS256"}
		c.JWT.HMACSecret = hmacSecret
	}))
	// mod_auth_openidc takes an https introspection endpoint only.
	rg := httptest.NewUnstartedServer(h.gw.ProxyHandler())
	rg.StartTLS()
	t.Cleanup(rg.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rg.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	backend := newBackend(t)
	apache := startApache(t, map[string]string{
		"REVGATE_INTROSPECTION_URL": rg.URL + introspectPath,
		"REVGATE_CLIENT_ID":         ordersID,
		"REVGATE_CLIENT_SECRET":     ordersSecret,
		"BACKEND_URL":               backend.srv.URL,
	}, fmt.Sprintf(`OIDCCABundlePath %q
# mod_auth_openidc's default: an active answer is cached until its exp.
<Location /default/>
    AuthType oauth20
    Require valid-user
    ProxyPass %s/default/
</Location>
`, ca, backend.srv.URL))

	get := func(path, token string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, apache+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// short is a token of orders-api the shm cache can hold; long (RS256)
	// one it cannot.
	short := func(sub string) string {
		token := mint(t, tok{sub: sub, key: hmacKey, alg: jwa.HS256, extra: map[string]any{"client_id": ordersID}})
		if len(token) > 400 {
			t.Fatalf("HS256 token of %d bytes: too long for the shm cache", len(token))
		}
		return token
	}
	long := func(sub string) string {
		token := mint(t, tok{sub: sub, extra: map[string]any{"client_id": ordersID}})
		if len(token) < 512 {
			t.Fatalf("RS256 token of %d bytes: short enough for the shm cache", len(token))
		}
		return token
	}
	introspections := func() float64 {
		series, _ := h.scrape()
		var n float64
		for k, v := range series {
			if strings.HasPrefix(k, "revgate_oauth_requests_total{") && strings.Contains(k, `endpoint="introspection"`) {
				n += v
			}
		}
		return n
	}

	t.Run("no token is refused by Apache", func(t *testing.T) {
		if code := get("/api/x", ""); code != 401 {
			t.Errorf("status %d, want 401", code)
		}
	})
	t.Run("a valid token passes, with its subject", func(t *testing.T) {
		for _, token := range []string{short("alice"), long("alice")} {
			before := len(backend.received())
			if code := get("/api/x", token); code != 200 {
				t.Fatalf("status %d, want 200", code)
			}
			got := backend.received()
			if len(got) != before+1 || got[len(got)-1] != "alice" {
				t.Errorf("backend received subjects %q, want one more, alice", got)
			}
		}
	})
	t.Run("a revoked token does not pass", func(t *testing.T) {
		for _, token := range []string{short("bob"), long("bob")} {
			h.revokeVia(ordersBasic, token)
			before := len(backend.received())
			if code := get("/api/x", token); code != 401 {
				t.Errorf("status %d, want 401", code)
			}
			if len(backend.received()) != before {
				t.Error("the backend received the revoked token's request")
			}
		}
	})
	t.Run("a token revgate refuses for other reasons does not pass", func(t *testing.T) {
		if code := get("/api/x", short("carol")+"x"); code != 401 {
			t.Errorf("tampered: status %d, want 401", code)
		}
		if code := get("/api/x", mint(t, tok{exp: time.Now().Add(-time.Hour), iat: time.Now().Add(-2 * time.Hour)})); code != 401 {
			t.Errorf("expired: status %d, want 401", code)
		}
	})
	t.Run("a token too long for the shm cache is introspected on every request", func(t *testing.T) {
		token := long("frank")
		before := introspections()
		for range 3 {
			if code := get("/api/x", token); code != 200 {
				t.Fatalf("status %d, want 200", code)
			}
		}
		if n := introspections() - before; n != 3 {
			t.Errorf("%v introspections for 3 requests, want 3", n)
		}
		h.revokeVia(ordersBasic, token)
		if code := get("/api/x", token); code != 401 {
			t.Errorf("right after revocation: status %d, want 401", code)
		}
	})
	t.Run("a revocation reaches Apache within the recommended interval", func(t *testing.T) {
		recommended, cachedDefault := short("dave"), short("erin")
		if get("/api/x", recommended) != 200 || get("/default/x", cachedDefault) != 200 {
			t.Fatal("fresh tokens refused")
		}
		before := introspections()
		if get("/api/x", recommended) != 200 || get("/default/x", cachedDefault) != 200 {
			t.Fatal("fresh tokens refused")
		}
		if n := introspections() - before; n != 0 {
			t.Fatalf("%v introspections for two cached tokens, want 0: nothing was cached", n)
		}
		h.revokeVia(ordersBasic, recommended)
		h.revokeVia(ordersBasic, cachedDefault)
		revoked := time.Now()
		// The cached answer is asked again once it is older than the
		// interval, compared in whole seconds: within the interval plus one
		// second.
		bound := recommendedInterval + time.Second
		var took time.Duration
		for {
			if get("/api/x", recommended) == 401 {
				took = time.Since(revoked)
				break
			}
			if time.Since(revoked) > bound+time.Second {
				t.Fatalf("the revoked token still passes Apache %v after the revocation (bound %v)", time.Since(revoked), bound)
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("revocation reached Apache after %v (bound %v)", took.Round(10*time.Millisecond), bound)
		// What the setting is for: without it the cached answer lives
		// until the token's exp, an hour from now.
		if code := get("/default/x", cachedDefault); code != 200 {
			t.Errorf("with mod_auth_openidc's default the revoked token got %d; expected the cached 200 this test documents", code)
		}
	})
	series, _ := h.scrape()
	if n := series[`revgate_oauth_requests_total{answer="invalid_client",client="-",endpoint="introspection"}`]; n != 0 {
		t.Errorf("Apache failed client authentication %v times", n)
	}
}
