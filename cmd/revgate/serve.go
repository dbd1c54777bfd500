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
		Short: "Run the gateway (proxy, decision and admin listeners)",
		Long: `Run the gateway: the proxy listener (listen) verifies tokens, checks
revocation and forwards to upstream.url; the admin listener (admin.listen)
serves the admin API, /healthz, /readyz, /metrics and the admin console
(/console/, a web page; console.enabled).

Decision mode: with decision.listen set, an ingress or mesh that forwards
requests itself asks revgate "allow or deny?" on /forward-auth (Traefik,
Caddy), /auth-request (NGINX, ingress-nginx) or /ext-authz/... (Envoy's HTTP
ext_authz), with the same checks as the proxy. upstream.url is then
optional: without it no proxy listener starts and listen is unused. The
decision listener must not be reachable by clients through the ingress.

Revocations pushed by the identity provider, each on the proxy and decision
listeners and never forwarded: OpenID Connect Back-Channel Logout at
backchannel_logout.path (a logout ends the session's tokens), Global Token
Revocation (Okta Universal Logout) at global_revocation.path, and Shared
Signals: with ssf.push_path the identity provider pushes Security Event
Tokens (CAEP, RISC) to that path; with ssf.poll_url revgate polls for them
until the shutdown signal, then sends its last acknowledgements.

The configuration is read from --config, or revgate.yaml in the working
directory if present; every key can be overridden by REVGATE_<KEY>, e.g.
REVGATE_REVOCATION_REDIS_URL. Check a configuration with "revgate config check";
"revgate config example" prints a commented one to start from.

Once the listeners are up it logs "revgate listening" with the addresses
they bound (proxy, admin, and decision when set; proxy=off without an
upstream), at every log.level: with port 0 (listen: 127.0.0.1:0) that is
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

// pushedSubjectsWarning says, when it is so, that subject revocations
// pushed by the identity provider cannot reach this gateway's tokens as
// configured: they name the provider's sub (a logout token without sid,
// an iss_sub subject of a SET or of Global Token Revocation), while the
// gateway's subject marks are matched against jwt.subject_claim. It is a
// warning, not an error: sessions, jtis and email subjects still work, and
// some deployments copy sub into that claim.
func pushedSubjectsWarning(cfg *config.Config) string {
	if cfg.JWT.SubjectClaim == "sub" || cfg.JWT.SubjectClaim == "" {
		return ""
	}
	if !cfg.BackchannelLogout.Enabled() && !cfg.SSF.Enabled() && !cfg.GlobalRevocation.Enabled() {
		return ""
	}
	return "jwt.subject_claim is not sub: subject revocations pushed by the identity provider (back-channel logout without sid, iss_sub subjects of Shared Signals and Global Token Revocation) name its sub, and reach only tokens whose subject_claim holds the same value"
}

// listening is told the bound addresses once the listeners are up (the demo
// prints them; tests read them); proxyAddr is "" when no proxy listener runs.
type listening func(proxyAddr, adminAddr string)

// serve runs the gateway until ctx is cancelled, then shuts down gracefully.
func serve(ctx context.Context, cfg *config.Config, logger *slog.Logger, onListen listening) error {
	if msg := pushedSubjectsWarning(cfg); msg != "" {
		logger.Warn(msg, "subject_claim", cfg.JWT.SubjectClaim)
	}
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
		ReadClaims:       gateway.ReadClaims(cfg),
	})
	if err != nil {
		return err
	}
	defer verifier.Close()
	// The Shared Signals transmitter's keys are a set of their own.
	var ssfVerifier gateway.TokenVerifier
	if vc, ok := jwtverify.TransmitterConfig(cfg, logger.With("component", "ssf")); ok {
		v, err := jwtverify.NewVerifier(context.WithoutCancel(ctx), vc)
		if err != nil {
			return err
		}
		defer v.Close()
		ssfVerifier = v
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
		SSFVerifier:    ssfVerifier,
	})
	if err != nil {
		return err
	}
	// The SSF poller (when ssf.poll_url is set) stops at the shutdown
	// signal, sending its last acknowledgements, before serve returns.
	pollCtx, stopPoll := context.WithCancel(ctx)
	pollDone := make(chan struct{})
	go func() {
		defer close(pollDone)
		if err := gw.PollSSF(pollCtx); err != nil {
			logger.Error("ssf poller", "error", err.Error())
		}
	}()
	defer func() { stopPoll(); <-pollDone }()

	servers, err := listen(cfg, gw, logger)
	if err != nil {
		return err
	}
	go gw.Run(ctx)
	errc := make(chan error, len(servers))
	for _, s := range servers {
		go func() { errc <- s.srv.Serve(s.ln) }()
	}
	// Whatever log.level says: with port 0 in a listen key this line is
	// the only place to learn the bound addresses.
	addrs := map[string]string{"proxy": "off"}
	attrs := []any{}
	for _, s := range servers {
		addrs[s.name] = s.ln.Addr().String()
	}
	attrs = append(attrs, "proxy", addrs["proxy"], "admin", addrs["admin"])
	for _, name := range []string{"decision", "grpc"} {
		if a, ok := addrs[name]; ok {
			attrs = append(attrs, name, a)
		}
	}
	attrs = append(attrs, "upstream", config.RedactURL(cfg.Upstream.URL), "store", cfg.Revocation.Store, "version", version)
	logAlways(ctx, logger, "revgate listening", attrs...)
	if onListen != nil {
		proxyAddr := addrs["proxy"]
		if proxyAddr == "off" {
			proxyAddr = ""
		}
		onListen(proxyAddr, addrs["admin"])
	}

	shutdown := func(ctx context.Context) error {
		errs := make([]error, 0, len(servers))
		for _, s := range servers {
			errs = append(errs, s.srv.Shutdown(ctx))
		}
		return errors.Join(errs...)
	}
	select {
	case err := <-errc:
		// A listener failed on its own: stop the others and report.
		shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout)
		defer cancel()
		_ = shutdown(shutdownCtx)
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
	if err := shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown did not finish within server.shutdown_timeout: %w", err)
	}
	logger.Info("shutdown complete")
	return nil
}

// namedServer is one listener and the server on it.
type namedServer struct {
	name string // in the "revgate listening" line
	ln   net.Listener
	srv  server
}

// server is what serve needs of a listener's server: *http.Server, and
// the gateway's ext_authz *gateway.GRPCServer.
type server interface {
	Serve(net.Listener) error
	Shutdown(context.Context) error
}

// listen binds every configured listener: the proxy (when upstream.url is
// set), the admin API, the HTTP decision endpoints (decision.listen) and
// Envoy ext_authz over gRPC (decision.grpc_listen, plaintext h2c: TLS is
// the mesh's).
// On failure it closes what it bound and names the key.
func listen(cfg *config.Config, gw *gateway.Gateway, logger *slog.Logger) ([]namedServer, error) {
	type want struct {
		name, key, addr string
		srv             server
	}
	var ws []want
	if cfg.ProxyEnabled() {
		ws = append(ws, want{"proxy", "listen", cfg.Listen, newServer(cfg.Server, gw.ProxyHandler(), logger)})
	}
	ws = append(ws, want{"admin", "admin.listen", cfg.Admin.Listen, newServer(cfg.Server, gw.AdminHandler(), logger)})
	if cfg.Decision.Listen != "" {
		ws = append(ws, want{"decision", "decision.listen", cfg.Decision.Listen, newServer(cfg.Server, gw.DecisionHandler(), logger)})
	}
	if cfg.Decision.GRPCListen != "" {
		ws = append(ws, want{"grpc", "decision.grpc_listen", cfg.Decision.GRPCListen, gw.GRPCServer()})
	}
	var servers []namedServer
	for _, w := range ws {
		ln, err := net.Listen("tcp", w.addr)
		if err != nil {
			for _, s := range servers {
				s.ln.Close()
			}
			return nil, fmt.Errorf("%s: %w", w.key, err)
		}
		servers = append(servers, namedServer{w.name, ln, w.srv})
	}
	return servers, nil
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
