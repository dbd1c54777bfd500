package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"sync/atomic"
	"time"

	"github.com/revgate/revgate/gateway/jwtverify"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/revgate/revgate/config"
	"github.com/revgate/revgate/revocation"
)

// TokenVerifier is what the gateway needs from token verification; *jwtverify.Verifier
// is the implementation.
type TokenVerifier interface {
	Verify(ctx context.Context, raw string, p jwtverify.Purpose) (*jwtverify.Claims, error)
	Ready() bool
	Keys() []jwtverify.KeyInfo
}

// Options are the gateway's configuration and collaborators.
type Options struct {
	Config   *config.Config
	Store    revocation.Store
	Verifier TokenVerifier
	// Logger receives operational logs, AccessLogger one line per proxied
	// request, AuditLogger one event per change of revocation state (nil:
	// Logger with "log" set to "access" or "audit"; the default audit logger
	// writes whatever Logger's level, so log.level never silences the audit
	// trail). None ever receives a token.
	Logger       *slog.Logger
	AccessLogger *slog.Logger
	AuditLogger  *slog.Logger
	// Metrics are recorded here (nil: NewMetrics on Registerer). Registerer
	// also receives the key set gauges; Gatherer serves /metrics.
	Metrics    *Metrics
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
	// EvictionPolicy, when set, reads the store's maxmemory-policy for
	// /readyz (see revocation.EvictionPolicy).
	EvictionPolicy func(ctx context.Context) (string, error)
	// Trail receives a copy of every audit event for the admin console
	// (nil: revocation.TrailOf the store, when console.enabled).
	Trail revocation.Trail
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// SSFVerifier verifies the Shared Signals transmitter's SETs with its
	// own keys (see jwtverify.TransmitterConfig); required when ssf.push_path or
	// ssf.poll_url is set, unused otherwise.
	SSFVerifier TokenVerifier
}

// Gateway serves the proxy listener and the admin listener.
type Gateway struct {
	cfg      *config.Config
	store    revocation.Store
	verifier TokenVerifier
	log      *slog.Logger
	access   *slog.Logger
	audit    *slog.Logger
	metrics  *Metrics
	gatherer prometheus.Gatherer
	eviction func(ctx context.Context) (string, error)
	now      func() time.Time

	pipeline  *pipeline
	extractor *extractor
	router    *router
	proxy     *httputil.ReverseProxy
	// headers renders forward_headers for the proxy and, next, decision
	// answers.
	headers *claimHeaders
	// markTTL is how long a subject or global mark must live: every token it
	// can reject has expired by then.
	markTTL time.Duration
	// failOpen forwards verified requests whose revocation state cannot be
	// read (on_store_error: open).
	failOpen bool
	// includeSubject adds subjects to access log lines (log.include_subject).
	includeSubject bool
	requestIDs     *requestIDs
	// oauth serves the RFC 7662 and RFC 7009 endpoints; nil when both are
	// off.
	oauth *oauthEndpoints
	// bcl receives OpenID Connect Back-Channel Logout; nil when off.
	bcl *backchannel
	// trail and console serve the admin console; nil when off.
	trail   revocation.Trail
	console *consoleParts
	// ssf receives Shared Signals SETs by push and poll; nil when off.
	ssf *ssfReceiver
	// gtr receives Global Token Revocation; nil when off.
	gtr *globalRevocation

	draining atomic.Bool
	// evictionWarned is when /readyz last logged a failure to read the
	// eviction policy, in unix seconds.
	evictionWarned atomic.Int64
}

// New builds a gateway from a validated configuration.
func New(o Options) (*Gateway, error) {
	if o.Config == nil || o.Store == nil || o.Verifier == nil {
		return nil, errors.New("gateway: config, store and verifier are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.AccessLogger == nil {
		o.AccessLogger = o.Logger.With("log", "access")
	}
	if o.AuditLogger == nil {
		o.AuditLogger = slog.New(auditHandler{o.Logger.Handler()}).With("log", "audit")
	}
	if o.Registerer == nil && o.Gatherer == nil {
		reg := prometheus.NewRegistry()
		o.Registerer, o.Gatherer = reg, reg
	}
	if o.Registerer == nil || o.Gatherer == nil {
		return nil, errors.New("gateway: give both Registerer and Gatherer, or neither")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Metrics == nil {
		m, err := NewMetrics(o.Registerer, BuildInfo{})
		if err != nil {
			return nil, fmt.Errorf("registering metrics: %w", err)
		}
		o.Metrics = m
	}
	if err := o.Metrics.watchKeys(o.Verifier.Keys, o.Now); err != nil {
		return nil, fmt.Errorf("registering metrics: %w", err)
	}
	cfg := o.Config
	x, err := newExtractor(cfg.JWT.Lookup)
	if err != nil {
		return nil, err
	}
	headers := newClaimHeaders(cfg.JWT.ForwardHeaders, cfg.JWT.SubjectClaim)
	pl := &pipeline{
		verifier:      o.Verifier,
		store:         o.Store,
		lookupTimeout: cfg.Revocation.LookupTimeout,
		metrics:       o.Metrics,
		breaker:       newBreaker(o.Now, o.Logger),
	}
	pl.emailClaim = cfg.EmailMarkClaim()
	failOpen := cfg.Revocation.OnStoreError == config.OnStoreErrorOpen
	ts := &tunnels{
		check: func(ctx context.Context, c *jwtverify.Claims) error {
			return pl.checkRevoked(ctx, c, false)
		},
		metrics:  o.Metrics,
		log:      o.Logger,
		now:      o.Now,
		leeway:   cfg.JWT.Leeway,
		interval: cfg.Revocation.RecheckInterval,
		failOpen: failOpen,
	}
	rp, err := newReverseProxy(cfg, headers, ts, o.Logger)
	if err != nil {
		return nil, err
	}
	rt := newRouter(cfg.Routes)
	o.Metrics.tunnelRoutes(rt.websocketLabels())
	oauth, err := newOAuthEndpoints(cfg.OAuth, o.Registerer, o.Now)
	if err != nil {
		return nil, fmt.Errorf("registering metrics: %w", err)
	}
	bcl, err := newBackchannel(cfg, o.Registerer)
	if err != nil {
		return nil, fmt.Errorf("registering metrics: %w", err)
	}
	if o.Trail == nil && cfg.Console.Enabled {
		o.Trail = revocation.TrailOf(o.Store, cfg.Console.TrailLength)
	}
	ssf, err := newSSFReceiver(ssfSettingsFrom(cfg), cfg, o.SSFVerifier, o.Registerer)
	if err != nil {
		return nil, err
	}
	gtr, err := newGlobalRevocation(cfg, o.Registerer)
	if err != nil {
		return nil, fmt.Errorf("registering metrics: %w", err)
	}
	g := &Gateway{
		ssf:            ssf,
		gtr:            gtr,
		bcl:            bcl,
		trail:          o.Trail,
		cfg:            cfg,
		store:          o.Store,
		verifier:       o.Verifier,
		log:            o.Logger,
		access:         o.AccessLogger,
		audit:          o.AuditLogger,
		metrics:        o.Metrics,
		gatherer:       o.Gatherer,
		eviction:       o.EvictionPolicy,
		now:            o.Now,
		extractor:      x,
		router:         rt,
		proxy:          rp,
		headers:        headers,
		markTTL:        cfg.Revocation.MaxTokenLifetime + cfg.JWT.Leeway,
		failOpen:       failOpen,
		includeSubject: cfg.Log.IncludeSubject,
		requestIDs:     newRequestIDs(),
		pipeline:       pl,
		oauth:          oauth,
	}
	if cfg.Console.Enabled {
		g.console = g.newConsole()
	}
	return g, nil
}

// StartDraining makes /readyz fail from now on, so load balancers stop
// sending new requests while in-flight ones finish.
func (g *Gateway) StartDraining() { g.draining.Store(true) }

// ProxyHandler is the proxy listener's handler.
func (g *Gateway) ProxyHandler() http.Handler {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	// The proxy listener has one handler for every method and path. It is
	// installed ahead of the router because the router's method table would
	// answer 405 to methods it does not know (WebDAV, PURGE, QUERY).
	e.Pre(func(echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			g.serveProxy(c.Response(), c.Request())
			return nil
		}
	})
	return e
}

// serveProxy is the proxy listener's front door: check the request-target,
// clean the path, answer logout and the OAuth endpoints, ask the core, then forward or refuse. Whatever happens, the
// request ends as one metric sample and one access log line.
func (g *Gateway) serveProxy(w *echo.Response, r *http.Request) {
	fi := &forwardInfo{start: time.Now(), route: "invalid_path", outcome: OutcomeAllowed}
	r.Header[headerRequestID] = []string{g.requestIDs.id(r)}
	w.Header()[headerRequestID] = r.Header[headerRequestID]
	defer g.finish(ModeProxy, w, r, fi)

	if isOptionsAsterisk(r) {
		fi.route = "options_asterisk"
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
		return
	}
	if err := checkRequestTarget(r); err != nil {
		refuse(w, fi, err)
		return
	}
	clean, changed, err := cleanPath(r.URL.Path, r.URL.RawPath)
	if err != nil {
		refuse(w, fi, err)
		return
	}
	fi.path, fi.pathChanged = clean, changed

	if g.serveOwnPath(w, r, clean, fi) {
		return
	}

	fi.d = g.authorize(r, clean)
	fi.route, fi.outcome = fi.d.route.label, fi.d.outcome()
	if fi.d.err != nil {
		writeProxyError(w, fi.d.err)
		return
	}
	// Before ReverseProxy reads the request: it copies an Upgrade it finds
	// to the upstream request (Rewrite has the last word on that) and
	// answers 502 to one it cannot print, a refusal that is not its to
	// make on a route that takes no upgrade.
	fi.upgrade = upgradeFor(r.Header, fi.d.route)
	scrubUpgrade(r.Header, fi.upgrade)
	// withForward copies r, so the clientBody is only the proxy's.
	g.proxy.ServeHTTP(w, watchBody(withForward(r, fi)))
}

// refuse ends a request the gateway answers itself, with err's outcome and
// answer (writeProxyError).
func refuse(w http.ResponseWriter, fi *forwardInfo, err error) {
	fi.outcome = outcome(err)
	writeProxyError(w, err)
}

// finish records the fate of a request served under mode (proxied, or
// answered by the gateway itself): metrics and the access log line.
func (g *Gateway) finish(mode string, w *echo.Response, r *http.Request, fi *forwardInfo) {
	if fi.err != nil {
		fi.outcome = outcome(fi.err)
	}
	status, tunnelClosed := w.Status, ""
	if fi.tunnel != nil {
		// ReverseProxy wrote the 101 on the hijacked connection, past
		// echo's record. It returns once either side is done; a reason
		// not yet recorded is the client's (see tunnel.Close).
		status = http.StatusSwitchingProtocols
		fi.tunnel.because(tunnelClientClosed)
		tunnelClosed = fi.tunnel.closeReason()
	}
	g.record(r.Context(), accessRecord{
		mode:         mode,
		method:       r.Method,
		route:        fi.route,
		outcome:      fi.outcome,
		status:       status,
		bytes:        w.Size,
		elapsed:      time.Since(fi.start),
		requestID:    r.Header.Get(headerRequestID),
		remoteAddr:   r.RemoteAddr,
		upstream:     fi.upstreamTime,
		upstreamDone: fi.upstreamDone,
		claims:       fi.d.claims,
		tunnelClosed: tunnelClosed,
	})
}
