package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/revgate/revgate/internal/testkit"
)

// Hostile input against the deployed gateway: the protections here live in
// how `revgate serve` configures its listeners (header limit, read
// timeouts), so they are tested on the binary itself. The attacks on the
// handler are in gateway/hostile_test.go. Some attacks are refused by Go's
// HTTP server before the gateway sees them; the tests do not care which
// layer refuses, only that the deployed gateway is safe.

// deployed is a running `revgate serve` in front of an upstream that
// records requests as they arrived on the wire.
type deployed struct {
	*process
	upstream *testkit.WireUpstream
}

// startDeployed runs revgate with short server timeouts and a small header
// limit, a public route and a memory store.
func startDeployed(t *testing.T) *deployed {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the revgate binary against slow clients for seconds")
	}
	upstream := testkit.NewWireUpstream(t)
	p := startGateway(t, fmt.Sprintf(`upstream:
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
server:
  read_header_timeout: 500ms
  read_timeout: 2s
  max_header_bytes: 8192
log:
  level: error
`, upstream.URL(), testkit.JWKSFile(t, testkit.SigningKey(t))))
	return &deployed{process: p, upstream: upstream}
}

func TestHostileInputAgainstTheDeployedBinary(t *testing.T) {
	d := startDeployed(t)
	token := testkit.Mint(t, testkit.Token{})

	t.Run("headers over server.max_header_bytes get 431 and reach nobody", func(t *testing.T) {
		d.upstream.Reset()
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
		if n := len(d.upstream.Requests()); n != 0 {
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
		d.upstream.Reset()
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
				if n := len(d.upstream.Requests()); n != 0 {
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
				d.upstream.Reset()
				got := testkit.Statuses(testkit.RawRequest(t, d.proxy, c.raw, 3*time.Second))
				if fmt.Sprint(got) != fmt.Sprint(c.want) {
					t.Errorf("statuses %v, want %v", got, c.want)
				}
				var lines []string
				for _, r := range d.upstream.Requests() {
					if r.Error != "" {
						t.Errorf("the upstream received an ambiguous request (%s): %s %q", r.Error, r.Line, r.Head)
					}
					lines = append(lines, r.Line)
				}
				if fmt.Sprint(lines) != fmt.Sprint(c.forwarded) {
					t.Errorf("the upstream saw %q, want %q", lines, c.forwarded)
				}
			})
		}
	})
}
