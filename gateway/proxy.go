package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"

	"github.com/revgate/revgate/config"
)

// forwardInfo is one proxied request's state: what the core decided, for
// the proxy's hooks, and what happened, for metrics and the access log.
type forwardInfo struct {
	start   time.Time
	route   string // the route's label
	outcome string
	// upstreamStart is when the request was handed to the upstream;
	// upstreamTime how long its response headers (or failure) took.
	upstreamStart time.Time
	upstreamTime  time.Duration
	upstreamDone  bool

	d decision
	// path is the cleaned path to forward when pathChanged.
	path        string
	pathChanged bool
	// err records an upstream failure for the access log and metrics.
	err error
	// upgrade is the protocol the request may switch to ("websocket"), ""
	// when it may not; tunnel is the connection once it has.
	upgrade string
	tunnel  *tunnel
}

type forwardKey struct{}

func forwardFrom(r *http.Request) *forwardInfo {
	fi, _ := r.Context().Value(forwardKey{}).(*forwardInfo)
	return fi
}

// newReverseProxy builds the one reverse proxy to the upstream. Everything
// per request comes from the forwardInfo in the request's context;
// upgraded connections are handed to tunnels.
func newReverseProxy(cfg *config.Config, headers *claimHeaders, tunnels *tunnels, logger *slog.Logger) (*httputil.ReverseProxy, error) {
	up := cfg.Upstream
	target, err := url.Parse(up.URL)
	if err != nil {
		return nil, fmt.Errorf("upstream.url: %w", err)
	}
	strip := up.StripAuthorization
	forward, err := newForwardPolicy(cfg.Server)
	if err != nil {
		return nil, err
	}

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
			// ReverseProxy copied the client's upgrade to pr.Out before
			// this hook, and decides whether to tunnel from pr.Out's
			// headers after it: this is the last word on what the
			// upstream is asked to switch to.
			upgrade := ""
			if fi != nil {
				upgrade = fi.upgrade
			}
			scrubUpgrade(pr.Out.Header, upgrade)
			// Trailers arrive after the request was judged (a refresh
			// route's body read has filled them in by now): an upstream
			// that merges them into its headers would read a forged
			// claim header. None is forwarded, nor announced.
			pr.Out.Trailer = nil
			pr.Out.Header.Del("Trailer")
			forward.apply(pr)
			headers.dropClientCopies(pr.Out.Header)
			if strip {
				pr.Out.Header.Del("Authorization")
			}
			if fi == nil || fi.d.claims == nil {
				return
			}
			headers.each(fi.d.claims, func(name, value string) {
				if value != "" {
					pr.Out.Header[name] = []string{value}
				}
			})
		},
		Transport:  transport,
		BufferPool: newBufferPool(),
		ModifyResponse: func(resp *http.Response) error {
			fi := forwardFrom(resp.Request)
			if fi == nil {
				if resp.StatusCode == http.StatusSwitchingProtocols {
					return errUnexpectedUpgrade
				}
				return nil
			}
			fi.upstreamDone, fi.upstreamTime = true, time.Since(fi.upstreamStart)
			if fi.d.afterUpstream != nil {
				if refused := fi.d.afterUpstream(resp); refused != nil {
					fi.outcome = outcome(refused)
				}
			}
			if resp.StatusCode == http.StatusSwitchingProtocols {
				return tunnels.open(resp, fi)
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
			// A client that hangs up or sends a broken body is the client's
			// doing: a warning each would let any client flood the log.
			if classified != errClientGone && classified != errClientBody {
				logger.WarnContext(r.Context(), "upstream request failed", "error", config.RedactError(err, up.URL), "path", r.URL.Path)
			}
			writeProxyError(w, classified)
		},
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}, nil
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
