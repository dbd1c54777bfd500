package gateway

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/revgate/revgate/config"
	"github.com/revgate/revgate/gateway/jwtverify"
	"github.com/revgate/revgate/revocation"
)

// decision is the authorization core's answer for one request, whichever
// front door asked (the reverse proxy today; decision endpoints next).
type decision struct {
	// route is the route the path matched; its label is "invalid_path"
	// when the path was refused before a route could be chosen.
	route route
	// claims are the verified token's, nil on an `auth: none` route or
	// when no token verified.
	claims *jwtverify.Claims
	// err is the refusal, answered from the listener's refusal table; nil
	// means allowed.
	err error
	// failOpen reports a request allowed although its revocation state
	// could not be read (on_store_error: open).
	failOpen bool
	// afterUpstream, when set, must run on the upstream's response before
	// the client sees it: refresh reuse detection records the token as
	// used there. A non-nil error means it replaced the response with that
	// refusal.
	afterUpstream func(*http.Response) error
}

// outcome is the decision's metric outcome.
func (d *decision) outcome() string {
	if d.failOpen {
		return OutcomeStoreFailOpen
	}
	return outcome(d.err)
}

// authorize is the one authorization core: it picks the route of the
// cleaned path (read two ways, see router.match), finds and checks the
// token the route needs (check), and applies on_store_error when the
// store cannot answer.
func (g *Gateway) authorize(r *http.Request, path string) decision {
	rt, err := g.router.match(path)
	if err != nil {
		return decision{route: route{label: "invalid_path"}, err: err}
	}
	d := decision{route: rt}
	d.claims, d.afterUpstream, d.err = g.check(r, rt.auth)
	if d.err != nil && errors.Is(d.err, revocation.ErrUnavailable) {
		d.failOpen = g.onStoreError(r, rt, d.err)
		if d.failOpen {
			d.err = nil
		}
	}
	return d
}

// check runs the token step of an auth mode: extract → verify → the one
// revocation lookup. The claims are returned whenever the token verified,
// even with an error. The error is nil, a *TokenError (invalid or revoked),
// a body error of a refresh route, or one wrapping
// revocation.ErrUnavailable.
func (g *Gateway) check(r *http.Request, auth string) (*jwtverify.Claims, func(*http.Response) error, error) {
	switch auth {
	case config.AuthNone:
		return nil, nil, nil
	case config.AuthRefresh:
		return g.checkRefresh(r)
	default: // required, and anything unknown: deny by default
		raw, err := g.extractor.extract(r)
		if err != nil {
			return nil, nil, err
		}
		claims, err := g.pipeline.authorize(r.Context(), raw, jwtverify.PurposeAccess)
		return claims, nil, err
	}
}

// onStoreError applies on_store_error to a token that verified but whose
// revocation state cannot be read, and reports whether to allow it.
func (g *Gateway) onStoreError(r *http.Request, rt route, err error) (allow bool) {
	// While the circuit is open the breaker has logged the outage once; a
	// line per request would flood the log.
	refused, forwarded := slog.LevelError, slog.LevelWarn
	if errors.Is(err, errCircuitOpen) {
		refused, forwarded = slog.LevelDebug, slog.LevelDebug
	}
	if !g.failOpen {
		g.log.Log(r.Context(), refused, "revocation store unavailable; refusing request (on_store_error: closed)", "route", rt.label, "error", err.Error())
		return false
	}
	g.log.Log(r.Context(), forwarded, "revocation store unavailable; forwarding (on_store_error: open)", "route", rt.label, "error", err.Error())
	return true
}
