package gateway

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/revgate/revgate/gateway/adminapi"
	"github.com/revgate/revgate/gateway/jwtverify"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/revgate/revgate/config"
	"github.com/revgate/revgate/revocation"
)

// apiError is an admin API failure with the status and JSON body it becomes.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.message }

func fieldError(field, problem string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: adminapi.CodeInvalidRequest, message: field + ": " + problem}
}

func utf8Valid(s string) bool { return utf8.ValidString(s) }

var (
	errAdminNoToken       = &apiError{status: http.StatusUnauthorized, code: adminapi.CodeUnauthorized, message: "missing admin token (Authorization: Bearer <token>)"}
	errAdminBadToken      = &apiError{status: http.StatusUnauthorized, code: adminapi.CodeUnauthorized, message: "admin token not accepted"}
	errAdminFromBrowser   = &apiError{status: http.StatusForbidden, code: adminapi.CodeForbidden, message: "with admin.insecure_no_auth, requests from a browser page (an Origin header) are refused"}
	errAdminNotFound      = &apiError{status: http.StatusNotFound, code: adminapi.CodeNotRevoked, message: "no revocation recorded"}
	errAdminNoRoute       = &apiError{status: http.StatusNotFound, code: adminapi.CodeNoSuchEndpoint, message: "no such endpoint"}
	errAdminBadMethod     = &apiError{status: http.StatusMethodNotAllowed, code: adminapi.CodeMethodNotAllowed, message: "method not allowed on this endpoint"}
	errAdminTooLarge      = &apiError{status: http.StatusRequestEntityTooLarge, code: adminapi.CodeRequestTooLarge, message: errBodyTooLarge.Error()}
	errAdminStoreDown     = &apiError{status: http.StatusServiceUnavailable, code: adminapi.CodeStoreUnavailable, message: "revocation store unavailable; nothing was changed, retry"}
	errAdminNotReplicated = &apiError{status: http.StatusServiceUnavailable, code: adminapi.CodeNotReplicated,
		message: "the change was written but too few replicas acknowledged it (revocation.redis.min_replicas_ack); it may not survive a failover: retry"}
	errAdminInternal   = &apiError{status: http.StatusInternalServerError, code: adminapi.CodeInternal, message: "internal error"}
	errAdminBothTokens = fieldError("token", "give either token or jti, not both")
)

// adminActorKey holds the name of the admin token that authenticated a
// request, for audit events.
const adminActorKey = "revgate.actor"

// AdminHandler is the admin listener's handler: the admin API, /healthz,
// /readyz and /metrics.
func (g *Gateway) AdminHandler() http.Handler {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = g.adminError
	if g.cfg.Admin.InsecureNoAuth {
		// No token to require: only local Hosts (DNS rebinding).
		e.Pre(insecureHostGuard)
	}

	e.GET("/healthz", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	})
	e.GET("/readyz", g.readyz)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(g.gatherer, promhttp.HandlerOpts{})))

	v1 := e.Group("/v1", g.adminAuth())
	v1.GET("/keys", g.listKeys)
	v1.GET("/config", g.effectiveConfig)
	v1.POST("/revocations/tokens", g.revokeToken)
	v1.GET("/revocations/tokens/*", g.getToken)
	v1.DELETE("/revocations/tokens/*", g.unrevokeToken)
	v1.POST("/revocations/subjects/*", g.markSubject)
	v1.GET("/revocations/subjects/*", g.getSubject)
	v1.DELETE("/revocations/subjects/*", g.unmarkSubject)
	v1.POST("/revocations/sessions/*", g.revokeSession)
	v1.GET("/revocations/sessions/*", g.getSession)
	v1.DELETE("/revocations/sessions/*", g.unrevokeSession)
	v1.POST("/revocations/emails/*", g.markEmail)
	v1.GET("/revocations/emails/*", g.getEmail)
	v1.DELETE("/revocations/emails/*", g.unmarkEmail)
	v1.POST("/revocations/all", g.markGlobal)
	v1.GET("/revocations/all", g.getGlobal)
	v1.DELETE("/revocations/all", g.unmarkGlobal)
	if g.console != nil {
		if err := g.mountConsole(e, e); err != nil {
			// Only embedded templates can fail, and tests parse them.
			panic(err)
		}
	}
	return e
}

// adminError is the one place the admin listener turns errors into responses.
func (g *Gateway) adminError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var ae *apiError
	var he *echo.HTTPError
	switch {
	case errors.As(err, &ae):
	case errors.Is(err, errBodyTooLarge):
		ae = errAdminTooLarge
	case errors.Is(err, errBadBody):
		ae = &apiError{status: http.StatusBadRequest, code: adminapi.CodeInvalidRequest, message: err.Error()}
	case errors.Is(err, revocation.ErrNotFound):
		ae = errAdminNotFound
	case errors.Is(err, revocation.ErrNotReplicated):
		// The master holds the change, but too few replicas confirmed it
		// to be sure it survives a failover. Retrying is safe.
		g.metrics.storeError("admin", err)
		g.log.ErrorContext(c.Request().Context(), "admin change not acknowledged by enough replicas", "error", err.Error())
		ae = errAdminNotReplicated
	case errors.Is(err, revocation.ErrUnavailable):
		g.metrics.storeError("admin", err)
		g.log.ErrorContext(c.Request().Context(), "admin request failed: revocation store unavailable", "error", err.Error())
		ae = errAdminStoreDown
	case errors.As(err, &he) && he.Code == http.StatusNotFound:
		ae = errAdminNoRoute
	case errors.As(err, &he) && he.Code == http.StatusMethodNotAllowed:
		ae = errAdminBadMethod
	default:
		g.log.ErrorContext(c.Request().Context(), "admin request failed", "error", err.Error())
		ae = errAdminInternal
	}
	if ae.status == http.StatusUnauthorized {
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="revgate-admin"`)
	}
	_ = c.JSON(ae.status, adminapi.Error{Code: ae.code, Message: ae.message})
}

// adminAuth accepts the configured named bearer tokens. Tokens are compared
// as SHA-256 digests in constant time, every configured token every time, so
// neither a token's content nor its length leaks through timing.
func (g *Gateway) adminAuth() echo.MiddlewareFunc {
	tokenName := g.adminTokenName()
	insecure := g.cfg.Admin.InsecureNoAuth
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			// The console, signed in: it checked the session and the
			// CSRF token before calling.
			if a, ok := c.Request().Context().Value(consoleActorKey{}).(string); ok && a != "" {
				c.Set(adminActorKey, a)
				return next(c)
			}
			if insecure {
				// With no token to prove intent, a browser's cross-site
				// request (any page open on this machine) could revoke or
				// unrevoke: a request that names an origin is refused.
				if r := c.Request(); r.Header.Get("Origin") != "" || r.Header.Get("Sec-Fetch-Site") == "cross-site" {
					return errAdminFromBrowser
				}
				c.Set(adminActorKey, anonymousActor)
				return next(c)
			}
			h := c.Request().Header.Values("Authorization")
			if len(h) == 0 {
				return errAdminNoToken
			}
			scheme, presented, ok := strings.Cut(h[0], " ")
			if len(h) > 1 || !ok || !strings.EqualFold(scheme, "Bearer") {
				return errAdminBadToken
			}
			actor, ok := tokenName(presented)
			if !ok {
				g.log.WarnContext(c.Request().Context(), "admin token not accepted", "remote_addr", c.Request().RemoteAddr)
				return errAdminBadToken
			}
			c.Set(adminActorKey, actor)
			return next(c)
		}
	}
}

func actor(c echo.Context) string {
	a, _ := c.Get(adminActorKey).(string)
	return a
}

// readiness is the one readiness judgement, for /readyz and the gRPC
// health service: verification keys loaded, the store answering, not
// draining. checks names each, for /readyz's body.
func (g *Gateway) readiness(ctx context.Context) (checks map[string]string, ready bool) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	checks = map[string]string{"keys": "ok", "store": "ok"}
	ready = true
	if !g.verifier.Ready() {
		checks["keys"], ready = "no verification key loaded", false
	}
	if err := g.store.Ping(ctx); err != nil {
		checks["store"], ready = "not answering", false
	}
	if g.draining.Load() {
		checks["shutdown"], ready = "draining", false
	}
	return checks, ready
}

// readyz is 200 when verification keys are loaded, the store answers and the
// gateway is not draining; otherwise 503. The body names each check.
func (g *Gateway) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	checks, ready := g.readiness(ctx)
	body := map[string]any{"status": "ready", "checks": checks}
	if g.eviction != nil {
		policy, err := g.eviction(ctx)
		g.metrics.evictionPolicy(policy, err)
		switch {
		case err != nil:
			// The body is unauthenticated: Redis's own words go to the
			// log, not here.
			body["eviction_policy"] = "unknown: could not be read"
			// Probes call this every few seconds: warn once a minute.
			if now, last := g.now().Unix(), g.evictionWarned.Load(); last <= now-60 && g.evictionWarned.CompareAndSwap(last, now) {
				g.log.WarnContext(ctx, "reading the Redis maxmemory-policy failed (does the ACL allow CONFIG GET?)", "error", err.Error())
			}
		case policy != "noeviction":
			body["eviction_policy"] = policy + " (UNSAFE: revocations can be evicted, silently un-revoking tokens; set noeviction)"
		default:
			body["eviction_policy"] = policy
		}
	}
	if !ready {
		body["status"] = "not_ready"
		return c.JSON(http.StatusServiceUnavailable, body)
	}
	return c.JSON(http.StatusOK, body)
}

// pathValue returns the path-escaped value after prefix, unescaped.
func pathValue(c echo.Context, prefix, field string, max int) (string, error) {
	escaped := c.Request().URL.EscapedPath()
	i := strings.Index(escaped, prefix)
	if i < 0 {
		return "", fieldError(field, "missing")
	}
	v, err := url.PathUnescape(escaped[i+len(prefix):])
	if err != nil {
		return "", fieldError(field, "invalid path escaping")
	}
	return v, checkText(field, v, max, true)
}

// readAdminBody decodes an optional strict JSON body into v.
func readAdminBody(c echo.Context, v any) error {
	b, err := readBody(c.Response(), c.Request())
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	return decodeJSON(b, v)
}

func (g *Gateway) revokeToken(c echo.Context) error {
	var req adminapi.RevokeToken
	if err := readAdminBody(c, &req); err != nil {
		return err
	}
	if err := checkText("reason", req.Reason, maxReasonBytes, false); err != nil {
		return err
	}
	var jti string
	var expiresAt time.Time
	switch {
	case req.Token != "" && req.JTI != "":
		return errAdminBothTokens
	case req.Token != "":
		if len(req.ExpiresAt) > 0 {
			return fieldError("expires_at", "not allowed with token: the token's own exp is used")
		}
		claims, err := g.verifier.Verify(c.Request().Context(), req.Token, jwtverify.PurposeRevoke)
		if err != nil {
			var te *jwtverify.TokenError
			if errors.As(err, &te) {
				return fieldError("token", te.Description)
			}
			return err
		}
		if claims.JTI == "" {
			return fieldError("token", "token has no jti claim; revoke its subject instead")
		}
		jti, expiresAt = claims.JTI, g.recordExpiry(claims)
	case req.JTI != "":
		if err := checkText("jti", req.JTI, maxJTIBytes, true); err != nil {
			return err
		}
		exp, err := parseTime("expires_at", req.ExpiresAt)
		if err != nil {
			return err
		}
		if latest := g.latestExpiry(); exp.Add(g.cfg.JWT.Leeway).After(latest) {
			return fieldError("expires_at", "later than "+latest.Add(-g.cfg.JWT.Leeway).UTC().Format(time.RFC3339)+
				": no token this gateway accepts lives past now plus max_token_lifetime ("+g.cfg.Revocation.MaxTokenLifetime.String()+")")
		}
		jti, expiresAt = req.JTI, g.jtiExpiry(exp)
	default:
		return fieldError("token", "give token (a JWT) or jti")
	}
	now := g.now().Truncate(time.Second)
	if err := g.store.RevokeToken(c.Request().Context(), jti, expiresAt); err != nil {
		return err
	}
	g.metrics.revocations.WithLabelValues("token", "admin").Inc()
	g.auditEvent(c.Request(), "revoke_token", actor(c), slog.String("jti", jti),
		slog.Time("expires_at", expiresAt.UTC()), slog.String("reason", req.Reason))
	return c.JSON(http.StatusOK, adminapi.Token{JTI: jti, ExpiresAt: expiresAt.UTC().Truncate(time.Second), RevokedAt: now.UTC()})
}

const (
	tokensPrefix   = "/v1/revocations/tokens/"
	subjectsPrefix = "/v1/revocations/subjects/"
)

func (g *Gateway) getToken(c echo.Context) error {
	jti, err := pathValue(c, tokensPrefix, "jti", maxJTIBytes)
	if err != nil {
		return err
	}
	rec, err := g.store.GetToken(c.Request().Context(), jti)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, adminapi.Token{JTI: rec.JTI, ExpiresAt: rec.ExpiresAt.UTC(), Revoked: true})
}

func (g *Gateway) unrevokeToken(c echo.Context) error {
	jti, err := pathValue(c, tokensPrefix, "jti", maxJTIBytes)
	if err != nil {
		return err
	}
	reason, err := unrevokeReason(c)
	if err != nil {
		return err
	}
	if err := g.store.UnrevokeToken(c.Request().Context(), jti); err != nil {
		return err
	}
	g.auditEvent(c.Request(), "unrevoke_token", actor(c), append([]slog.Attr{slog.String("jti", jti)}, reason...)...)
	return c.NoContent(http.StatusNoContent)
}

// readMark reads a mark request; the mark defaults to now and may not lie
// further ahead than the longest token lifetime (a mistaken far-future mark
// would lock a user out for as long, and marks only move forward).
func (g *Gateway) readMark(c echo.Context) (time.Time, string, error) {
	var req adminapi.RevokeMark
	if err := readAdminBody(c, &req); err != nil {
		return time.Time{}, "", err
	}
	if err := checkText("reason", req.Reason, maxReasonBytes, false); err != nil {
		return time.Time{}, "", err
	}
	now := g.now().Truncate(time.Second)
	mark, err := parseTime("before", req.Before)
	if err != nil {
		return time.Time{}, "", err
	}
	if mark.IsZero() {
		mark = now
	}
	if mark.After(now.Add(g.cfg.Revocation.MaxTokenLifetime)) {
		return time.Time{}, "", fieldError("before", "more than max_token_lifetime ("+g.cfg.Revocation.MaxTokenLifetime.String()+") in the future")
	}
	return mark, req.Reason, nil
}

func (g *Gateway) markSubject(c echo.Context) error {
	subject, err := pathValue(c, subjectsPrefix, "subject", maxSubjectBytes)
	if err != nil {
		return err
	}
	mark, reason, err := g.readMark(c)
	if err != nil {
		return err
	}
	got, err := g.store.MarkSubject(c.Request().Context(), subject, mark, g.markTTL)
	if err != nil {
		return err
	}
	g.metrics.revocations.WithLabelValues("subject", "admin").Inc()
	g.auditEvent(c.Request(), "revoke_subject", actor(c), slog.String("subject", subject),
		slog.Time("revoked_before", got.UTC()), slog.String("reason", reason))
	return c.JSON(http.StatusOK, adminapi.Mark{Subject: subject, RevokedBefore: got.UTC()})
}

func (g *Gateway) getSubject(c echo.Context) error {
	subject, err := pathValue(c, subjectsPrefix, "subject", maxSubjectBytes)
	if err != nil {
		return err
	}
	mark, err := g.store.GetSubject(c.Request().Context(), subject)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, adminapi.Mark{Subject: subject, RevokedBefore: mark.UTC()})
}

func (g *Gateway) unmarkSubject(c echo.Context) error {
	subject, err := pathValue(c, subjectsPrefix, "subject", maxSubjectBytes)
	if err != nil {
		return err
	}
	reason, err := unrevokeReason(c)
	if err != nil {
		return err
	}
	if err := g.store.UnmarkSubject(c.Request().Context(), subject); err != nil {
		return err
	}
	g.auditEvent(c.Request(), "unrevoke_subject", actor(c), append([]slog.Attr{slog.String("subject", subject)}, reason...)...)
	return c.NoContent(http.StatusNoContent)
}

func (g *Gateway) markGlobal(c echo.Context) error {
	mark, reason, err := g.readMark(c)
	if err != nil {
		return err
	}
	got, err := g.store.MarkGlobal(c.Request().Context(), mark, g.markTTL)
	if err != nil {
		return err
	}
	g.metrics.revocations.WithLabelValues("global", "admin").Inc()
	g.auditEvent(c.Request(), "revoke_all", actor(c), slog.Time("revoked_before", got.UTC()), slog.String("reason", reason))
	return c.JSON(http.StatusOK, adminapi.Mark{RevokedBefore: got.UTC()})
}

func (g *Gateway) getGlobal(c echo.Context) error {
	mark, err := g.store.GetGlobal(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, adminapi.Mark{RevokedBefore: mark.UTC()})
}

func (g *Gateway) unmarkGlobal(c echo.Context) error {
	reason, err := unrevokeReason(c)
	if err != nil {
		return err
	}
	if err := g.store.UnmarkGlobal(c.Request().Context()); err != nil {
		return err
	}
	g.auditEvent(c.Request(), "unrevoke_all", actor(c), reason...)
	return c.NoContent(http.StatusNoContent)
}

// listKeys answers GET /v1/keys: which verification keys are loaded, from
// where and since when.
func (g *Gateway) listKeys(c echo.Context) error {
	infos := g.verifier.Keys()
	keys := make([]adminapi.Key, 0, len(infos))
	for _, k := range infos {
		keys = append(keys, adminapi.Key{KID: k.KID, Alg: k.Alg, Source: k.Source, FetchedAt: k.FetchedAt.UTC()})
	}
	return c.JSON(http.StatusOK, map[string]any{"keys": keys})
}

// effectiveConfig answers GET /v1/config with the effective configuration,
// secrets redacted: the same YAML `revgate config check` prints.
func (g *Gateway) effectiveConfig(c echo.Context) error {
	var buf bytes.Buffer
	if err := config.WriteYAML(&buf, g.cfg.Redacted()); err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "application/yaml", buf.Bytes())
}
