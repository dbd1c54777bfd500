package gateway

import (
	"fmt"
	"net"
	"net/http/httputil"
	"net/netip"
	"slices"
	"strings"

	"github.com/revgate/revgate/config"
)

// spoofableHeaders are headers an upstream may take from its proxy as the
// client's address, host, scheme or path: Forwarded and X-Forwarded-*
// (frameworks behind a trusted proxy), X-Real-IP (nginx's convention),
// X-Original-URL and X-Rewrite-URL (IIS, Symfony and Laravel read them as
// the request path, which would bypass the route the gateway judged).
var spoofableHeaders = []string{
	"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto",
	"X-Real-Ip", "X-Original-Url", "X-Rewrite-Url",
}

// forwardPolicy decides what the upstream learns about where a request
// came from. Only a peer in server.trusted_proxies may tell it.
type forwardPolicy struct {
	trusted []netip.Prefix
}

func newForwardPolicy(s config.Server) (*forwardPolicy, error) {
	p := &forwardPolicy{}
	for i, e := range s.TrustedProxies {
		prefix, err := config.ParseTrustedProxy(e)
		if err != nil {
			return nil, fmt.Errorf("server.trusted_proxies[%d]: %w", i, err)
		}
		p.trusted = append(p.trusted, prefix)
	}
	return p, nil
}

func (p *forwardPolicy) trusts(a netip.Addr) bool {
	for _, prefix := range p.trusted {
		if prefix.Contains(a) {
			return true
		}
	}
	return false
}

// apply sets the outgoing request's forwarding headers. Every client-sent
// spoofable header goes, in every spelling a CGI or WSGI upstream reads as
// it (X_Forwarded_For): httputil only removes the canonical X-Forwarded-*
// and Forwarded. Then X-Forwarded-* are set from the peer, and X-Real-IP to
// the client's address. From a trusted peer its X-Forwarded-For is kept
// with the peer appended, its X-Forwarded-Host and -Proto and Forwarded are
// kept (Forwarded with the peer appended), and X-Real-IP is the right-most
// address of X-Forwarded-For that is not trusted.
func (p *forwardPolicy) apply(pr *httputil.ProxyRequest) {
	out, in := pr.Out.Header, pr.In.Header
	for name := range out {
		for _, s := range spoofableHeaders {
			if sameName(config.LookupHeader, name, s) {
				delete(out, name)
				break
			}
		}
	}
	peer, ok := peerAddr(pr.In.RemoteAddr)
	trusted := ok && p.trusts(peer)
	if trusted {
		if xff := in["X-Forwarded-For"]; len(xff) > 0 {
			out["X-Forwarded-For"] = slices.Clone(xff) // SetXForwarded appends the peer
		}
	}
	pr.SetXForwarded()
	if !ok {
		return
	}
	client := peer
	if trusted {
		for _, name := range []string{"X-Forwarded-Host", "X-Forwarded-Proto"} {
			if v := in[name]; len(v) > 0 {
				out[name] = slices.Clone(v)
			}
		}
		if fwd := in["Forwarded"]; len(fwd) > 0 {
			out["Forwarded"] = []string{strings.Join(fwd, ", ") + ", for=" + forwardedNode(peer)}
		}
		client = p.clientOf(in["X-Forwarded-For"], peer)
	}
	out["X-Real-Ip"] = []string{client.String()}
}

// clientOf walks X-Forwarded-For from the right, past trusted proxies, to
// the first address that is not trusted: the client as the outermost
// trusted proxy saw it. When every hop is trusted it is the left-most; an
// entry that is not an address stops the walk at the last trusted hop, so
// X-Real-IP is never text a client wrote.
func (p *forwardPolicy) clientOf(xff []string, peer netip.Addr) netip.Addr {
	var hops []string
	for _, v := range xff {
		hops = append(hops, strings.Split(v, ",")...)
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil || a.Zone() != "" {
			break
		}
		client = a.Unmap()
		if !p.trusts(client) {
			break
		}
	}
	return client
}

// peerAddr is the address of the connection's peer.
func peerAddr(remoteAddr string) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.WithZone("").Unmap(), true
}

// forwardedNode is a as a Forwarded for= value (RFC 7239): an IPv6
// address is bracketed and quoted.
func forwardedNode(a netip.Addr) string {
	if a.Is6() {
		return `"[` + a.String() + `]"`
	}
	return a.String()
}
