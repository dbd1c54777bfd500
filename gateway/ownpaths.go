package gateway

import "strings"

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
