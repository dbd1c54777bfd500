package console

import (
	"net"
	"net/netip"
	"strings"
)

// RebindSafeHost reports whether a request's Host names this machine in a
// way no DNS rebinding can fake: "localhost" or a name under .localhost
// (browsers resolve those to loopback themselves, and the names have no
// public delegation), or an IP address literal. A rebinding page runs at
// a DNS name its attacker controls, made to resolve to 127.0.0.1: the
// browser sends that name as Host, and it is never an IP literal. Without
// sign-in (admin.insecure_no_auth) this is what keeps such a page from
// reading and changing through the listener; an empty Host (HTTP/1.0
// without one) is refused, as no browser sends it.
func RebindSafeHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1] // an IPv6 literal without a port
	}
	if host == "" {
		return false
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	name := strings.TrimSuffix(strings.ToLower(host), ".")
	return name == "localhost" || (strings.HasSuffix(name, ".localhost") && len(name) > len(".localhost"))
}
