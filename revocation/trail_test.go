package revocation_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/revgate/revgate/internal/redistest"
	"github.com/revgate/revgate/revocation"
	"github.com/revgate/revgate/revocation/storetest"
)

func TestMemoryTrailConformance(t *testing.T) {
	t.Parallel()
	storetest.RunTrail(t, func(t *testing.T, length int) revocation.Trail { return revocation.NewMemoryTrail(length) })
}

func TestRedisTrailConformance(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, redistest.Options{Password: testPassword})
	var n atomic.Int64
	storetest.RunTrail(t, func(t *testing.T, length int) revocation.Trail {
		return revocation.NewRedisTrail(newRedisClient(t, srv), fmt.Sprintf("trail%d:", n.Add(1)), length)
	})
}

func TestRedisTrailPagesPastOnePage(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, redistest.Options{Password: testPassword})
	tr := revocation.NewRedisTrail(newRedisClient(t, srv), "pages:", 5000)
	ctx := context.Background()
	for i := range 1300 {
		if err := tr.Append(ctx, revocation.Event{Action: "revoke_subject", Actor: fmt.Sprint("a", i%7), Subject: fmt.Sprint("u", i)}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := tr.Recent(ctx, revocation.TrailFilter{Subject: "u0"}, 10)
	if err != nil || len(got) != 1 {
		t.Fatalf("the first event, 1300 entries back: %v, %v", got, err)
	}
}

func TestTrailOfFollowsTheStore(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, redistest.Options{Password: testPassword})
	client := newRedisClient(t, srv)
	ctx := context.Background()
	// Two gateways on one Redis share one trail.
	a := revocation.TrailOf(revocation.NewRedis(client, revocation.RedisOptions{KeyPrefix: "shared:"}), 100)
	b := revocation.TrailOf(revocation.NewRedis(client, revocation.RedisOptions{KeyPrefix: "shared:"}), 100)
	if err := a.Append(ctx, revocation.Event{Action: "revoke_all", Actor: "oncall"}); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Recent(ctx, revocation.TrailFilter{}, 10); err != nil || len(got) != 1 {
		t.Fatalf("other gateway's trail = %v, %v; want the event", got, err)
	}
	if n, err := client.XLen(ctx, "shared:trail").Result(); err != nil || n != 1 {
		t.Fatalf("XLEN shared:trail = %d, %v; want 1", n, err)
	}
	if _, ok := revocation.TrailOf(revocation.NewMemory(nil), 0).(*revocation.MemoryTrail); !ok {
		t.Fatal("a memory store's trail is not a MemoryTrail")
	}
}

func TestRedisTrailDownIsUnavailable(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, redistest.Options{Password: testPassword})
	tr := revocation.NewRedisTrail(newRedisClient(t, srv), "down:", 100)
	srv.Stop()
	err := tr.Append(context.Background(), revocation.Event{Action: "revoke_all"})
	if !errors.Is(err, revocation.ErrUnavailable) {
		t.Fatalf("Append with Redis down = %v; want ErrUnavailable", err)
	}
	if _, err := tr.Recent(context.Background(), revocation.TrailFilter{}, 1); !errors.Is(err, revocation.ErrUnavailable) {
		t.Fatalf("Recent with Redis down = %v; want ErrUnavailable", err)
	}
}

func TestRedisTrailExpiresTrailRetentionAfterItsLastWrite(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, redistest.Options{Password: testPassword})
	client := newRedisClient(t, srv)
	tr := revocation.NewRedisTrail(client, "ttl:", 100)
	ctx := context.Background()
	ttl := func() time.Duration {
		t.Helper()
		d, err := client.TTL(ctx, "ttl:trail").Result()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if err := tr.Append(ctx, revocation.Event{Action: "revoke_all", Actor: "oncall"}); err != nil {
		t.Fatal(err)
	}
	if d := ttl(); d < revocation.TrailRetention-5*time.Second || d > revocation.TrailRetention {
		t.Fatalf("TTL after the first write = %v; want %v", d, revocation.TrailRetention)
	}
	// Every write starts the retention again.
	if err := client.Expire(ctx, "ttl:trail", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if err := tr.Append(ctx, revocation.Event{Action: "unrevoke_all", Actor: "oncall"}); err != nil {
		t.Fatal(err)
	}
	if d := ttl(); d < revocation.TrailRetention-5*time.Second {
		t.Fatalf("TTL after another write = %v; want it back at %v", d, revocation.TrailRetention)
	}
	if n, err := client.XLen(ctx, "ttl:trail").Result(); err != nil || n != 2 {
		t.Fatalf("XLEN = %d, %v; want both events", n, err)
	}
}
