package gateway

import (
	"net/http"
	"strings"
	"testing"

	"github.com/revgate/revgate/config"
)

// received returns every value the upstream got under a name that a CGI or
// WSGI server reads as name.
func received(r *http.Request, name string) []string {
	var out []string
	for k, vs := range r.Header {
		if strings.EqualFold(strings.ReplaceAll(k, "_", "-"), name) {
			out = append(out, vs...)
		}
	}
	return out
}

// forged sends a request with every spoofable header, in its own spelling
// and in the underscore spelling CGI folds into it.
func forged(t *testing.T, h *harness, xff string) *http.Request {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.proxy.URL+"/api/x", nil)
	req.Header.Set("Authorization", "Bearer "+mint(t, tok{sub: "alice"}))
	req.Header.Set("X-Forwarded-For", xff)
	req.Header.Set("X-Forwarded-Host", "public.example")
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Header.Set("Forwarded", `for=6.6.6.6;proto=https`)
	req.Header.Set("X-Real-Ip", "6.6.6.6")
	req.Header.Set("X-Original-Url", "/admin/")
	req.Header.Set("X-Rewrite-Url", "/admin/")
	for _, name := range []string{"X_Forwarded_For", "X_Forwarded_Host", "X_Forwarded_Proto", "X_Real_IP", "X_Original_URL", "X_Rewrite_URL"} {
		req.Header[name] = []string{"6.6.6.6"}
	}
	wantStatus(t, h.do(req), http.StatusOK)
	got, _ := h.upstream.lastRequest()
	return got
}

func wantHeader(t *testing.T, r *http.Request, name string, want ...string) {
	t.Helper()
	got := received(r, name)
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("upstream got %s = %q, want %q", name, got, want)
	}
}

func TestProxyHeadersFromAnUntrustedPeerAreReplaced(t *testing.T) {
	for name, trusted := range map[string][]string{
		"no trusted proxies":              nil,
		"trusted proxies that are not it": {"10.0.0.0/8", "::1"},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, nil, func(c *config.Config) { c.Server.TrustedProxies = trusted })
			got := forged(t, h, "6.6.6.6")
			wantHeader(t, got, "X-Forwarded-For", "127.0.0.1")
			wantHeader(t, got, "X-Forwarded-Host", strings.TrimPrefix(h.proxy.URL, "http://"))
			wantHeader(t, got, "X-Forwarded-Proto", "http")
			wantHeader(t, got, "X-Real-Ip", "127.0.0.1")
			wantHeader(t, got, "Forwarded")
			wantHeader(t, got, "X-Original-Url")
			wantHeader(t, got, "X-Rewrite-Url")
		})
	}
}

func TestProxyHeadersFromATrustedPeerAreKeptAndAppendedTo(t *testing.T) {
	tests := []struct {
		name     string
		xff      string
		wantXFF  string
		wantReal string
	}{
		{"the client is the right-most untrusted hop", "6.6.6.6, 7.7.7.7, 10.0.0.2", "6.6.6.6, 7.7.7.7, 10.0.0.2, 127.0.0.1", "7.7.7.7"},
		{"every hop trusted: the left-most", "10.0.0.3, 10.0.0.2", "10.0.0.3, 10.0.0.2, 127.0.0.1", "10.0.0.3"},
		{"garbage stops the walk at the last trusted hop", "6.6.6.6, <script>, 10.0.0.2", "6.6.6.6, <script>, 10.0.0.2, 127.0.0.1", "10.0.0.2"},
		{"an IPv4-mapped address is the IPv4 one", "::ffff:10.0.0.9, ::ffff:8.8.8.8", "::ffff:10.0.0.9, ::ffff:8.8.8.8, 127.0.0.1", "8.8.8.8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil, func(c *config.Config) { c.Server.TrustedProxies = []string{"127.0.0.1", "10.0.0.0/8"} })
			got := forged(t, h, tt.xff)
			wantHeader(t, got, "X-Forwarded-For", tt.wantXFF)
			wantHeader(t, got, "X-Real-Ip", tt.wantReal)
			wantHeader(t, got, "X-Forwarded-Host", "public.example")
			wantHeader(t, got, "X-Forwarded-Proto", "https")
			wantHeader(t, got, "Forwarded", `for=6.6.6.6;proto=https, for=127.0.0.1`)
			// A trusted proxy vouches for addresses, never for a path.
			wantHeader(t, got, "X-Original-Url")
			wantHeader(t, got, "X-Rewrite-Url")
		})
	}

	t.Run("a trusted peer that sends nothing is the client", func(t *testing.T) {
		h := newHarness(t, nil, func(c *config.Config) { c.Server.TrustedProxies = []string{"127.0.0.0/8"} })
		wantStatus(t, h.get("/api/x", mint(t, tok{sub: "alice"})), http.StatusOK)
		got, _ := h.upstream.lastRequest()
		wantHeader(t, got, "X-Forwarded-For", "127.0.0.1")
		wantHeader(t, got, "X-Real-Ip", "127.0.0.1")
		wantHeader(t, got, "X-Forwarded-Host", strings.TrimPrefix(h.proxy.URL, "http://"))
		wantHeader(t, got, "X-Forwarded-Proto", "http")
		wantHeader(t, got, "Forwarded")
	})
}
