package gateway

import (
	"errors"
	"path"
	"sort"
	"strings"

	"github.com/revgate/revgate/config"
)

// errAmbiguousPath rejects paths whose meaning depends on the upstream: one
// that decodes %2F or %5C, reads a backslash as a slash (IIS, ASP.NET,
// several Java and Node stacks) or drops ;parameters from each segment before
// resolving dot segments (Tomcat, Jetty, Spring) could serve /admin for
// /public/..\admin or /public/..;/admin, which the gateway judged under
// /public/.
var errAmbiguousPath = errors.New("ambiguous path: encoded slash, backslash, a dot or empty segment with ;parameters, or a path that ;parameters or a missing trailing slash would move to another route")

// route is one entry of the routing table.
type route struct {
	prefix string
	auth   string
	// label names the route in metrics and logs: its prefix, never the raw
	// request path, so label values stay bounded.
	label string
	// websocket lets a request upgrade to a WebSocket (routes[].websocket).
	websocket bool
}

// router picks the auth mode for a path: the longest prefix the path is
// under wins; a path no route matches needs a token.
type router struct {
	routes   []route // longest prefix first
	fallback route
}

func newRouter(rs []config.Route) *router {
	rt := &router{fallback: route{prefix: "/", auth: config.AuthRequired, label: "default"}}
	for _, r := range rs {
		auth := r.Auth
		if auth == "" {
			auth = config.AuthRequired
		}
		rt.routes = append(rt.routes, route{prefix: r.Prefix, auth: auth, label: r.Prefix, websocket: r.WebSocket})
	}
	sort.SliceStable(rt.routes, func(i, j int) bool { return len(rt.routes[i].prefix) > len(rt.routes[j].prefix) })
	return rt
}

// websocketLabels are the labels of the routes that allow WebSockets.
func (rt *router) websocketLabels() []string {
	var labels []string
	for _, r := range rt.routes {
		if r.websocket {
			labels = append(labels, r.label)
		}
	}
	return labels
}

// match returns the route for a cleaned path, read two ways: as it is, by
// longest prefix, and as the most lenient upstream reads it, with
// ;parameters dropped from every segment (Tomcat, Jetty and Spring serve
// /api/token/refresh/ for /api/token/refresh;x/) and a prefix ending in a
// slash also matching the path without it (many frameworks serve
// /refresh/ for /refresh). Both readings match whole segments (see under):
// /health;x is not under /health as it is, and is /health once its
// ;parameters are dropped. When the readings agree on the auth mode, or
// one of them is `none`, the other wins; when they name two different
// checks (required and refresh look at different tokens), the path is
// ambiguous and refused: checking either could let the upstream serve the
// other's route.
func (rt *router) match(p string) (route, error) {
	literal := rt.longest(p, false)
	if strings.IndexByte(p, ';') >= 0 {
		p = stripParams(p)
	}
	lenient := rt.longest(p, true)
	switch {
	case lenient.auth == literal.auth, lenient.auth == config.AuthNone:
		return literal, nil
	case literal.auth == config.AuthNone:
		return lenient, nil
	}
	return route{}, errAmbiguousPath
}

// longest returns the route of the longest prefix p is under; with
// slashOptional, a prefix "/x/" also matches the path "/x".
func (rt *router) longest(p string, slashOptional bool) route {
	for _, r := range rt.routes {
		if under(p, r.prefix) ||
			slashOptional && len(p) == len(r.prefix)-1 && r.prefix[len(p)] == '/' && strings.HasPrefix(r.prefix, p) {
			return r
		}
	}
	return rt.fallback
}

// under reports whether path p lies under prefix, which matches whole
// segments: the path itself and what lies below it after a "/". A prefix
// ending in "/" ends its last segment already, so every path starting with
// it is below it. Any other prefix never matches a longer segment:
// /healthy-admin-dump is another resource than /health to every upstream,
// and judging it by a `none` route for /health would forward it without a
// token.
func under(p, prefix string) bool {
	if !strings.HasPrefix(p, prefix) {
		return false
	}
	return len(p) == len(prefix) || strings.HasSuffix(prefix, "/") || p[len(prefix)] == '/'
}

// stripParams drops the ;parameters of every segment of p.
func stripParams(p string) string {
	var b strings.Builder
	b.Grow(len(p))
	for i, seg := range strings.Split(p, "/") {
		if i > 0 {
			b.WriteByte('/')
		}
		base, _, _ := strings.Cut(seg, ";")
		b.WriteString(base)
	}
	return b.String()
}

// cleanPath returns the path the gateway judges and forwards: dot segments
// and repeated slashes resolved, a trailing slash kept. changed reports that
// it differs from the request's path, in which case the cleaned path is what
// gets forwarded, so the upstream serves exactly the path that was judged.
func cleanPath(p, rawPath string) (clean string, changed bool, err error) {
	if (rawPath != "" && containsEncodedSlash(rawPath)) || strings.IndexByte(p, '\\') >= 0 {
		return "", false, errAmbiguousPath
	}
	if p == "" {
		return "/", true, nil
	}
	c := p
	if needsClean(p) {
		c = path.Clean("/" + p)
		if strings.HasSuffix(p, "/") && c != "/" {
			c += "/"
		}
	}
	if strings.IndexByte(c, ';') >= 0 && hasDotSegmentWithParams(c) {
		return "", false, errAmbiguousPath
	}
	return c, c != p, nil
}

// hasDotSegmentWithParams reports a segment such as "..;x" or ".;", which is
// a dot segment to an upstream that strips ;parameters first, or ";x",
// which is an empty one: Tomcat and Spring collapse the "//" it leaves, so
// /api/;x/admin is /api/admin to them.
func hasDotSegmentWithParams(p string) bool {
	for seg := range strings.SplitSeq(p, "/") {
		if base, _, ok := strings.Cut(seg, ";"); ok && (base == "" || base == "." || base == "..") {
			return true
		}
	}
	return false
}

// needsClean is a fast check for the common, already clean path.
func needsClean(p string) bool {
	if p[0] != '/' {
		return true
	}
	return strings.Contains(p, "//") || strings.Contains(p, "/./") || strings.Contains(p, "/../") ||
		strings.HasSuffix(p, "/.") || strings.HasSuffix(p, "/..")
}

func containsEncodedSlash(raw string) bool {
	for i := 0; i+2 < len(raw); i++ {
		if raw[i] != '%' {
			continue
		}
		switch {
		case raw[i+1] == '2' && (raw[i+2] == 'f' || raw[i+2] == 'F'):
			return true
		case raw[i+1] == '5' && (raw[i+2] == 'c' || raw[i+2] == 'C'):
			return true
		}
	}
	return false
}
