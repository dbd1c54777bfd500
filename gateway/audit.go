package gateway

import (
	"log/slog"
	"net/http"
	"time"
)

// Actor of self-service changes in audit events.
const actorSelfService = "self-service"

// auditEvent writes one audit event for one change of revocation state. It
// names what changed and who changed it; it never holds a token.
func (g *Gateway) auditEvent(r *http.Request, action, actor string, attrs ...slog.Attr) {
	all := make([]slog.Attr, 0, 4+len(attrs))
	all = append(all,
		slog.String("event", "audit"),
		slog.String("action", action),
		slog.String("actor", actor),
		slog.String("remote_addr", r.RemoteAddr))
	all = append(all, attrs...)
	g.audit.LogAttrs(r.Context(), slog.LevelInfo, "revocation changed", all...)
}

// jtiExpiry is how long a revoked jti must be remembered: until the token's
// exp plus leeway, after which no gateway accepts it anyway; with no known
// exp, the longest lifetime any token may have.
func (g *Gateway) jtiExpiry(exp time.Time) time.Time {
	if exp.IsZero() {
		return g.now().Add(g.markTTL)
	}
	return exp.Add(g.cfg.JWT.Leeway)
}

func (g *Gateway) recordExpiry(c *Claims) time.Time { return g.jtiExpiry(c.ExpiresAt) }
