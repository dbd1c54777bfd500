package gateway

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/revgate/revgate/gateway/jwtverify"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/revgate/revgate/config"
	"github.com/revgate/revgate/internal/redistest"
	"github.com/revgate/revgate/internal/testkit"
	"github.com/revgate/revgate/revocation"
)

// The hot path, measured in process: one authorized GET through the proxy
// handler (extract → verify → revocation check → proxy to a loopback
// upstream), per algorithm, on the memory store and on a real redis-server.
// bench/run.sh measures the same path end to end over TCP; these say where
// the time and the allocations go. BenchmarkVerify (verify_test.go) is the
// verification step alone.
//
//	go test -run '^$' -bench 'ProxyHotPath|ProxyNoAuth|RevocationCheck|Verify' -benchmem ./gateway/
//	go test -run '^$' -bench 'ProxyHotPath/redis/RS256/uncached' -cpuprofile cpu.out ./gateway/

// benchAlg is one signing setup: how the gateway is configured for it and
// how its tokens are signed.
type benchAlg struct {
	name   string
	mutate func(*config.Config) // nil: testConfig's RS256 JWKS file
	token  func(testing.TB) string
}

// benchKeys are the ES256, EdDSA and HS256 keys of benchAlgs, made once.
var benchKeys = sync.OnceValue(func() (k struct{ ec, ed, hmac jwk.Key }) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	for _, x := range []struct {
		dst      *jwk.Key
		raw      any
		kid, alg string
	}{
		{&k.ec, ec, "ec-1", "ES256"},
		{&k.ed, ed, "ed-1", "EdDSA"},
		{&k.hmac, []byte("0123456789abcdef0123456789abcdef-hmac-secret"), "", "HS256"},
	} {
		key, err := jwk.FromRaw(x.raw)
		if err != nil {
			panic(err)
		}
		if x.kid != "" {
			_ = key.Set(jwk.KeyIDKey, x.kid)
		}
		_ = key.Set(jwk.AlgorithmKey, jwa.SignatureAlgorithm(x.alg))
		*x.dst = key
	}
	return k
})

func benchAlgs(tb testing.TB) []benchAlg {
	k := benchKeys()
	jwksFile := func(tb testing.TB, c *config.Config, key jwk.Key, alg string) {
		c.JWT.JWKSFile = testkit.JWKSFile(tb, key)
		c.JWT.Algorithms = []string{alg}
	}
	return []benchAlg{
		{name: "RS256", token: func(tb testing.TB) string { return mint(tb, tok{}) }},
		{
			name:   "ES256",
			mutate: func(c *config.Config) { jwksFile(tb, c, k.ec, "ES256") },
			token:  func(tb testing.TB) string { return mint(tb, tok{key: k.ec, alg: jwa.ES256}) },
		},
		{
			name:   "EdDSA",
			mutate: func(c *config.Config) { jwksFile(tb, c, k.ed, "EdDSA") },
			token:  func(tb testing.TB) string { return mint(tb, tok{key: k.ed, alg: jwa.EdDSA}) },
		},
		{
			name: "HS256",
			mutate: func(c *config.Config) {
				c.JWT.JWKSFile = ""
				var secret []byte
				_ = k.hmac.Raw(&secret)
				c.JWT.HMACSecret = string(secret)
				c.JWT.Algorithms = []string{"HS256"}
			},
			token: func(tb testing.TB) string { return mint(tb, tok{key: k.hmac, alg: jwa.HS256}) },
		},
	}
}

// leanUpstream answers every request with 200 and a small JSON body and
// does nothing else, so allocations per request are the gateway's plus
// net/http's server side, and the same for every benchmark here (the test
// harness's recording upstream clones every request it sees).
func leanUpstream(tb testing.TB) string {
	body := []byte(`{"id":42,"status":"ok","items":[{"sku":"A-1","qty":2},{"sku":"B-7","qty":1}]}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header()["Content-Type"] = []string{"application/json"}
		_, _ = w.Write(body)
	}))
	tb.Cleanup(srv.Close)
	return srv.URL
}

// benchStores are the stores the hot path runs against. The Redis one is
// started once for every sub-benchmark of b.
func benchStores(b *testing.B) []struct {
	name string
	open func() revocation.Store
} {
	var srv *redistest.Server
	return []struct {
		name string
		open func() revocation.Store
	}{
		{"memory", func() revocation.Store { return revocation.NewMemory(nil) }},
		{"redis", func() revocation.Store {
			if srv == nil {
				srv = redistest.Start(b, redistest.Options{})
			}
			if err := srv.NewClient().FlushDB(b.Context()).Err(); err != nil {
				b.Fatal(err)
			}
			return revocation.NewRedis(srv.NewClient(), revocation.RedisOptions{KeyPrefix: "revgate:"})
		}},
	}
}

// discardWriter is a ResponseWriter that keeps only the status, so the
// benchmark measures the gateway's allocations, not a recorder's.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(status int)      { w.status = status }

// benchRequest is one reusable authorized request and the writer it is
// answered into.
type benchRequest struct {
	req *http.Request
	w   *discardWriter
}

func newBenchRequest(token string) *benchRequest {
	req := httptest.NewRequest(http.MethodGet, "/api/orders/42", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return &benchRequest{req: req, w: &discardWriter{h: http.Header{}}}
}

// serve sends the request through h and returns the status. The gateway
// writes an X-Request-Id into the request; it is removed so every
// iteration generates one, as a request from a client would.
func (br *benchRequest) serve(h http.Handler) int {
	delete(br.req.Header, headerRequestID)
	clear(br.w.h)
	br.w.status = 0
	h.ServeHTTP(br.w, br.req)
	return br.w.status
}

// markSubject gives the token's subject a mark from before its iat, so the
// revocation check reads (and parses) a mark and rejects nothing, as in
// bench/run.sh.
func markSubject(tb testing.TB, store revocation.Store) {
	tb.Helper()
	_, err := store.MarkSubject(context.Background(), "alice", time.Now().Add(-time.Hour), 25*time.Hour)
	if err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkProxyHotPath is one request through the proxy handler with a
// valid token: "repeated" sends one token again and again, so after the
// first request the verified-token cache answers; "uncached" runs with
// jwt.verify_cache_size 0, so every request pays the signature check, as a
// token seen for the first time does.
func BenchmarkProxyHotPath(b *testing.B) {
	for _, st := range benchStores(b) {
		for _, alg := range benchAlgs(b) {
			for _, mode := range []string{"repeated", "uncached"} {
				b.Run(st.name+"/"+alg.name+"/"+mode, func(b *testing.B) {
					store := st.open()
					markSubject(b, store)
					upstream := leanUpstream(b)
					fg := newFuzzGateway(b, store, func(c *config.Config) {
						c.Upstream.URL = upstream
						if alg.mutate != nil {
							alg.mutate(c)
						}
						if mode == "uncached" {
							c.JWT.VerifyCacheSize = 0
						}
					})
					br := newBenchRequest(alg.token(b))
					if got := br.serve(fg.proxy); got != http.StatusOK {
						b.Fatalf("status %d, want 200", got)
					}
					fg.store.checks.Store(0)
					var n int64
					b.ReportAllocs()
					for b.Loop() {
						if got := br.serve(fg.proxy); got != http.StatusOK {
							b.Fatalf("status %d, want 200", got)
						}
						n++
					}
					if got := fg.store.checks.Load(); got != n {
						b.Fatalf("%d store checks for %d requests, want exactly one each", got, n)
					}
				})
			}
		}
	}
}

// BenchmarkProxyNoAuth is the proxy step alone (a route with auth: none):
// what the hot path costs without a token, and so what the token steps add.
func BenchmarkProxyNoAuth(b *testing.B) {
	upstream := leanUpstream(b)
	fg := newFuzzGateway(b, nil, func(c *config.Config) {
		c.Upstream.URL = upstream
		c.Routes = []config.Route{{Prefix: "/", Auth: config.AuthNone}}
	})
	br := newBenchRequest(mint(b, tok{}))
	b.ReportAllocs()
	for b.Loop() {
		if got := br.serve(fg.proxy); got != http.StatusOK {
			b.Fatalf("status %d, want 200", got)
		}
	}
}

// BenchmarkBareReverseProxy is the in-process baseline: a plain
// httputil.ReverseProxy (bench/bareproxy's, idle connections per host
// raised to revgate's default) to the same upstream, with the same request.
func BenchmarkBareReverseProxy(b *testing.B) {
	target, err := url.Parse(leanUpstream(b))
	if err != nil {
		b.Fatal(err)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = config.Default().Upstream.MaxIdleConnsPerHost
	b.Cleanup(transport.CloseIdleConnections)
	rp := &httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(target); pr.SetXForwarded() },
		Transport: transport,
	}
	br := newBenchRequest(mint(b, tok{}))
	b.ReportAllocs()
	for b.Loop() {
		if got := br.serve(rp); got != http.StatusOK {
			b.Fatalf("status %d, want 200", got)
		}
	}
}

// BenchmarkRevocationCheck is the pipeline's revocation step alone (lookup
// timeout, breaker, metrics and the store's one round trip), per store.
func BenchmarkRevocationCheck(b *testing.B) {
	for _, st := range benchStores(b) {
		b.Run(st.name, func(b *testing.B) {
			store := st.open()
			markSubject(b, store)
			fg := newFuzzGateway(b, store, nil)
			claims, err := fg.gw.verifier.Verify(context.Background(), mint(b, tok{}), jwtverify.PurposeAccess)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := fg.gw.pipeline.checkRevoked(ctx, claims, false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecisionAuthRequest is one NGINX auth_request decision with a
// valid, repeated RS256 token: what revgate spends per request in decision
// mode, nothing forwarded.
//
//	go test -run '^$' -bench 'DecisionAuthRequest' -benchmem -cpuprofile cpu.out ./gateway/
func BenchmarkDecisionAuthRequest(b *testing.B) {
	for _, st := range benchStores(b) {
		b.Run(st.name, func(b *testing.B) {
			store := st.open()
			markSubject(b, store)
			fg := newFuzzGateway(b, store, func(c *config.Config) { c.Decision.Listen = "127.0.0.1:0" })
			h := fg.gw.DecisionHandler()
			br := newBenchRequest(mint(b, tok{}))
			br.req.URL.Path, br.req.RequestURI = "/auth-request", "/auth-request"
			br.req.Header.Set("X-Original-Method", http.MethodGet)
			br.req.Header.Set("X-Original-URI", "/api/orders/42")
			if got := br.serve(h); got != http.StatusOK {
				b.Fatalf("status %d, want 200", got)
			}
			b.ReportAllocs()
			for b.Loop() {
				if got := br.serve(h); got != http.StatusOK {
					b.Fatalf("status %d, want 200", got)
				}
			}
		})
	}
}
