package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/revgate/revgate/config"
	"github.com/revgate/revgate/revocation"
)

// The Global Token Revocation endpoint
// (draft-parecki-oauth-global-token-revocation, Okta Universal Logout): the
// identity provider POSTs {"sub_id": <RFC 9493 subject identifier>},
// authenticated by a bearer JWT it signed for this endpoint's URL, and the
// subject's mark moves to now. The draft leaves bodies undefined and Okta
// reads only the status, so errors carry the OAuth-style JSON every other
// front door sends.

// actorGlobalRevocation prefixes the bearer JWT's issuer in audit events.
const actorGlobalRevocation = "global_revocation:"

// usedGTRPrefix starts the replay record of a bearer JWT's jti. Its first
// byte is not UTF-8, and the verifier refuses a jti that is not, so no
// refresh token's used record can share its key; "gtr:" keeps it apart
// from back-channel logout's.
const usedGTRPrefix = "\xffgtr:"

// gtrTyps are the bearer JWT header typ values accepted besides none:
// Okta's own, and plain JWT. An access token (at+jwt) or a logout token
// (logout+jwt) is refused even when its aud would match. typ alone cannot
// tell a bearer from an access token (many providers sign those as JWT or
// with no typ), and the draft defines none, so requiring Okta's would
// refuse other providers without closing the gap: the sub check against
// global_revocation.client_ids is what does.
var gtrTyps = []string{"jwt", "global-token-revocation+jwt"}

// globalRevocation is the endpoint's state; nil when it is off.
type globalRevocation struct {
	path       string
	audience   string
	emailClaim string
	issuers    []string
	clientIDs  []string
	requests   *prometheus.CounterVec
}

func newGlobalRevocation(c *config.Config, reg prometheus.Registerer) (*globalRevocation, error) {
	g := &c.GlobalRevocation
	if !g.Enabled() {
		return nil, nil
	}
	gr := &globalRevocation{path: g.Path, audience: g.Audience, emailClaim: g.EmailClaim,
		clientIDs: nonEmptyStrings(g.ClientIDs), issuers: nonEmptyStrings(c.JWT.Issuer)}
	gr.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "revgate", Name: "global_revocation_requests_total",
		Help: "Global Token Revocation requests by result (accepted, no_token, invalid_token, replayed, invalid_request, keys_unavailable, store_unavailable, client_closed).",
	}, []string{"result"})
	var err error
	if gr.requests, err = registerCounterVec(reg, gr.requests); err != nil {
		return nil, err
	}
	return gr, nil
}

// owns reports whether clean is the endpoint's path.
func (gr *globalRevocation) owns(clean string) bool {
	return gr != nil && isOwnPath(clean, gr.path)
}

// The endpoint's refusals beyond the OAuth table's (method, body size,
// store, client gone). A 401 carries a Bearer challenge (RFC 6750 §3).
var (
	errGTRNoBearer = &oauthError{http.StatusUnauthorized, "unauthorized", "a bearer JWT is required (Authorization: Bearer <JWT>)", "no_token"}
	errGTRReplayed = &oauthError{http.StatusUnauthorized, "invalid_token", "bearer token already used (jti replayed)", "replayed"}
)

// invalidGTRBearer refuses the bearer JWT: 401 invalid_token.
func invalidGTRBearer(desc string) *oauthError {
	return &oauthError{http.StatusUnauthorized, "invalid_token", "bearer token " + desc, "invalid_token"}
}

// badGTRRequest refuses the body: 400 invalid_request.
func badGTRRequest(desc string) *oauthError {
	return invalidRequest(http.StatusBadRequest, desc)
}

// serveGlobalRevocation answers one request and returns the proxy
// outcome. It is never forwarded upstream.
func (g *Gateway) serveGlobalRevocation(w http.ResponseWriter, r *http.Request) string {
	err := g.globalRevocation(w, r)
	result, outcome := "accepted", OutcomeAllowed
	if err != nil {
		oe := g.pushRefusal(r, err, "global token revocation failed")
		writeGTRError(w, oe)
		result, outcome = oe.answer, gtrOutcome(oe)
	}
	g.gtr.requests.WithLabelValues(result).Inc()
	return outcome
}

// gtrBearer is what a verified bearer JWT contributes.
type gtrBearer struct {
	iss, jti string
	exp      time.Time
}

// globalRevocation authenticates the request first (Okta: 401 before
// anything about the body), reads the subject, refuses a bearer JWT
// already used, marks, then records the jti. Marking before recording
// keeps a failed write retryable with the same JWT, and the mark is
// idempotent.
func (g *Gateway) globalRevocation(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return errOAuthMethod
	}
	raw, err := bearerCredential(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	b, err := g.verifyGTRBearer(ctx, raw)
	if err != nil {
		return err
	}
	body, err := readJSONBody(w, r)
	if err != nil {
		return err
	}
	sub, err := parseSubjectIdentifier(body)
	if err != nil {
		return err
	}
	switch sub.format {
	case formatIssSub:
		// An issuer revokes only its own subjects: with several in
		// jwt.issuer, one must not reach another's users. The bearer's iss
		// is one of jwt.issuer, so this also keeps other issuers out.
		if sub.iss != b.iss {
			return badGTRRequest(`sub_id "iss" must equal the bearer JWT's "iss": an issuer revokes only its own subjects`)
		}
	case formatEmail:
		if g.gtr.emailClaim == "" {
			return badGTRRequest(`unsupported subject format "email": global_revocation.email_claim is not set`)
		}
	}

	replayed, err := g.applyOnce(ctx, pushedKey(usedGTRPrefix, b.iss, b.jti),
		func() time.Time { return b.exp.Add(g.cfg.JWT.Leeway) },
		func() error { return g.markGTRSubject(r, b, sub) })
	if err != nil {
		return err
	}
	if replayed {
		return errGTRReplayed
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// bearerCredential returns the JWT of "Authorization: Bearer <JWT>". No
// header, or another scheme, is no credential (RFC 6750 §3.1: no error
// code); two headers are refused rather than one of them read.
func bearerCredential(r *http.Request) (string, error) {
	authz := r.Header.Values("Authorization")
	switch len(authz) {
	case 0:
		return "", errGTRNoBearer
	case 1:
	default:
		return "", invalidGTRBearer("malformed: more than one Authorization header")
	}
	scheme, cred, _ := strings.Cut(authz[0], " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", errGTRNoBearer
	}
	if cred = strings.TrimSpace(cred); cred == "" {
		return "", errGTRNoBearer
	}
	return cred, nil
}

// verifyGTRBearer checks the bearer JWT: signature and algorithm with the
// jwt.* keys, typ, then the claims Okta documents for it (iss, sub the
// app's client id, aud the endpoint URL, exp five minutes ahead, nbf, iat,
// jti). The sub check is what sets the bearer apart from an access token
// the same issuer signed for this URL: any client able to ask for that
// audience could otherwise revoke every user. Only sub is read, not azp
// or client_id: Okta documents sub, and in an access token those claims
// name the client a user's token was issued to, so reading them would
// let that client's users' tokens in.
func (g *Gateway) verifyGTRBearer(ctx context.Context, raw string) (*gtrBearer, error) {
	if typ, ok, err := jwtHeaderTyp(raw); err != nil {
		return nil, invalidGTRBearer(err.Error())
	} else if ok && !slices.Contains(gtrTyps, typ) {
		return nil, invalidGTRBearer(`header "typ" must be absent, "JWT" or "global-token-revocation+jwt"`)
	}
	c, err := g.verifyPushed(ctx, raw, invalidGTRBearer)
	if err != nil {
		return nil, err
	}
	tok := c.Token
	gr, now, leeway := g.gtr, g.now(), g.cfg.JWT.Leeway
	b := &gtrBearer{iss: tok.Issuer(), jti: c.JTI, exp: c.ExpiresAt}
	switch {
	case !slices.Contains(gr.issuers, b.iss):
		return nil, invalidGTRBearer("issuer not accepted")
	case !slices.Contains(tok.Audience(), gr.audience):
		return nil, invalidGTRBearer("audience not accepted (global_revocation.audience)")
	case !slices.Contains(gr.clientIDs, tok.Subject()):
		return nil, invalidGTRBearer(`"sub" is not a client allowed to call this endpoint (global_revocation.client_ids)`)
	case b.exp.IsZero():
		return nil, invalidGTRBearer(`has no "exp"`)
	case !now.Before(b.exp.Add(leeway)):
		return nil, invalidGTRBearer("expired")
	case b.exp.Sub(now) > g.cfg.Revocation.MaxTokenLifetime:
		// Its replay record lives until exp: bounded like every record.
		return nil, invalidGTRBearer("expires more than max_token_lifetime from now")
	case !c.IssuedAt.IsZero() && c.IssuedAt.After(now.Add(leeway)):
		return nil, invalidGTRBearer("issued in the future")
	case !tok.NotBefore().IsZero() && tok.NotBefore().After(now.Add(leeway)):
		return nil, invalidGTRBearer("not yet valid")
	case b.jti == "":
		return nil, invalidGTRBearer(`has no "jti"`)
	}
	return b, nil
}

// writeGTRError writes a refusal: the OAuth-style JSON body, with the
// Bearer challenge of RFC 6750 §3 on a 401 and Retry-After on a 503.
func writeGTRError(w http.ResponseWriter, oe *oauthError) {
	if oe.code == "" {
		w.WriteHeader(oe.status)
		return
	}
	switch {
	case oe == errGTRNoBearer:
		w.Header().Set("WWW-Authenticate", `Bearer realm="revgate"`)
	case oe.status == http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="revgate", `+strings.TrimPrefix(invalidTokenChallenge(oe.description), "Bearer "))
	case oe.status == http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", oauthRetryAfter)
	}
	writeJSON(w, oe.status, errorBody{Error: oe.code, Description: oe.description})
}

// gtrOutcome is how an answer counts in revgate_requests_total.
func gtrOutcome(oe *oauthError) string {
	switch {
	case oe == errGTRNoBearer:
		return OutcomeNoToken
	case oe.status == http.StatusUnauthorized:
		return OutcomeInvalidToken
	}
	return oe.proxyOutcome()
}

// markGTRSubject sets the mark of the request's subject (or address) to
// now, with its audit event.
func (g *Gateway) markGTRSubject(r *http.Request, b *gtrBearer, sub *subjectIdentifier) error {
	ctx, now, actor := r.Context(), g.now(), actorGlobalRevocation+b.iss
	if sub.format == formatEmail {
		mark, err := g.store.MarkEmail(ctx, sub.value, now, g.markTTL)
		if err != nil {
			g.metrics.storeError("revoke", err)
			return err
		}
		g.metrics.revocations.WithLabelValues("email", "global_revocation").Inc()
		// The address as the mark is kept (and as the admin API and the
		// trail name it), whatever case the provider sent.
		g.auditEvent(r, "revoke_email", actor, slog.String("email", revocation.CanonicalEmail(sub.value)),
			slog.String("request_jti", b.jti), slog.Time("revoked_before", mark.UTC()))
		return nil
	}
	mark, err := g.store.MarkSubject(ctx, sub.value, now, g.markTTL)
	if err != nil {
		g.metrics.storeError("revoke", err)
		return err
	}
	g.metrics.revocations.WithLabelValues("subject", "global_revocation").Inc()
	g.auditEvent(r, "revoke_subject", actor, slog.String("subject", sub.value),
		slog.String("request_jti", b.jti), slog.Time("revoked_before", mark.UTC()))
	return nil
}
