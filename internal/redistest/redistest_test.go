package redistest_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/revgate/revgate/internal/redistest"
)

func TestStartServesOnAFreeLoopbackPort(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	host, port, ok := strings.Cut(srv.Addr, ":")
	if !ok || host != "127.0.0.1" || port == "6379" || port != strconv.Itoa(srv.Port) {
		t.Fatalf("Addr = %q (Port %d), want 127.0.0.1 and a port other than 6379", srv.Addr, srv.Port)
	}
	c := srv.NewClient()
	if err := c.Set(t.Context(), "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	// Persistence is off: tests leave nothing behind and restarts are empty.
	cfg, err := c.ConfigGet(t.Context(), "save").Result()
	if err != nil || cfg["save"] != "" {
		t.Errorf("CONFIG GET save = %v, %v; want empty", cfg, err)
	}
}

func TestServersRunInParallel(t *testing.T) {
	a := redistest.Start(t, redistest.Options{})
	b := redistest.Start(t, redistest.Options{})
	if a.Addr == b.Addr {
		t.Fatalf("two servers share %s", a.Addr)
	}
	ctx := t.Context()
	if err := a.NewClient().Set(ctx, "k", "a", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := b.NewClient().Exists(ctx, "k").Result(); err != nil || n != 0 {
		t.Errorf("EXISTS k on the other server = %d, %v; want 0", n, err)
	}
}

func TestPasswordIsRequiredAndUsed(t *testing.T) {
	const pw = "p@ss/word?#"
	srv := redistest.Start(t, redistest.Options{Password: pw})
	ctx := t.Context()
	if err := srv.NewClient().Ping(ctx).Err(); err != nil {
		t.Fatalf("PING with the password: %v", err)
	}
	opts, err := redis.ParseURL(srv.URL())
	if err != nil {
		t.Fatalf("ParseURL(URL()): %v", err)
	}
	if opts.Password != pw || opts.Addr != srv.Addr {
		t.Errorf("URL() carries addr %q and password ok=%v; want %q and the password", opts.Addr, opts.Password == pw, srv.Addr)
	}
	anon := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer anon.Close()
	if err := anon.Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Errorf("PING without the password = %v, want NOAUTH", err)
	}
}

func TestArgsReachTheServer(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{Args: []string{"--maxmemory-policy", "allkeys-lru"}})
	cfg, err := srv.NewClient().ConfigGet(t.Context(), "maxmemory-policy").Result()
	if err != nil || cfg["maxmemory-policy"] != "allkeys-lru" {
		t.Errorf("maxmemory-policy = %v, %v; want allkeys-lru", cfg, err)
	}
}

func TestStopAndRestartKeepThePort(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	c := srv.NewClient()
	ctx := t.Context()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	addr := srv.Addr

	srv.Stop()
	down, cancel := context.WithTimeout(ctx, 250*time.Millisecond)
	defer cancel()
	if err := c.Ping(down).Err(); err == nil {
		t.Fatal("PING succeeded on a stopped server")
	}
	srv.Stop() // stopping twice is harmless

	srv.Restart()
	if srv.Addr != addr {
		t.Fatalf("Restart moved the server from %s to %s", addr, srv.Addr)
	}
	// The old client reconnects by itself; the server starts empty.
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING after Restart: %v", err)
	}
	if n, err := c.Exists(ctx, "k").Result(); err != nil || n != 0 {
		t.Errorf("EXISTS k after Restart = %d, %v; want 0", n, err)
	}
}

func TestTLSServesOnlyTLSWithTheGeneratedCA(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, redistest.Options{TLS: true})
	ctx := t.Context()
	if !strings.HasPrefix(srv.URL(), "rediss://127.0.0.1:") {
		t.Errorf("URL() = %q, want rediss://127.0.0.1:PORT", srv.URL())
	}
	if srv.TLS == nil || srv.TLS.CAFile == "" {
		t.Fatal("TLS files not set")
	}
	if err := srv.NewClient().Ping(ctx).Err(); err != nil {
		t.Fatalf("PING over TLS: %v", err)
	}
	plain := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, ReadTimeout: time.Second})
	defer plain.Close()
	if err := plain.Ping(ctx).Err(); err == nil {
		t.Error("PING without TLS succeeded; want the TLS port to refuse it")
	}
}

func TestUsersGetOnlyTheirRules(t *testing.T) {
	t.Parallel()
	const pw = "user-Pa55word"
	srv := redistest.Start(t, redistest.Options{Users: []redistest.User{{Name: "app", Password: pw, Rules: []string{"~app:*", "+ping", "+set"}}}})
	ctx := t.Context()
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, Username: "app", Password: pw})
	defer c.Close()
	if err := c.Set(ctx, "app:k", "v", 0).Err(); err != nil {
		t.Fatalf("SET app:k as app: %v", err)
	}
	if err := c.Set(ctx, "other", "v", 0).Err(); err == nil || !strings.Contains(err.Error(), "NOPERM") {
		t.Errorf("SET other as app = %v, want NOPERM", err)
	}
	if err := c.Get(ctx, "app:k").Err(); err == nil || !strings.Contains(err.Error(), "NOPERM") {
		t.Errorf("GET as app = %v, want NOPERM (GET not granted)", err)
	}
}

func TestKillIsACrash(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, redistest.Options{})
	c := srv.NewClient()
	srv.Kill()
	down, cancel := context.WithTimeout(t.Context(), 250*time.Millisecond)
	defer cancel()
	if err := c.Ping(down).Err(); err == nil {
		t.Fatal("PING succeeded on a killed server")
	}
	srv.Kill() // killing twice is harmless
	srv.Restart()
	if err := c.Ping(t.Context()).Err(); err != nil {
		t.Fatalf("PING after Restart: %v", err)
	}
}

func TestStartClusterSpreadsSlotsOverEveryMaster(t *testing.T) {
	t.Parallel()
	start := time.Now()
	cl := redistest.StartCluster(t, redistest.ClusterOptions{Password: "cluster-Pa55word"})
	t.Logf("cluster of %d masters ready in %v", len(cl.Nodes), time.Since(start).Round(time.Millisecond))
	ctx := t.Context()
	c := cl.NewClient()
	owners := make(map[string]bool)
	for i := range 30 {
		key := "k" + strconv.Itoa(i)
		if err := c.Set(ctx, key, i, 0).Err(); err != nil {
			t.Fatalf("SET %s: %v", key, err)
		}
		n, err := cl.NodeFor(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		// The key is on the node NodeFor names, and nowhere else.
		if v, err := n.NewClient().Get(ctx, key).Int(); err != nil || v != i {
			t.Fatalf("GET %s on its node %s = %d, %v; want %d", key, n.Addr, v, err, i)
		}
		owners[n.Addr] = true
	}
	if len(owners) != len(cl.Nodes) {
		t.Errorf("30 keys landed on %d of %d masters", len(owners), len(cl.Nodes))
	}
}

func TestStartSentinelFailsOverWhenTheMasterDies(t *testing.T) {
	t.Parallel()
	start := time.Now()
	s := redistest.StartSentinel(t, redistest.SentinelOptions{})
	t.Logf("sentinel topology ready in %v", time.Since(start).Round(time.Millisecond))
	ctx := t.Context()
	if len(s.Addrs) != 3 || s.MasterName == "" {
		t.Fatalf("Addrs %v, MasterName %q; want three Sentinels and a name", s.Addrs, s.MasterName)
	}
	if addr, err := s.MasterAddr(ctx); err != nil || addr != s.Master.Addr {
		t.Fatalf("MasterAddr = %q, %v; want %s", addr, err, s.Master.Addr)
	}
	if err := s.Master.NewClient().Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Master.NewClient().Wait(ctx, 1, 2*time.Second).Result(); err != nil || n != 1 {
		t.Fatalf("WAIT 1 = %d, %v; want the replica to acknowledge", n, err)
	}
	s.KillMaster()
	took := s.WaitFailover(30 * time.Second)
	t.Logf("replica promoted %v after the master was killed", took.Round(time.Millisecond))
	if addr, err := s.MasterAddr(ctx); err != nil || addr != s.Replica.Addr {
		t.Fatalf("MasterAddr after failover = %q, %v; want %s", addr, err, s.Replica.Addr)
	}
	if v, err := s.Replica.NewClient().Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Errorf("GET k on the new master = %q, %v; want the acknowledged write", v, err)
	}
}
