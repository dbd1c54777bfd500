package redistest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// CLIBinary is the program StartCluster runs to create a cluster.
const CLIBinary = "redis-cli"

// ClusterOptions configure StartCluster. The zero value is three masters
// without a password.
type ClusterOptions struct {
	// Masters is the number of masters. Default 3, the fewest redis-cli
	// accepts.
	Masters int
	// Password protects every node (the default user), like Options.Password.
	Password string
	// Args are extra redis-server arguments for every node.
	Args []string
}

// Cluster is a Redis Cluster of masters only (no replicas), on loopback.
type Cluster struct {
	// Addrs are the nodes' addresses: revocation.redis.addrs.
	Addrs []string
	// Nodes are the masters, in the order of Addrs.
	Nodes []*Server

	password string
	tb       testing.TB
}

// Cluster creation is a few seconds: redis-cli assigns the slots, the
// nodes meet over the bus and agree on the configuration.
const (
	clusterCreateTimeout = 30 * time.Second
	clusterReadyTimeout  = 20 * time.Second
	clusterSlots         = 16384
)

// StartCluster starts the masters with cluster-enabled, joins them with
// `redis-cli --cluster create`, and waits until every node reports
// cluster_state:ok with all slots assigned and every other node known.
// Everything stops when the test ends.
func StartCluster(tb testing.TB, opts ClusterOptions) *Cluster {
	tb.Helper()
	if opts.Masters == 0 {
		opts.Masters = 3
	}
	if _, err := exec.LookPath(CLIBinary); err != nil {
		tb.Fatalf("redistest: %s not found in PATH (install it, e.g. `apt-get install redis-tools`): %v", CLIBinary, err)
	}
	c := &Cluster{password: opts.Password, tb: tb}
	for range opts.Masters {
		n := Start(tb, Options{Password: opts.Password, Args: opts.Args, cluster: true})
		c.Nodes = append(c.Nodes, n)
		c.Addrs = append(c.Addrs, n.Addr)
	}

	ctx, cancel := context.WithTimeout(context.Background(), clusterCreateTimeout)
	defer cancel()
	args := append([]string{"--cluster", "create"}, c.Addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	cmd := exec.CommandContext(ctx, CLIBinary, args...)
	cmd.Env = os.Environ()
	if opts.Password != "" {
		// In the environment, not -a: no warning, and not in ps.
		cmd.Env = append(cmd.Env, "REDISCLI_AUTH="+opts.Password)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("redistest: %s --cluster create: %v\n%s", CLIBinary, err, lastLines(string(out), 20))
	}

	want := strconv.Itoa(opts.Masters)
	for _, n := range c.Nodes {
		client := n.NewClient()
		waitFor(tb, clusterReadyTimeout, "cluster node "+n.Addr+" to be ready", func(ctx context.Context) (bool, string) {
			info, err := client.ClusterInfo(ctx).Result()
			if err != nil {
				return false, err.Error()
			}
			state, known, assigned := infoField(info, "cluster_state"), infoField(info, "cluster_known_nodes"), infoField(info, "cluster_slots_assigned")
			status := fmt.Sprintf("cluster_state:%s cluster_known_nodes:%s cluster_slots_assigned:%s", state, known, assigned)
			return state == "ok" && known == want && assigned == strconv.Itoa(clusterSlots), status
		})
	}
	return c
}

// NewClient returns a cluster client of the nodes, closed when the test
// ends, with the short timeouts of Server.NewClient.
func (c *Cluster) NewClient() *redis.ClusterClient {
	o := c.Nodes[0].clientOptions()
	cc := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:                 c.Addrs,
		Password:              c.password,
		DialTimeout:           o.DialTimeout,
		ReadTimeout:           o.ReadTimeout,
		WriteTimeout:          o.WriteTimeout,
		ContextTimeoutEnabled: true,
	})
	c.tb.Cleanup(func() { _ = cc.Close() })
	return cc
}

// NodeFor returns the node that owns key's slot.
func (c *Cluster) NodeFor(ctx context.Context, key string) (*Server, error) {
	client := redis.NewClient(c.Nodes[0].clientOptions())
	defer client.Close()
	slot, err := client.ClusterKeySlot(ctx, key).Result()
	if err != nil {
		return nil, err
	}
	ranges, err := client.ClusterSlots(ctx).Result()
	if err != nil {
		return nil, err
	}
	for _, r := range ranges {
		if int64(r.Start) <= slot && slot <= int64(r.End) && len(r.Nodes) > 0 {
			for _, n := range c.Nodes {
				if n.Addr == r.Nodes[0].Addr {
					return n, nil
				}
			}
		}
	}
	return nil, fmt.Errorf("no node owns slot %d of %q", slot, key)
}
