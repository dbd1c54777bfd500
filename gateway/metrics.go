package gateway

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are revgate's Prometheus series. Labels hold only bounded values:
// route prefixes (never raw paths), outcomes, kinds and sources; never a
// subject, a jti or a token.
type metrics struct {
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	storeErrors *prometheus.CounterVec
	revocations *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "revgate", Name: "requests_total",
			Help: "Requests on the proxy listener by route prefix and outcome.",
		}, []string{"route", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "revgate", Name: "request_duration_seconds",
			Help:    "Time from request to response headers on the proxy listener, upstream included.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "revgate", Name: "store_errors_total",
			Help: "Revocation store failures by operation.",
		}, []string{"op"}),
		revocations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "revgate", Name: "revocations_total",
			Help: "Revocations written, by kind (token, subject, global) and source (admin, logout, reuse_detection).",
		}, []string{"kind", "source"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.storeErrors, m.revocations} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
