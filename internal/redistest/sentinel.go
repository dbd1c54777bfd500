package redistest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// SentinelOptions configure StartSentinel. The zero value is what revgate's
// tests use.
type SentinelOptions struct {
	// MasterName is the name the Sentinels monitor the master under.
	// Default "revgate".
	MasterName string
	// DownAfter is how long the master must stay unreachable before a
	// Sentinel considers it down (down-after-milliseconds). Default 1s, so
	// that a failover completes within seconds.
	DownAfter time.Duration
	// Password protects the master and the replica (requirepass, and
	// masterauth and the Sentinels' auth-pass to reach them).
	Password string
	// SentinelPassword protects the Sentinels themselves (their
	// requirepass, and sentinel-pass between them).
	SentinelPassword string
}

// Sentinel is a Sentinel-managed Redis: one master, one replica and three
// Sentinels with a quorum of 2, all on loopback.
type Sentinel struct {
	// MasterName is what revocation.redis.master_name names.
	MasterName string
	// Addrs are the Sentinels' addresses: revocation.redis.addrs.
	Addrs []string
	// Master and Replica are the data servers as started. After a
	// failover the Replica is the master.
	Master, Replica *Server
	// Sentinels are the three Sentinel processes.
	Sentinels []*Server

	tb testing.TB
}

// Timeouts of the Sentinel topology. Sentinels find each other through
// hello messages sent every 2s, so discovery takes a few seconds.
const (
	sentinelReadyTimeout = 20 * time.Second
	replicaSyncTimeout   = 10 * time.Second
	sentinelQuorum       = 2
	sentinelCount        = 3
	sentinelFailoverTO   = 5 * time.Second
)

// StartSentinel starts a master, a replica of it and three Sentinels, and
// waits until the replica is in sync and every Sentinel knows the master,
// the replica and the two other Sentinels: only then can a failover reach
// its quorum and elect a leader. Everything stops when the test ends.
func StartSentinel(tb testing.TB, opts SentinelOptions) *Sentinel {
	tb.Helper()
	if opts.MasterName == "" {
		opts.MasterName = "revgate"
	}
	if opts.DownAfter <= 0 {
		opts.DownAfter = time.Second
	}
	// No delay before a full sync (the default waits 5s for more replicas
	// to join), on the replica too: it becomes the master after a failover.
	syncNow := []string{"--repl-diskless-sync-delay", "0"}
	if opts.Password != "" {
		// Either may become the replica of the other.
		syncNow = append(syncNow, "--masterauth", opts.Password)
	}
	master := Start(tb, Options{Password: opts.Password, Args: syncNow})
	replica := Start(tb, Options{Password: opts.Password, Args: append([]string{"--replicaof", "127.0.0.1", strconv.Itoa(master.Port)}, syncNow...)})
	s := &Sentinel{MasterName: opts.MasterName, Master: master, Replica: replica, tb: tb}
	// A Sentinel discovers replicas from the master's INFO, which it reads
	// at once on connecting and then only every 10s: start the Sentinels
	// after the replica is attached so that they see it immediately.
	replicaClient := replica.NewClient()
	waitFor(tb, replicaSyncTimeout, "the replica to sync with the master", func(ctx context.Context) (bool, string) {
		info, err := replicaClient.Info(ctx, "replication").Result()
		if err != nil {
			return false, err.Error()
		}
		return infoField(info, "master_link_status") == "up", "master_link_status:" + infoField(info, "master_link_status")
	})

	conf := fmt.Sprintf("sentinel monitor %[1]s 127.0.0.1 %[2]d %[3]d\n"+
		"sentinel down-after-milliseconds %[1]s %[4]d\n"+
		"sentinel failover-timeout %[1]s %[5]d\n"+
		"sentinel parallel-syncs %[1]s 1\n",
		opts.MasterName, master.Port, sentinelQuorum, opts.DownAfter.Milliseconds(), sentinelFailoverTO.Milliseconds())
	if opts.Password != "" {
		conf += fmt.Sprintf("sentinel auth-pass %s %s\n", opts.MasterName, opts.Password)
	}
	if opts.SentinelPassword != "" {
		conf += fmt.Sprintf("sentinel sentinel-pass %s\n", opts.SentinelPassword)
	}
	for range sentinelCount {
		sn := Start(tb, Options{sentinelConfig: conf, Password: opts.SentinelPassword})
		s.Sentinels = append(s.Sentinels, sn)
		s.Addrs = append(s.Addrs, sn.Addr)
	}
	for _, sn := range s.Sentinels {
		c := sn.sentinelClient()
		waitFor(tb, sentinelReadyTimeout, "Sentinel "+sn.Addr+" to know the master, the replica and the other Sentinels", func(ctx context.Context) (bool, string) {
			m, err := c.Master(ctx, opts.MasterName).Result()
			if err != nil {
				return false, err.Error()
			}
			status := fmt.Sprintf("flags=%s num-slaves=%s num-other-sentinels=%s", m["flags"], m["num-slaves"], m["num-other-sentinels"])
			ok := m["flags"] == "master" && m["num-slaves"] == "1" && m["num-other-sentinels"] == strconv.Itoa(sentinelCount-1)
			return ok, status
		})
	}
	return s
}

// sentinelClient is a client of a Sentinel process, closed with the test.
func (s *Server) sentinelClient() *redis.SentinelClient {
	c := redis.NewSentinelClient(s.clientOptions())
	s.tb.Cleanup(func() { _ = c.Close() })
	return c
}

// MasterAddr asks the Sentinels, in turn, where the master is.
func (s *Sentinel) MasterAddr(ctx context.Context) (string, error) {
	var errs []error
	for _, sn := range s.Sentinels {
		c := redis.NewSentinelClient(sn.clientOptions())
		addr, err := c.GetMasterAddrByName(ctx, s.MasterName).Result()
		_ = c.Close()
		if err == nil && len(addr) == 2 {
			return addr[0] + ":" + addr[1], nil
		}
		errs = append(errs, err)
	}
	return "", fmt.Errorf("no Sentinel named the master: %w", errors.Join(errs...))
}

// KillMaster kills the master process with SIGKILL, as a crash would.
func (s *Sentinel) KillMaster() { s.Master.Kill() }

// WaitFailover waits, at most timeout, until every Sentinel names the
// replica as the master and the replica itself has taken the role; it
// fails the test otherwise. It returns how long it waited.
func (s *Sentinel) WaitFailover(timeout time.Duration) time.Duration {
	s.tb.Helper()
	start := time.Now()
	replica := s.Replica.NewClient()
	clients := make([]*redis.SentinelClient, len(s.Sentinels))
	for i, sn := range s.Sentinels {
		clients[i] = sn.sentinelClient()
	}
	waitFor(s.tb, timeout, "Sentinel to promote the replica "+s.Replica.Addr, func(ctx context.Context) (bool, string) {
		var named []string
		for _, c := range clients {
			addr, err := c.GetMasterAddrByName(ctx, s.MasterName).Result()
			if err != nil || len(addr) != 2 {
				return false, fmt.Sprintf("a Sentinel answered %v, %v", addr, err)
			}
			named = append(named, addr[0]+":"+addr[1])
		}
		for _, a := range named {
			if a != s.Replica.Addr {
				return false, "Sentinels name " + strings.Join(named, ", ")
			}
		}
		role, err := replica.Do(ctx, "ROLE").Slice()
		if err != nil || len(role) == 0 {
			return false, fmt.Sprintf("ROLE on the replica: %v, %v", role, err)
		}
		return role[0] == "master", fmt.Sprintf("the replica's role is %v", role[0])
	})
	return time.Since(start)
}

// pollInterval is how often waitFor asks again.
const pollInterval = 50 * time.Millisecond

// waitFor polls cond until it holds, failing the test with what cond last
// said once timeout has passed. Each poll gets at most a second.
func waitFor(tb testing.TB, timeout time.Duration, what string, cond func(ctx context.Context) (ok bool, status string)) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		ok, status := cond(ctx)
		cancel()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("redistest: waited %s for %s; last: %s", timeout, what, status)
		}
		time.Sleep(pollInterval)
	}
}

// infoField returns one field of an INFO answer.
func infoField(info, field string) string {
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			return v
		}
	}
	return ""
}
