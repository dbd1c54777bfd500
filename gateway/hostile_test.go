package gateway

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/textproto"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/revgate/revgate/config"
	"github.com/revgate/revgate/internal/testkit"
	"github.com/revgate/revgate/revocation"
)

// The hostile input matrix: every attack here is sent over loopback to a
// real gateway, either the in-process handler behind a real http.Server or
// the revgate binary itself where the protection lives in how `revgate
// serve` configures its listeners. Some attacks are refused by Go's HTTP
// server before the gateway sees them; the tests do not care which layer
// refuses, only that the deployed gateway is safe.

// rawRequest sends raw bytes on a fresh connection to addr and reads every
// response the server sends until it closes the connection or wait passes.
func rawRequest(t *testing.T, addr, raw string, wait time.Duration) []*http.Response {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(wait))
	go func() { _, _ = io.WriteString(conn, raw) }()
	br := bufio.NewReader(conn)
	var out []*http.Response
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return out
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body = io.NopCloser(bytes.NewReader(body))
		out = append(out, resp)
	}
}

func statuses(rs []*http.Response) []int {
	codes := make([]int, len(rs))
	for i, r := range rs {
		codes[i] = r.StatusCode
	}
	return codes
}

// wireUpstream is an upstream that records each request exactly as it
// arrived on the wire: its raw header lines, so the tests can see what the
// gateway really sent, not what Go's server made of it.
type wireUpstream struct {
	ln    net.Listener
	mu    sync.Mutex
	reqs  []wireRequest
	conns map[net.Conn]bool
}

type wireRequest struct {
	line  string   // request line
	head  []string // header lines, raw
	body  []byte
	error string // a framing problem the upstream saw
}

func newWireUpstream(t testing.TB) *wireUpstream {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &wireUpstream{ln: ln, conns: map[net.Conn]bool{}}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = ln.Close()
		u.mu.Lock()
		for c := range u.conns {
			_ = c.Close()
		}
		u.mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			u.mu.Lock()
			u.conns[conn] = true
			u.mu.Unlock()
			wg.Go(func() {
				u.serve(conn)
				u.mu.Lock()
				delete(u.conns, conn)
				u.mu.Unlock()
			})
		}
	})
	return u
}

func (u *wireUpstream) URL() string { return "http://" + u.ln.Addr().String() }

func (u *wireUpstream) requests() []wireRequest {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]wireRequest(nil), u.reqs...)
}

func (u *wireUpstream) reset() {
	u.mu.Lock()
	u.reqs = nil
	u.mu.Unlock()
}

func (u *wireUpstream) serve(conn net.Conn) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	tp := textproto.NewReader(bufio.NewReader(conn))
	for {
		line, err := tp.ReadLine()
		if err != nil || line == "" {
			return
		}
		req := wireRequest{line: line}
		for {
			h, err := tp.ReadLine()
			if err != nil {
				return
			}
			if h == "" {
				break
			}
			req.head = append(req.head, h)
		}
		var cl, te []string
		for _, h := range req.head {
			name, value, _ := strings.Cut(h, ":")
			switch {
			case strings.EqualFold(name, "Content-Length"):
				cl = append(cl, strings.TrimSpace(value))
			case strings.EqualFold(name, "Transfer-Encoding"):
				te = append(te, strings.TrimSpace(value))
			case h[0] == ' ' || h[0] == '\t':
				req.error = "obs-fold line"
			}
		}
		switch {
		case len(cl) > 0 && len(te) > 0:
			req.error = "both Content-Length and Transfer-Encoding"
		case len(cl) > 1, len(te) > 1:
			req.error = "repeated framing header"
		case len(te) == 1 && te[0] == "chunked":
			req.body, err = io.ReadAll(httputil.NewChunkedReader(tp.R))
		case len(te) == 1:
			req.error = "transfer encoding " + te[0]
		case len(cl) == 1:
			n, perr := strconv.Atoi(cl[0])
			if perr != nil || n < 0 {
				req.error = "bad Content-Length"
				break
			}
			req.body = make([]byte, n)
			_, err = io.ReadFull(tp.R, req.body)
		}
		u.mu.Lock()
		u.reqs = append(u.reqs, req)
		u.mu.Unlock()
		if err != nil || req.error != "" {
			return
		}
		_, _ = io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n{\"upstream\":\"ok\"}")
	}
}

// deployed is a running `revgate serve`.
type deployed struct {
	proxy, admin string
	upstream     *wireUpstream
	stderr       *syncBuffer
}

// startDeployed builds the revgate binary and runs it with short server
// timeouts and a small header limit, a public route and a memory store.
func startDeployed(t *testing.T) *deployed {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the revgate binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "revgate")
	build := exec.Command("go", "build", "-o", bin, "github.com/revgate/revgate/cmd/revgate")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building revgate: %v\n%s", err, out)
	}
	pub, err := testSigningKey(t).PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	set := jwk.NewSet()
	_ = set.AddKey(pub)
	jwks, _ := json.Marshal(set)
	jwksPath := filepath.Join(dir, "jwks.json")
	if err := os.WriteFile(jwksPath, jwks, 0o600); err != nil {
		t.Fatal(err)
	}
	d := &deployed{proxy: freeLoopbackAddr(t), admin: freeLoopbackAddr(t), upstream: newWireUpstream(t), stderr: &syncBuffer{}}
	cfg := fmt.Sprintf(`listen: %q
upstream:
  url: %q
  timeout: 5s
routes:
  - prefix: "/public/"
    auth: none
jwt:
  jwks_file: %q
  algorithms: [RS256]
revocation:
  store: memory
admin:
  listen: %q
  tokens:
    - name: ops
      token: %q
server:
  read_header_timeout: 500ms
  read_timeout: 2s
  max_header_bytes: 8192
log:
  level: error
`, d.proxy, d.upstream.URL(), jwksPath, d.admin, testAdminToken)
	cfgPath := filepath.Join(dir, "revgate.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--config", cfgPath)
	cmd.Stderr = d.stderr
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "REVGATE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("revgate stderr:\n%s", d.stderr.String())
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + d.admin + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return d
			}
		}
		select {
		case <-done:
			t.Fatalf("revgate exited early:\n%s", d.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("revgate not ready after 15s:\n%s", d.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestHostileInputAgainstTheDeployedBinary(t *testing.T) {
	d := startDeployed(t)
	token := mint(t, tok{})

	t.Run("headers over server.max_header_bytes get 431 and reach nobody", func(t *testing.T) {
		d.upstream.reset()
		cases := map[string]func(*http.Request){
			"one huge header":     func(r *http.Request) { r.Header.Set("X-Big", strings.Repeat("a", 64<<10)) },
			"a huge bearer token": func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+strings.Repeat("a", 64<<10)) },
			"thousands of headers": func(r *http.Request) {
				for i := range 4000 {
					r.Header.Set("X-H"+strconv.Itoa(i), "v")
				}
			},
		}
		for name, set := range cases {
			req, _ := http.NewRequest(http.MethodGet, "http://"+d.proxy+"/public/x", nil)
			set(req)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
				t.Errorf("%s: %d, want 431", name, resp.StatusCode)
			}
		}
		if n := len(d.upstream.requests()); n != 0 {
			t.Fatalf("the upstream saw %d requests", n)
		}
		// Headers within the limit are fine.
		req, _ := http.NewRequest(http.MethodGet, "http://"+d.proxy+"/x", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("X-Medium", strings.Repeat("a", 2<<10))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("a request within the header limit: %d, want 200", resp.StatusCode)
		}
	})

	t.Run("a slow-loris client is disconnected after read_header_timeout while others are served", func(t *testing.T) {
		const clients = 20
		type result struct {
			sent   int
			closed bool
		}
		results := make(chan result, clients)
		for range clients {
			go func() {
				conn, err := net.Dial("tcp", d.proxy)
				if err != nil {
					results <- result{}
					return
				}
				defer conn.Close()
				closed := make(chan struct{})
				go func() {
					// The server sends nothing to a client that has not
					// finished its headers; any return means it hung up.
					_, _ = conn.Read(make([]byte, 1))
					close(closed)
				}()
				head := "GET /public/x HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + strings.Repeat("a", 100)
				// One byte every 100ms: 10s to finish, 20 times the limit.
				for i := range len(head) {
					select {
					case <-closed:
						results <- result{sent: i, closed: true}
						return
					case <-time.After(100 * time.Millisecond):
					}
					if _, err := conn.Write([]byte{head[i]}); err != nil {
						results <- result{sent: i, closed: true}
						return
					}
				}
				select {
				case <-closed:
					results <- result{sent: len(head), closed: true}
				case <-time.After(2 * time.Second):
					results <- result{sent: len(head)}
				}
			}()
		}
		// Meanwhile ordinary clients are served.
		time.Sleep(300 * time.Millisecond)
		for range 5 {
			req, _ := http.NewRequest(http.MethodGet, "http://"+d.proxy+"/x", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("an ordinary client during the slow-loris: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("an ordinary client during the slow-loris: %d", resp.StatusCode)
			}
		}
		for range clients {
			r := <-results
			if !r.closed {
				t.Fatalf("a slow client sent its whole %d-byte header over 10s and was never disconnected", r.sent)
			}
		}
	})

	t.Run("a slow body on a route the gateway reads is cut off by read_timeout and never forwarded", func(t *testing.T) {
		d.upstream.reset()
		conn, err := net.Dial("tcp", d.proxy)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		// The logout body is read by the gateway itself before anything else.
		_, _ = fmt.Fprintf(conn, "POST /auth/logout HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: 100\r\n\r\n{", token)
		closed := make(chan struct{})
		go func() { _, _ = io.Copy(io.Discard, conn); close(closed) }()
		for i := 0; ; i++ {
			select {
			case <-closed:
				if n := len(d.upstream.requests()); n != 0 {
					t.Fatalf("the upstream saw %d requests", n)
				}
				return
			case <-time.After(200 * time.Millisecond):
			}
			if i == 50 {
				t.Fatal("a body dribbled for 10s was never cut off (server.read_timeout is 2s)")
			}
			_, _ = conn.Write([]byte(" "))
		}
	})

	t.Run("request smuggling attempts are refused or re-framed, and the upstream only sees unambiguous requests", func(t *testing.T) {
		smuggled := "GET /admin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
		cases := []struct {
			name string
			raw  string
			// want are the statuses on the connection, in order; forwarded
			// the request lines the upstream may see.
			want      []int
			forwarded []string
		}{
			{
				name: "two Content-Length headers that differ",
				raw:  "POST /public/x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
				want: []int{400},
			},
			{
				name: "Content-Length with a sign",
				raw:  "POST /public/x HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello",
				want: []int{400},
			},
			{
				name: "Content-Length as a list",
				raw:  "POST /public/x HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\nhello",
				want: []int{400},
			},
			{
				// Go follows RFC 9112 6.3: chunked wins and Content-Length
				// is dropped. The bytes after the last chunk are a second
				// request to the gateway itself, which needs a token.
				name:      "Content-Length and Transfer-Encoding: chunked",
				raw:       "POST /public/x HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled,
				want:      []int{200, 401},
				forwarded: []string{"POST /public/x HTTP/1.1"},
			},
			{
				name: "Transfer-Encoding: chunked, identity",
				raw:  "POST /public/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n" + smuggled,
				want: []int{501},
			},
			{
				name: "two Transfer-Encoding headers",
				raw:  "POST /public/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled,
				want: []int{501},
			},
			{
				name: "Transfer-Encoding: xchunked with a Content-Length",
				raw:  "POST /public/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
				want: []int{501},
			},
			{
				name: "whitespace before the colon of Transfer-Encoding",
				raw:  "POST /public/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
				want: []int{400},
			},
			{
				// RFC 9112 5.2 lets a server replace obs-fold with spaces
				// instead of refusing it; Go does, so the upstream gets one
				// ordinary header line.
				name:      "an obs-fold continuation line",
				raw:       "GET /public/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Folded: a\r\n b\r\n\r\n",
				want:      []int{200},
				forwarded: []string{"GET /public/x HTTP/1.1"},
			},
			{
				name:      "Transfer-Encoding folded onto the next line",
				raw:       "POST /public/x HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n" + smuggled,
				want:      []int{200, 401},
				forwarded: []string{"POST /public/x HTTP/1.1"},
			},
			{
				name: "a NUL in a header value",
				raw:  "GET /public/x HTTP/1.1\r\nHost: x\r\nX-Nul: a\x00b\r\n\r\n",
				want: []int{400},
			},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				d.upstream.reset()
				got := statuses(rawRequest(t, d.proxy, c.raw, 3*time.Second))
				if fmt.Sprint(got) != fmt.Sprint(c.want) {
					t.Errorf("statuses %v, want %v", got, c.want)
				}
				var lines []string
				for _, r := range d.upstream.requests() {
					if r.error != "" {
						t.Errorf("the upstream received an ambiguous request (%s): %s %q", r.error, r.line, r.head)
					}
					lines = append(lines, r.line)
				}
				if fmt.Sprint(lines) != fmt.Sprint(c.forwarded) {
					t.Errorf("the upstream saw %q, want %q", lines, c.forwarded)
				}
			})
		}
	})
}

func TestHostilePathTricksNeverReachTheUpstreamUnauthenticated(t *testing.T) {
	wire := newWireUpstream(t)
	h := newHarness(t, nil, func(c *config.Config) {
		c.Upstream.URL = wire.URL()
		c.Routes = []config.Route{{Prefix: "/public/", Auth: config.AuthNone}}
	})
	addr := strings.TrimPrefix(h.proxy.URL, "http://")
	// forwardedPaths are the decoded paths of the request lines the upstream
	// received.
	forwardedPaths := func() []string {
		var ps []string
		for _, r := range wire.requests() {
			_, target, _ := strings.Cut(r.line, " ")
			target, _, _ = strings.Cut(target, " ")
			u, err := url.ParseRequestURI(target)
			if err != nil {
				t.Fatalf("the upstream got an unparsable request line %q", r.line)
			}
			ps = append(ps, u.Path)
		}
		return ps
	}
	cases := []struct {
		target string
		want   int
	}{
		{"/public/x", 200},
		{"/admin", 401},
		{"/public/../admin", 401},
		{"/public/./../admin", 401},
		{"/public/x/../../admin", 401},
		{"/public/%2e%2e/admin", 401},
		{"/public/%2E%2E/admin", 401},
		{"/public/.%2e/admin", 401},
		{"/PUBLIC/../admin", 401},
		{"//admin", 401},
		{"/./admin", 401},
		{"/admin;/", 401},
		{"/admin/", 401},
		{"http://evil.test/admin", 401}, // absolute-form request target
		{"/public%2F..%2Fadmin", 400},
		{"/public/..%2Fadmin", 400},
		{"/public/..%2fadmin", 400},
		{"/admin%2f", 400},
		{"/public/..;/admin", 400},     // Tomcat, Jetty, Spring: /admin
		{"/public/%2e%2e;/admin", 400}, // the same, encoded
		{"/public/..;jsessionid=x/admin", 400},
		{`/public/..\admin`, 400}, // IIS, ASP.NET: /admin
		{`/public\..\admin`, 400},
		{"/public/%5c../admin", 400},
		{"/public/%2e%2e%5cadmin", 400},
		{"/public/..%252fadmin", 200}, // a file named "..%2fadmin" under /public/
	}
	for _, c := range cases {
		before := len(forwardedPaths())
		got := statuses(rawRequest(t, addr, "GET "+c.target+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 3*time.Second))
		if len(got) != 1 || got[0] != c.want {
			t.Errorf("GET %s: %v, want [%d]", c.target, got, c.want)
		}
		paths := forwardedPaths()[before:]
		if c.want != 200 && len(paths) != 0 {
			t.Errorf("GET %s: the upstream saw %q", c.target, paths)
		}
		for _, p := range paths {
			for _, reading := range upstreamReadings(p) {
				if !strings.HasPrefix(reading, "/public/") {
					t.Errorf("GET %s: the upstream got %q, which it may serve as %q, outside /public/", c.target, p, reading)
				}
			}
		}
	}
	// OPTIONS * is answered by the server itself.
	if got := statuses(rawRequest(t, addr, "OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 3*time.Second)); len(got) != 1 || got[0] >= 300 {
		t.Errorf("OPTIONS *: %v", got)
	}
	if n := len(forwardedPaths()); n != 2 {
		t.Fatalf("the upstream saw %d requests, want the 2 public ones", n)
	}
}

func TestHostileTenThousandUnknownKidsHitTheIssuerAtMostOncePerCooldown(t *testing.T) {
	pub, err := testSigningKey(t).PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	set := jwk.NewSet()
	_ = set.AddKey(pub)
	body, _ := json.Marshal(set)
	jwks := testkit.NewJWKSServer(t, body)
	h := newHarness(t, nil, func(c *config.Config) {
		c.JWT.JWKSFile = ""
		c.JWT.JWKSURL = jwks.URL
		c.JWT.JWKSUnknownKidCooldown = time.Hour
	})
	if got := jwks.Hits.Load(); got != 1 {
		t.Fatalf("JWKS hits after start = %d, want 1", got)
	}
	handler := h.gw.ProxyHandler()
	const workers, each = 10, 1000
	var wrong atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				// A well-formed token with a kid nobody issued; the
				// signature is never reached.
				hdr := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT","kid":"` + randomJTI() + `"}`))
				raw := hdr + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"x","w":`+strconv.Itoa(w*each+i)+`}`)) + ".c2lnbmF0dXJl"
				req := httptest.NewRequest(http.MethodGet, "/x", nil)
				req.Header.Set("Authorization", "Bearer "+raw)
				rec := httptest.NewRecorder()
				handler.ServeHTTP(rec, req)
				if rec.Code != http.StatusUnauthorized {
					wrong.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if n := wrong.Load(); n != 0 {
		t.Errorf("%d of %d unknown-kid tokens were not refused with 401", n, workers*each)
	}
	if n := h.upstream.hits.Load(); n != 0 {
		t.Errorf("the upstream saw %d requests", n)
	}
	if got := jwks.Hits.Load(); got > 2 {
		t.Fatalf("JWKS hits after %d unknown kids = %d, want at most 2 (start and one refetch per cooldown)", workers*each, got)
	}
	// The issuer's own tokens still work.
	wantStatus(t, h.get("/x", mint(t, tok{})), http.StatusOK)
}

func TestHostileOversizedBodiesGet413AndStoreNothing(t *testing.T) {
	store := &countingStore{Store: revocation.NewMemory(nil)}
	h := newHarness(t, store, func(c *config.Config) {
		c.Routes = []config.Route{{Prefix: "/api/token/refresh/", Auth: config.AuthRefresh}}
		c.JWT.RefreshReuseDetection = true
	})
	access := mint(t, tok{sub: "alice", jti: "access-1"})
	refresh := mint(t, tok{sub: "alice", jti: "refresh-1"})
	// pad makes a JSON document of exactly n bytes: trailing whitespace is
	// valid JSON, so only the size can make it fail.
	pad := func(doc string, n int) string { return doc + strings.Repeat(" ", n-len(doc)) }

	cases := []struct {
		name, url, auth, doc string
		admin                bool
		okStatus             int
	}{
		{"refresh", h.proxy.URL + "/api/token/refresh/", "", `{"refresh":"` + refresh + `"}`, false, 200},
		{"logout", h.proxy.URL + "/auth/logout", access, `{"all":true}`, false, 200},
		{"admin token revocation", h.admin.URL + "/v1/revocations/tokens", testAdminToken, `{"jti":"admin-1"}`, true, 200},
		{"admin subject revocation", h.admin.URL + "/v1/revocations/subjects/bob", testAdminToken, `{"reason":"x"}`, true, 200},
		{"admin global revocation", h.admin.URL + "/v1/revocations/all", testAdminToken, `{}`, true, 200},
	}
	for _, c := range cases {
		for _, chunked := range []bool{false, true} {
			name := c.name + " with Content-Length"
			if chunked {
				name = c.name + " chunked"
			}
			t.Run(name, func(t *testing.T) {
				writes, hits := store.writes.Load(), h.upstream.hits.Load()
				var body io.Reader = strings.NewReader(pad(c.doc, maxBodyBytes+1))
				if chunked {
					body = io.MultiReader(body) // unknown length: sent chunked
				}
				req, _ := http.NewRequest(http.MethodPost, c.url, body)
				req.Header.Set("Content-Type", "application/json")
				if c.auth != "" {
					req.Header.Set("Authorization", "Bearer "+c.auth)
				}
				wantStatus(t, h.do(req), http.StatusRequestEntityTooLarge)
				if n := store.writes.Load() - writes; n != 0 {
					t.Errorf("%d writes to the store", n)
				}
				if n := h.upstream.hits.Load() - hits; n != 0 {
					t.Errorf("the upstream saw %d requests", n)
				}
			})
		}
	}
	if _, err := store.GetToken(t.Context(), "access-1"); !errors.Is(err, revocation.ErrNotFound) {
		t.Fatalf("an oversized logout revoked the caller's token (err %v)", err)
	}
	// At exactly the limit every body is accepted. The order matters: the
	// logout revokes alice, whose refresh token the first case uses, and
	// the global mark revokes every token.
	for _, i := range []int{0, 2, 3, 1, 4} {
		c := cases[i]
		req, _ := http.NewRequest(http.MethodPost, c.url, strings.NewReader(pad(c.doc, maxBodyBytes)))
		req.Header.Set("Content-Type", "application/json")
		if c.auth != "" {
			req.Header.Set("Authorization", "Bearer "+c.auth)
		}
		resp := h.do(req)
		if resp.StatusCode != c.okStatus {
			t.Errorf("%s at exactly %d bytes: %d, want %d", c.name, maxBodyBytes, resp.StatusCode, c.okStatus)
		}
	}
}

func TestHostileRefreshBodiesTheIssuerWouldReadDifferently(t *testing.T) {
	h := newHarness(t, nil, func(c *config.Config) {
		c.Routes = []config.Route{{Prefix: "/api/token/refresh/", Auth: config.AuthRefresh}}
		c.JWT.RefreshRequiredClaims = map[string]any{"token_type": "refresh"}
	})
	refresh := func(jti string) string {
		return mint(t, tok{sub: "alice", jti: jti, extra: map[string]any{"token_type": "refresh"}})
	}
	valid, revoked := refresh("valid-1"), refresh("revoked-1")
	h.mustAdmin(http.MethodPost, "/v1/revocations/tokens", `{"token":"`+revoked+`"}`)
	post := func(body string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, h.proxy.URL+"/api/token/refresh/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		return h.do(req)
	}
	wantStatus(t, post(`{"refresh":"`+revoked+`"}`), http.StatusUnauthorized)
	wantStatus(t, post(`{"refresh":"`+valid+`","other":"x"}`), http.StatusOK)
	hits := h.upstream.hits.Load()

	// encoding/json matches member names case-insensitively (and folds
	// U+017F to s); the issuer's parser (Python's json, for simplejwt)
	// matches them exactly. Each body would have the gateway check the
	// valid token while the issuer honors the revoked one.
	for name, body := range map[string]string{
		"a capitalized member":      `{"refresh":"` + revoked + `","Refresh":"` + valid + `"}`,
		"an upper-case member":      `{"refresh":"` + revoked + `","REFRESH":"` + valid + `"}`,
		"a long s":                  `{"refresh":"` + revoked + `","refre` + "\u017f" + `h":"` + valid + `"}`,
		"a long s, JSON-escaped":    `{"refresh":"` + revoked + `","refre\u017fh":"` + valid + `"}`,
		"a repeated member":         `{"refresh":"` + revoked + `","refresh":"` + valid + `"}`,
		"only a capitalized member": `{"Refresh":"` + valid + `"}`,
	} {
		if resp := post(body); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", name, resp.StatusCode)
		}
	}
	if n := h.upstream.hits.Load() - hits; n != 0 {
		t.Fatalf("the issuer saw %d of the ambiguous bodies", n)
	}

	// A body that is JSON to the gateway but a form to the issuer (Django
	// REST framework parses by Content-Type) would name another token:
	// only application/json is taken.
	postAs := func(body string, header http.Header) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, h.proxy.URL+"/api/token/refresh/", strings.NewReader(body))
		req.Header = header
		return h.do(req)
	}
	smuggled := `{"refresh":"` + valid + `","x":"&refresh=` + revoked + `&y=","z":1}`
	for name, header := range map[string]http.Header{
		"a form":                   {"Content-Type": {"application/x-www-form-urlencoded"}},
		"multipart":                {"Content-Type": {"multipart/form-data; boundary=x"}},
		"text/plain":               {"Content-Type": {"text/plain"}},
		"no Content-Type":          {},
		"two Content-Types":        {"Content-Type": {"application/json", "application/x-www-form-urlencoded"}},
		"a latin-1 charset":        {"Content-Type": {"application/json; charset=latin-1"}},
		"another parameter":        {"Content-Type": {"application/json; x=y"}},
		"a Content-Encoding":       {"Content-Type": {"application/json"}, "Content-Encoding": {"gzip"}},
		"a malformed Content-Type": {"Content-Type": {"application/json; charset"}},
	} {
		if resp := postAs(smuggled, header); resp.StatusCode != http.StatusUnsupportedMediaType {
			t.Errorf("%s: %d, want 415", name, resp.StatusCode)
		}
	}
	if n := h.upstream.hits.Load() - hits; n != 0 {
		t.Fatalf("the issuer saw %d of the non-JSON bodies", n)
	}
	wantStatus(t, postAs(`{"refresh":"`+valid+`"}`, http.Header{"Content-Type": {"Application/JSON; Charset=UTF-8"}}), http.StatusOK)
}
