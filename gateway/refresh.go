package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
)

// refreshBody is the body of simplejwt's TokenRefreshView.
type refreshBody struct {
	Refresh string `json:"refresh"`
}

// authorizeRefresh handles an `auth: refresh` route: the token is the JSON
// body's `refresh` field, checked like an access token but with
// refresh_required_claims. The body is forwarded unchanged. With reuse
// detection, a refresh token the upstream already accepted once revokes its
// whole subject, and one it accepts now is recorded as used.
func (g *Gateway) authorizeRefresh(r *http.Request, fi *forwardInfo) (*Claims, error) {
	body, err := readBody(nil, r)
	if err != nil {
		return nil, err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	// Other fields belong to the issuer, so this decoding is not strict.
	var doc refreshBody
	if len(body) == 0 || json.Unmarshal(body, &doc) != nil || doc.Refresh == "" {
		return nil, tokenError(ErrNoToken)
	}
	claims, err := g.pipeline.authorize(r.Context(), doc.Refresh, PurposeRefresh)
	if errors.Is(err, ErrReusedRefresh) {
		g.revokeReusedSubject(r, claims)
	}
	if err != nil {
		return claims, err
	}
	if g.cfg.JWT.RefreshReuseDetection && claims.JTI != "" {
		fi.onResponse = func(resp *http.Response) error {
			if resp.StatusCode < 200 || resp.StatusCode > 299 {
				return nil
			}
			// The upstream has answered; its answer goes to the client
			// whatever happens here, so a failure is logged, not returned.
			if err := g.store.MarkUsed(resp.Request.Context(), claims.JTI, g.recordExpiry(claims)); err != nil {
				g.metrics.storeError("mark_used", err)
				g.log.ErrorContext(r.Context(), "recording a used refresh token failed; its reuse will not be detected", "error", err.Error())
			}
			return nil
		}
	}
	return claims, nil
}

// revokeReusedSubject answers a replayed refresh token (RFC 6819 5.2.2.3):
// somebody holds a copy of a rotated token, so every token of the subject is
// revoked.
func (g *Gateway) revokeReusedSubject(r *http.Request, claims *Claims) {
	if claims.Subject == "" {
		g.log.WarnContext(r.Context(), "reused refresh token has no subject; nothing more to revoke")
		return
	}
	mark, err := g.store.MarkSubject(r.Context(), claims.Subject, g.now(), g.markTTL)
	if err != nil {
		g.metrics.storeError("mark_subject", err)
		g.log.ErrorContext(r.Context(), "revoking the subject of a reused refresh token failed", "error", err.Error())
		return
	}
	g.metrics.revocations.WithLabelValues("subject", "reuse_detection").Inc()
	g.auditEvent(r, "refresh_reuse_detected", "reuse-detection",
		slog.String("subject", claims.Subject), slog.String("jti", claims.JTI), slog.Time("revoked_before", mark.UTC()))
}
