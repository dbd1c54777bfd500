package gateway

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/revgate/revgate/gateway/jwtverify"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/revgate/revgate/config"
	"github.com/revgate/revgate/internal/redistest"
	"github.com/revgate/revgate/internal/testkit"
	"github.com/revgate/revgate/revocation"
)

const (
	testIssuer     = testkit.Issuer
	testAudience   = testkit.Audience
	testAdminToken = "ops-token-0123456789abcdef"
)

// testSigningKey is the test binary's RS256 key.
func testSigningKey(t testing.TB) jwk.Key { return testkit.SigningKey(t) }

// upstreamRecorder is the API behind the gateway in tests.
type upstreamRecorder struct {
	srv  *httptest.Server
	hits atomic.Int64
	mu   sync.Mutex
	last *http.Request
	body []byte
	// status is what the upstream answers (default 200).
	status atomic.Int64
	// delay, when set, is slept before answering.
	delay atomic.Int64
}

func newUpstream(t testing.TB) *upstreamRecorder {
	u := &upstreamRecorder{}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.last, u.body = r.Clone(context.Background()), body
		u.mu.Unlock()
		if d := time.Duration(u.delay.Load()); d > 0 {
			time.Sleep(d)
		}
		status := int(u.status.Load())
		if status == 0 {
			status = http.StatusOK
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"upstream":"ok"}`))
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstreamRecorder) lastRequest() (*http.Request, []byte) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.last, u.body
}

// harness is a gateway with a real upstream, real keys and a real store.
type harness struct {
	t        *testing.T
	cfg      *config.Config
	gw       *Gateway
	proxy    *httptest.Server
	admin    *httptest.Server
	upstream *upstreamRecorder
	store    revocation.Store
	logs     *syncBuffer
}

// syncBuffer collects log output from concurrent handlers.
type syncBuffer = testkit.Buffer

// testConfig is a valid configuration using an RS256 key from a JWKS file.
func testConfig(t testing.TB, upstreamURL string) *config.Config {
	t.Helper()
	path := testkit.JWKSFile(t, testSigningKey(t))
	cfg := config.Default()
	cfg.Upstream.URL = upstreamURL
	cfg.Upstream.Timeout = 2 * time.Second
	cfg.JWT.JWKSFile = path
	cfg.JWT.Algorithms = []string{"RS256"}
	cfg.JWT.Issuer = config.StringList{testIssuer}
	cfg.JWT.Audience = config.StringList{testAudience}
	cfg.Admin.Tokens = []config.AdminToken{{Name: "ops", Token: testAdminToken}}
	cfg.Revocation.Store = "memory"
	cfg.Revocation.Redis = config.Redis{KeyPrefix: "revgate:"}
	// Generous for a loaded machine under -race; the outage tests set a
	// short one themselves.
	cfg.Revocation.LookupTimeout = 2 * time.Second
	return &cfg
}

// newHarness starts a gateway on store (nil: a fresh memory store). mutate
// may change the configuration before it is validated.
func newHarness(t *testing.T, store revocation.Store, mutate func(*config.Config)) *harness {
	t.Helper()
	h := &harness{t: t, upstream: newUpstream(t), logs: &syncBuffer{}}
	h.cfg = testConfig(t, h.upstream.srv.URL)
	if mutate != nil {
		mutate(h.cfg)
	}
	if err := h.cfg.Validate(); err != nil {
		t.Fatalf("test configuration invalid: %v", err)
	}
	if store == nil {
		store = revocation.NewMemory(nil)
	}
	h.store = store
	logger := slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	reg := prometheus.NewRegistry()
	metrics, err := NewMetrics(reg, BuildInfo{Version: "test", Commit: "test"})
	if err != nil {
		t.Fatal(err)
	}
	v, err := jwtverify.NewVerifier(ctx, jwtverify.VerifierConfig{
		JWT: h.cfg.JWT, MaxTokenLifetime: h.cfg.Revocation.MaxTokenLifetime, Logger: logger,
		OnJWKSFetch: metrics.ObserveJWKSFetch, ReadClaims: ReadClaims(h.cfg),
	})
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	var ssfV TokenVerifier
	if vc, ok := jwtverify.TransmitterConfig(h.cfg, logger); ok {
		if ssfV, err = jwtverify.NewVerifier(ctx, vc); err != nil {
			t.Fatalf("NewVerifier (ssf): %v", err)
		}
	}
	h.gw, err = New(Options{Config: h.cfg, Store: store, Verifier: v, Logger: logger,
		Metrics: metrics, Registerer: reg, Gatherer: reg, SSFVerifier: ssfV})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h.proxy = httptest.NewServer(h.gw.ProxyHandler())
	h.admin = httptest.NewServer(h.gw.AdminHandler())
	t.Cleanup(h.proxy.Close)
	t.Cleanup(h.admin.Close)
	return h
}

// redisStore starts a real redis-server for the test and returns a store on
// it together with the server.
func redisStore(t *testing.T) (*revocation.Redis, *redistest.Server) {
	t.Helper()
	srv := redistest.Start(t, redistest.Options{})
	client := srv.NewClient()
	t.Cleanup(func() { _ = client.Close() })
	return revocation.NewRedis(client, revocation.RedisOptions{KeyPrefix: "revgate:"}), srv
}

// backends runs f against the memory store and a real Redis.
func backends(t *testing.T, f func(t *testing.T, store func() revocation.Store)) {
	t.Run("memory", func(t *testing.T) {
		f(t, func() revocation.Store { return revocation.NewMemory(nil) })
	})
	t.Run("redis", func(t *testing.T) {
		f(t, func() revocation.Store { s, _ := redisStore(t); return s })
	})
}

// claims for a test token; zero values get defaults.
type tok struct {
	sub   any
	jti   string
	iat   time.Time
	noIAT bool
	exp   time.Time
	extra map[string]any
	key   jwk.Key
	alg   jwa.SignatureAlgorithm
}

func randomJTI() string { return testkit.RandomJTI() }

// mint signs a test token (RS256 with the test key unless told otherwise).
func mint(t testing.TB, c tok) string {
	t.Helper()
	return testkit.Mint(t, testkit.Token{Sub: c.sub, JTI: c.jti, IAT: c.iat, NoIAT: c.noIAT, Exp: c.exp, Extra: c.extra, Key: c.key, Alg: c.alg})
}

// get sends a GET through the proxy with the token as a bearer.
func (h *harness) get(path, token string) *http.Response {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.proxy.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return h.do(req)
}

func (h *harness) do(req *http.Request) *http.Response {
	h.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	h.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// adminCall sends an authenticated admin API request.
func (h *harness) adminCall(method, path, body string) (int, map[string]any) {
	h.t.Helper()
	req, _ := http.NewRequest(method, h.admin.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	req.Header.Set("Content-Type", "application/json")
	resp := h.do(req)
	return resp.StatusCode, decodeBody(h.t, resp)
}

func decodeBody(t testing.TB, resp *http.Response) map[string]any {
	t.Helper()
	b, _ := io.ReadAll(resp.Body)
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("response body is not a JSON object: %q", b)
	}
	return m
}

// wantStatus fails the test unless resp has the status.
func wantStatus(t testing.TB, resp *http.Response, want int) map[string]any {
	t.Helper()
	body := decodeBody(t, resp)
	if resp.StatusCode != want {
		t.Fatalf("status = %d, want %d (body %v)", resp.StatusCode, want, body)
	}
	return body
}

func mustRSA(t testing.TB) *rsa.PrivateKey { return testkit.RSAKey(t) }
