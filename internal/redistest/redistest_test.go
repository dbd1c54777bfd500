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
