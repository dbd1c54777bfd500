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

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/revgate/revgate/config"
	"github.com/revgate/revgate/revocation"
)

// TokenVerifier is what the gateway needs from token verification; *Verifier
// is the implementation.
type TokenVerifier interface {
	Verify(ctx context.Context, raw string, p Purpose) (*Claims, error)
	Ready() bool
}

// Options are the gateway's configuration and collaborators.
type Options struct {
	Config   *config.Config
	Store    revocation.Store
	Verifier TokenVerifier
	// Logger receives operational logs; AuditLogger one event per change of
	// revocation state (nil: Logger). Neither ever receives a token.
	Logger      *slog.Logger
	AuditLogger *slog.Logger
	// Registerer receives the gateway's metrics; Gatherer serves /metrics.
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
	// EvictionPolicy, when set, reads the store's maxmemory-policy for
	// /readyz (see revocation.EvictionPolicy).
	EvictionPolicy func(ctx context.Context) (string, error)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Gateway serves the proxy listener and the admin listener.
type Gateway struct {
	cfg      *config.Config
	store    revocation.Store
	verifier TokenVerifier
	log      *slog.Logger
	audit    *slog.Logger
	metrics  *metrics
	gatherer prometheus.Gatherer
	eviction func(ctx context.Context) (string, error)
	now      func() time.Time

	pipeline  *pipeline
	extractor *extractor
	router    *router
	proxy     *httputil.ReverseProxy
	// markTTL is how long a subject or global mark must live: every token it
	// can reject has expired by then.
	markTTL time.Duration
	// failOpen forwards verified requests whose revocation state cannot be
	// read (on_store_error: open).
	failOpen bool

	draining atomic.Bool
}

// New builds a gateway from a validated configuration.
func New(o Options) (*Gateway, error) {
	if o.Config == nil || o.Store == nil || o.Verifier == nil {
		return nil, errors.New("gateway: config, store and verifier are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.AuditLogger == nil {
		o.AuditLogger = o.Logger
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	if o.Gatherer == nil {
		o.Gatherer = prometheus.NewRegistry()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	cfg := o.Config
	x, err := newExtractor(cfg.JWT.Lookup)
	if err != nil {
		return nil, err
	}
	rp, err := newReverseProxy(cfg.Upstream, cfg.JWT, o.Logger)
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, fmt.Errorf("registering metrics: %w", err)
	}
	return &Gateway{
		cfg:       cfg,
		store:     o.Store,
		verifier:  o.Verifier,
		log:       o.Logger,
		audit:     o.AuditLogger,
		metrics:   m,
		gatherer:  o.Gatherer,
		eviction:  o.EvictionPolicy,
		now:       o.Now,
		extractor: x,
		router:    newRouter(cfg.Routes),
		proxy:     rp,
		markTTL:   cfg.Revocation.MaxTokenLifetime + cfg.JWT.Leeway,
		pipeline: &pipeline{
			verifier:      o.Verifier,
			store:         o.Store,
			lookupTimeout: cfg.Revocation.LookupTimeout,
		},
		failOpen: cfg.Revocation.OnStoreError == "open",
	}, nil
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

// serveProxy is the proxy pipeline, top to bottom: clean the path, pick the
// route, find the token, verify it, check revocation, forward.
func (g *Gateway) serveProxy(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	fi := &forwardInfo{}
	label := "invalid_path"
	result := OutcomeAllowed
	defer func() {
		if fi.err != nil {
			result = outcome(fi.err)
		}
		g.metrics.requests.WithLabelValues(label, result).Inc()
		g.metrics.duration.WithLabelValues(label).Observe(time.Since(start).Seconds())
	}()

	clean, changed, err := cleanPath(r.URL.Path, r.URL.RawPath)
	if err != nil {
		result = outcome(err)
		writeProxyError(w, err)
		return
	}
	fi.path, fi.pathChanged = clean, changed

	if g.cfg.Logout.Path != "" && clean == g.cfg.Logout.Path {
		label = "logout"
		result = g.serveLogout(w, r)
		return
	}

	rt := g.router.match(clean)
	label = rt.label
	switch rt.auth {
	case config.AuthRequired:
		fi.claims, err = g.authorizeAccess(r)
	case config.AuthRefresh:
		fi.claims, err = g.authorizeRefresh(r, fi)
	}
	if err != nil {
		result = outcome(err)
		if !errors.Is(err, revocation.ErrUnavailable) {
			writeProxyError(w, err)
			return
		}
		g.metrics.storeErrors.WithLabelValues("check").Inc()
		if !g.failOpen {
			g.log.ErrorContext(r.Context(), "revocation store unavailable; refusing request (on_store_error: closed)", "route", label, "error", err.Error())
			writeProxyError(w, err)
			return
		}
		// The token verified but its revocation state is unknown: forward,
		// and say so.
		result = OutcomeStoreFailOpen
		g.log.WarnContext(r.Context(), "revocation store unavailable; forwarding (on_store_error: open)", "route", label, "error", err.Error())
	}
	g.proxy.ServeHTTP(w, withForward(r, fi))
}

// authorizeAccess runs extract → verify → revocation check for a route that
// needs an access token.
func (g *Gateway) authorizeAccess(r *http.Request) (*Claims, error) {
	raw, err := g.extractor.extract(r)
	if err != nil {
		return nil, err
	}
	return g.pipeline.authorize(r.Context(), raw, PurposeAccess)
}
