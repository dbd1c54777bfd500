package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/revgate/revgate/gateway/jwtverify"

	"github.com/revgate/revgate/revocation"
)

// Outcomes name a request's fate in metrics and access logs.
const (
	OutcomeAllowed          = "allowed"
	OutcomeNoToken          = "no_token"
	OutcomeInvalidToken     = "invalid_token"
	OutcomeRevokedJTI       = "revoked_jti"
	OutcomeRevokedSubject   = "revoked_subject"
	OutcomeRevokedGlobal    = "revoked_global"
	OutcomeRevokedSession   = "revoked_session"
	OutcomeRevokedEmail     = "revoked_email"
	OutcomeRefreshReused    = "refresh_reused"
	OutcomeStoreUnavailable = "store_unavailable"
	OutcomeStoreFailOpen    = "store_fail_open"
	OutcomeUpstreamError    = "upstream_error"
	OutcomeClientClosed     = "client_closed"
	OutcomeBadRequest       = "bad_request"
)

// errCircuitOpen fails store lookups fast while the store is known to be
// down (see breaker.go). It wraps revocation.ErrUnavailable, so it is
// answered like any store outage.
var errCircuitOpen = fmt.Errorf("%w: circuit open after repeated failures", revocation.ErrUnavailable)

// Proxy listener errors that are not about the token.
var (
	errUpstreamUnreachable = errors.New("upstream unreachable")
	errUpstreamTimeout     = errors.New("upstream timed out")
	errClientGone          = errors.New("client closed the request")
)

// refusal is how the proxy listener answers one class of error, and how
// the request is counted: the status, the body's error code and the
// metric outcome come from one row, so they cannot drift apart.
type refusal struct {
	status int
	// code is the JSON body's "error"; "" writes no body (the client has
	// gone).
	code    string
	outcome string
	// describe gives error_description; nil means err.Error().
	describe func(error) string
	// challenge, when set, gives WWW-Authenticate.
	challenge func(error) string
}

// refusalRow matches errors to a refusal.
type refusalRow struct {
	is func(error) bool
	refusal
}

// proxyRefusals is the proxy listener's one table from error to answer,
// matched in order: the first row whose is reports true wins, so a
// sentinel wrapped in another (ErrNoToken in a *TokenError, a reused
// refresh token in ErrTokenRevoked) comes before the row of its wrapper.
var proxyRefusals = []refusalRow{
	{isErr(jwtverify.ErrNoToken), refusal{http.StatusUnauthorized, "unauthorized", OutcomeNoToken, fixed("no token"), fixed(`Bearer realm="revgate"`)}},
	{isErr(ErrRevokedJTI), tokenRefusal(OutcomeRevokedJTI)},
	{isErr(ErrRevokedSubject), tokenRefusal(OutcomeRevokedSubject)},
	{isErr(ErrRevokedGlobal), tokenRefusal(OutcomeRevokedGlobal)},
	{isErr(ErrRevokedSession), tokenRefusal(OutcomeRevokedSession)},
	{isErr(ErrRevokedEmail), tokenRefusal(OutcomeRevokedEmail)},
	{isErr(ErrReusedRefresh), tokenRefusal(OutcomeRefreshReused)},
	{isTokenError, tokenRefusal(OutcomeInvalidToken)},
	{isErr(errLogoutStoreFailedHalf), refusal{http.StatusServiceUnavailable, "revocation_unavailable", OutcomeStoreUnavailable, nil, nil}},
	{isErr(revocation.ErrUnavailable), refusal{http.StatusServiceUnavailable, "revocation_unavailable", OutcomeStoreUnavailable, fixed("revocation state cannot be read; try again"), nil}},
	{isErr(errClientGone), refusal{499, "", OutcomeClientClosed, nil, nil}}, // nginx's "client closed request"; nobody reads it
	{isErr(errClientBody), badRequest(http.StatusBadRequest, "invalid_request")},
	{isErr(errRequestTarget), badRequest(http.StatusBadRequest, "invalid_request")},
	{isErr(errAmbiguousPath), badRequest(http.StatusBadRequest, "invalid_request")},
	{isErr(errBadBody), badRequest(http.StatusBadRequest, "invalid_request")},
	{isErr(errNotJSONBody), badRequest(http.StatusUnsupportedMediaType, "invalid_request")},
	{isErr(errBodyTooLarge), badRequest(http.StatusRequestEntityTooLarge, "invalid_request")},
	{isErr(errLogoutMethod), badRequest(http.StatusMethodNotAllowed, "invalid_request")},
	{isErr(errLogoutForeignRefresh), badRequest(http.StatusForbidden, "forbidden")},
	{isErr(errDecisionRequest), badRequest(http.StatusBadRequest, "invalid_request")},
	{isErr(errRefreshNeedsBody, errOwnPathDecision, errDecisionUpgrade), badRequest(http.StatusForbidden, "forbidden")},
	{isErr(errLogoutNoJTI, errLogoutRefreshNoJTI, errLogoutNoSubject, errLogoutInvalidRefresh), badRequest(http.StatusBadRequest, "invalid_request")},
	{isErr(errUpstreamTimeout), refusal{http.StatusGatewayTimeout, "upstream_timeout", OutcomeUpstreamError, nil, nil}},
}

// upstreamRefusal answers every other error: the upstream could not be
// reached.
var upstreamRefusal = refusal{http.StatusBadGateway, "bad_gateway", OutcomeUpstreamError, fixed(errUpstreamUnreachable.Error()), nil}

// isErr matches errors wrapping any of targets.
func isErr(targets ...error) func(error) bool {
	return func(err error) bool {
		for _, t := range targets {
			if errors.Is(err, t) {
				return true
			}
		}
		return false
	}
}

func isTokenError(err error) bool {
	var te *jwtverify.TokenError
	return errors.As(err, &te)
}

func fixed(s string) func(error) string { return func(error) string { return s } }

// tokenRefusal is the 401 of a token that failed a check (RFC 6750 §3).
func tokenRefusal(outcome string) refusal {
	return refusal{http.StatusUnauthorized, "invalid_token", outcome, tokenDescription, func(err error) string {
		return invalidTokenChallenge(tokenDescription(err))
	}}
}

func tokenDescription(err error) string {
	var te *jwtverify.TokenError
	if errors.As(err, &te) {
		return te.Description
	}
	return err.Error()
}

func badRequest(status int, code string) refusal {
	return refusal{status, code, OutcomeBadRequest, nil, nil}
}

// refusalFor finds err's row.
func refusalFor(err error) refusal {
	for _, row := range proxyRefusals {
		if row.is(err) {
			return row.refusal
		}
	}
	return upstreamRefusal
}

// outcome classifies a request's error for metrics and the access log.
func outcome(err error) string {
	if err == nil {
		return OutcomeAllowed
	}
	return refusalFor(err).outcome
}

// writeProxyError is the one place where the proxy listener turns an error
// into a response, from err's row of proxyRefusals.
func writeProxyError(w http.ResponseWriter, err error) {
	ans := refusalAnswer(err)
	for name, v := range ans.header {
		w.Header()[name] = v
	}
	w.WriteHeader(ans.status)
	if ans.body != nil {
		_, _ = w.Write(ans.body)
	}
}

// renderedRefusal is a refusal as sent: the proxy writes it, a decision
// endpoint answers with it, the gRPC Check puts it in its denied_response.
type renderedRefusal struct {
	status int
	// header holds WWW-Authenticate when the row has a challenge, and
	// Content-Type and Cache-Control with a body.
	header http.Header
	// body is the JSON error document; nil when the row has no code (the
	// client has gone).
	body []byte
}

// refusalAnswer renders err's row of proxyRefusals.
func refusalAnswer(err error) renderedRefusal {
	rf := refusalFor(err)
	ans := renderedRefusal{status: rf.status, header: http.Header{}}
	if rf.challenge != nil {
		ans.header.Set("WWW-Authenticate", rf.challenge(err))
	}
	if rf.code == "" {
		return ans
	}
	desc := err.Error()
	if rf.describe != nil {
		desc = rf.describe(err)
	}
	b, _ := json.Marshal(errorBody{Error: rf.code, Description: desc}) // strings only: cannot fail
	ans.header.Set("Content-Type", "application/json")
	ans.header.Set("Cache-Control", "no-store")
	ans.body = append(b, '\n')
	return ans
}

// errorBody is the proxy listener's error document (RFC 6750 names).
type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// classifyUpstreamError maps a transport error to the proxy's sentinels.
// A failure to read the client's body is the client's, never the
// upstream's 502: it is errClientBody even when the client has gone too,
// because a client that stops mid-body (and half-closes) makes Go's
// server cancel the request's context at once, and whether the transport
// then reports the body's error or the cancellation is a race; the body
// is the cause either way, and the answer and metric stay one.
func classifyUpstreamError(r *http.Request, err error) error {
	if clientBodyErr(r) != nil {
		return errClientBody
	}
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		return errClientGone
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return errUpstreamTimeout
	}
	return errUpstreamUnreachable
}

// invalidTokenChallenge is the WWW-Authenticate value of a refused token
// (RFC 6750 section 3).
func invalidTokenChallenge(description string) string {
	return `Bearer error="invalid_token", error_description="` + quoteSafe(description) + `"`
}

// quoteSafe keeps a description usable inside a quoted header parameter.
func quoteSafe(s string) string {
	if !strings.ContainsAny(s, "\"\\\r\n") {
		return s
	}
	r := strings.NewReplacer(`"`, `'`, `\`, `/`, "\r", " ", "\n", " ")
	return r.Replace(s)
}
