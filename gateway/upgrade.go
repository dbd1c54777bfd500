package gateway

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/revgate/revgate/gateway/jwtverify"
)

// An upgraded connection is a tunnel the gateway can no longer inspect.
// Only WebSocket upgrades pass, only on routes with `websocket: true`, and
// only for as long as the token that opened them is good. h2c is never
// forwarded: every HTTP/2 stream inside it would reach the upstream
// unjudged, with whatever path and headers the client chose.

// upgradeWebSocket is the one protocol a request may switch to.
const upgradeWebSocket = "websocket"

// Why a tunnel closed: revgate_tunnels_closed_total's reason label.
const (
	tunnelClientClosed     = "client_closed"
	tunnelUpstreamClosed   = "upstream_closed"
	tunnelExpired          = "expired"
	tunnelRevoked          = "revoked"
	tunnelStoreUnavailable = "store_unavailable"
)

var tunnelReasons = []string{tunnelClientClosed, tunnelUpstreamClosed, tunnelExpired, tunnelRevoked, tunnelStoreUnavailable}

// errUnexpectedUpgrade is an upstream answering 101 to a request that was
// not allowed to upgrade, or switching to another protocol than the one
// allowed: the client gets a 502, not a tunnel.
var errUnexpectedUpgrade = errors.New("upstream switched protocols without an allowed upgrade")

// upgradeFor is the upgrade a request may make on route rt: "websocket"
// when the route allows it and the request asks for it (Connection names
// upgrade and one of the Upgrade protocols is websocket, in any case),
// otherwise "".
func upgradeFor(h http.Header, rt route) string {
	if rt.websocket &&
		httpguts.HeaderValuesContainsToken(h["Connection"], "upgrade") &&
		httpguts.HeaderValuesContainsToken(h["Upgrade"], upgradeWebSocket) {
		return upgradeWebSocket
	}
	return ""
}

// scrubUpgrade leaves h asking for upgrade and nothing else: Upgrade is
// exactly that protocol (an offer of "websocket, h2c" or a second Upgrade
// line is cut down to websocket), or is removed with every upgrade token
// of Connection. HTTP2-Settings, which only an h2c upgrade uses, always
// goes.
func scrubUpgrade(h http.Header, upgrade string) {
	delete(h, "Http2-Settings")
	if upgrade != "" {
		h["Upgrade"] = []string{upgrade}
		if !httpguts.HeaderValuesContainsToken(h["Connection"], "upgrade") {
			h["Connection"] = append(h["Connection"], "Upgrade")
		}
		return
	}
	delete(h, "Upgrade")
	if conn, ok := h["Connection"]; ok {
		kept := conn[:0:0]
		for _, v := range conn {
			var tokens []string
			for t := range strings.SplitSeq(v, ",") {
				if t = strings.TrimSpace(t); t != "" && !strings.EqualFold(t, "upgrade") {
					tokens = append(tokens, t)
				}
			}
			if len(tokens) > 0 {
				kept = append(kept, strings.Join(tokens, ", "))
			}
		}
		if len(kept) == 0 {
			delete(h, "Connection")
		} else {
			h["Connection"] = kept
		}
	}
}

// switchAllowed checks an upstream's 101 against the upgrade the request
// was allowed. ReverseProxy checks it against the request it sent too;
// this does not depend on how.
func switchAllowed(resp *http.Response, fi *forwardInfo) error {
	if fi == nil || fi.upgrade == "" ||
		!httpguts.HeaderValuesContainsToken(resp.Header["Connection"], "upgrade") ||
		!strings.EqualFold(resp.Header.Get("Upgrade"), fi.upgrade) {
		return errUnexpectedUpgrade
	}
	return nil
}

// tunnels opens and watches upgraded connections.
type tunnels struct {
	// check reads the revocation state of a tunnel's token again: nil, an
	// error wrapping jwtverify.ErrTokenRevoked, or any other error when
	// the state cannot be read.
	check    func(ctx context.Context, c *jwtverify.Claims) error
	metrics  *Metrics
	log      *slog.Logger
	now      func() time.Time
	leeway   time.Duration // jwt.leeway, as the verifier applies it to exp
	interval time.Duration // revocation.recheck_interval
	failOpen bool          // on_store_error: open
}

// open turns the upstream's 101 into a tunnel: resp.Body, the upstream
// connection ReverseProxy copies to and from, is wrapped so the gateway can
// close it, which ends the copy and closes the client's side too. It fails
// unless the request was allowed the protocol the upstream switched to.
func (ts *tunnels) open(resp *http.Response, fi *forwardInfo) error {
	if err := switchAllowed(resp, fi); err != nil {
		return err
	}
	conn, ok := resp.Body.(io.ReadWriteCloser)
	if !ok {
		return errUnexpectedUpgrade
	}
	ctx, cancel := context.WithCancel(context.Background())
	t := &tunnel{ReadWriteCloser: conn, route: fi.route, metrics: ts.metrics, stop: cancel}
	resp.Body = t
	fi.tunnel = t
	ts.metrics.tunnelsOpen.WithLabelValues(t.route).Inc()
	if c := fi.d.claims; c != nil {
		go ts.watch(ctx, t, c)
	}
	return nil
}

// watch closes t when its token expires (exp plus leeway, when the
// verifier would stop accepting it) or when a recheck finds it revoked, or
// finds the store unreadable with on_store_error: closed. It returns when
// t closes.
func (ts *tunnels) watch(ctx context.Context, t *tunnel, c *jwtverify.Claims) {
	var expired <-chan time.Time
	if !c.ExpiresAt.IsZero() {
		timer := time.NewTimer(c.ExpiresAt.Add(ts.leeway).Sub(ts.now()))
		defer timer.Stop()
		expired = timer.C
	}
	recheck := time.NewTicker(ts.interval)
	defer recheck.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-expired:
			t.shut(tunnelExpired)
			return
		case <-recheck.C:
			if reason := ts.recheck(ctx, t, c); reason != "" {
				t.shut(reason)
				return
			}
		}
	}
}

// recheck reads the token's revocation state again and says why the
// tunnel must close, or "" to keep it.
func (ts *tunnels) recheck(ctx context.Context, t *tunnel, c *jwtverify.Claims) string {
	err := ts.check(ctx, c)
	switch {
	case err == nil, ctx.Err() != nil: // ctx: the tunnel closed meanwhile
		return ""
	case errors.Is(err, jwtverify.ErrTokenRevoked):
		ts.log.InfoContext(ctx, "closing an upgraded connection: token revoked", "route", t.route)
		return tunnelRevoked
	case ts.failOpen:
		ts.log.DebugContext(ctx, "revocation store unavailable; upgraded connection kept open (on_store_error: open)", "route", t.route, "error", err.Error())
		return ""
	default:
		ts.log.WarnContext(ctx, "revocation store unavailable; closing an upgraded connection (on_store_error: closed)", "route", t.route, "error", err.Error())
		return tunnelStoreUnavailable
	}
}

// tunnel is the upstream side of an upgraded connection, as ReverseProxy
// sees it. It records why the tunnel ended and counts it once.
type tunnel struct {
	io.ReadWriteCloser
	route   string
	metrics *Metrics
	// stop ends the watcher and any recheck in flight.
	stop context.CancelFunc

	mu     sync.Mutex
	reason string
	closed sync.Once
}

// because records why the tunnel ends; the first reason stands.
func (t *tunnel) because(reason string) {
	t.mu.Lock()
	if t.reason == "" {
		t.reason = reason
	}
	t.mu.Unlock()
}

// closeReason is why the tunnel ended, "" while it is open.
func (t *tunnel) closeReason() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.reason
}

// shut closes the tunnel for reason.
func (t *tunnel) shut(reason string) {
	t.because(reason)
	_ = t.Close()
}

// Read sees the upstream hang up: that ends the tunnel unless something
// else already has.
func (t *tunnel) Read(p []byte) (int, error) {
	n, err := t.ReadWriteCloser.Read(p)
	if err != nil {
		t.because(tunnelUpstreamClosed)
	}
	return n, err
}

// CloseWrite is called by ReverseProxy when the client has finished
// sending; it passes the half close on, as the connection it wraps does.
func (t *tunnel) CloseWrite() error {
	t.because(tunnelClientClosed)
	if cw, ok := t.ReadWriteCloser.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.New("close write: not supported")
}

// Close ends the tunnel. ReverseProxy calls it when either side is done;
// with no reason recorded the client's side ended first. The tunnel is
// counted before the connection closes, so whoever sees it close sees it
// counted.
func (t *tunnel) Close() error {
	t.because(tunnelClientClosed)
	t.closed.Do(func() {
		t.stop()
		t.metrics.tunnelsOpen.WithLabelValues(t.route).Dec()
		t.metrics.tunnelsClosed.WithLabelValues(t.route, t.closeReason()).Inc()
	})
	return t.ReadWriteCloser.Close()
}
