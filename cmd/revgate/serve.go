package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/revgate/revgate/config"
	"github.com/revgate/revgate/gateway"
	"github.com/revgate/revgate/gateway/jwtverify"
	"github.com/revgate/revgate/revocation"
)

func newServeCommand() *cobra.Command {
	var configPath string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the gateway (proxy listener and admin listener)",
		Long: `Run the gateway: the proxy listener (listen) verifies tokens, checks
revocation and forwards to upstream.url; the admin listener (admin.listen)
serves the admin API, /healthz, /readyz and /metrics. With
decision.grpc_listen set, a gRPC listener (plaintext HTTP/2; TLS is the
mesh's) answers Envoy's ext_authz Check and the grpc.health.v1 service,
and "revgate listening" names its address as grpc.

The configuration is read from --config, or revgate.yaml in the working
directory if present; every key can be overridden by REVGATE_<KEY>, e.g.
REVGATE_REVOCATION_REDIS_URL. Check a configuration with "revgate config check".

Once both listeners are up it logs "revgate listening" with the addresses
they bound, at every log.level: with port 0 (listen: 127.0.0.1:0) that is
where to learn the port picked.

On SIGTERM or SIGINT the gateway fails /readyz at once, keeps serving for
server.drain_delay so load balancers stop sending, lets in-flight requests
finish within server.shutdown_timeout, then exits 0. A second SIGTERM or
SIGINT during the drain ends it at once: revgate logs "second signal:
exiting without finishing the drain" and exits 1, dropping the requests
still in flight.

Exit codes: 0 after a clean drain, 1 on an invalid configuration, a
listener that cannot start, a drain not finished within
server.shutdown_timeout or a second signal, 2 on bad usage.`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(configPath)
			if err != nil {
				return err
			}
			logger := newLogger(cmd.ErrOrStderr(), cfg.Log)
			// go-redis reports dial failures and pool events through a
			// package-level logger: set it once, here, to ours, so they are
			// structured too.
			redis.SetLogger(redisLogger{logger})
			ctx, stop := shutdownContext(cmd.Context(), logger)
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
	if err := cfg.Validate(jwtverify.CheckAlgorithms); err != nil {
		return nil, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return cfg, nil
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
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics, err := gateway.NewMetrics(reg, gateway.BuildInfo{Version: version, Commit: buildCommit()})
	if err != nil {
		return err
	}
	// The verifier's background JWKS refresh lives until serve returns, not
	// just until the shutdown signal, so draining requests still verify.
	verifier, err := jwtverify.NewVerifier(context.WithoutCancel(ctx), jwtverify.VerifierConfig{
		JWT:              cfg.JWT,
		MaxTokenLifetime: cfg.Revocation.MaxTokenLifetime,
		Logger:           logger,
		OnJWKSFetch:      metrics.ObserveJWKSFetch,
	})
	if err != nil {
		return err
	}
	defer verifier.Close()
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
	grpcL, err := listenGRPC(cfg, gw)
	if err != nil {
		proxyLn.Close()
		adminLn.Close()
		return err
	}
	proxySrv := newServer(cfg.Server, gw.ProxyHandler(), logger)
	adminSrv := newServer(cfg.Server, gw.AdminHandler(), logger)

	errc := make(chan error, 3)
	go func() { errc <- proxySrv.Serve(proxyLn) }()
	go func() { errc <- adminSrv.Serve(adminLn) }()
	grpcL.serve(errc)
	// Whatever log.level says: with port 0 in listen or admin.listen this
	// line is the only place to learn the bound addresses.
	attrs := append([]any{"proxy", proxyLn.Addr().String(), "admin", adminLn.Addr().String()}, grpcL.logAttrs()...)
	attrs = append(attrs, "upstream", config.RedactURL(cfg.Upstream.URL), "store", cfg.Revocation.Store, "version", version)
	logAlways(ctx, logger, "revgate listening", attrs...)
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
		_ = grpcL.shutdown(shutdownCtx)
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
	gerr := grpcL.shutdown(shutdownCtx)
	if err := errors.Join(perr, aerr, gerr); err != nil {
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
