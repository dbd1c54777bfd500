package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/revgate/revgate/gateway/jwtverify"

	"github.com/revgate/revgate/revocation"
)

// checkRefresh is the token step of an `auth: refresh` route: the token is
// the JSON body's `refresh` field (the body must be JSON, see
// requireJSONBody), checked like an access token but with
// refresh_required_claims. The body is forwarded unchanged. With reuse
// detection, a refresh token the upstream already accepted once revokes its
// whole subject, and the returned hook records one it accepts now as used.
func (g *Gateway) checkRefresh(r *http.Request) (*jwtverify.Claims, func(*http.Response) error, error) {
	if err := requireJSONBody(r); err != nil {
		return nil, nil, err
	}
	body, err := readBody(nil, r)
	if err != nil {
		return nil, nil, err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	raw, err := refreshMember(body)
	if err != nil {
		return nil, nil, err
	}
	if raw == "" {
		return nil, nil, jwtverify.NewTokenError(jwtverify.ErrNoToken)
	}
	claims, err := g.pipeline.authorize(r.Context(), raw, jwtverify.PurposeRefresh)
	if errors.Is(err, ErrReusedRefresh) {
		g.revokeReusedSubject(r, claims)
	}
	if err != nil || !g.cfg.JWT.RefreshReuseDetection || claims.JTI == "" {
		return claims, nil, err
	}
	return claims, func(resp *http.Response) error {
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return nil
		}
		// The upstream has answered; its answer goes to the client
		// whatever happens here, so a failure is logged, not returned.
		used, err := g.store.MarkUsed(resp.Request.Context(), claims.JTI, g.recordExpiry(claims))
		switch {
		case errors.Is(err, revocation.ErrNotReplicated):
			// Recorded on the master, and its answer stands.
			g.metrics.storeError("mark_used", err)
			g.log.WarnContext(r.Context(), "a used refresh token was recorded but not acknowledged by enough replicas", "error", err.Error())
		case err != nil:
			g.metrics.storeError("mark_used", err)
			g.log.ErrorContext(r.Context(), "recording a used refresh token failed; its reuse will not be detected", "error", err.Error())
			return nil
		}
		if !used {
			return nil
		}
		// Another request with this refresh token got through since
		// this one was checked: a replay that raced the first use. Its
		// new tokens never reach this client, and the subject's mark
		// revokes the other request's.
		g.revokeReusedSubject(r, claims)
		reused := &jwtverify.TokenError{Err: ErrReusedRefresh, Description: jwtverify.ErrTokenRevoked.Error()}
		replaceWithTokenError(resp, reused)
		return reused
	}, nil
}

// replaceWithTokenError turns the upstream's answer into the gateway's 401
// for te; the upstream's body (new tokens) is discarded unread.
func replaceWithTokenError(resp *http.Response, te *jwtverify.TokenError) {
	_ = resp.Body.Close()
	body, _ := json.Marshal(errorBody{Error: "invalid_token", Description: te.Description})
	resp.StatusCode, resp.Status = http.StatusUnauthorized, "401 Unauthorized"
	h := http.Header{
		"Content-Type":     {"application/json"},
		"Cache-Control":    {"no-store"},
		"Www-Authenticate": {invalidTokenChallenge(te.Description)},
	}
	// CORS headers stay, so a browser app sees the 401, not a CORS error;
	// everything else (Set-Cookie with the new tokens, say) goes.
	for name, v := range resp.Header {
		if strings.HasPrefix(name, "Access-Control-") || name == "Vary" {
			h[name] = v
		}
	}
	resp.Header = h
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.TransferEncoding = nil
	resp.Trailer = nil
}

// revokeReusedSubject answers a replayed refresh token (RFC 6819 5.2.2.3):
// somebody holds a copy of a rotated token, so every token of the subject is
// revoked.
func (g *Gateway) revokeReusedSubject(r *http.Request, claims *jwtverify.Claims) {
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

// errAmbiguousRefresh refuses a body in which more than one member could be
// the refresh token.
var errAmbiguousRefresh = fmt.Errorf(`%w: more than one member could be "refresh" (names differing only in case count)`, errBadBody)

// refreshMember returns the string member "refresh" of the JSON object body
// (simplejwt's TokenRefreshView), "" when there is none or body is not one
// JSON object. Other members belong to the issuer and are not checked.
//
// The issuer parses the body it is forwarded with its own JSON library,
// which matches member names exactly, and most take the last of repeated
// names; encoding/json matches names case-insensitively (folding U+017F to
// s, too). If the body held "refresh" twice, or "Refresh" beside it, the
// gateway could check one token while the issuer honors another, a revoked
// one: such a body is refused.
func refreshMember(body []byte) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return "", nil
	}
	var token string
	found := false
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return "", nil
		}
		name, _ := t.(string)
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return "", nil
		}
		if !strings.EqualFold(name, "refresh") {
			continue
		}
		if name != "refresh" || found {
			return "", errAmbiguousRefresh
		}
		found = true
		// A refresh that is not a string is no token.
		_ = json.Unmarshal(value, &token)
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return "", nil
	}
	if _, err := dec.Token(); err != io.EOF { // nothing after the object
		return "", nil
	}
	return token, nil
}
