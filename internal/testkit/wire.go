package testkit

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// WireUpstream is an upstream that records each request exactly as it
// arrived on the wire, raw header lines and all, so a test sees what the
// gateway really sent rather than what Go's server made of it. It answers
// every well-framed request with 200 and {"upstream":"ok"}, and hangs up
// on one whose framing is ambiguous.
type WireUpstream struct {
	ln    net.Listener
	mu    sync.Mutex
	reqs  []WireRequest
	conns map[net.Conn]bool
}

// WireRequest is one request a WireUpstream received.
type WireRequest struct {
	Line string   // the request line
	Head []string // header lines, raw
	Body []byte
	// Trailer holds the trailer lines after a chunked body, raw.
	Trailer []string
	Error   string // a framing problem the upstream saw, or ""
}

// NewWireUpstream serves until the test ends.
func NewWireUpstream(tb testing.TB) *WireUpstream {
	tb.Helper()
	u := &WireUpstream{ln: Listen(tb), conns: map[net.Conn]bool{}}
	var wg sync.WaitGroup
	tb.Cleanup(func() {
		_ = u.ln.Close()
		u.mu.Lock()
		for c := range u.conns {
			_ = c.Close()
		}
		u.mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			conn, err := u.ln.Accept()
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

// URL is the upstream's base URL.
func (u *WireUpstream) URL() string { return "http://" + u.ln.Addr().String() }

// Requests returns the requests received so far.
func (u *WireUpstream) Requests() []WireRequest {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]WireRequest(nil), u.reqs...)
}

// Reset forgets the requests received so far.
func (u *WireUpstream) Reset() {
	u.mu.Lock()
	u.reqs = nil
	u.mu.Unlock()
}

func (u *WireUpstream) serve(conn net.Conn) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	tp := textproto.NewReader(bufio.NewReader(conn))
	for {
		line, err := tp.ReadLine()
		if err != nil || line == "" {
			return
		}
		req := WireRequest{Line: line}
		for {
			h, err := tp.ReadLine()
			if err != nil {
				return
			}
			if h == "" {
				break
			}
			req.Head = append(req.Head, h)
		}
		var cl, te []string
		for _, h := range req.Head {
			name, value, _ := strings.Cut(h, ":")
			switch {
			case strings.EqualFold(name, "Content-Length"):
				cl = append(cl, strings.TrimSpace(value))
			case strings.EqualFold(name, "Transfer-Encoding"):
				te = append(te, strings.TrimSpace(value))
			case h[0] == ' ' || h[0] == '\t':
				req.Error = "obs-fold line"
			}
		}
		switch {
		case len(cl) > 0 && len(te) > 0:
			req.Error = "both Content-Length and Transfer-Encoding"
		case len(cl) > 1, len(te) > 1:
			req.Error = "repeated framing header"
		case len(te) == 1 && te[0] == "chunked":
			req.Body, err = io.ReadAll(httputil.NewChunkedReader(tp.R))
			// The chunked reader stops at the last chunk; the trailer
			// section and its closing empty line are still to be read.
			// Left unread, that empty line was taken for the next request
			// and the connection closed under a client about to reuse it.
			for err == nil {
				var t string
				if t, err = tp.ReadLine(); err == nil && t == "" {
					break
				}
				req.Trailer = append(req.Trailer, t)
			}
		case len(te) == 1:
			req.Error = "transfer encoding " + te[0]
		case len(cl) == 1:
			n, perr := strconv.Atoi(cl[0])
			if perr != nil || n < 0 {
				req.Error = "bad Content-Length"
				break
			}
			req.Body = make([]byte, n)
			_, err = io.ReadFull(tp.R, req.Body)
		}
		u.mu.Lock()
		u.reqs = append(u.reqs, req)
		u.mu.Unlock()
		if err != nil || req.Error != "" {
			return
		}
		_, _ = io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n{\"upstream\":\"ok\"}")
	}
}

// RawRequest sends raw bytes on a fresh connection to addr and reads every
// response the server sends until it closes the connection or wait passes.
func RawRequest(tb testing.TB, addr, raw string, wait time.Duration) []*http.Response {
	tb.Helper()
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		tb.Fatal(err)
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

// Statuses are the status codes of rs, in order.
func Statuses(rs []*http.Response) []int {
	codes := make([]int, len(rs))
	for i, r := range rs {
		codes[i] = r.StatusCode
	}
	return codes
}
