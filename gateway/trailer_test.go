package gateway

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/revgate/revgate/config"
	"github.com/revgate/revgate/internal/testkit"
)

// Trailers arrive after the gateway has judged a request; an upstream that
// merges them into its headers (or a refresh route, whose body the gateway
// reads before forwarding) would see a forged claim header. None is ever
// forwarded, nor is a Trailer header announcing one.
func TestRequestTrailersNeverReachTheUpstream(t *testing.T) {
	wire := testkit.NewWireUpstream(t)
	h := newHarness(t, nil, func(c *config.Config) {
		c.Upstream.URL = wire.URL()
		c.Routes = []config.Route{{Prefix: "/api/token/refresh/", Auth: config.AuthRefresh}}
	})
	access := mint(t, tok{sub: "alice"})
	refresh := mint(t, tok{sub: "alice"})
	chunked := func(body string) string {
		return fmt.Sprintf("%x\r\n%s\r\n0\r\nX-Revgate-Subject: forged\r\nX-Other-Trailer: forged\r\n\r\n", len(body), body)
	}
	tests := []struct {
		name string
		raw  string
	}{
		{"a required route", "POST /api/x HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + access +
			"\r\nTransfer-Encoding: chunked\r\nTrailer: X-Revgate-Subject, X-Other-Trailer\r\nConnection: close\r\n\r\n" + chunked("hello")},
		{"a required route, trailers unannounced", "POST /api/x HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + access +
			"\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunked("hello")},
		{"a refresh route", "POST /api/token/refresh/ HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json" +
			"\r\nTransfer-Encoding: chunked\r\nTrailer: X-Revgate-Subject, X-Other-Trailer\r\nConnection: close\r\n\r\n" +
			chunked(`{"refresh":"`+refresh+`"}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wire.Reset()
			resps := testkit.RawRequest(t, h.proxy.Listener.Addr().String(), tt.raw, 5*time.Second)
			if got := testkit.Statuses(resps); len(got) != 1 || got[0] != http.StatusOK {
				t.Fatalf("statuses = %v, want [200]", got)
			}
			reqs := wire.Requests()
			if len(reqs) == 0 {
				t.Fatal("the upstream got nothing")
			}
			for i, r := range reqs {
				all := r.Line + "\n" + strings.Join(r.Head, "\n") + "\n" + string(r.Body) + "\n" + strings.Join(r.Trailer, "\n")
				for _, bad := range []string{"forged", "X-Other-Trailer", "Trailer:"} {
					if strings.Contains(all, bad) {
						t.Errorf("upstream request %d carries %q:\n%s", i, bad, all)
					}
				}
				if r.Error != "" {
					t.Errorf("upstream request %d: %s", i, r.Error)
				}
			}
			if len(reqs) != 1 {
				t.Fatalf("upstream read %d requests from one, want 1", len(reqs))
			}
			if body := string(reqs[0].Body); body != "hello" && !strings.HasPrefix(body, `{"refresh":`) {
				t.Errorf("upstream got body %q", body)
			}
		})
	}
}
