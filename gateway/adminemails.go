package gateway

import (
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/revgate/revgate/gateway/adminapi"
	"github.com/revgate/revgate/revocation"
)

// emailsPrefix is the admin API's path of email marks: revoked-before
// marks keyed by an email address, matched against the access token's
// ssf.email_claim (revocation rule 5). The Shared Signals receiver sets
// them when a transmitter names a user by email; the admin API shows,
// sets and removes them.
const emailsPrefix = "/v1/revocations/emails/"

// maxEmailBytes bounds an address: RFC 5321 allows 254 bytes; the rest is
// room for what identity providers actually put in the claim.
const maxEmailBytes = 1024

// emailPathValue is the canonical address of an email path
// (revocation.CanonicalEmail), so every answer and audit event names the
// one address the mark is kept under.
func emailPathValue(c echo.Context) (string, error) {
	raw, err := pathValue(c, emailsPrefix, "email", maxEmailBytes)
	if err != nil {
		return "", err
	}
	address := revocation.CanonicalEmail(raw)
	if address == "" {
		return "", fieldError("email", "required")
	}
	return address, nil
}

// markEmail answers POST /v1/revocations/emails/{address}, with a
// subject mark's body and rules. Tokens are matched against email marks
// only while a receiver that sets them is on (config.EmailMarkClaim), so a
// mark set with none on would silently do nothing: it is refused instead.
func (g *Gateway) markEmail(c echo.Context) error {
	address, err := emailPathValue(c)
	if err != nil {
		return err
	}
	if g.cfg.EmailMarkClaim() == "" {
		return fieldError("email", "email marks apply only while the Shared Signals receiver (ssf.push_path or ssf.poll_url) or global_revocation.email_claim is on: this mark would reject no token")
	}
	mark, reason, err := g.readMark(c)
	if err != nil {
		return err
	}
	got, err := g.store.MarkEmail(c.Request().Context(), address, mark, g.markTTL)
	if err != nil {
		return err
	}
	g.metrics.revocations.WithLabelValues("email", "admin").Inc()
	g.auditEvent(c.Request(), "revoke_email", actor(c), slog.String("email", address),
		slog.Time("revoked_before", got.UTC()), slog.String("reason", reason))
	return c.JSON(http.StatusOK, adminapi.Mark{Email: address, RevokedBefore: got.UTC()})
}

// getEmail answers GET /v1/revocations/emails/{address}: the mark, or 404
// not_revoked.
func (g *Gateway) getEmail(c echo.Context) error {
	address, err := emailPathValue(c)
	if err != nil {
		return err
	}
	mark, err := g.store.GetEmail(c.Request().Context(), address)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, adminapi.Mark{Email: address, RevokedBefore: mark.UTC()})
}

// unmarkEmail answers DELETE /v1/revocations/emails/{address}: 204,
// whether or not the address had a mark.
func (g *Gateway) unmarkEmail(c echo.Context) error {
	address, err := emailPathValue(c)
	if err != nil {
		return err
	}
	reason, err := unrevokeReason(c)
	if err != nil {
		return err
	}
	if err := g.store.UnmarkEmail(c.Request().Context(), address); err != nil {
		return err
	}
	g.auditEvent(c.Request(), "unrevoke_email", actor(c), append([]slog.Attr{slog.String("email", address)}, reason...)...)
	return c.NoContent(http.StatusNoContent)
}
