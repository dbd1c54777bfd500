// Command bareproxy is the baseline every revgate row is compared with: a
// plain httputil.ReverseProxy, what a user would write in a few lines, with
// only the one tuning any proxy in front of a single host needs (idle
// connections per host, the same 256 revgate uses by default; the standard
// library's 2 would make the baseline churn connections at c=32 and flatter
// revgate).
//
//	bareproxy -listen 127.0.0.1:0 -upstream http://127.0.0.1:PORT -addr-file FILE
package main

import (
	"flag"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"

	"github.com/revgate/revgate/bench/internal/benchdata"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on (loopback only)")
	upstream := flag.String("upstream", "", "upstream URL (required)")
	addrFile := flag.String("addr-file", "", "write the bound address here once listening")
	idle := flag.Int("max-idle-conns-per-host", 256, "upstream keep-alive pool size")
	pool := flag.Bool("buffer-pool", false, "reuse copy buffers through a sync.Pool")
	flag.Parse()

	target, err := url.Parse(*upstream)
	if err != nil || target.Host == "" {
		log.Fatalf("-upstream: expected an absolute URL, got %q", *upstream)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = *idle
	transport.Proxy = nil
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
		},
		Transport: transport,
	}
	if *pool {
		rp.BufferPool = &bufferPool{p: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}}
	}

	benchdata.Serve(*listen, *addrFile, rp)
}

// bufferPool is an httputil.BufferPool on a sync.Pool.
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte  { return *(b.p.Get().(*[]byte)) }
func (b *bufferPool) Put(v []byte) { b.p.Put(&v) }
