package gateway

import (
	"fmt"
	"net/http"
	"net/textproto"
	"strconv"
	"time"

	"github.com/revgate/revgate/config"
	"github.com/revgate/revgate/gateway/jwtverify"
)

// claimHeaders renders jwt.forward_headers: the headers an upstream reads
// the verified claims from.
type claimHeaders struct {
	headers      []claimHeader
	subjectClaim string
}

// claimHeader is one forward_headers entry.
type claimHeader struct {
	header string // canonical
	claim  string
}

func newClaimHeaders(forward map[string]string, subjectClaim string) *claimHeaders {
	h := &claimHeaders{subjectClaim: subjectClaim}
	for name, claim := range forward {
		h.headers = append(h.headers, claimHeader{header: textproto.CanonicalMIMEHeaderKey(name), claim: claim})
	}
	return h
}

// each calls fn for every configured header with its value from c: ""
// when c is nil (an `auth: none` route), the claim is missing, or its
// value cannot be sent in a header.
func (h *claimHeaders) each(c *jwtverify.Claims, fn func(header, value string)) {
	for _, ch := range h.headers {
		v := ""
		if c != nil {
			v, _ = claimValue(c, ch.claim, h.subjectClaim)
		}
		fn(ch.header, v)
	}
}

// dropClientCopies removes every header an upstream could read as one of
// the claim headers: the header itself and every spelling that a CGI or
// WSGI server (Gunicorn, uWSGI, PHP; older Apache for any punctuation)
// turns into the same HTTP_X_REVGATE_SUBJECT, such as X_Revgate_Subject.
// Client-sent copies are always removed, on every route, so an upstream
// can trust them.
func (h *claimHeaders) dropClientCopies(hdr http.Header) {
	if len(h.headers) == 0 {
		return
	}
	for name := range hdr {
		for _, ch := range h.headers {
			if sameName(config.LookupHeader, name, ch.header) {
				delete(hdr, name)
				break
			}
		}
	}
}

// claimValue renders a claim for an upstream header. The subject claim uses
// its canonical form. Values that are not valid in a header (control
// characters) are not forwarded at all.
func claimValue(c *jwtverify.Claims, claim, subjectClaim string) (string, bool) {
	var v string
	switch claim {
	case subjectClaim:
		v = c.Subject
	case "jti":
		v = c.JTI
	default:
		if c.Token == nil {
			return "", false
		}
		raw, ok := c.Token.Get(claim)
		if !ok {
			return "", false
		}
		v = formatClaim(raw)
	}
	if v == "" || !validHeaderValue(v) {
		return "", false
	}
	return v, true
}

func formatClaim(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case time.Time:
		return strconv.FormatInt(x.Unix(), 10)
	case []string:
		if len(x) == 1 {
			return x[0]
		}
	}
	return fmt.Sprint(v)
}

func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
