package gateway

import (
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// The HTTP decision listener's endpoints (decision.listen).
const (
	// pathForwardAuth is asked by Traefik forwardAuth and Caddy
	// forward_auth: the original request is in X-Forwarded-Method and
	// X-Forwarded-Uri.
	pathForwardAuth = "/forward-auth"
	// pathAuthRequest is asked by NGINX auth_request and ingress-nginx
	// auth-url: X-Original-Method with X-Original-URI, or X-Original-URL
	// (absolute).
	pathAuthRequest = "/auth-request"
	// prefixExtAuthz is Envoy ext_authz's HTTP service path_prefix: the
	// decision request is the original one, its path prefixed.
	prefixExtAuthz = "/ext-authz"
)

// ModeDecisionOwn labels requests for the gateway's own paths (logout)
// answered on the decision listener.
const ModeDecisionOwn = "decision"

// headerEnvoyRemove tells Envoy's HTTP ext_authz filter which request
// headers to remove before forwarding.
const headerEnvoyRemove = "X-Envoy-Auth-Headers-To-Remove"

// DecisionHandler is the decision listener's handler: the proxy that asks
// sends the original request's credentials as its own (Authorization,
// Cookie), so this listener must never be reachable by clients through
// the ingress. Any method is accepted on each endpoint.
func (g *Gateway) DecisionHandler() http.Handler {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	// As on the proxy listener, one handler ahead of echo's router, which
	// would answer 405 to methods it does not know.
	e.Pre(func(echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			g.serveDecision(c.Response(), c.Request())
			return nil
		}
	})
	return e
}

// serveDecision routes a request on the decision listener. The endpoints
// are matched on the raw request-target, so no cleaning or decoding can
// turn one into another.
func (g *Gateway) serveDecision(w *echo.Response, r *http.Request) {
	target := r.RequestURI
	path, _, _ := strings.Cut(target, "?")
	var in decisionInput
	switch {
	case path == pathForwardAuth:
		in = forwardAuthInput(r)
	case path == pathAuthRequest:
		in = authRequestInput(r)
	case strings.HasPrefix(target, prefixExtAuthz+"/"):
		in = extAuthzInput(r, strings.TrimPrefix(target, prefixExtAuthz))
	default:
		g.serveDecisionOwn(w, r)
		return
	}
	writeDecision(w, in.mode, g.decide(r.Context(), in))
}

// forwardAuthInput reads Traefik's and Caddy's forward auth request.
// Traefik sends the body only with forwardBody; Caddy never does.
func forwardAuthInput(r *http.Request) decisionInput {
	in := decisionInput{mode: ModeForwardAuth, header: r.Header, remoteAddr: r.RemoteAddr, body: sentBody(r)}
	method, okM := single(r.Header, "X-Forwarded-Method")
	uri, okU := single(r.Header, "X-Forwarded-Uri")
	in.method, in.uri = method, uri
	in.host, _ = single(r.Header, "X-Forwarded-Host")
	if !okM || !okU {
		in.invalid = errDecisionRequest
	}
	return in
}

// authRequestInput reads NGINX's auth_request subrequest (which the
// configuration gives X-Original-Method and X-Original-URI) and
// ingress-nginx's auth-url request (which also carries X-Original-URL).
func authRequestInput(r *http.Request) decisionInput {
	in := decisionInput{mode: ModeAuthRequest, header: r.Header, remoteAddr: r.RemoteAddr, body: sentBody(r)}
	method, okM := single(r.Header, "X-Original-Method")
	in.method = method
	uri, okU := single(r.Header, "X-Original-Uri")
	if abs, ok := single(r.Header, "X-Original-Url"); ok {
		fromURL, host, okURL := originForm(abs)
		switch {
		case !okURL, okU && uri != fromURL:
			// Two readings of one request: judge neither.
			okU = false
		default:
			uri, okU, in.host = fromURL, true, host
		}
	} else if len(r.Header["X-Original-Url"]) > 1 {
		okU = false
	}
	in.uri = uri
	if !okM || !okU {
		in.invalid = errDecisionRequest
	}
	return in
}

// extAuthzInput reads Envoy's HTTP ext_authz check request: the original
// method and headers, the original request-target after path_prefix, and
// the body when with_request_body is set. A partial body (allow_partial_message)
// is not the body the upstream receives: it counts as not sent.
func extAuthzInput(r *http.Request, uri string) decisionInput {
	in := decisionInput{mode: ModeExtAuthzHTTP, method: r.Method, uri: uri, header: r.Header,
		host: r.Host, remoteAddr: r.RemoteAddr, body: sentBody(r)}
	if r.Header.Get("X-Envoy-Auth-Partial-Body") == "true" {
		in.body = nil
	}
	return in
}

// sentBody is the decision request's body, nil when none was sent.
func sentBody(r *http.Request) io.Reader {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return nil
	}
	return r.Body
}

// single returns a header's value when it is there exactly once: a
// client's copy beside the proxy's would be two readings.
func single(h http.Header, name string) (string, bool) {
	v := h[name]
	if len(v) != 1 || v[0] == "" {
		return "", false
	}
	return v[0], true
}

// originForm returns the origin-form ("/path?query", raw) and host of an
// absolute http(s) URL such as ingress-nginx's X-Original-URL, built as
// $scheme://$http_host$request_uri. The authority must be a plain host and
// port and the path must follow it directly: NGINX accepts a Host such as
// "api.example:80?", and a URL cut at that '?' would be judged as "/" while
// NGINX forwards the real path.
func originForm(abs string) (uri, host string, ok bool) {
	scheme, rest, found := strings.Cut(abs, "://")
	if !found || (scheme != "http" && scheme != "https") {
		return "", "", false
	}
	if strings.Contains(rest, "#") {
		return "", "", false
	}
	i := strings.IndexByte(rest, '/')
	if i < 0 {
		i = len(rest) // no path at all: "/"
	}
	if i == 0 || !plainAuthority(rest[:i]) {
		return "", "", false
	}
	if i == len(rest) {
		return "/", rest, true
	}
	return rest[i:], rest[:i], true
}

// plainAuthority reports whether a is host[:port] in the characters a host
// name, an IPv4 or a bracketed IPv6 address and a port are made of.
func plainAuthority(a string) bool {
	for i := 0; i < len(a); i++ {
		c := a[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(".-:[]", c) >= 0) {
			return false
		}
	}
	return true
}

// writeDecision sends a decision. Allowed: 200, no body, every forward
// header (empty ones too, so the proxy overwrites a client's copy with
// nothing), and for Envoy the other spellings to remove. Denied: the
// refusal's status, headers and body, which the asking proxy passes to the
// client.
func writeDecision(w http.ResponseWriter, mode string, a decisionAnswer) {
	h := w.Header()
	for name, v := range a.header {
		h[name] = v
	}
	if !a.allowed {
		w.WriteHeader(a.status)
		_, _ = w.Write(a.body)
		return
	}
	if mode == ModeExtAuthzHTTP && len(a.remove) > 0 {
		names := make([]string, len(a.remove))
		for i, n := range a.remove {
			names[i] = strings.ToLower(n)
		}
		h.Set(headerEnvoyRemove, strings.Join(names, ","))
	}
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}

// serveDecisionOwn answers what is not a decision endpoint: the gateway's
// own paths (logout), exactly as on the proxy listener, else 404.
func (g *Gateway) serveDecisionOwn(w *echo.Response, r *http.Request) {
	if checkRequestTarget(r) != nil {
		http.NotFound(w, r)
		return
	}
	clean, _, err := cleanPath(r.URL.Path, r.URL.RawPath)
	if err != nil || !g.isOwn(clean) {
		http.NotFound(w, r)
		return
	}
	fi := &forwardInfo{start: time.Now(), route: "invalid_path", outcome: OutcomeAllowed}
	r.Header[headerRequestID] = []string{g.requestIDs.id(r)}
	w.Header()[headerRequestID] = r.Header[headerRequestID]
	defer g.finish(ModeDecisionOwn, w, r, fi)
	g.serveOwnPath(w, r, clean, fi)
}
