package gateway

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/revgate/revgate/gateway/adminapi"
)

// sessionsPrefix is the admin API's path of revoked sessions: the
// identity provider's session ids that jwt.session_claim carries
// (revocation rule 4).
const sessionsPrefix = "/v1/revocations/sessions/"

// revokeSession answers POST /v1/revocations/sessions/{sid}. The record
// lives max_token_lifetime plus leeway from now, by when every token of
// the session has expired; revoking again keeps the later expiry.
func (g *Gateway) revokeSession(c echo.Context) error {
	sid, err := pathValue(c, sessionsPrefix, "session", maxSessionBytes)
	if err != nil {
		return err
	}
	var req adminapi.RevokeSession
	if err := readAdminBody(c, &req); err != nil {
		return err
	}
	if err := checkText("reason", req.Reason, maxReasonBytes, false); err != nil {
		return err
	}
	now := g.now().Truncate(time.Second)
	until := g.latestExpiry()
	ctx := c.Request().Context()
	if err := g.store.RevokeSession(ctx, sid, until); err != nil {
		return err
	}
	g.metrics.revocations.WithLabelValues("session", "admin").Inc()
	g.auditEvent(c.Request(), "revoke_session", actor(c), slog.String("session", sid),
		slog.Time("expires_at", until.UTC()), slog.String("reason", req.Reason))
	// Answer the record in force: an earlier revocation may outlive this one.
	if rec, err := g.store.GetSession(ctx, sid); err == nil && rec.ExpiresAt.After(until) {
		until = rec.ExpiresAt
	}
	return c.JSON(http.StatusOK, adminapi.Session{Session: sid, ExpiresAt: until.UTC(), RevokedAt: now.UTC(), Revoked: true})
}

// getSession answers GET /v1/revocations/sessions/{sid}: the record, or
// 404 not_revoked.
func (g *Gateway) getSession(c echo.Context) error {
	sid, err := pathValue(c, sessionsPrefix, "session", maxSessionBytes)
	if err != nil {
		return err
	}
	rec, err := g.store.GetSession(c.Request().Context(), sid)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, adminapi.Session{Session: rec.Session, ExpiresAt: rec.ExpiresAt.UTC(), Revoked: true})
}

// unrevokeSession answers DELETE /v1/revocations/sessions/{sid}: 204,
// whether or not the session was revoked.
func (g *Gateway) unrevokeSession(c echo.Context) error {
	sid, err := pathValue(c, sessionsPrefix, "session", maxSessionBytes)
	if err != nil {
		return err
	}
	reason, err := unrevokeReason(c)
	if err != nil {
		return err
	}
	if err := g.store.UnrevokeSession(c.Request().Context(), sid); err != nil {
		return err
	}
	g.auditEvent(c.Request(), "unrevoke_session", actor(c), append([]slog.Attr{slog.String("session", sid)}, reason...)...)
	return c.NoContent(http.StatusNoContent)
}
