package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/revgate/revgate/gateway/jwtverify"

	"github.com/revgate/revgate/revocation"
)

// auditHandler writes audit events whatever level its handler is set to:
// log.level quiets diagnostics and the access log, never the audit trail.
// (slog's handlers check the level only through Enabled.)
type auditHandler struct{ slog.Handler }

func (h auditHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h auditHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return auditHandler{h.Handler.WithAttrs(as)}
}

func (h auditHandler) WithGroup(name string) slog.Handler {
	return auditHandler{h.Handler.WithGroup(name)}
}

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
	g.appendTrail(r.Context(), action, actor, attrs)
}

// jtiExpiry is how long a revoked jti must be remembered: until the token's
// exp plus leeway, after which no gateway accepts it anyway; with no known
// exp, or an exp later than that, the longest a token this gateway accepts
// can live from now (max_token_lifetime plus leeway, see latestExpiry).
//
// It is rounded up to a whole second, as stores keep it, so the expiry
// answered is the one stored.
func (g *Gateway) jtiExpiry(exp time.Time) time.Time {
	latest := g.latestExpiry()
	if exp.IsZero() {
		return latest
	}
	if until := revocation.CeilSecond(exp.Add(g.cfg.JWT.Leeway)); until.Before(latest) {
		return until
	}
	return latest
}

// latestExpiry is the latest time any record needs to live to: a token
// accepted now lives at most max_token_lifetime plus leeway (the verifier
// refuses longer lifetimes), so no later expiry protects anything. Every
// time revgate stores is bounded by it, so none can overflow a store's TTL
// or a JSON time (years past 9999) after it was written.
func (g *Gateway) latestExpiry() time.Time {
	return revocation.CeilSecond(g.now().Add(g.markTTL))
}

func (g *Gateway) recordExpiry(c *jwtverify.Claims) time.Time { return g.jtiExpiry(c.ExpiresAt) }
