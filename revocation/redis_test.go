package revocation_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/revgate/revgate/internal/redistest"
	"github.com/revgate/revgate/revocation"
	"github.com/revgate/revgate/revocation/storetest"
)

// testPassword guards the test servers, so that the client's
// authentication is exercised and error texts can be searched for it.
const testPassword = "s3cret-Pa55word"

// newRedisClient connects to srv the way the gateway does, through
// revocation.NewClient.
func newRedisClient(t testing.TB, srv *redistest.Server) redis.UniversalClient {
	t.Helper()
	c, err := revocation.NewClient(revocation.ClientOptions{URL: srv.URL()})
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestRedisConformance(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, redistest.Options{Password: testPassword})
	var n atomic.Int64
	tests := []struct {
		name     string
		newStore func(redis.UniversalClient, revocation.RedisOptions) *revocation.Redis
	}{
		{"with one MGET per check", revocation.NewRedis},
		// The read path Cluster uses, run on the standalone server.
		{"with a pipeline of GETs per check", revocation.NewRedisPipelined},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			storetest.Run(t, func(t *testing.T) revocation.Store {
				// Each store has its own prefix: the subtests run in
				// parallel on one server.
				prefix := fmt.Sprintf("conformance%d:", n.Add(1))
				return tt.newStore(newRedisClient(t, srv), revocation.RedisOptions{KeyPrefix: prefix})
			})
		})
	}
}

func TestRedisDefaultKeyPrefix(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv := redistest.Start(t, redistest.Options{})
	s := revocation.NewRedis(newRedisClient(t, srv), revocation.RedisOptions{})
	if err := s.RevokeToken(ctx, "j1", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	key := "revgate:t:" + revocation.DigestJTI("j1")
	if n, err := srv.NewClient().Exists(ctx, key).Result(); err != nil || n != 1 {
		t.Errorf("EXISTS %s = %d, %v; want 1", key, n, err)
	}
}

// TestRedisKeysExpire reads back, with the TTL command, the expiry Redis
// holds on each kind of key, and the value stored in it.
func TestRedisKeysExpire(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv := redistest.Start(t, redistest.Options{})
	const prefix = "ttl:"
	s := revocation.NewRedis(newRedisClient(t, srv), revocation.RedisOptions{KeyPrefix: prefix})
	admin := srv.NewClient()

	now := time.Now().Truncate(time.Second)
	exp := now.Add(90 * time.Minute)
	mark := now.Add(-10 * time.Minute)
	const markTTL = 2 * time.Hour
	if err := s.RevokeToken(ctx, "j1", exp); err != nil {
		t.Fatal(err)
	}
	if _, err := s.MarkUsed(ctx, "r1", exp); err != nil {
		t.Fatal(err)
	}
	if _, err := s.MarkSubject(ctx, "alice", mark, markTTL); err != nil {
		t.Fatal(err)
	}
	if _, err := s.MarkGlobal(ctx, mark, markTTL); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name      string
		key       string
		wantTTL   time.Duration
		wantValue int64
	}{
		{"a revoked jti lives until its expiry", prefix + "t:" + revocation.DigestJTI("j1"), time.Until(exp), 1},
		{"a used jti lives until its expiry", prefix + "u:" + revocation.DigestJTI("r1"), time.Until(exp), 0}, // value: a nonce
		{"a subject mark lives ttl past the mark", prefix + "s:" + revocation.EncodeKeyPart("alice"), time.Until(mark.Add(markTTL)), mark.Unix()},
		{"the global mark lives ttl past the mark", prefix + "g", time.Until(mark.Add(markTTL)), mark.Unix()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ttl, err := admin.TTL(ctx, tt.key).Result()
			if err != nil {
				t.Fatalf("TTL %s: %v", tt.key, err)
			}
			// TTL answers in whole seconds, rounded; two seconds of slack
			// cover that and the time the test took.
			if d := ttl - tt.wantTTL; d < -2*time.Second || d > 2*time.Second {
				t.Errorf("TTL %s = %v, want %v (±2s)", tt.key, ttl, tt.wantTTL.Round(time.Second))
			}
			if tt.wantValue == 0 {
				if v, err := admin.Get(ctx, tt.key).Result(); err != nil || v == "" {
					t.Errorf("GET %s = %q, %v; want a value", tt.key, v, err)
				}
				return
			}
			v, err := admin.Get(ctx, tt.key).Int64()
			if err != nil || v != tt.wantValue {
				t.Errorf("GET %s = %d, %v; want %d", tt.key, v, err, tt.wantValue)
			}
		})
	}
}

// TestRedisRevokedJTIKeySize reports what one revoked jti costs Redis, for
// the memory budget; it fails only on an absurd figure.
func TestRedisRevokedJTIKeySize(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv := redistest.Start(t, redistest.Options{})
	s := revocation.NewRedis(newRedisClient(t, srv), revocation.RedisOptions{})
	const jti = "3f2b0c9e-6d2a-4a51-9d0e-7d5f3c1a2b4e" // a UUID, the common jti
	if err := s.RevokeToken(ctx, jti, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	key := revocation.DefaultKeyPrefix + "t:" + revocation.DigestJTI(jti)
	n, err := srv.NewClient().MemoryUsage(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("a revoked UUID jti: key %d bytes, MEMORY USAGE %d bytes", len(key), n)
	if n > 256 {
		t.Errorf("MEMORY USAGE of a revoked jti = %d bytes, want far less", n)
	}
}

// countingHook counts the commands and pipelines a client sends.
type countingHook struct {
	cmds      atomic.Int64
	pipelines atomic.Int64
}

func (h *countingHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *countingHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.cmds.Add(1)
		return next(ctx, cmd)
	}
}

func (h *countingHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.pipelines.Add(1)
		return next(ctx, cmds)
	}
}

// countedCheck runs s.Check(q) twice, the first to open the connections,
// and measures the second: what client sent (through a hook) and what the
// server ran (INFO commandstats, so srv must be the test's own).
func countedCheck(t *testing.T, srv *redistest.Server, client redis.UniversalClient, s *revocation.Redis, q revocation.Query) (revocation.State, checkCost) {
	t.Helper()
	if _, err := s.Check(t.Context(), q); err != nil {
		t.Fatal(err)
	}
	admin := srv.NewClient()
	before := commandCalls(t, admin)
	hook := &countingHook{}
	client.AddHook(hook)
	st, err := s.Check(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	ran := make(map[string]int64)
	for name, n := range commandCalls(t, admin) {
		if d := n - before[name]; d != 0 {
			ran[name] = d
		}
	}
	return st, checkCost{cmds: hook.cmds.Load(), pipelines: hook.pipelines.Load(), server: ran}
}

// checkCost is what one Check sent and what the server ran for it.
type checkCost struct {
	cmds, pipelines int64
	server          map[string]int64
}

// want reports a cost other than wantCmds single commands, wantPipelines
// pipelines and the server running wantServer.
func (c checkCost) want(t *testing.T, wantCmds, wantPipelines int64, wantServer map[string]int64) {
	t.Helper()
	if c.cmds != wantCmds {
		t.Errorf("Check sent %d single commands, want %d", c.cmds, wantCmds)
	}
	if c.pipelines != wantPipelines {
		t.Errorf("Check sent %d pipelines, want %d", c.pipelines, wantPipelines)
	}
	if diff := cmp.Diff(wantServer, c.server); diff != "" {
		t.Errorf("commands the server ran for one Check (-want +got):\n%s", diff)
	}
}

// commandCalls sums the calls of every command the server has run, as
// INFO commandstats counts them, leaving out INFO itself.
func commandCalls(t *testing.T, c *redis.Client) map[string]int64 {
	t.Helper()
	info, err := c.Info(t.Context(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	calls := make(map[string]int64)
	for line := range strings.Lines(info) {
		name, stats, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") || name == "cmdstat_info" {
			continue
		}
		n, _, _ := strings.Cut(strings.TrimPrefix(stats, "calls="), ",")
		calls[strings.TrimPrefix(name, "cmdstat_")], _ = strconv.ParseInt(n, 10, 64)
	}
	return calls
}

func TestRedisCheckIsOneRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		newStore     func(redis.UniversalClient, revocation.RedisOptions) *revocation.Redis
		wantCmds     int64
		wantPipeline int64
		wantServer   map[string]int64
	}{
		{"standalone sends one MGET", revocation.NewRedis, 1, 0, map[string]int64{"mget": 1}},
		{"cluster mode sends one pipeline of GETs", revocation.NewRedisPipelined, 0, 1, map[string]int64{"get": 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			// A server of its own: INFO commandstats counts every client.
			srv := redistest.Start(t, redistest.Options{})
			client := newRedisClient(t, srv)
			s := tt.newStore(client, revocation.RedisOptions{})
			if err := s.RevokeToken(ctx, "j1", time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			if _, err := s.MarkSubject(ctx, "alice", time.Now(), time.Hour); err != nil {
				t.Fatal(err)
			}
			q := revocation.Query{JTI: "j1", Subject: "alice", Used: true}
			st, cost := countedCheck(t, srv, client, s, q)
			if !st.JTIRevoked || st.SubjectMark.IsZero() {
				t.Fatalf("Check = %+v, want the jti revoked and a subject mark", st)
			}
			cost.want(t, tt.wantCmds, tt.wantPipeline, tt.wantServer)
		})
	}
}

// TestRedisUnavailable stops the server under a store: every method must
// fail with ErrUnavailable (never naming the password), and the same store
// must work again once the server is back on the same port.
func TestRedisUnavailable(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, redistest.Options{Password: testPassword})
	s := revocation.NewRedis(newRedisClient(t, srv), revocation.RedisOptions{})
	ctx := t.Context()
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}

	srv.Stop()
	exp := time.Now().Add(time.Hour)
	calls := []struct {
		name string
		call func(context.Context) error
	}{
		{"Check", func(ctx context.Context) error {
			_, err := s.Check(ctx, revocation.Query{JTI: "j1", Subject: "alice", Used: true})
			return err
		}},
		{"RevokeToken", func(ctx context.Context) error { return s.RevokeToken(ctx, "j1", exp) }},
		{"GetToken", func(ctx context.Context) error { _, err := s.GetToken(ctx, "j1"); return err }},
		{"UnrevokeToken", func(ctx context.Context) error { return s.UnrevokeToken(ctx, "j1") }},
		{"MarkSubject", func(ctx context.Context) error {
			_, err := s.MarkSubject(ctx, "alice", time.Now(), time.Hour)
			return err
		}},
		{"GetSubject", func(ctx context.Context) error { _, err := s.GetSubject(ctx, "alice"); return err }},
		{"UnmarkSubject", func(ctx context.Context) error { return s.UnmarkSubject(ctx, "alice") }},
		{"MarkGlobal", func(ctx context.Context) error { _, err := s.MarkGlobal(ctx, time.Now(), time.Hour); return err }},
		{"GetGlobal", func(ctx context.Context) error { _, err := s.GetGlobal(ctx); return err }},
		{"UnmarkGlobal", func(ctx context.Context) error { return s.UnmarkGlobal(ctx) }},
		{"MarkUsed", func(ctx context.Context) error { _, err := s.MarkUsed(ctx, "j1", exp); return err }},
		{"Ping", func(ctx context.Context) error { return s.Ping(ctx) }},
	}
	// A group, so that its parallel subtests end before the restart.
	t.Run("while the server is down", func(t *testing.T) {
		for _, c := range calls {
			t.Run(c.name+" fails with ErrUnavailable", func(t *testing.T) {
				t.Parallel()
				// The gateway's default lookup_timeout; the store must
				// honor it.
				ctx, cancel := context.WithTimeout(t.Context(), 250*time.Millisecond)
				defer cancel()
				start := time.Now()
				err := c.call(ctx)
				if !errors.Is(err, revocation.ErrUnavailable) {
					t.Fatalf("error = %v, want one wrapping ErrUnavailable", err)
				}
				if strings.Contains(err.Error(), testPassword) {
					t.Errorf("error %q contains the password", err)
				}
				if d := time.Since(start); d > 2*time.Second {
					t.Errorf("took %v to fail, want it bounded by the context deadline", d)
				}
			})
		}
	})

	srv.Restart()
	t.Run("the same store works again once the server is back", func(t *testing.T) {
		// go-redis stops dialing after repeated failures and probes the
		// server once a second, so recovery takes up to about a second.
		deadline := time.Now().Add(5 * time.Second)
		for {
			err := s.Ping(ctx)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("Ping still fails 5s after the restart: %v", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err := s.RevokeToken(ctx, "j1", exp); err != nil {
			t.Fatalf("RevokeToken after restart: %v", err)
		}
		st, err := s.Check(ctx, revocation.Query{JTI: "j1"})
		if err != nil || !st.JTIRevoked {
			t.Fatalf("Check after restart = %+v, %v; want the jti revoked", st, err)
		}
	})
}

func TestRedisWrongPassword(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, redistest.Options{Password: testPassword})
	const wrong = "wrong-Pa55word"
	c, err := revocation.NewClient(revocation.ClientOptions{URL: "redis://" + srv.Addr + "/0", Password: wrong})
	if err != nil {
		t.Fatal(err)
	}
	s := revocation.NewRedis(c, revocation.RedisOptions{})
	defer s.Close()
	err = s.Ping(t.Context())
	if !errors.Is(err, revocation.ErrUnavailable) {
		t.Fatalf("Ping with a wrong password = %v, want ErrUnavailable", err)
	}
	if strings.Contains(err.Error(), wrong) || strings.Contains(err.Error(), testPassword) {
		t.Errorf("error %q contains a password", err)
	}
}

func TestEvictionPolicy(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	t.Run("a default server reports noeviction, which is safe", func(t *testing.T) {
		srv := redistest.Start(t, redistest.Options{})
		got, err := revocation.EvictionPolicy(ctx, newRedisClient(t, srv))
		if err != nil || got != "noeviction" {
			t.Fatalf("EvictionPolicy = %q, %v; want noeviction", got, err)
		}
		if !revocation.SafeEvictionPolicy(got) {
			t.Errorf("SafeEvictionPolicy(%q) = false, want true", got)
		}
	})
	t.Run("a policy changed at run time is seen and is unsafe", func(t *testing.T) {
		srv := redistest.Start(t, redistest.Options{})
		if err := srv.NewClient().ConfigSet(ctx, "maxmemory-policy", "allkeys-lru").Err(); err != nil {
			t.Fatal(err)
		}
		got, err := revocation.EvictionPolicy(ctx, newRedisClient(t, srv))
		if err != nil || got != "allkeys-lru" {
			t.Fatalf("EvictionPolicy = %q, %v; want allkeys-lru", got, err)
		}
		if revocation.SafeEvictionPolicy(got) {
			t.Errorf("SafeEvictionPolicy(%q) = true, want false", got)
		}
	})
	t.Run("a server that refuses CONFIG gives ErrPolicyUnknown", func(t *testing.T) {
		// What managed Redis services do.
		srv := redistest.Start(t, redistest.Options{Args: []string{"--rename-command", "CONFIG", ""}})
		_, err := revocation.EvictionPolicy(ctx, newRedisClient(t, srv))
		if !errors.Is(err, revocation.ErrPolicyUnknown) || errors.Is(err, revocation.ErrUnavailable) {
			t.Fatalf("EvictionPolicy = %v, want ErrPolicyUnknown and not ErrUnavailable", err)
		}
	})
	t.Run("a server that is down gives ErrUnavailable", func(t *testing.T) {
		srv := redistest.Start(t, redistest.Options{})
		client := newRedisClient(t, srv)
		srv.Stop()
		ctx, cancel := context.WithTimeout(ctx, 250*time.Millisecond)
		defer cancel()
		_, err := revocation.EvictionPolicy(ctx, client)
		if !errors.Is(err, revocation.ErrUnavailable) || errors.Is(err, revocation.ErrPolicyUnknown) {
			t.Fatalf("EvictionPolicy = %v, want ErrUnavailable and not ErrPolicyUnknown", err)
		}
	})
}

func TestSafeEvictionPolicy(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"noeviction", "allkeys-lru", "volatile-lru", "allkeys-lfu", "volatile-lfu", "allkeys-random", "volatile-random", "volatile-ttl", ""} {
		if got, want := revocation.SafeEvictionPolicy(p), p == "noeviction"; got != want {
			t.Errorf("SafeEvictionPolicy(%q) = %v, want %v", p, got, want)
		}
	}
}

func BenchmarkRedisCheck(b *testing.B) {
	ctx := context.Background()
	srv := redistest.Start(b, redistest.Options{})
	s := revocation.NewRedis(newRedisClient(b, srv), revocation.RedisOptions{})
	if err := s.RevokeToken(ctx, "revoked", time.Now().Add(time.Hour)); err != nil {
		b.Fatal(err)
	}
	if _, err := s.MarkSubject(ctx, "alice", time.Now(), time.Hour); err != nil {
		b.Fatal(err)
	}
	q := revocation.Query{JTI: "3f2b0c9e-6d2a-4a51-9d0e-7d5f3c1a2b4e", Subject: "alice", Used: true}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Check(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
}

// go-redis retries a command whose answer was lost; the script must then
// find its own first run, not report it as another use.
func TestMarkUsedIsSafeToRetry(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	client := srv.NewClient()
	t.Cleanup(func() { _ = client.Close() })
	ctx := t.Context()
	script := redis.NewScript(revocation.UsedSrc)
	exp := time.Now().Add(time.Hour).Unix()
	run := func(exp int64, nonce string) int64 {
		t.Helper()
		n, err := script.Run(ctx, client, []string{"revgate:u:retry"}, exp, nonce).Int64()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	first := run(exp, "first")
	retry := run(exp, "first") // the same call again, as go-redis retries it
	if first != 0 || retry != 0 {
		t.Fatalf("first use %d, its retry %d: want 0 and 0 (not another use)", first, retry)
	}
	if run(exp+60, "second") != 1 {
		t.Fatal("another use was not reported")
	}
	if ttl := client.TTL(ctx, "revgate:u:retry").Val(); ttl < 3600*time.Second {
		t.Fatalf("TTL %v: a later expiry was not kept", ttl)
	}
}

// A revoked session is stored like a revoked jti: one key under its own
// tag, the value 1, expiring when the record does.
func TestRedisSessionKey(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv := redistest.Start(t, redistest.Options{})
	const prefix = "sess:"
	s := revocation.NewRedis(newRedisClient(t, srv), revocation.RedisOptions{KeyPrefix: prefix})
	admin := srv.NewClient()
	until := time.Now().Truncate(time.Second).Add(90 * time.Minute)
	if err := s.RevokeSession(ctx, "sid-1", until); err != nil {
		t.Fatal(err)
	}
	key := prefix + "l:" + revocation.DigestSession("sid-1")
	ttl, err := admin.TTL(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	if d := ttl - time.Until(until); d < -2*time.Second || d > 2*time.Second {
		t.Errorf("TTL %q = %v, want %v (±2s)", key, ttl, time.Until(until).Round(time.Second))
	}
	if v, err := admin.Get(ctx, key).Int64(); err != nil || v != 1 {
		t.Errorf("GET %q = %d, %v; want 1", key, v, err)
	}
	keys, err := admin.Keys(ctx, prefix+"*").Result()
	if err != nil || len(keys) != 1 {
		t.Errorf("keys after one session revocation: %q, %v; want just %q", keys, err, key)
	}
}

// Asking about a session adds one key to Check's one round trip, never a
// second one; not asking adds nothing.
func TestRedisCheckWithASessionIsStillOneRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		newStore     func(redis.UniversalClient, revocation.RedisOptions) *revocation.Redis
		q            revocation.Query
		wantCmds     int64
		wantPipeline int64
		wantServer   map[string]int64
	}{
		{"standalone sends one MGET", revocation.NewRedis,
			revocation.Query{JTI: "j1", Subject: "alice", Session: "sid-1", Used: true}, 1, 0, map[string]int64{"mget": 1}},
		{"cluster mode sends one pipeline of GETs, one more for the session", revocation.NewRedisPipelined,
			revocation.Query{JTI: "j1", Subject: "alice", Session: "sid-1", Used: true}, 0, 1, map[string]int64{"get": 5}},
		{"cluster mode without a session reads no session key", revocation.NewRedisPipelined,
			revocation.Query{Subject: "alice"}, 0, 1, map[string]int64{"get": 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			srv := redistest.Start(t, redistest.Options{})
			client := newRedisClient(t, srv)
			s := tt.newStore(client, revocation.RedisOptions{})
			if err := s.RevokeSession(ctx, "sid-1", time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			st, cost := countedCheck(t, srv, client, s, tt.q)
			if st.SessionRevoked != (tt.q.Session != "") {
				t.Fatalf("Check(%+v) = %+v", tt.q, st)
			}
			cost.want(t, tt.wantCmds, tt.wantPipeline, tt.wantServer)
		})
	}
}
