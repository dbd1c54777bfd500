package gateway

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/revgate/revgate/config"
	"github.com/revgate/revgate/gateway/jwtverify"
)

// logoutBody is the optional body of the self-service logout endpoint.
type logoutBody struct {
	Refresh string `json:"refresh"`
	All     bool   `json:"all"`
}

// logoutResponse lists what was revoked: "access_token", "refresh_token",
// "all_sessions".
type logoutResponse struct {
	Status  string   `json:"status"`
	Revoked []string `json:"revoked"`
}

var (
	errLogoutNoJTI           = errors.New("token has no jti claim, so it cannot be revoked alone; send {\"all\": true} to log out everywhere")
	errLogoutRefreshNoJTI    = errors.New("refresh token has no jti claim, so it cannot be revoked alone")
	errLogoutNoSubject       = errors.New("token has no subject, so all: true cannot apply")
	errLogoutForeignRefresh  = errors.New("refresh token belongs to another subject")
	errLogoutMethod          = errors.New("logout takes POST")
	errLogoutInvalidRefresh  = errors.New("refresh token is not valid")
	errLogoutStoreFailedHalf = errors.New("revocation store failed part way; retry the logout")
)

// serveLogout is the self-service logout endpoint: the caller revokes its own
// token, optionally its refresh token, optionally every token of its subject.
// Everything is checked before anything is written, so a bad request revokes
// nothing. It is never forwarded upstream. It answers success itself and
// returns any refusal for the listener's refusal table.
func (g *Gateway) serveLogout(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return errLogoutMethod
	}
	claims, _, err := g.check(r, config.AuthRequired)
	if err != nil {
		return err
	}
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	var req logoutBody
	if len(body) > 0 {
		if err := decodeJSON(body, &req); err != nil {
			return err
		}
	}

	var refresh *jwtverify.Claims
	if req.Refresh != "" {
		refresh, err = g.verifier.Verify(r.Context(), req.Refresh, jwtverify.PurposeRefresh)
		switch {
		case err != nil:
			return errLogoutInvalidRefresh
		case refresh.Subject != claims.Subject || claims.Subject == "":
			// Two tokens without a subject are no evidence of one owner.
			return errLogoutForeignRefresh
		case refresh.JTI == "":
			return errLogoutRefreshNoJTI
		}
	}
	if claims.JTI == "" && !req.All {
		return errLogoutNoJTI
	}
	if req.All && claims.Subject == "" {
		return errLogoutNoSubject
	}

	resp := logoutResponse{Status: "logged_out", Revoked: []string{}}
	ctx := r.Context()
	subject := slog.String("subject", claims.Subject)
	if claims.JTI != "" {
		if err := g.store.RevokeToken(ctx, claims.JTI, g.recordExpiry(claims)); err != nil {
			return g.logoutStoreFailed(r, err, resp)
		}
		g.metrics.revocations.WithLabelValues("token", "logout").Inc()
		g.auditEvent(r, "revoke_token", actorSelfService, subject, slog.String("jti", claims.JTI))
		resp.Revoked = append(resp.Revoked, "access_token")
	}
	if refresh != nil {
		if err := g.store.RevokeToken(ctx, refresh.JTI, g.recordExpiry(refresh)); err != nil {
			return g.logoutStoreFailed(r, err, resp)
		}
		g.metrics.revocations.WithLabelValues("token", "logout").Inc()
		g.auditEvent(r, "revoke_token", actorSelfService, subject, slog.String("jti", refresh.JTI))
		resp.Revoked = append(resp.Revoked, "refresh_token")
	}
	if req.All {
		mark, err := g.store.MarkSubject(ctx, claims.Subject, g.now(), g.markTTL)
		if err != nil {
			return g.logoutStoreFailed(r, err, resp)
		}
		g.metrics.revocations.WithLabelValues("subject", "logout").Inc()
		g.auditEvent(r, "revoke_subject", actorSelfService, subject, slog.Time("revoked_before", mark.UTC()))
		resp.Revoked = append(resp.Revoked, "all_sessions")
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// logoutStoreFailed logs a store failure during the writes. Each write is
// idempotent, so the client retrying the same logout completes it.
func (g *Gateway) logoutStoreFailed(r *http.Request, err error, done logoutResponse) error {
	g.metrics.storeError("revoke", err)
	g.log.ErrorContext(r.Context(), "logout could not write to the revocation store", "error", err.Error(), "already_revoked", done.Revoked)
	return errLogoutStoreFailedHalf
}
