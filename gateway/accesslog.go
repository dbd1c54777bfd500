package gateway

import (
	"context"
	"log/slog"
	"time"

	"github.com/revgate/revgate/gateway/jwtverify"
)

// Modes name the front door that asked the core, in metrics and access
// logs: the reverse proxy, or one of the decision endpoints.
const (
	ModeProxy        = "proxy"
	ModeForwardAuth  = "forward_auth"
	ModeAuthRequest  = "auth_request"
	ModeExtAuthzHTTP = "ext_authz_http"
	ModeExtAuthzGRPC = "ext_authz_grpc"
)

// accessRecord is one request's fate, whichever front door served it: one
// metric sample and one access log line are made from it, so the proxy's
// and the decision endpoints' lines read alike.
type accessRecord struct {
	mode, method, route, outcome string
	status                       int
	bytes                        int64
	elapsed                      time.Duration
	requestID, remoteAddr        string
	// upstream is how long the upstream took, when upstreamDone.
	upstream     time.Duration
	upstreamDone bool
	claims       *jwtverify.Claims
	// tunnelClosed, for an upgraded connection, is why it closed; its
	// duration is its life, not a latency, so it is not observed.
	tunnelClosed string
}

// record counts a request and writes its access log line. Neither holds a
// token, a jti or a raw path; the subject only with log.include_subject.
func (g *Gateway) record(ctx context.Context, a accessRecord) {
	g.metrics.requests.WithLabelValues(a.mode, a.route, a.outcome).Inc()
	if a.tunnelClosed == "" {
		g.metrics.duration.WithLabelValues(a.mode, a.route).Observe(a.elapsed.Seconds())
	}
	if a.upstreamDone {
		g.metrics.upstream.WithLabelValues(a.route).Observe(a.upstream.Seconds())
	}
	if !g.access.Enabled(ctx, slog.LevelInfo) {
		return
	}
	attrs := make([]slog.Attr, 0, 11)
	attrs = append(attrs,
		slog.String("mode", a.mode),
		slog.String("method", a.method),
		slog.String("route", a.route),
		slog.Int("status", a.status),
		slog.String("outcome", a.outcome),
		slog.Float64("duration_ms", float64(a.elapsed.Microseconds())/1000),
		slog.String("request_id", a.requestID),
		slog.String("remote_addr", a.remoteAddr),
		slog.Int64("bytes", a.bytes),
	)
	if a.upstreamDone {
		attrs = append(attrs, slog.Float64("upstream_ms", float64(a.upstream.Microseconds())/1000))
	}
	if a.tunnelClosed != "" {
		attrs = append(attrs, slog.String("tunnel_closed", a.tunnelClosed))
	}
	if g.includeSubject && a.claims != nil && a.claims.Subject != "" {
		attrs = append(attrs, slog.String("subject", a.claims.Subject))
	}
	g.access.LogAttrs(ctx, slog.LevelInfo, "request", attrs...)
}
