package gateway

import (
	"net/http"
	"strings"
)

// isOwnPath reports whether an upstream could read the cleaned path clean
// as own, a path the gateway serves itself and never forwards (logout). It
// reads clean the ways router.match reads a route: literally, and as the
// most lenient upstream does, with ;parameters dropped from every segment
// (Tomcat, Jetty, Spring) and a trailing slash optional on either side.
// Forwarding any such reading would hand the upstream the caller's token
// for a request the caller meant as a logout.
func isOwnPath(clean, own string) bool {
	if own == "" {
		return false
	}
	if clean == own {
		return true
	}
	if strings.IndexByte(clean, ';') >= 0 {
		clean = stripParams(clean)
	}
	return strings.TrimSuffix(clean, "/") == strings.TrimSuffix(own, "/")
}

// serveOwnPath answers a path the gateway serves itself (ownRoute names
// them) on every listener clients reach: the proxy's, and the decision
// listener, to which an ingress routes them like to any backend. It
// reports whether the cleaned path clean was one; fi gets the route and,
// on refusal, the outcome.
func (g *Gateway) serveOwnPath(w http.ResponseWriter, r *http.Request, clean string, fi *forwardInfo) bool {
	route := g.ownRoute(clean)
	if route == "" {
		return false
	}
	fi.route = route
	switch route {
	case "backchannel_logout":
		fi.outcome = g.serveBackchannel(w, r)
	case "ssf_push":
		fi.outcome = g.serveSSFPush(w, r)
	case "global_revocation":
		fi.outcome = g.serveGlobalRevocation(w, r)
	case "logout":
		if err := g.serveLogout(w, r); err != nil {
			refuse(w, fi, err)
		}
	default: // oauth_<endpoint>
		fi.outcome = g.serveOAuth(w, r, g.oauth.endpoint(clean))
	}
	return true
}

// isOwn reports whether the cleaned path clean is one serveOwnPath answers.
func (g *Gateway) isOwn(clean string) bool { return g.ownRoute(clean) != "" }

// ownRoute is the route label serveOwnPath gives the cleaned path clean,
// or "" when it is not one of the gateway's own paths.
func (g *Gateway) ownRoute(clean string) string {
	switch {
	case g.oauth.endpoint(clean) != "":
		return "oauth_" + string(g.oauth.endpoint(clean))
	case g.bcl.owns(clean):
		return "backchannel_logout"
	case g.ssf.ownsPush(clean):
		return "ssf_push"
	case g.gtr.owns(clean):
		return "global_revocation"
	case isOwnPath(clean, g.cfg.Logout.Path):
		return "logout"
	}
	return ""
}
