package revocation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/redis/go-redis/v9"
)

// ErrPolicyUnknown means the server answered but would not say its
// maxmemory-policy: managed Redis services commonly rename or forbid
// CONFIG, and an ACL may not grant config|get. The policy may well be
// safe; the operator has to check it another way.
var ErrPolicyUnknown = errors.New("redis maxmemory-policy cannot be read")

// SafePolicy is the only maxmemory-policy under which Redis never evicts a
// key: any other may evict a revocation, silently un-revoking a token.
const SafePolicy = "noeviction"

// SafeEvictionPolicy reports whether Redis running under policy keeps every
// revocation until it expires.
func SafeEvictionPolicy(policy string) bool { return policy == SafePolicy }

// EvictionPolicy reads the server's maxmemory-policy with CONFIG GET. On a
// Cluster it asks every master and returns the first unsafe policy found
// (a single unsafe shard is enough to lose revocations), else noeviction.
// It returns an error wrapping ErrPolicyUnknown when the server refuses
// the command, and one wrapping ErrUnavailable when it cannot be reached.
func EvictionPolicy(ctx context.Context, client redis.UniversalClient) (policy string, err error) {
	cc, ok := client.(*redis.ClusterClient)
	if !ok {
		return configPolicy(ctx, client)
	}
	var (
		mu       sync.Mutex
		policies []string
	)
	err = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		p, err := configPolicy(ctx, c)
		if err != nil {
			return err
		}
		mu.Lock()
		policies = append(policies, p)
		mu.Unlock()
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrPolicyUnknown) || errors.Is(err, ErrUnavailable) {
			return "", err
		}
		return "", unavailable("cluster masters", err)
	}
	// Sorted so that the answer does not depend on which master replied
	// first.
	slices.Sort(policies)
	for _, p := range policies {
		if !SafeEvictionPolicy(p) {
			return p, nil
		}
	}
	return SafePolicy, nil
}

func configPolicy(ctx context.Context, c redis.Cmdable) (string, error) {
	const param = "maxmemory-policy"
	m, err := c.ConfigGet(ctx, param).Result()
	if err != nil {
		if refused(err) {
			return "", fmt.Errorf("%w: config get %s: %w", ErrPolicyUnknown, param, err)
		}
		return "", unavailable("config get "+param, err)
	}
	p, ok := m[param]
	if !ok || p == "" {
		// Some managed services answer CONFIG GET with nothing.
		return "", fmt.Errorf("%w: config get %s: empty answer", ErrPolicyUnknown, param)
	}
	return p, nil
}

// refused reports whether err is the server declining the command (unknown
// or renamed command, NOPERM) rather than being unusable: not reachable,
// wrong credentials, loading, or a cluster or failover in progress.
func refused(err error) bool {
	var rerr redis.Error
	if !errors.As(err, &rerr) {
		return false
	}
	return !redis.IsAuthError(err) && !redis.IsLoadingError(err) &&
		!redis.IsClusterDownError(err) && !redis.IsTryAgainError(err) &&
		!redis.IsMasterDownError(err) && !redis.IsMaxClientsError(err)
}
