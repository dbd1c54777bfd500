package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/revgate/revgate/gateway/jwtverify"

	"github.com/revgate/revgate/config"
)

// forwardInfo is one proxied request's state: what the pipeline decided,
// for the proxy's hooks, and what happened, for metrics and the access log.
type forwardInfo struct {
	start   time.Time
	route   string // the route's label
	outcome string
	// upstreamStart is when the request was handed to the upstream;
	// upstreamTime how long its response headers (or failure) took.
	upstreamStart time.Time
	upstreamTime  time.Duration
	upstreamDone  bool

	claims *jwtverify.Claims
	// path is the cleaned path to forward when pathChanged.
	path        string
	pathChanged bool
	// err records an upstream failure for the access log and metrics.
	err error
	// onResponse runs on the upstream's response before it is copied to the
	// client (refresh reuse detection records used tokens here).
	onResponse func(*http.Response) error
}

type forwardKey struct{}

func forwardFrom(r *http.Request) *forwardInfo {
	fi, _ := r.Context().Value(forwardKey{}).(*forwardInfo)
	return fi
}

// claimHeader is one forward_headers entry.
type claimHeader struct {
	header string // canonical
	claim  string
}

// newReverseProxy builds the one reverse proxy to the upstream. Everything
// per request comes from the forwardInfo in the request's context.
func newReverseProxy(up config.Upstream, jwtCfg config.JWT, logger *slog.Logger) (*httputil.ReverseProxy, error) {
	target, err := url.Parse(up.URL)
	if err != nil {
		return nil, fmt.Errorf("upstream.url: %w", err)
	}
	var headers []claimHeader
	for h, claim := range jwtCfg.ForwardHeaders {
		headers = append(headers, claimHeader{header: textproto.CanonicalMIMEHeaderKey(h), claim: claim})
	}
	subjectClaim := jwtCfg.SubjectClaim
	strip := up.StripAuthorization

	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	transport.MaxIdleConns = 0 // no global cap: one upstream host
	transport.MaxIdleConnsPerHost = up.MaxIdleConnsPerHost
	transport.IdleConnTimeout = 90 * time.Second
	transport.ResponseHeaderTimeout = up.Timeout
	transport.Proxy = nil // never send upstream traffic through an environment proxy

	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			fi := forwardFrom(pr.In)
			if fi != nil {
				fi.upstreamStart = time.Now()
			}
			if fi != nil && fi.pathChanged {
				pr.Out.URL.Path = fi.path
				pr.Out.URL.RawPath = ""
			}
			pr.SetURL(target)
			pr.SetXForwarded()
			// Client-sent copies of claim headers are always removed, on every
			// route, so an upstream can trust them.
			if len(headers) > 0 {
				dropClaimHeaders(pr.Out.Header, headers)
			}
			if strip {
				pr.Out.Header.Del("Authorization")
			}
			if fi == nil || fi.claims == nil {
				return
			}
			for _, ch := range headers {
				if v, ok := claimValue(fi.claims, ch.claim, subjectClaim); ok {
					pr.Out.Header[ch.header] = []string{v}
				}
			}
		},
		Transport:  transport,
		BufferPool: newBufferPool(),
		ModifyResponse: func(resp *http.Response) error {
			fi := forwardFrom(resp.Request)
			if fi == nil {
				return nil
			}
			fi.upstreamDone, fi.upstreamTime = true, time.Since(fi.upstreamStart)
			if fi.onResponse != nil {
				return fi.onResponse(resp)
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			classified := classifyUpstreamError(r, err)
			if fi := forwardFrom(r); fi != nil {
				fi.err = classified
				if !fi.upstreamDone && !fi.upstreamStart.IsZero() {
					fi.upstreamDone, fi.upstreamTime = true, time.Since(fi.upstreamStart)
				}
			}
			if classified != errClientGone {
				logger.WarnContext(r.Context(), "upstream request failed", "error", err.Error(), "path", r.URL.Path)
			}
			writeProxyError(w, classified)
		},
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}, nil
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

// dropClaimHeaders removes every header an upstream could read as one of
// the claim headers: the header itself and every spelling that a CGI or
// WSGI server (Gunicorn, uWSGI, PHP; older Apache for any punctuation)
// turns into the same HTTP_X_REVGATE_SUBJECT, such as X_Revgate_Subject.
func dropClaimHeaders(h http.Header, headers []claimHeader) {
	for name := range h {
		for _, ch := range headers {
			if sameCGIName(name, ch.header) {
				delete(h, name)
				break
			}
		}
	}
}

// sameCGIName reports whether a and b are one CGI variable name: equal
// once letters are folded to one case and everything but letters and
// digits is read as '_'.
func sameCGIName(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if cgiByte(a[i]) != cgiByte(b[i]) {
			return false
		}
	}
	return true
}

func cgiByte(c byte) byte {
	switch {
	case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		return c
	case 'A' <= c && c <= 'Z':
		return c + ('a' - 'A')
	}
	return '_'
}

// bufferPool reuses the proxy's copy buffers across requests. It pools
// array pointers, so neither Get nor Put allocates.
type bufferPool struct{ p sync.Pool }

const proxyBufferSize = 32 << 10

func newBufferPool() *bufferPool {
	return &bufferPool{p: sync.Pool{New: func() any { return new([proxyBufferSize]byte) }}}
}

func (b *bufferPool) Get() []byte { return b.p.Get().(*[proxyBufferSize]byte)[:] }

func (b *bufferPool) Put(v []byte) {
	if cap(v) == proxyBufferSize {
		b.p.Put((*[proxyBufferSize]byte)(v[:proxyBufferSize]))
	}
}

// withForward attaches fi to the request handed to the reverse proxy.
func withForward(r *http.Request, fi *forwardInfo) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), forwardKey{}, fi))
}
