package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/revgate/revgate/config"
	"github.com/revgate/revgate/gateway/jwtverify"
)

// Decision-mode refusals (rows in proxyRefusals).
var (
	// errDecisionRequest is a decision request that does not say, exactly
	// once, which request it asks about. It is never allowed: a proxy
	// configured to send no original URI would otherwise get "yes" for
	// every request.
	errDecisionRequest = errors.New("decision request must carry the original request's method and URI, each exactly once")
	// errRefreshNeedsBody is an `auth: refresh` route asked about without
	// the body that holds its token (NGINX auth_request never sends one).
	errRefreshNeedsBody = errors.New("this route takes its token from the request body, which the proxy did not send (Envoy with_request_body, Traefik forwardBody)")
	// errOwnPathDecision is a request for a path revgate answers itself
	// (logout): a proxy asking about it is about to forward it elsewhere,
	// and a caller who meant to log out would see the upstream's answer
	// while the token stays valid.
	errOwnPathDecision = errors.New("revgate serves this path itself: route it to revgate instead of asking for a decision")
	// errDecisionUpgrade is a request asking to switch protocols where that
	// is not allowed. In decision mode the asking proxy, not revgate, would
	// hold the tunnel: an h2c tunnel's streams would never be checked, so
	// only a WebSocket on a `websocket: true` route may upgrade.
	errDecisionUpgrade = errors.New("this route takes no protocol upgrade (h2c never; WebSocket only on routes with websocket: true)")
)

// decisionInput is what a decision front door (the HTTP endpoints, the
// gRPC Check) knows about the original request, the one the asking proxy
// will forward if allowed.
type decisionInput struct {
	// mode labels the front door in metrics and logs (ModeForwardAuth...).
	mode string
	// method and uri are the original request's method and request-target
	// (origin-form "/path?query", raw, as the client sent it). Either
	// empty means the asking proxy did not say: errDecisionRequest.
	method, uri string
	// header is the original request's headers (Authorization, Cookie and
	// whatever jwt.lookup names); it is not modified.
	header http.Header
	// body is the original request's body; nil means it was not sent (an
	// empty one that was sent is a non-nil empty reader). Only `auth:
	// refresh` routes read it, at most 1 MiB.
	body io.Reader
	// host is the original Host, remoteAddr the asking peer (for logs).
	host, remoteAddr string
	// invalid, when set, is why the front door could not read the original
	// request; it is answered and recorded like any refusal.
	invalid error
}

// decisionAnswer is the core's decision rendered for a front door.
type decisionAnswer struct {
	allowed bool
	// status is 200 when allowed, else the proxy's refusal status.
	status int
	// header, when allowed, holds every jwt.forward_headers header, with
	// "" where the claim has no value or the route is `auth: none`: the
	// asking proxy sets them on the forwarded request, overwriting the
	// client's copies. When denied, it holds the refusal's headers
	// (WWW-Authenticate, Content-Type, Cache-Control).
	header http.Header
	// remove, when allowed, lists client-sent headers an upstream could
	// read as a forward header although spelled otherwise (X_Revgate_Subject
	// to a WSGI server): the asking proxy must drop them. The headers in
	// header itself are not listed, since a proxy may apply removals after
	// setting (they are overwritten anyway).
	remove []string
	// body is the refusal's JSON document; nil when allowed.
	body []byte
	// route and outcome are as in metrics.
	route, outcome string
	// claims are the verified token's, nil on `auth: none` or refusal.
	claims *jwtverify.Claims
}

// decide is the decision modes' adapter to the authorization core: it
// rebuilds the original request (method, request-target, headers, body),
// checks its request-target as the proxy checks one (origin-form only) and
// cleans its path as the proxy does, then asks authorize. It records one
// metric sample and one access log line under in.mode.
//
// Refresh reuse detection only half applies: a refresh token already
// recorded as used is refused (and its subject revoked) as in proxy mode,
// but nothing is recorded as used here, because that needs the upstream's
// answer, which a decision never sees. It stays a proxy-mode feature.
func (g *Gateway) decide(ctx context.Context, in decisionInput) decisionAnswer {
	start := time.Now()
	d := g.judge(ctx, in)
	a := g.render(in, d)
	if in.mode == ModeAuthRequest {
		a.status = authRequestStatus(a.status)
	}
	id := ""
	if in.header != nil {
		id = g.requestIDs.id(&http.Request{Header: in.header})
	}
	g.record(ctx, accessRecord{
		mode:       in.mode,
		method:     logMethod(in.method),
		route:      a.route,
		outcome:    a.outcome,
		status:     a.status,
		bytes:      int64(len(a.body)),
		elapsed:    time.Since(start),
		requestID:  id,
		remoteAddr: in.remoteAddr,
		claims:     a.claims,
	})
	return a
}

// judge runs the core on the rebuilt original request.
func (g *Gateway) judge(ctx context.Context, in decisionInput) decision {
	invalid := route{label: "invalid_path"}
	r, err := originalRequest(ctx, in)
	if err != nil {
		return decision{route: invalid, err: err}
	}
	clean, _, err := cleanPath(r.URL.Path, r.URL.RawPath)
	if err != nil {
		return decision{route: invalid, err: err}
	}
	if own := g.ownRoute(clean); own != "" {
		return decision{route: route{label: own}, err: errOwnPathDecision}
	}
	d := g.authorize(r, clean)
	if d.err == nil && !upgradeAllowed(in.header, d.route) {
		d.claims, d.err, d.failOpen = nil, errDecisionUpgrade, false
	}
	if d.route.auth == config.AuthRefresh && in.body == nil {
		// Judged on no body it could only say "no token": say why.
		d.claims, d.err, d.failOpen = nil, errRefreshNeedsBody, false
	}
	// Recording a used refresh token needs the upstream's answer.
	d.afterUpstream = nil
	return d
}

// upgradeAllowed reports whether the original request's upgrade, if it asks
// for one, may happen on route rt. It asks when it carries an Upgrade
// header (or X-Original-Upgrade, which an NGINX configuration sets from
// $http_upgrade, since auth_request does not pass Upgrade on) or
// HTTP2-Settings; only "websocket" alone, on a websocket route, may.
func upgradeAllowed(h http.Header, rt route) bool {
	var offered []string
	for _, name := range []string{"Upgrade", "X-Original-Upgrade"} {
		for _, v := range h[name] {
			for t := range strings.SplitSeq(v, ",") {
				if t = strings.TrimSpace(t); t != "" {
					offered = append(offered, t)
				}
			}
		}
	}
	if len(offered) == 0 && len(h["Http2-Settings"]) == 0 {
		return true
	}
	if !rt.websocket || len(h["Http2-Settings"]) > 0 {
		return false
	}
	for _, t := range offered {
		if !strings.EqualFold(t, upgradeWebSocket) {
			return false
		}
	}
	return true
}

// render turns a decision into the answer front doors send.
func (g *Gateway) render(in decisionInput, d decision) decisionAnswer {
	a := decisionAnswer{route: d.route.label, outcome: d.outcome()}
	if d.err != nil {
		rr := refusalAnswer(d.err)
		a.status, a.header, a.body = rr.status, rr.header, rr.body
		return a
	}
	a.allowed, a.status, a.claims = true, http.StatusOK, d.claims
	a.header = make(http.Header, len(g.headers.headers))
	g.headers.each(d.claims, func(name, value string) {
		a.header[name] = []string{value}
	})
	for name := range in.header {
		if _, set := a.header[http.CanonicalHeaderKey(name)]; set {
			continue
		}
		for _, ch := range g.headers.headers {
			if sameName(config.LookupHeader, name, ch.header) {
				a.remove = append(a.remove, name)
				break
			}
		}
	}
	return a
}

// originalRequest rebuilds the request a decision is about. Its URL comes
// from the original request-target, so query: lookups read the original
// query; its headers are a copy.
func originalRequest(ctx context.Context, in decisionInput) (*http.Request, error) {
	if in.invalid != nil {
		return nil, in.invalid
	}
	if in.method == "" || in.uri == "" || !isMethod(in.method) {
		return nil, errDecisionRequest
	}
	// Only origin-form: the asking proxy forwards a path, and an absolute
	// or authority form here would be one more reading of it.
	if !strings.HasPrefix(in.uri, "/") {
		return nil, errRequestTarget
	}
	u, err := url.ParseRequestURI(in.uri)
	if err != nil {
		return nil, errRequestTarget
	}
	h := in.header.Clone()
	if h == nil {
		h = http.Header{}
	}
	r := (&http.Request{
		Method:     in.method,
		URL:        u,
		RequestURI: in.uri,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     h,
		Host:       in.host,
		RemoteAddr: in.remoteAddr,
		Body:       http.NoBody,
	}).WithContext(ctx)
	if in.body != nil {
		r.Body, r.ContentLength = io.NopCloser(in.body), -1
	}
	if err := checkRequestTarget(r); err != nil {
		return nil, err
	}
	return r, nil
}

// authRequestStatus maps a refusal for NGINX auth_request, which turns
// every status but 2xx, 401 and 403 into a 500: a client error becomes
// 403. Server errors (503 revocation_unavailable) stay; NGINX answers 500
// for them either way.
func authRequestStatus(status int) int {
	if status >= 400 && status < 500 && status != http.StatusUnauthorized && status != http.StatusForbidden {
		return http.StatusForbidden
	}
	return status
}

// isMethod reports whether m is an RFC 9110 method token.
func isMethod(m string) bool {
	for i := 0; i < len(m); i++ {
		c := m[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return m != ""
}

// logMethod bounds what a decision request's method header puts in a log
// line.
func logMethod(m string) string {
	if !isMethod(m) || len(m) > 32 {
		return "invalid"
	}
	return m
}
