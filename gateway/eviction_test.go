package gateway

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/revgate/revgate/gateway/jwtverify"

	"github.com/revgate/revgate/config"
	"github.com/revgate/revgate/internal/redistest"
	"github.com/revgate/revgate/revocation"
)

// TestReadyzReportsTheEvictionPolicy runs a gateway on a real Redis wired
// the way `revgate serve` wires it (revocation.NewClient, and
// revocation.EvictionPolicy as Options.EvictionPolicy): a server that may
// evict keys can silently un-revoke tokens, and /readyz must say so.
func TestReadyzReportsTheEvictionPolicy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		args       []string
		wantPolicy string
		wantUnsafe bool
	}{
		{"a server started with allkeys-lru is reported unsafe", []string{"--maxmemory-policy", "allkeys-lru"}, "allkeys-lru", true},
		{"a server with volatile-ttl is reported unsafe", []string{"--maxmemory-policy", "volatile-ttl"}, "volatile-ttl", true},
		{"a server with the default noeviction is reported safe", nil, "noeviction", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := redistest.Start(t, redistest.Options{Args: tt.args})
			admin := evictionGateway(t, srv)

			resp, err := http.Get(admin.URL + "/readyz")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body := decodeBody(t, resp)
			policy, _ := body["eviction_policy"].(string)
			if !strings.HasPrefix(policy, tt.wantPolicy) {
				t.Fatalf("/readyz eviction_policy = %q, want it to name %s (body %v)", policy, tt.wantPolicy, body)
			}
			if unsafe := strings.Contains(policy, "UNSAFE"); unsafe != tt.wantUnsafe {
				t.Errorf("/readyz eviction_policy = %q: reported unsafe = %v, want %v", policy, unsafe, tt.wantUnsafe)
			}
			// The warning is about the policy, not reachability: the store
			// itself answers.
			if checks, _ := body["checks"].(map[string]any); checks["store"] != "ok" {
				t.Errorf("/readyz checks = %v, want store ok", body["checks"])
			}
			t.Logf("/readyz answered %d with eviction_policy %q", resp.StatusCode, policy)
		})
	}
}

// evictionGateway starts a gateway on srv and returns its admin listener.
func evictionGateway(t *testing.T, srv *redistest.Server) *httptest.Server {
	t.Helper()
	upstream := newUpstream(t)
	cfg := testConfig(t, upstream.srv.URL)
	cfg.Revocation.Store = config.StoreRedis
	cfg.Revocation.Redis = config.Default().Revocation.Redis
	cfg.Revocation.Redis.URL = srv.URL()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("test configuration invalid: %v", err)
	}
	client, err := revocation.NewClient(revocation.ClientOptions{URL: cfg.Revocation.Redis.URL})
	if err != nil {
		t.Fatal(err)
	}
	store := revocation.NewRedis(client, revocation.RedisOptions{KeyPrefix: cfg.Revocation.Redis.KeyPrefix})
	t.Cleanup(func() { _ = store.Close() })

	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	v, err := jwtverify.NewVerifier(ctx, jwtverify.VerifierConfig{JWT: cfg.JWT, MaxTokenLifetime: cfg.Revocation.MaxTokenLifetime, Logger: logger})
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	gw, err := New(Options{
		Config:         cfg,
		Store:          store,
		Verifier:       v,
		Logger:         logger,
		EvictionPolicy: func(ctx context.Context) (string, error) { return revocation.EvictionPolicy(ctx, client) },
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	admin := httptest.NewServer(gw.AdminHandler())
	t.Cleanup(admin.Close)
	return admin
}
