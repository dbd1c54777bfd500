package gateway

import (
	"errors"
	"net/http"
	"strings"
)

// errRequestTarget refuses a request-target whose path the gateway would
// judge differently from the one the upstream receives. Go's server parses
// "http:foo" into URL.Opaque, "CONNECT host:443" into URL.Host and "*" into
// a path of its own; the gateway judges URL.Path but the transport writes
// URL.RequestURI(), so "GET http:api/token/refresh/" was judged as "/" and
// forwarded as "api/token/refresh/", past the refresh route's checks.
var errRequestTarget = errors.New("request-target must be a path starting with /, an http or https absolute URI, or * with OPTIONS")

// checkRequestTarget accepts the forms whose forwarded path is exactly
// URL.Path (RFC 9112 section 3.2):
//
//   - origin-form, "/path?query";
//   - absolute-form, "http://host/path?query" (or https): RFC 9112 says a
//     server MUST accept it, and Go parses its path into URL.Path as for
//     origin-form; the proxy replaces scheme and host with the upstream's
//     and writes origin-form, so the upstream receives the judged path.
//     Userinfo is refused (RFC 9110 section 4.2.4 calls it an error).
//
// Everything else is refused: authority-form (CONNECT: revgate is not a
// forward proxy), asterisk-form other than OPTIONS (see isOptionsAsterisk),
// scheme-only and opaque targets, and other schemes.
func checkRequestTarget(r *http.Request) error {
	t, u := r.RequestURI, r.URL
	if u == nil || u.Opaque != "" || u.User != nil {
		return errRequestTarget
	}
	if strings.HasPrefix(t, "/") {
		if u.Scheme != "" || u.Host != "" {
			return errRequestTarget
		}
		return nil
	}
	scheme, rest, ok := strings.Cut(t, "://")
	if !ok || rest == "" || !(strings.EqualFold(scheme, "http") || strings.EqualFold(scheme, "https")) ||
		u.Scheme != strings.ToLower(scheme) || u.Host == "" {
		return errRequestTarget
	}
	// An empty path is "/" (cleanPath), judged and forwarded alike.
	if u.Path != "" && !strings.HasPrefix(u.Path, "/") {
		return errRequestTarget
	}
	return nil
}

// isOptionsAsterisk reports "OPTIONS *", a question to the server itself
// (RFC 9110 section 9.3.7). Go's server answers it unless
// DisableGeneralOptionsHandler is set; then the gateway does, the same way,
// because there is no path to judge or forward.
func isOptionsAsterisk(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.RequestURI == "*"
}
