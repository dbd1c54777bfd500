package gateway

import (
	"context"
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

// outcome classifies an error from the pipeline.
func outcome(err error) string {
	switch {
	case err == nil:
		return OutcomeAllowed
	case errors.Is(err, jwtverify.ErrNoToken):
		return OutcomeNoToken
	case errors.Is(err, ErrRevokedJTI):
		return OutcomeRevokedJTI
	case errors.Is(err, ErrRevokedSubject):
		return OutcomeRevokedSubject
	case errors.Is(err, ErrRevokedGlobal):
		return OutcomeRevokedGlobal
	case errors.Is(err, ErrReusedRefresh):
		return OutcomeRefreshReused
	case errors.Is(err, revocation.ErrUnavailable):
		return OutcomeStoreUnavailable
	case errors.Is(err, errClientGone):
		return OutcomeClientClosed
	case errors.Is(err, errUpstreamUnreachable), errors.Is(err, errUpstreamTimeout):
		return OutcomeUpstreamError
	case errors.Is(err, errAmbiguousPath), errors.Is(err, errBadBody), errors.Is(err, errNotJSONBody):
		return OutcomeBadRequest
	}
	var te *jwtverify.TokenError
	if errors.As(err, &te) {
		return OutcomeInvalidToken
	}
	return OutcomeUpstreamError
}

// writeProxyError is the one place where the proxy listener turns an error
// into a response.
func writeProxyError(w http.ResponseWriter, err error) {
	h := w.Header()
	var te *jwtverify.TokenError
	switch {
	case errors.Is(err, jwtverify.ErrNoToken):
		h.Set("WWW-Authenticate", `Bearer realm="revgate"`)
		writeJSON(w, http.StatusUnauthorized, errorBody{Error: "unauthorized", Description: "no token"})
	case errors.As(err, &te):
		h.Set("WWW-Authenticate", invalidTokenChallenge(te.Description))
		writeJSON(w, http.StatusUnauthorized, errorBody{Error: "invalid_token", Description: te.Description})
	case errors.Is(err, revocation.ErrUnavailable):
		writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: "revocation_unavailable", Description: "revocation state cannot be read; try again"})
	case errors.Is(err, errAmbiguousPath):
		writeJSON(w, http.StatusBadRequest, errorBody{Error: "invalid_request", Description: err.Error()})
	case errors.Is(err, errBadBody):
		writeJSON(w, http.StatusBadRequest, errorBody{Error: "invalid_request", Description: err.Error()})
	case errors.Is(err, errNotJSONBody):
		writeJSON(w, http.StatusUnsupportedMediaType, errorBody{Error: "invalid_request", Description: err.Error()})
	case errors.Is(err, errBodyTooLarge):
		writeJSON(w, http.StatusRequestEntityTooLarge, errorBody{Error: "invalid_request", Description: err.Error()})
	case errors.Is(err, errUpstreamTimeout):
		writeJSON(w, http.StatusGatewayTimeout, errorBody{Error: "upstream_timeout", Description: err.Error()})
	case errors.Is(err, errClientGone):
		w.WriteHeader(499) // nginx's "client closed request"; nobody reads it
	default:
		writeJSON(w, http.StatusBadGateway, errorBody{Error: "bad_gateway", Description: errUpstreamUnreachable.Error()})
	}
}

// errorBody is the proxy listener's error document (RFC 6750 names).
type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// classifyUpstreamError maps a transport error to the proxy's sentinels.
func classifyUpstreamError(r *http.Request, err error) error {
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
