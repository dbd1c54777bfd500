package gateway

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
	//lint:ignore SA1019 net/http's unencrypted HTTP/2 takes prior knowledge only; the h2c upgrade under test is this package's
	"golang.org/x/net/http2/h2c"
	"golang.org/x/net/http2/hpack"

	"github.com/revgate/revgate/config"
	"github.com/revgate/revgate/revocation"
)

// seenRequest is one request an upstream served: an HTTP/1.1 request or
// an HTTP/2 stream.
type seenRequest struct {
	proto, path string
	header      http.Header
}

// h2cUpstream speaks h2c for real: x/net's h2c handler in front of an
// http2.Server, recording every request it serves, whichever protocol
// carried it.
type h2cUpstream struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen []seenRequest
}

func newH2CUpstream(t *testing.T) *h2cUpstream {
	u := &h2cUpstream{}
	record := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.seen = append(u.seen, seenRequest{r.Proto, r.URL.Path, r.Header.Clone()})
		u.mu.Unlock()
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "served "+r.URL.Path)
	})
	//lint:ignore SA1019 see the import: the Upgrade: h2c path exists only here
	upgrader := h2c.NewHandler(record, &http2.Server{})
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Go's h2c handler upgrades only when Connection also names
		// HTTP2-Settings, which ReverseProxy never forwards (it rewrites
		// Connection to "Upgrade"). Hypercorn upgrades on `Upgrade: h2c`
		// alone and needs no HTTP2-Settings header; read the request as
		// leniently (any h2c token), then let the real h2c server take
		// the connection.
		if httpguts.HeaderValuesContainsToken(r.Header["Upgrade"], "h2c") {
			r.Header.Add("Connection", "HTTP2-Settings")
			if _, ok := r.Header["Http2-Settings"]; !ok {
				r.Header.Set("Http2-Settings", "")
			}
		}
		upgrader.ServeHTTP(w, r)
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *h2cUpstream) requests() []seenRequest {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]seenRequest(nil), u.seen...)
}

// h2cSmuggle sends head (an HTTP/1.1 request head asking for h2c) to the
// gateway at addr. When it is answered 101 it goes on in HTTP/2 as an
// attacker would: a stream to /admin/secret with a forged
// X-Revgate-Subject. It returns the status of the first response.
func h2cSmuggle(t *testing.T, addr, head string) int {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading the gateway's answer: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}
	if _, err := io.WriteString(conn, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(conn, br)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	for _, f := range [][2]string{
		{":method", "GET"}, {":scheme", "http"}, {":authority", "upstream"},
		{":path", "/admin/secret"}, {"x-revgate-subject", "admin"},
	} {
		_ = enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: block.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
		t.Fatal(err)
	}
	// Read until the stream is answered or the tunnel ends; what the
	// upstream served is asserted from its own record.
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return resp.StatusCode
		}
		if s, ok := f.(*http2.SettingsFrame); ok && !s.IsAck() {
			_ = fr.WriteSettingsAck()
		}
		if f.Header().StreamID == 3 && f.Header().Flags.Has(http2.FlagHeadersEndStream|http2.FlagDataEndStream) {
			return resp.StatusCode
		}
	}
}

func TestH2CUpgradesAreNeverForwarded(t *testing.T) {
	const settings = "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n"
	tests := []struct {
		name, path, headers string
	}{
		{"Upgrade: h2c on an auth: none route", "/public/x",
			"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n" + settings},
		{"Upgrade: h2c with Connection naming only Upgrade", "/public/x",
			"Connection: Upgrade\r\nUpgrade: h2c\r\n" + settings},
		{"Upgrade: H2C in capitals", "/public/x",
			"Connection: upgrade\r\nUpgrade: H2C\r\n" + settings},
		{"Upgrade: h2c without HTTP2-Settings", "/public/x",
			"Connection: Upgrade\r\nUpgrade: h2c\r\n"},
		{"Upgrade: websocket, h2c on a route without websocket", "/public/x",
			"Connection: Upgrade\r\nUpgrade: websocket, h2c\r\n" + settings},
		{"Upgrade: h2c on a websocket route", "/ws/x",
			"Connection: Upgrade\r\nUpgrade: h2c\r\n" + settings},
		{"Upgrade: h2c, websocket on a websocket route", "/ws/x",
			"Connection: Upgrade\r\nUpgrade: h2c, websocket\r\n" + settings},
		{"Upgrade: websocket, h2c on a websocket route", "/ws/x",
			"Connection: Upgrade\r\nUpgrade: websocket, h2c\r\n" + settings},
		{"two Upgrade lines, h2c second, on a websocket route", "/ws/x",
			"Connection: Upgrade\r\nUpgrade: websocket\r\nUpgrade: h2c\r\n" + settings},
		{"two Upgrade lines, h2c first, on a websocket route", "/ws/x",
			"Connection: Upgrade\r\nUpgrade: h2c\r\nUpgrade: websocket\r\n" + settings},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newH2CUpstream(t)
			h := newHarness(t, nil, func(c *config.Config) {
				c.Upstream.URL = up.srv.URL
				c.Routes = []config.Route{
					{Prefix: "/public/", Auth: config.AuthNone},
					{Prefix: "/ws/", Auth: config.AuthNone, WebSocket: true},
				}
			})
			addr := strings.TrimPrefix(h.proxy.URL, "http://")
			head := "GET " + tt.path + " HTTP/1.1\r\nHost: gateway\r\n" + tt.headers + "\r\n"
			status := h2cSmuggle(t, addr, head)

			seen := up.requests()
			for _, r := range seen {
				if r.path != tt.path || r.proto != "HTTP/1.1" {
					t.Errorf("the upstream served %s %s", r.proto, r.path)
				}
				if httpguts.HeaderValuesContainsToken(r.header["Upgrade"], "h2c") {
					t.Errorf("the upstream saw Upgrade: %q", r.header["Upgrade"])
				}
				if v, ok := r.header["Http2-Settings"]; ok {
					t.Errorf("the upstream saw HTTP2-Settings: %q", v)
				}
				if v, ok := r.header["X-Revgate-Subject"]; ok {
					t.Errorf("the upstream saw X-Revgate-Subject: %q", v)
				}
			}
			if len(seen) > 1 {
				t.Errorf("the upstream served %d requests, want at most the original one", len(seen))
			}
			if status == http.StatusSwitchingProtocols {
				t.Errorf("the client was switched to h2c")
			}
		})
	}
}

// wsUpstream completes a WebSocket handshake (RFC 6455) with 101 through
// http.Hijacker and then echoes every byte; any other request gets 200.
type wsUpstream struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen []http.Header
	// ended receives once for each tunnel whose connection the gateway
	// closed.
	ended chan struct{}
}

func newWSUpstream(t *testing.T) *wsUpstream {
	u := &wsUpstream{ended: make(chan struct{}, 16)}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.seen = append(u.seen, r.Header.Clone())
		u.mu.Unlock()
		if !httpguts.HeaderValuesContainsToken(r.Header["Connection"], "upgrade") ||
			!httpguts.HeaderValuesContainsToken(r.Header["Upgrade"], "websocket") {
			_, _ = io.WriteString(w, "plain")
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		defer conn.Close()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Accept: " + wsAccept(r.Header.Get("Sec-WebSocket-Key")) + "\r\n\r\n")
		if brw.Flush() != nil {
			return
		}
		_, _ = io.Copy(conn, brw)
		u.ended <- struct{}{}
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *wsUpstream) headers() []http.Header {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]http.Header(nil), u.seen...)
}

// wsAccept is Sec-WebSocket-Accept for key (RFC 6455 section 4.2.2).
func wsAccept(key string) string {
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// wsConn is the client side of a WebSocket through the gateway.
type wsConn struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
}

// wsDial opens a WebSocket to path through the gateway with token (none
// when ""), and returns the response and, on 101, the open connection.
func wsDial(t *testing.T, h *harness, path, token string) (*http.Response, *wsConn) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(h.proxy.URL, "http://"), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	const key = "dGhlIHNhbXBsZSBub25jZQ=="
	head := "GET " + path + " HTTP/1.1\r\nHost: gateway\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n"
	if token != "" {
		head += "Authorization: Bearer " + token + "\r\n"
	}
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, head+"\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading the handshake answer: %v", err)
	}
	_ = conn.SetDeadline(time.Time{})
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(resp.Body)
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return resp, nil
	}
	if got := resp.Header.Get("Sec-WebSocket-Accept"); got != wsAccept(key) {
		t.Fatalf("Sec-WebSocket-Accept = %q, want %q", got, wsAccept(key))
	}
	return resp, &wsConn{t: t, conn: conn, br: br}
}

// echo sends a masked text frame and fails unless the same bytes come
// back.
func (c *wsConn) echo() {
	c.t.Helper()
	frame := []byte{0x81, 0x84, 1, 2, 3, 4, 'p' ^ 1, 'i' ^ 2, 'n' ^ 3, 'g' ^ 4}
	_ = c.conn.SetDeadline(time.Now().Add(2 * time.Second))
	defer func() { _ = c.conn.SetDeadline(time.Time{}) }()
	if _, err := c.conn.Write(frame); err != nil {
		c.t.Fatalf("writing to the tunnel: %v", err)
	}
	got := make([]byte, len(frame))
	if _, err := io.ReadFull(c.br, got); err != nil {
		c.t.Fatalf("reading from the tunnel: %v", err)
	}
	if !bytes.Equal(got, frame) {
		c.t.Fatalf("echo = %x, want %x", got, frame)
	}
}

// closedWithin waits up to d for the gateway to close the connection and
// returns when it did.
func (c *wsConn) closedWithin(d time.Duration) time.Time {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(d))
	n, err := c.br.Read(make([]byte, 1))
	at := time.Now()
	var ne net.Error
	switch {
	case n > 0:
		c.t.Fatal("the tunnel sent data instead of closing")
	case errors.As(err, &ne) && ne.Timeout():
		c.t.Fatalf("the tunnel was still open after %v", d)
	}
	return at
}

// upstreamEnded fails unless the upstream's side of a tunnel closed
// within d.
func (u *wsUpstream) endedWithin(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case <-u.ended:
	case <-time.After(d):
		t.Fatalf("the upstream's side of the tunnel was still open after %v", d)
	}
}

func wsHarness(t *testing.T, store revocation.Store, mutate func(*config.Config)) (*harness, *wsUpstream) {
	t.Helper()
	up := newWSUpstream(t)
	h := newHarness(t, store, func(c *config.Config) {
		c.Upstream.URL = up.srv.URL
		c.Routes = []config.Route{
			{Prefix: "/ws/", Auth: config.AuthRequired, WebSocket: true},
			{Prefix: "/api/", Auth: config.AuthRequired},
			{Prefix: "/public/", Auth: config.AuthNone},
		}
		c.Revocation.RecheckInterval = 200 * time.Millisecond
		if mutate != nil {
			mutate(c)
		}
	})
	return h, up
}

// closeMargin is how much later than due a tunnel may close: a loaded
// machine under -race.
const closeMargin = time.Second

func TestWebSocketsPassOnlyOnWebSocketRoutesAfterTheRoutesAuth(t *testing.T) {
	t.Run("with a valid token on a websocket route the tunnel works", func(t *testing.T) {
		h, up := wsHarness(t, nil, nil)
		_, ws := wsDial(t, h, "/ws/chat", mint(t, tok{sub: "alice"}))
		if ws == nil {
			t.Fatal("the upgrade was refused")
		}
		ws.echo()
		time.Sleep(3 * h.cfg.Revocation.RecheckInterval) // rechecks pass
		ws.echo()
		seen := up.headers()
		if len(seen) != 1 || seen[0].Get("X-Revgate-Subject") != "alice" || seen[0].Get("Upgrade") != "websocket" {
			t.Fatalf("the upstream saw %v", seen)
		}
	})
	t.Run("without a token the upgrade is refused before the upstream", func(t *testing.T) {
		h, up := wsHarness(t, nil, nil)
		resp, ws := wsDial(t, h, "/ws/chat", "")
		if ws != nil || resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("status = %d, want 401", resp.StatusCode)
		}
		if n := len(up.headers()); n != 0 {
			t.Fatalf("the upstream saw %d requests", n)
		}
	})
	t.Run("with a revoked token the upgrade is refused before the upstream", func(t *testing.T) {
		h, up := wsHarness(t, nil, nil)
		token := mint(t, tok{})
		h.mustAdmin(http.MethodPost, "/v1/revocations/tokens", `{"token":"`+token+`"}`)
		resp, ws := wsDial(t, h, "/ws/chat", token)
		if ws != nil || resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("status = %d, want 401", resp.StatusCode)
		}
		if n := len(up.headers()); n != 0 {
			t.Fatalf("the upstream saw %d requests", n)
		}
	})
	for _, path := range []string{"/api/chat", "/public/chat", "/elsewhere"} {
		t.Run("on "+path+", a route without websocket, the request is forwarded without Upgrade", func(t *testing.T) {
			h, up := wsHarness(t, nil, nil)
			resp, ws := wsDial(t, h, path, mint(t, tok{}))
			if ws != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d, want the upstream's plain 200", resp.StatusCode)
			}
			seen := up.headers()
			if len(seen) != 1 {
				t.Fatalf("the upstream saw %d requests", len(seen))
			}
			if v, ok := seen[0]["Upgrade"]; ok {
				t.Errorf("the upstream saw Upgrade: %q", v)
			}
			if httpguts.HeaderValuesContainsToken(seen[0]["Connection"], "upgrade") {
				t.Errorf("the upstream saw Connection: %q", seen[0]["Connection"])
			}
		})
	}
}

func TestAWebSocketIsClosedWhenItsTokenIsRevoked(t *testing.T) {
	backends(t, func(t *testing.T, store func() revocation.Store) {
		for _, revoke := range []struct{ name, path, body string }{
			{"the token", "/v1/revocations/tokens", `{"token":"%s"}`},
			{"the subject", "/v1/revocations/subjects/alice", ""},
			{"every token", "/v1/revocations/all", ""},
		} {
			t.Run("revoking "+revoke.name, func(t *testing.T) {
				h, up := wsHarness(t, store(), nil)
				token := mint(t, tok{sub: "alice"})
				_, ws := wsDial(t, h, "/ws/chat", token)
				if ws == nil {
					t.Fatal("the upgrade was refused")
				}
				ws.echo()
				if series, _ := h.scrape(); series[`revgate_tunnels_open{route="/ws/"}`] != 1 {
					t.Errorf("revgate_tunnels_open = %v, want 1", series[`revgate_tunnels_open{route="/ws/"}`])
				}
				h.mustAdmin(http.MethodPost, revoke.path, strings.ReplaceAll(revoke.body, "%s", token))
				revoked := time.Now()
				closed := ws.closedWithin(h.cfg.Revocation.RecheckInterval + closeMargin)
				up.endedWithin(t, closeMargin)
				t.Logf("closed %v after the revocation", closed.Sub(revoked))
				series, _ := h.scrape()
				if v := series[`revgate_tunnels_closed_total{reason="revoked",route="/ws/"}`]; v != 1 {
					t.Errorf(`revgate_tunnels_closed_total{reason="revoked"} = %v, want 1`, v)
				}
				if v := series[`revgate_tunnels_open{route="/ws/"}`]; v != 0 {
					t.Errorf("revgate_tunnels_open = %v, want 0", v)
				}
				deadline := time.Now().Add(closeMargin)
				for !strings.Contains(h.logs.String(), `"tunnel_closed":"revoked"`) {
					if time.Now().After(deadline) {
						t.Fatalf("no access log line with tunnel_closed revoked:\n%s", h.logs.String())
					}
					time.Sleep(20 * time.Millisecond)
				}
			})
		}
	})
}

func TestAWebSocketIsClosedWhenItsTokenExpires(t *testing.T) {
	for _, leeway := range []time.Duration{0, time.Second} {
		t.Run("with leeway "+leeway.String(), func(t *testing.T) {
			t.Parallel()
			h, up := wsHarness(t, nil, func(c *config.Config) {
				c.JWT.Leeway = leeway
				c.Revocation.RecheckInterval = time.Hour // only the expiry can close it
			})
			exp := time.Now().Truncate(time.Second).Add(3 * time.Second)
			_, ws := wsDial(t, h, "/ws/chat", mint(t, tok{exp: exp}))
			if ws == nil {
				t.Fatal("the upgrade was refused")
			}
			due := exp.Add(leeway)
			time.Sleep(time.Until(due.Add(-400 * time.Millisecond)))
			ws.echo()
			closed := ws.closedWithin(time.Until(due) + closeMargin)
			if closed.Before(due) {
				t.Errorf("closed %v before exp + leeway", due.Sub(closed))
			}
			up.endedWithin(t, closeMargin)
			series, _ := h.scrape()
			if v := series[`revgate_tunnels_closed_total{reason="expired",route="/ws/"}`]; v != 1 {
				t.Errorf(`revgate_tunnels_closed_total{reason="expired"} = %v, want 1`, v)
			}
		})
	}
}

func TestAWebSocketFollowsOnStoreErrorWhenARecheckFails(t *testing.T) {
	t.Run("closed: the tunnel is closed", func(t *testing.T) {
		store, srv := redisStore(t)
		h, up := wsHarness(t, store, nil)
		_, ws := wsDial(t, h, "/ws/chat", mint(t, tok{}))
		if ws == nil {
			t.Fatal("the upgrade was refused")
		}
		ws.echo()
		srv.Stop()
		ws.closedWithin(h.cfg.Revocation.RecheckInterval + h.cfg.Revocation.LookupTimeout + closeMargin)
		up.endedWithin(t, closeMargin)
		series, _ := h.scrape()
		if v := series[`revgate_tunnels_closed_total{reason="store_unavailable",route="/ws/"}`]; v != 1 {
			t.Errorf(`revgate_tunnels_closed_total{reason="store_unavailable"} = %v, want 1`, v)
		}
	})
	t.Run("open: the tunnel stays open", func(t *testing.T) {
		store, srv := redisStore(t)
		h, _ := wsHarness(t, store, func(c *config.Config) { c.Revocation.OnStoreError = config.OnStoreErrorOpen })
		_, ws := wsDial(t, h, "/ws/chat", mint(t, tok{}))
		if ws == nil {
			t.Fatal("the upgrade was refused")
		}
		srv.Stop()
		time.Sleep(5 * h.cfg.Revocation.RecheckInterval)
		ws.echo()
	})
}

func TestAWebSocketClosedByTheClientIsCountedAndNoLongerWatched(t *testing.T) {
	store := &countingStore{Store: revocation.NewMemory(nil)}
	h, up := wsHarness(t, store, nil)
	_, ws := wsDial(t, h, "/ws/chat", mint(t, tok{}))
	if ws == nil {
		t.Fatal("the upgrade was refused")
	}
	ws.echo()
	time.Sleep(3 * h.cfg.Revocation.RecheckInterval)
	if store.checks.Load() < 2 {
		t.Fatalf("%d store checks while the tunnel was open, want the request's and rechecks", store.checks.Load())
	}
	ws.conn.Close()
	up.endedWithin(t, closeMargin)
	deadline := time.Now().Add(closeMargin)
	for {
		series, _ := h.scrape()
		if series[`revgate_tunnels_closed_total{reason="client_closed",route="/ws/"}`] == 1 &&
			series[`revgate_tunnels_open{route="/ws/"}`] == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the client hung up: open %v, client_closed %v", series[`revgate_tunnels_open{route="/ws/"}`],
				series[`revgate_tunnels_closed_total{reason="client_closed",route="/ws/"}`])
		}
		time.Sleep(20 * time.Millisecond)
	}
	checks := store.checks.Load()
	time.Sleep(3 * h.cfg.Revocation.RecheckInterval)
	if n := store.checks.Load(); n != checks {
		t.Errorf("%d store checks after the tunnel closed: the watcher outlived it", n-checks)
	}
	if !strings.Contains(h.logs.String(), `"status":101`) || !strings.Contains(h.logs.String(), `"tunnel_closed":"client_closed"`) {
		t.Errorf("no access log line with status 101 and tunnel_closed client_closed:\n%s", h.logs.String())
	}
}

func TestAnUpstreamSwitchingProtocolsUnaskedIsABadGateway(t *testing.T) {
	switchTo := func(protocol string) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			conn, brw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			defer conn.Close()
			_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: " + protocol + "\r\nConnection: Upgrade\r\n\r\n")
			_ = brw.Flush()
			_, _ = io.Copy(io.Discard, brw)
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	tests := []struct{ name, protocol, path string }{
		{"websocket, to a request on a route without websocket", "websocket", "/api/chat"},
		{"h2c, to a WebSocket request on a websocket route", "h2c", "/ws/chat"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := switchTo(tt.protocol)
			h, _ := wsHarness(t, nil, func(c *config.Config) { c.Upstream.URL = up.URL })
			resp, ws := wsDial(t, h, tt.path, mint(t, tok{}))
			if ws != nil || resp.StatusCode != http.StatusBadGateway {
				t.Fatalf("status = %d, want 502", resp.StatusCode)
			}
			if series, _ := h.scrape(); series[`revgate_tunnels_open{route="/ws/"}`] != 0 {
				t.Error("a tunnel was counted open")
			}
		})
	}
}
