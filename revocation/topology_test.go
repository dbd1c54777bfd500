package revocation_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/revgate/revgate/internal/redistest"
	"github.com/revgate/revgate/revocation"
	"github.com/revgate/revgate/revocation/storetest"
)

// Every topology revgate supports runs the conformance suite through a
// client built by revocation.NewClient, so that the path from options to
// client is what is tested (cmd/revgate's tests check that every
// config.Redis key reaches the options). Each top-level test starts its
// topology once and shares it between its subtests; the topologies run in
// parallel with each other.

// newConfiguredClient builds the client cfg describes, closed with the
// test.
func newConfiguredClient(t testing.TB, cfg revocation.ClientOptions) redis.UniversalClient {
	t.Helper()
	c, err := revocation.NewClient(cfg)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// runConformance runs the suite with stores on clients built from cfg,
// each with its own key prefix under prefix.
func runConformance(t *testing.T, cfg revocation.ClientOptions, prefix string, opts revocation.RedisOptions) {
	var n atomic.Int64
	storetest.Run(t, func(t *testing.T) revocation.Store {
		o := opts
		o.KeyPrefix = fmt.Sprintf("%s%d:", prefix, n.Add(1))
		return revocation.NewRedis(newConfiguredClient(t, cfg), o)
	})
}

// Sentinels with a password of their own, in front of a master with
// another: the common shape of a packaged Sentinel deployment.
func TestSentinelTopologyWithPasswords(t *testing.T) {
	t.Parallel()
	const dataPassword, sentinelPassword = "data-password-4e1d", "sentinel-password-9c2a"
	s := redistest.StartSentinel(t, redistest.SentinelOptions{Password: dataPassword, SentinelPassword: sentinelPassword})
	cfg := revocation.ClientOptions{Addrs: s.Addrs, MasterName: s.MasterName, Password: dataPassword, SentinelPassword: sentinelPassword}

	t.Run("the conformance suite passes", func(t *testing.T) {
		runConformance(t, cfg, "sentinel-auth", revocation.RedisOptions{})
	})
	t.Run("without the Sentinel password the store does not answer", func(t *testing.T) {
		noSentinelAuth := cfg
		noSentinelAuth.SentinelPassword = ""
		st := revocation.NewRedis(newConfiguredClient(t, noSentinelAuth), revocation.RedisOptions{})
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		err := st.Ping(ctx)
		if !errors.Is(err, revocation.ErrUnavailable) {
			t.Fatalf("Ping = %v, want ErrUnavailable", err)
		}
		if strings.Contains(err.Error(), dataPassword) || strings.Contains(err.Error(), sentinelPassword) {
			t.Fatalf("the error shows a password: %v", err)
		}
	})
}

func TestSentinelTopology(t *testing.T) {
	t.Parallel()
	s := redistest.StartSentinel(t, redistest.SentinelOptions{})
	cfg := revocation.ClientOptions{Addrs: s.Addrs, MasterName: s.MasterName}

	t.Run("the conformance suite passes with every write acknowledged by the replica", func(t *testing.T) {
		runConformance(t, cfg, "sentinel", revocation.RedisOptions{MinReplicasAck: 1, MinReplicasTimeout: 2 * time.Second})
	})

	t.Run("an acknowledged revocation is on the replica", func(t *testing.T) {
		ctx := t.Context()
		st := revocation.NewRedis(newConfiguredClient(t, cfg), revocation.RedisOptions{KeyPrefix: "acked:", MinReplicasAck: 1, MinReplicasTimeout: 2 * time.Second})
		exp := time.Now().Add(time.Hour).Truncate(time.Second)
		if err := st.RevokeToken(ctx, "j1", exp); err != nil {
			t.Fatal(err)
		}
		// Read the replica itself: a replica applies a write before it
		// acknowledges its offset, so it must be there already.
		key := "acked:t:" + revocation.DigestJTI("j1")
		replica := s.Replica.NewClient()
		if at, err := replica.ExpireTime(ctx, key).Result(); err != nil || at != time.Duration(exp.Unix())*time.Second {
			t.Errorf("EXPIRETIME of the jti record on the replica = %v, %v; want %d", at, err, exp.Unix())
		}
	})

	// Run last: it freezes the replica.
	t.Run("a write the replica cannot acknowledge fails with ErrNotReplicated and stays on the master", func(t *testing.T) {
		ctx := t.Context()
		const timeout = 200 * time.Millisecond
		st := revocation.NewRedis(newConfiguredClient(t, cfg), revocation.RedisOptions{KeyPrefix: "frozen:", MinReplicasAck: 1, MinReplicasTimeout: timeout})
		exp := time.Now().Add(time.Hour)
		// A connection that has written before: WAIT sent on it, or on any
		// connection other than the write's, would answer 1 at once.
		if err := st.RevokeToken(ctx, "before", exp); err != nil {
			t.Fatalf("RevokeToken with the replica running: %v", err)
		}

		s.Replica.Pause()
		resumed := false
		defer func() {
			if !resumed {
				s.Replica.Resume()
			}
		}()
		start := time.Now()
		err := st.RevokeToken(ctx, "j1", exp)
		took := time.Since(start)
		if !errors.Is(err, revocation.ErrNotReplicated) || !errors.Is(err, revocation.ErrUnavailable) {
			t.Fatalf("RevokeToken with the replica frozen = %v, want ErrNotReplicated and ErrUnavailable", err)
		}
		if !strings.Contains(err.Error(), "acknowledged by 0 of 1 replicas") {
			t.Errorf("error %q does not say how many replicas acknowledged", err)
		}
		if took < timeout || took > timeout+2*time.Second {
			t.Errorf("RevokeToken took %v, want about min_replicas_timeout (%v)", took, timeout)
		}
		// The master applied it: the token is revoked from now on.
		if st, err := st.Check(ctx, revocation.Query{JTI: "j1"}); err != nil || !st.JTIRevoked {
			t.Errorf("Check after the unacknowledged write = %+v, %v; want the jti revoked", st, err)
		}
		for name, call := range map[string]func() error{
			"MarkSubject":   func() error { _, err := st.MarkSubject(ctx, "alice", time.Now(), time.Hour); return err },
			"UnrevokeToken": func() error { return st.UnrevokeToken(ctx, "before") },
			"MarkUsed":      func() error { _, err := st.MarkUsed(ctx, "r1", exp); return err },
		} {
			if err := call(); !errors.Is(err, revocation.ErrNotReplicated) {
				t.Errorf("%s with the replica frozen = %v, want ErrNotReplicated", name, err)
			}
		}

		s.Replica.Resume()
		resumed = true
		// Retrying is safe, and succeeds once the replica has caught up
		// (at once here; the deadline is for a loaded machine).
		deadline := time.Now().Add(5 * time.Second)
		for {
			err := st.RevokeToken(ctx, "j1", exp)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("RevokeToken retried for 5s after the replica resumed: %v", err)
			}
		}
	})
}

func TestClusterTopology(t *testing.T) {
	t.Parallel()
	cl := redistest.StartCluster(t, redistest.ClusterOptions{Password: testPassword})
	cfg := revocation.ClientOptions{Addrs: cl.Addrs, Cluster: true, Password: testPassword}

	// Check reads with one pipeline of GETs spread over the masters.
	t.Run("the conformance suite passes", func(t *testing.T) {
		runConformance(t, cfg, "cluster", revocation.RedisOptions{})
	})

	// The console's trail is one key: one slot, on one master.
	t.Run("the trail conformance suite passes", func(t *testing.T) {
		var n atomic.Int64
		storetest.RunTrail(t, func(t *testing.T, length int) revocation.Trail {
			return revocation.NewRedisTrail(newConfiguredClient(t, cfg), fmt.Sprintf("ctrail%d:", n.Add(1)), length)
		})
	})
	// XADD and EXPIRE go in one MULTI: one key, so one slot.
	t.Run("the trail expires by itself", func(t *testing.T) {
		client := newConfiguredClient(t, cfg)
		if err := revocation.NewRedisTrail(client, "cttl:", 10).Append(t.Context(), revocation.Event{Action: "revoke_all"}); err != nil {
			t.Fatal(err)
		}
		if d, err := client.TTL(t.Context(), "cttl:trail").Result(); err != nil || d < revocation.TrailRetention-5*time.Second || d > revocation.TrailRetention {
			t.Fatalf("TTL of the trail on a Cluster = %v, %v; want %v", d, err, revocation.TrailRetention)
		}
	})

	t.Run("writes wait for replicas of the key's own shard", func(t *testing.T) {
		ctx := t.Context()
		st := revocation.NewRedis(newConfiguredClient(t, cfg), revocation.RedisOptions{KeyPrefix: "shard:", MinReplicasAck: 1, MinReplicasTimeout: 50 * time.Millisecond})
		key := "shard:t:" + revocation.DigestJTI("j1")
		owner, err := cl.NodeFor(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		before := make(map[string]int64)
		for _, n := range cl.Nodes {
			before[n.Addr] = commandCalls(t, n.NewClient())["wait"]
		}
		// This cluster has no replicas: no write can be acknowledged.
		err = st.RevokeToken(ctx, "j1", time.Now().Add(time.Hour))
		if !errors.Is(err, revocation.ErrNotReplicated) || !strings.Contains(err.Error(), "acknowledged by 0 of 1 replicas") {
			t.Fatalf("RevokeToken = %v, want ErrNotReplicated, 0 of 1", err)
		}
		if strings.Contains(err.Error(), testPassword) {
			t.Errorf("error %q contains the password", err)
		}
		for _, n := range cl.Nodes {
			got := commandCalls(t, n.NewClient())["wait"] - before[n.Addr]
			want := int64(0)
			if n == owner {
				want = 1
			}
			if got != want {
				t.Errorf("node %s ran WAIT %d times, want %d (the key's master is %s)", n.Addr, got, want, owner.Addr)
			}
		}
		if v, err := owner.NewClient().Exists(ctx, key).Result(); err != nil || v != 1 {
			t.Errorf("EXISTS %s on its master = %d, %v; want the write kept", key, v, err)
		}
	})

	// Run last: it changes a master's policy.
	t.Run("one master with an evicting policy makes the whole cluster unsafe", func(t *testing.T) {
		ctx := t.Context()
		client := newConfiguredClient(t, cfg)
		if got, err := revocation.EvictionPolicy(ctx, client); err != nil || got != revocation.SafePolicy {
			t.Fatalf("EvictionPolicy = %q, %v; want noeviction before the change", got, err)
		}
		node := cl.Nodes[len(cl.Nodes)-1].NewClient()
		if err := node.ConfigSet(ctx, "maxmemory-policy", "allkeys-lru").Err(); err != nil {
			t.Fatal(err)
		}
		defer node.ConfigSet(context.WithoutCancel(ctx), "maxmemory-policy", revocation.SafePolicy)
		got, err := revocation.EvictionPolicy(ctx, client)
		if err != nil || got != "allkeys-lru" {
			t.Fatalf("EvictionPolicy with one master on allkeys-lru = %q, %v; want allkeys-lru", got, err)
		}
		if revocation.SafeEvictionPolicy(got) {
			t.Errorf("SafeEvictionPolicy(%q) = true, want false", got)
		}
	})
}

func TestTLSTopology(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, redistest.Options{TLS: true, Password: testPassword})
	// As the README recommends: the password apart from the URL.
	cfg := revocation.ClientOptions{URL: "rediss://" + srv.Addr + "/0", Password: testPassword, CAFile: srv.TLS.CAFile}

	t.Run("the conformance suite passes", func(t *testing.T) {
		runConformance(t, cfg, "tls", revocation.RedisOptions{})
	})

	t.Run("a client that does not trust the CA is refused", func(t *testing.T) {
		// The system roots do not hold the test CA: the certificate must
		// be verified, not merely accepted.
		st := revocation.NewRedis(newConfiguredClient(t, revocation.ClientOptions{URL: cfg.URL, Password: testPassword}), revocation.RedisOptions{})
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		err := st.Ping(ctx)
		if !errors.Is(err, revocation.ErrUnavailable) || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("Ping without the CA = %v, want ErrUnavailable naming the certificate", err)
		}
		if strings.Contains(err.Error(), testPassword) {
			t.Errorf("error %q contains the password", err)
		}
	})
}

// aclUser is the Redis ACL user of the ACL topology, with the least revgate
// needs: its commands on its own keys, CONFIG GET for the eviction check
// and WAIT for min_replicas_ack. SET and TIME are called by the write
// script, and Redis checks a script's commands against the caller's ACL
// too. No SCRIPT LOAD: go-redis falls back from EVALSHA to EVAL. The
// README's ACL example must grant the same.
var aclUser = redistest.User{
	Name:     "revgate",
	Password: "acl-Pa55word-7f3e",
	Rules: []string{
		"~revgate:*",
		"+get", "+mget", "+set", "+del", "+time", "+pttl",
		"+eval", "+evalsha",
		"+ping", "+config|get", "+wait",
	},
}

func TestACLTopology(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, redistest.Options{Password: testPassword, Users: []redistest.User{aclUser}})
	cfg := revocation.ClientOptions{URL: "redis://" + srv.Addr + "/0", Username: aclUser.Name, Password: aclUser.Password}

	t.Run("the conformance suite passes", func(t *testing.T) {
		runConformance(t, cfg, "revgate:acl", revocation.RedisOptions{})
	})

	t.Run("the eviction check and WAIT are allowed", func(t *testing.T) {
		ctx := t.Context()
		client := newConfiguredClient(t, cfg)
		if got, err := revocation.EvictionPolicy(ctx, client); err != nil || got != revocation.SafePolicy {
			t.Errorf("EvictionPolicy as the ACL user = %q, %v; want noeviction", got, err)
		}
		// No replica: WAIT answers 0 rather than NOPERM.
		st := revocation.NewRedis(client, revocation.RedisOptions{MinReplicasAck: 1, MinReplicasTimeout: 10 * time.Millisecond})
		if err := st.RevokeToken(ctx, "j1", time.Now().Add(time.Hour)); !errors.Is(err, revocation.ErrNotReplicated) {
			t.Errorf("RevokeToken with min_replicas_ack as the ACL user = %v, want ErrNotReplicated", err)
		}
	})

	t.Run("keys outside the user's prefix are refused, without the password in the error", func(t *testing.T) {
		st := revocation.NewRedis(newConfiguredClient(t, cfg), revocation.RedisOptions{KeyPrefix: "other:"})
		err := st.RevokeToken(t.Context(), "j1", time.Now().Add(time.Hour))
		if !errors.Is(err, revocation.ErrUnavailable) || !strings.Contains(err.Error(), "NOPERM") {
			t.Fatalf("RevokeToken under another prefix = %v, want ErrUnavailable with NOPERM", err)
		}
		if strings.Contains(err.Error(), aclUser.Password) || strings.Contains(err.Error(), testPassword) {
			t.Errorf("error %q contains a password", err)
		}
	})
}
