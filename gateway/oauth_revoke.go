package gateway

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/revgate/revgate/gateway/jwtverify"
)

// actorOAuthClient prefixes the client id in audit events of RFC 7009
// revocations.
const actorOAuthClient = "oauth-client:"

// revoke is RFC 7009 §2: a token with a valid signature from a configured
// key (expired or failing a claim check: PurposeRevoke) is revoked by its
// jti until its exp, when cl may revoke it: cl has revoke_any, or the
// token's client_id or azp claim is cl's id. Revoked, foreign, invalid and
// unknown tokens are all answered 200 with an empty body (§2.2), so a
// caller learns nothing about tokens that are not its own; only a store
// that cannot record the revocation is 503, for the client to retry.
// token_type_hint is read by nothing: every token is a JWT revoked the
// same way, so unsupported_token_type is never needed.
func (g *Gateway) revoke(w http.ResponseWriter, r *http.Request, cl *oauthClient, token, _ string) (answer string, err error) {
	ctx := r.Context()
	answer, err = g.oauthRevoke(r, cl, token)
	if err != nil {
		if ctx.Err() != nil {
			return "", errClientGone
		}
		return "", err
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
	return answer, nil
}

func (g *Gateway) oauthRevoke(r *http.Request, cl *oauthClient, token string) (answer string, err error) {
	claims, err := g.verifier.Verify(r.Context(), token, jwtverify.PurposeRevoke)
	var te *jwtverify.TokenError
	switch {
	case errors.As(err, &te):
		return "invalid_token", nil
	case err != nil:
		return "", err
	case !cl.revokeAny && !issuedTo(claims, cl.id):
		g.log.InfoContext(r.Context(), "oauth revocation of another client's token ignored", "client", cl.id)
		return "not_owner", nil
	case claims.JTI == "":
		// Nothing names this token alone; revoking its subject would
		// reach far beyond what the client asked.
		return "no_jti", nil
	}
	expiresAt := g.recordExpiry(claims)
	if !expiresAt.After(g.now()) {
		// Expired past the leeway: no gateway accepts it any more.
		return "expired", nil
	}
	if err := g.store.RevokeToken(r.Context(), claims.JTI, expiresAt); err != nil {
		g.metrics.storeError("revoke", err)
		g.log.ErrorContext(r.Context(), "oauth revocation could not be written", "client", cl.id, "error", err.Error())
		return "", err
	}
	g.metrics.revocations.WithLabelValues("token", "oauth").Inc()
	g.auditEvent(r, "revoke_token", actorOAuthClient+cl.id,
		slog.String("jti", claims.JTI), slog.String("subject", claims.Subject), slog.Time("expires_at", expiresAt.UTC()))
	return "revoked", nil
}

// issuedTo reports whether the token was issued to client id: its
// client_id (RFC 9068) or azp (OpenID Connect) claim names it.
func issuedTo(c *jwtverify.Claims, id string) bool {
	if c.Token == nil {
		return false
	}
	return stringClaim(c.Token, "client_id") == id || stringClaim(c.Token, "azp") == id
}
