package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/revgate/revgate/config"
)

// eventBackchannelLogout is the events member every logout token carries
// (OpenID Connect Back-Channel Logout 1.0 §2.4).
const eventBackchannelLogout = "http://schemas.openid.net/event/backchannel-logout"

// actorOIDC prefixes the issuer in audit events of back-channel logouts.
const actorOIDC = "oidc:"

// backchannelClaims are the logout token claims read from Claims.Token
// beyond the verifier's own: each may then appear only once.
var backchannelClaims = []string{"events", "nonce", "sid"}

// usedLogoutPrefix starts the replay record of a logout token's jti. Its
// first byte is not UTF-8, and the verifier refuses a jti that is not, so
// no refresh token's used record can ever share its key.
const usedLogoutPrefix = "\xffbcl:"

// backchannel is the OpenID Connect Back-Channel Logout 1.0 receiver.
type backchannel struct {
	path     string
	issuers  []string
	audience []string
	maxAge   time.Duration
	requests *prometheus.CounterVec
}

func newBackchannel(c *config.Config, reg prometheus.Registerer) (*backchannel, error) {
	b := &c.BackchannelLogout
	if !b.Enabled() {
		return nil, nil
	}
	bc := &backchannel{path: b.Path, maxAge: b.MaxAge,
		issuers: nonEmptyStrings(c.JWT.Issuer), audience: nonEmptyStrings(b.Audience)}
	bc.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "revgate", Name: "backchannel_logout_requests_total",
		Help: "OpenID Connect Back-Channel Logout requests by result (accepted, invalid_request, invalid_token, replayed, keys_unavailable, store_unavailable, client_closed).",
	}, []string{"result"})
	var err error
	if bc.requests, err = registerCounterVec(reg, bc.requests); err != nil {
		return nil, err
	}
	return bc, nil
}

// owns reports whether clean is the receiver's path.
func (b *backchannel) owns(clean string) bool { return b != nil && isOwnPath(clean, b.path) }

// logoutToken is what a validated logout token asks for.
type logoutToken struct {
	iss, sub, sid, jti string
	iat                time.Time
}

var errLogoutNoToken = invalidRequest(http.StatusBadRequest, "logout_token is required")

// invalidLogoutToken refuses a logout token: 400 invalid_request, as §2.8
// asks, with what failed.
func invalidLogoutToken(desc string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_request", "logout token " + desc, "invalid_token"}
}

var errLogoutReplayed = &oauthError{http.StatusBadRequest, "invalid_request", "logout token already used (jti replayed)", "replayed"}

// serveBackchannel answers one back-channel logout request and returns the
// proxy outcome. It is never forwarded upstream.
func (g *Gateway) serveBackchannel(w http.ResponseWriter, r *http.Request) string {
	err := g.backchannelLogout(w, r)
	result, outcome := "accepted", OutcomeAllowed
	if err != nil {
		oe := g.pushRefusal(r, err, "back-channel logout failed")
		writeOAuthError(w, oe)
		result, outcome = oe.answer, oe.proxyOutcome()
	}
	g.bcl.requests.WithLabelValues(result).Inc()
	return outcome
}

// backchannelLogout validates the logout token (everything before anything
// is written), refuses a jti already used, revokes, then records the jti.
// Revoking before recording keeps a failed write retryable: the identity
// provider resends the same token after a 503, and the revocation is
// idempotent.
func (g *Gateway) backchannelLogout(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return errOAuthMethod
	}
	form, err := readOAuthForm(w, r)
	if err != nil {
		return err
	}
	raw := form["logout_token"]
	if len(raw) != 1 || raw[0] == "" {
		return errLogoutNoToken
	}
	lt, err := g.validateLogoutToken(r.Context(), raw[0])
	if err != nil {
		return err
	}
	replayed, err := g.applyOnce(r.Context(), pushedKey(usedLogoutPrefix, lt.iss, lt.jti),
		func() time.Time { return lt.iat.Add(g.bcl.maxAge + g.cfg.JWT.Leeway) },
		func() error { return g.revokeLoggedOut(r, lt) })
	if err != nil {
		return err
	}
	if replayed {
		return errLogoutReplayed
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
	return nil
}

// revokeLoggedOut revokes what the logout token names, with its audit
// event: the session when it has a sid, else the subject's tokens issued
// until the logout.
func (g *Gateway) revokeLoggedOut(r *http.Request, lt *logoutToken) error {
	ctx, actor := r.Context(), actorOIDC+lt.iss
	if lt.sid != "" {
		until := g.now().Add(g.markTTL)
		if err := g.store.RevokeSession(ctx, lt.sid, until); err != nil {
			g.metrics.storeError("revoke", err)
			return err
		}
		g.metrics.revocations.WithLabelValues("session", "backchannel_logout").Inc()
		attrs := []slog.Attr{slog.String("session", lt.sid)}
		// Hydra's logout tokens have no sub: no empty subject in the event.
		if lt.sub != "" {
			attrs = append(attrs, slog.String("subject", lt.sub))
		}
		g.auditEvent(r, "revoke_session", actor, append(attrs,
			slog.String("logout_jti", lt.jti), slog.Time("expires_at", until.UTC()))...)
		return nil
	}
	mark, err := g.store.MarkSubject(ctx, lt.sub, lt.iat, g.markTTL)
	if err != nil {
		g.metrics.storeError("revoke", err)
		return err
	}
	g.metrics.revocations.WithLabelValues("subject", "backchannel_logout").Inc()
	g.auditEvent(r, "revoke_subject", actor, slog.String("subject", lt.sub),
		slog.String("logout_jti", lt.jti), slog.Time("revoked_before", mark.UTC()))
	return nil
}

// validateLogoutToken applies OpenID Connect Back-Channel Logout 1.0 §2.6
// and the SPEC to raw.
func (g *Gateway) validateLogoutToken(ctx context.Context, raw string) (*logoutToken, error) {
	if err := checkLogoutTyp(raw); err != nil {
		return nil, err
	}
	c, err := g.verifyPushed(ctx, raw, invalidLogoutToken)
	if err != nil {
		return nil, err
	}
	tok := c.Token
	b, now, leeway := g.bcl, g.now(), g.cfg.JWT.Leeway
	lt := &logoutToken{iss: tok.Issuer(), sub: tok.Subject(), jti: c.JTI, iat: c.IssuedAt}
	switch {
	case !slices.Contains(b.issuers, lt.iss):
		return nil, invalidLogoutToken("issuer not accepted")
	case !slices.ContainsFunc(tok.Audience(), func(a string) bool { return slices.Contains(b.audience, a) }):
		return nil, invalidLogoutToken("audience not accepted")
	case c.IssuedAt.IsZero():
		return nil, invalidLogoutToken(`has no "iat"`)
	case c.IssuedAt.After(now.Add(leeway)):
		return nil, invalidLogoutToken("issued in the future")
	case now.Sub(c.IssuedAt) > b.maxAge+leeway:
		return nil, invalidLogoutToken("too old (iat before backchannel_logout.max_age)")
	case !c.ExpiresAt.IsZero() && !now.Before(c.ExpiresAt.Add(leeway)):
		return nil, invalidLogoutToken("expired")
	case lt.jti == "":
		return nil, invalidLogoutToken(`has no "jti"`)
	}
	if _, ok := tok.Get("nonce"); ok {
		return nil, invalidLogoutToken(`must not contain "nonce"`)
	}
	events, _ := tok.Get("events")
	evs, ok := events.(map[string]any)
	if !ok {
		return nil, invalidLogoutToken(`has no "events" object: not a logout token`)
	}
	if ev, ok := evs[eventBackchannelLogout].(map[string]any); !ok || ev == nil {
		return nil, invalidLogoutToken(`"events" has no back-channel logout event object`)
	}
	if v, ok := tok.Get("sid"); ok {
		sid, isString := v.(string)
		if !isString {
			return nil, invalidLogoutToken(`"sid" is not a string`)
		}
		lt.sid = sid
	}
	if lt.sid == "" && lt.sub == "" {
		return nil, invalidLogoutToken(`has neither "sub" nor "sid"`)
	}
	return lt, nil
}

// checkLogoutTyp refuses a header typ other than absent, JWT or
// logout+jwt (§2.4 explicit typing; the "application/" prefix may be
// omitted and media types compare case-insensitively, RFC 7515 §4.1.9).
// A second typ is refused rather than read either way. The verifier reads
// the header's alg and kid itself.
func checkLogoutTyp(raw string) error {
	typ, ok, err := jwtHeaderTyp(raw)
	if err != nil {
		return invalidLogoutToken(err.Error())
	}
	if ok && typ != "jwt" && typ != "logout+jwt" {
		return invalidLogoutToken(`header "typ" must be absent, "JWT" or "logout+jwt"`)
	}
	return nil
}
