package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/revgate/revgate/config"
	"github.com/revgate/revgate/revocation"
)

// openStore builds the configured revocation store, and for Redis a function
// reading its maxmemory-policy.
func openStore(cfg *config.Config, logger *slog.Logger) (revocation.Store, func(context.Context) (string, error), error) {
	if cfg.Revocation.Store == config.StoreMemory {
		logger.Warn("revocation store is in memory: revocations are lost on restart and not shared with other instances; use redis in production")
		return revocation.NewMemory(nil), nil, nil
	}
	r := cfg.Revocation.Redis
	client, err := revocation.NewClient(clientOptions(r))
	if err != nil {
		return nil, nil, fmt.Errorf("redis client: %w", err)
	}
	eviction := func(ctx context.Context) (string, error) { return revocation.EvictionPolicy(ctx, client) }
	return revocation.NewRedis(client, storeOptions(r)), eviction, nil
}

// checkStoreAtStart reports, loudly, a store that does not answer or that may
// evict revocation keys. Neither stops the gateway: /readyz keeps it out of
// rotation until the store answers.
func checkStoreAtStart(ctx context.Context, store revocation.Store, eviction func(context.Context) (string, error), logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := store.Ping(ctx); err != nil {
		logger.Error("revocation store not answering; /readyz fails until it does", "error", err.Error())
		return
	}
	if eviction == nil {
		return
	}
	policy, err := eviction(ctx)
	switch {
	case err != nil:
		logger.Warn("could not read the Redis maxmemory-policy; make sure it is noeviction", "error", err.Error())
	case !revocation.SafeEvictionPolicy(policy):
		logger.Error("UNSAFE Redis maxmemory-policy: revocation keys can be evicted, which silently un-revokes tokens; set maxmemory-policy noeviction",
			"maxmemory_policy", policy)
	}
}

// clientOptions maps revocation.redis onto the client's options. The
// socket timeouts are not configurable and keep the client's defaults; the
// per-request deadline is revocation.lookup_timeout.
func clientOptions(r config.Redis) revocation.ClientOptions {
	return revocation.ClientOptions{
		URL:              r.URL,
		Addrs:            r.Addrs,
		MasterName:       r.MasterName,
		Cluster:          r.Cluster,
		Username:         r.Username,
		Password:         r.Password, // Load has read password_file into it
		SentinelUsername: r.SentinelUsername,
		SentinelPassword: r.SentinelPassword, // and sentinel_password_file
		DB:               r.DB,
		TLS:              r.TLS,
		CAFile:           r.CAFile,
	}
}

// storeOptions maps the rest of revocation.redis onto the store's options.
func storeOptions(r config.Redis) revocation.RedisOptions {
	return revocation.RedisOptions{
		KeyPrefix:          r.KeyPrefix,
		MinReplicasAck:     r.MinReplicasAck,
		MinReplicasTimeout: r.MinReplicasTimeout,
	}
}
