package gateway

import (
	"context"
	"errors"
	"runtime"
	"time"

	"github.com/revgate/revgate/gateway/jwtverify"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/revgate/revgate/revocation"
)

// BuildInfo names the running build in revgate_build_info.
type BuildInfo struct {
	Version string
	Commit  string
}

// Metrics are revgate's Prometheus series, all under the revgate_
// namespace. Labels hold only bounded values: route prefixes (never raw
// paths), outcomes, kinds and sources; never a subject, a jti or a token.
type Metrics struct {
	requests       *prometheus.CounterVec
	duration       *prometheus.HistogramVec
	upstream       *prometheus.HistogramVec
	verify         prometheus.Histogram
	storeLookup    prometheus.Histogram
	storeErrors    *prometheus.CounterVec
	revocations    *prometheus.CounterVec
	jwksFetches    *prometheus.CounterVec
	evictionSafe   prometheus.Gauge
	tunnelsOpen    *prometheus.GaugeVec
	tunnelsClosed  *prometheus.CounterVec
	buildInfo      *prometheus.GaugeVec
	registerer     prometheus.Registerer
	keyGaugesAdded bool
}

// latencyBuckets cover a gateway's own work (tens of microseconds) up to a
// slow upstream (tens of seconds).
var latencyBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// NewMetrics creates and registers revgate's metrics on reg.
func NewMetrics(reg prometheus.Registerer, info BuildInfo) (*Metrics, error) {
	const ns = "revgate"
	m := &Metrics{
		registerer: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "requests_total",
			Help: "Requests judged by route prefix, outcome (allowed, no_token, invalid_token, revoked_jti, revoked_subject, revoked_global, revoked_session, revoked_email, refresh_reused, store_unavailable, store_fail_open, upstream_error, client_closed, bad_request) and mode, the front door that asked (proxy, forward_auth, auth_request, ext_authz_http, ext_authz_grpc).",
		}, []string{"mode", "route", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Name: "request_duration_seconds",
			Help:    "Whole request by mode and route prefix: on the proxy listener upstream included, in decision mode the decision alone. Upgraded connections are not observed: see revgate_tunnels_closed_total.",
			Buckets: latencyBuckets,
		}, []string{"mode", "route"}),
		upstream: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Name: "upstream_duration_seconds",
			Help:    "Time from forwarding a request to the upstream's response headers (or failure), by route prefix.",
			Buckets: latencyBuckets,
		}, []string{"route"}),
		verify: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: ns, Name: "verify_duration_seconds",
			Help:    "Token verification: parsing, signature and claim checks.",
			Buckets: latencyBuckets,
		}),
		storeLookup: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: ns, Name: "store_lookup_duration_seconds",
			Help:    "The per-request revocation store lookup (one round trip).",
			Buckets: latencyBuckets,
		}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "store_errors_total",
			Help: "Revocation store failures by operation (check, revoke, mark_used, admin, ...) and kind (timeout, circuit_open, not_replicated, error).",
		}, []string{"op", "kind"}),
		revocations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "revocations_total",
			Help: "Revocations written, by kind (token, subject, global, session, email) and source (admin, logout, reuse_detection, backchannel_logout, global_revocation, ssf).",
		}, []string{"kind", "source"}),
		jwksFetches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "jwks_refreshes_total",
			Help: "Fetches of jwt.jwks_url by result (success, failure). A failure keeps the last good key set.",
		}, []string{"result"}),
		evictionSafe: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Name: "redis_eviction_policy_safe",
			Help: "1 when Redis maxmemory-policy is noeviction, 0 when revocation keys could be evicted, -1 when it cannot be read.",
		}),
		tunnelsOpen: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: ns, Name: "tunnels_open",
			Help: "Upgraded connections (WebSockets) open now, by route prefix.",
		}, []string{"route"}),
		tunnelsClosed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "tunnels_closed_total",
			Help: "Upgraded connections closed, by route prefix and reason (client_closed, upstream_closed, expired, revoked, store_unavailable).",
		}, []string{"route", "reason"}),
		buildInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: ns, Name: "build_info",
			Help: "Always 1; the labels name the running build.",
		}, []string{"version", "commit", "goversion"}),
	}
	m.evictionSafe.Set(-1)
	m.buildInfo.WithLabelValues(info.Version, info.Commit, runtime.Version()).Set(1)
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.upstream, m.verify, m.storeLookup,
		m.storeErrors, m.revocations, m.jwksFetches, m.evictionSafe, m.tunnelsOpen, m.tunnelsClosed, m.buildInfo} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	// Pre-create the series dashboards and alerts divide by, so they read 0
	// rather than "no data" before the first event.
	m.jwksFetches.WithLabelValues("success")
	m.jwksFetches.WithLabelValues("failure")
	for _, kind := range []string{"timeout", "circuit_open", "error"} {
		m.storeErrors.WithLabelValues("check", kind)
	}
	for _, ks := range [][2]string{{"token", "admin"}, {"subject", "admin"}, {"global", "admin"}, {"session", "admin"}, {"email", "admin"},
		{"token", "logout"}, {"subject", "logout"}, {"subject", "reuse_detection"}} {
		m.revocations.WithLabelValues(ks[0], ks[1])
	}
	return m, nil
}

// tunnelRoutes pre-creates the tunnel series of the routes that allow
// upgrades, so they read 0 rather than "no data".
func (m *Metrics) tunnelRoutes(labels []string) {
	for _, route := range labels {
		m.tunnelsOpen.WithLabelValues(route)
		for _, reason := range tunnelReasons {
			m.tunnelsClosed.WithLabelValues(route, reason)
		}
	}
}

// ObserveJWKSFetch counts a fetch of jwks_url; pass it as
// jwtverify.VerifierConfig.OnJWKSFetch.
func (m *Metrics) ObserveJWKSFetch(err error) {
	if err != nil {
		m.jwksFetches.WithLabelValues("failure").Inc()
		return
	}
	m.jwksFetches.WithLabelValues("success").Inc()
}

// watchKeys registers the gauges that describe the loaded key set.
func (m *Metrics) watchKeys(keys func() []jwtverify.KeyInfo, now func() time.Time) error {
	if m.keyGaugesAdded {
		return nil
	}
	m.keyGaugesAdded = true
	count := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "revgate", Name: "keys_loaded",
		Help: "Verification keys loaded from every source.",
	}, func() float64 { return float64(len(keys())) })
	age := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "revgate", Name: "key_set_age_seconds",
		Help: "Seconds since the newest key was loaded or fetched; with jwks_url it grows while refreshes fail.",
	}, func() float64 {
		var newest time.Time
		for _, k := range keys() {
			if k.FetchedAt.After(newest) {
				newest = k.FetchedAt
			}
		}
		if newest.IsZero() {
			return 0
		}
		return now().Sub(newest).Seconds()
	})
	for _, c := range []prometheus.Collector{count, age} {
		if err := m.registerer.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// storeError counts a store failure of op.
func (m *Metrics) storeError(op string, err error) {
	kind := "error"
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		kind = "timeout"
	case errors.Is(err, errCircuitOpen):
		kind = "circuit_open"
	case errors.Is(err, revocation.ErrNotReplicated):
		kind = "not_replicated"
	}
	m.storeErrors.WithLabelValues(op, kind).Inc()
}

// evictionPolicy records what the store's maxmemory-policy was found to be.
func (m *Metrics) evictionPolicy(policy string, err error) {
	switch {
	case err != nil:
		m.evictionSafe.Set(-1)
	case policy == "noeviction":
		m.evictionSafe.Set(1)
	default:
		m.evictionSafe.Set(0)
	}
}

// registerCounterVec registers c, or returns the one already registered
// under its name: the front doors' counters are made per Gateway, and two
// gateways on one registry (tests, the demo) share them.
func registerCounterVec(reg prometheus.Registerer, c *prometheus.CounterVec) (*prometheus.CounterVec, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if !errors.As(err, &are) {
			return nil, err
		}
		existing, ok := are.ExistingCollector.(*prometheus.CounterVec)
		if !ok {
			return nil, err
		}
		return existing, nil
	}
	return c, nil
}
