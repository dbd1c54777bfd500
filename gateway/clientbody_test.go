package gateway

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/revgate/revgate/config"
	"github.com/revgate/revgate/internal/testkit"
)

// sendHalfClosed writes raw on a fresh connection, closes the writing half
// when halfClose is set (the client has nothing more to send, but still
// reads), and returns the response, or 0 when none came.
func sendHalfClosed(t *testing.T, addr, raw string, halfClose bool) int {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	if halfClose {
		_ = conn.(*net.TCPConn).CloseWrite()
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}

// A body the client sends badly is the client's error, not the upstream's:
// it is answered 400 and counted as bad_request, never as upstream_error,
// so a client cannot page whoever watches the upstream error rate.
func TestClientBodyErrorsAreBadRequestsNotUpstreamErrors(t *testing.T) {
	head := "POST /public/x HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
	cases := []struct {
		name      string
		raw       string
		halfClose bool
		// tail is sent after the fault; the upstream must never receive it.
		tail string
	}{
		{"a chunk size that is not hex", head + "Transfer-Encoding: chunked\r\n\r\nzz\r\ntail\r\n0\r\n\r\n", false, "tail"},
		{"a chunk size that overflows", head + "Transfer-Encoding: chunked\r\n\r\nfffffffffffffffffffff\r\ntail\r\n0\r\n\r\n", false, "tail"},
		{"a chunk without its CRLF", head + "Transfer-Encoding: chunked\r\n\r\n4\r\nabcdXY5\r\ntail5\r\n0\r\n\r\n", false, "tail"},
		{"a chunked body cut short", head + "Transfer-Encoding: chunked\r\n\r\n10\r\nabc", true, ""},
		{"a chunked body without its last chunk", head + "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", true, ""},
		{"a body shorter than its Content-Length", head + "Content-Length: 100\r\n\r\nabc", true, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wire := testkit.NewWireUpstream(t)
			h := newHarness(t, nil, func(cfg *config.Config) {
				cfg.Upstream.URL = wire.URL()
				cfg.Routes = []config.Route{{Prefix: "/public/", Auth: config.AuthNone}}
			})
			addr := strings.TrimPrefix(h.proxy.URL, "http://")
			if got := sendHalfClosed(t, addr, c.raw, c.halfClose); got != http.StatusBadRequest {
				t.Errorf("status %d, want 400", got)
			}
			for _, r := range wire.Requests() {
				if c.tail != "" && strings.Contains(string(r.Body), c.tail) {
					t.Errorf("the upstream received the bytes after the fault: %q", r.Body)
				}
			}
			wantPublicCounts(t, h, 1, 0)
		})
	}
}

// The other side of the line: a whole body reaches the upstream byte for
// byte, and an upstream that hangs up mid-body is still the upstream's
// failure, 502 upstream_error.
func TestWholeBodiesAreForwardedAndUpstreamFailuresStayUpstreamErrors(t *testing.T) {
	t.Run("a whole chunked body reaches the upstream as sent", func(t *testing.T) {
		wire := testkit.NewWireUpstream(t)
		h := newHarness(t, nil, func(cfg *config.Config) {
			cfg.Upstream.URL = wire.URL()
			cfg.Routes = []config.Route{{Prefix: "/public/", Auth: config.AuthNone}}
		})
		raw := "POST /public/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n"
		if got := sendHalfClosed(t, strings.TrimPrefix(h.proxy.URL, "http://"), raw, false); got != http.StatusOK {
			t.Fatalf("status %d, want 200", got)
		}
		if reqs := wire.Requests(); len(reqs) != 1 || string(reqs[0].Body) != "abcdefg" || reqs[0].Error != "" {
			t.Fatalf("the upstream received %+v", reqs)
		}
	})
	t.Run("an upstream that hangs up mid-body is a 502", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = ln.Close() })
		go func() {
			for {
				conn, err := ln.Accept()
				if err != nil {
					return
				}
				// Read the request line and a little of the rest, then hang up.
				_, _ = conn.Read(make([]byte, 512))
				_ = conn.Close()
			}
		}()
		h := newHarness(t, nil, func(cfg *config.Config) {
			cfg.Upstream.URL = "http://" + ln.Addr().String()
			cfg.Routes = []config.Route{{Prefix: "/public/", Auth: config.AuthNone}}
		})
		body := strings.Repeat("x", 4<<20)
		req, _ := http.NewRequest(http.MethodPost, h.proxy.URL+"/public/x", strings.NewReader(body))
		wantStatus(t, h.do(req), http.StatusBadGateway)
		wantPublicCounts(t, h, 0, 1)
	})
}

// wantPublicCounts waits for the /public/ route's bad_request and
// upstream_error counts: the metric is recorded after the response is
// written.
func wantPublicCounts(t *testing.T, h *harness, badRequest, upstreamError float64) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		series, _ := h.scrape()
		bad := series[`revgate_requests_total{mode="proxy",outcome="bad_request",route="/public/"}`]
		up := series[`revgate_requests_total{mode="proxy",outcome="upstream_error",route="/public/"}`]
		if bad == badRequest && up == upstreamError {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("counted bad_request %v and upstream_error %v times, want %v and %v", bad, up, badRequest, upstreamError)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
