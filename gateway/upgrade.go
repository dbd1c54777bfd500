package gateway

import (
	"errors"
	"net/http"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// An upgraded connection is a tunnel the gateway can no longer inspect.
// Only WebSocket upgrades pass, only on routes with `websocket: true`.
// h2c is never forwarded: every HTTP/2 stream inside it would reach the
// upstream unjudged, with whatever path and headers the client chose.

// upgradeWebSocket is the one protocol a request may switch to.
const upgradeWebSocket = "websocket"

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
