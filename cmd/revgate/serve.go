package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/revgate/revgate/config"
	"github.com/revgate/revgate/gateway"
	"github.com/revgate/revgate/revocation"
)

func newServeCommand() *cobra.Command {
	var configPath string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the gateway (proxy listener and admin listener)",
		Long: `Run the gateway: the proxy listener (listen) verifies tokens, checks
revocation and forwards to upstream.url; the admin listener (admin.listen)
serves the admin API, /healthz, /readyz and /metrics.

The configuration is read from --config, or revgate.yaml in the working
directory if present; every key can be overridden by REVGATE_<KEY>, e.g.
REVGATE_REVOCATION_REDIS_URL. Check a configuration with "revgate config check";
"revgate config example" prints a commented one to start from.

On SIGTERM or SIGINT the gateway fails /readyz at once, keeps serving for
server.drain_delay so load balancers stop sending, lets in-flight requests
finish within server.shutdown_timeout, then exits 0.

Exit codes: 0 after a clean drain, 1 on an invalid configuration or a
listener that cannot start, 2 on bad usage.`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(configPath)
			if err != nil {
				return err
			}
			logger := newLogger(cmd.ErrOrStderr(), cfg.Log)
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return serve(ctx, cfg, logger, nil)
		},
	}
	cmd.Flags().StringVar(&configPath, "config", "", "configuration file (default: revgate.yaml in the working directory, if present)")
	return cmd
}

// loadConfig loads and validates the configuration.
func loadConfig(path string) (*config.Config, error) {
	cfg, err := config.Load(path)
	var ve *config.ValidationError
	if errors.As(err, &ve) {
		return nil, fmt.Errorf("invalid configuration:\n%w", err)
	}
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return cfg, nil
}

// openStore builds the configured revocation store, and for Redis a function
// reading its maxmemory-policy.
func openStore(cfg *config.Config, logger *slog.Logger) (revocation.Store, func(context.Context) (string, error), error) {
	if cfg.Revocation.Store == "memory" {
		logger.Warn("revocation store is in memory: revocations are lost on restart and not shared with other instances; use redis in production")
		return revocation.NewMemory(nil), nil, nil
	}
	client, err := revocation.NewClient(cfg.Revocation.Redis)
	if err != nil {
		return nil, nil, err
	}
	// go-redis reports dial failures and pool events through its own
	// package-level logger; send them to ours so they are structured too.
	redis.SetLogger(redisLogger{logger})
	eviction := func(ctx context.Context) (string, error) { return revocation.EvictionPolicy(ctx, client) }
	return revocation.NewRedis(client, revocation.RedisOptions{KeyPrefix: cfg.Revocation.Redis.KeyPrefix, MinReplicasAck: cfg.Revocation.Redis.MinReplicasAck, MinReplicasTimeout: cfg.Revocation.Redis.MinReplicasTimeout}), eviction, nil
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

// listening is told the bound addresses once both listeners are up (the demo
// prints them; tests read them).
type listening func(proxyAddr, adminAddr string)

// serve runs the gateway until ctx is cancelled, then shuts down gracefully.
func serve(ctx context.Context, cfg *config.Config, logger *slog.Logger, onListen listening) error {
	store, eviction, err := openStore(cfg, logger)
	if err != nil {
		return err
	}
	defer store.Close()
	return serveWithStore(ctx, cfg, logger, store, eviction, onListen)
}

func serveWithStore(ctx context.Context, cfg *config.Config, logger *slog.Logger, store revocation.Store,
	eviction func(context.Context) (string, error), onListen listening) error {
	// The verifier's background JWKS refresh lives as long as the process,
	// not just until the shutdown signal, so draining requests still verify.
	keysCtx, stopKeys := context.WithCancel(context.WithoutCancel(ctx))
	defer stopKeys()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics, err := gateway.NewMetrics(reg, gateway.BuildInfo{Version: version, Commit: buildCommit()})
	if err != nil {
		return err
	}
	verifier, err := gateway.NewVerifier(keysCtx, gateway.VerifierConfig{
		JWT:              cfg.JWT,
		MaxTokenLifetime: cfg.Revocation.MaxTokenLifetime,
		Logger:           logger,
		OnJWKSFetch:      metrics.ObserveJWKSFetch,
	})
	if err != nil {
		return err
	}
	checkStoreAtStart(ctx, store, eviction, logger)

	gw, err := gateway.New(gateway.Options{
		Config:         cfg,
		Store:          store,
		Verifier:       verifier,
		Logger:         logger,
		Metrics:        metrics,
		Registerer:     reg,
		Gatherer:       reg,
		EvictionPolicy: eviction,
	})
	if err != nil {
		return err
	}

	proxyLn, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	adminLn, err := net.Listen("tcp", cfg.Admin.Listen)
	if err != nil {
		proxyLn.Close()
		return fmt.Errorf("admin.listen: %w", err)
	}
	proxySrv := newServer(cfg.Server, gw.ProxyHandler(), logger)
	adminSrv := newServer(cfg.Server, gw.AdminHandler(), logger)

	errc := make(chan error, 2)
	go func() { errc <- proxySrv.Serve(proxyLn) }()
	go func() { errc <- adminSrv.Serve(adminLn) }()
	logger.Info("revgate listening", "proxy", proxyLn.Addr().String(), "admin", adminLn.Addr().String(),
		"upstream", cfg.Upstream.URL, "store", cfg.Revocation.Store, "version", version)
	if onListen != nil {
		onListen(proxyLn.Addr().String(), adminLn.Addr().String())
	}

	select {
	case err := <-errc:
		// A listener failed on its own: stop the other and report.
		shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout)
		defer cancel()
		_ = proxySrv.Shutdown(shutdownCtx)
		_ = adminSrv.Shutdown(shutdownCtx)
		return fmt.Errorf("listener failed: %w", err)
	case <-ctx.Done():
	}

	// Shutdown: fail readiness first, keep serving through the drain delay so
	// load balancers notice, then let in-flight requests finish.
	gw.StartDraining()
	logger.Info("shutting down: draining", "drain_delay", cfg.Server.DrainDelay.String(), "shutdown_timeout", cfg.Server.ShutdownTimeout.String())
	time.Sleep(cfg.Server.DrainDelay)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout)
	defer cancel()
	perr := proxySrv.Shutdown(shutdownCtx)
	aerr := adminSrv.Shutdown(shutdownCtx)
	if err := errors.Join(perr, aerr); err != nil {
		return fmt.Errorf("shutdown did not finish within server.shutdown_timeout: %w", err)
	}
	logger.Info("shutdown complete")
	return nil
}

// newServer builds an http.Server with the configured timeouts, so slow
// clients cannot hold connections open forever.
func newServer(s config.Server, h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: s.ReadHeaderTimeout,
		ReadTimeout:       s.ReadTimeout,
		WriteTimeout:      s.WriteTimeout,
		IdleTimeout:       s.IdleTimeout,
		MaxHeaderBytes:    s.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}
