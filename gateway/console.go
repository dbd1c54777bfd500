package gateway

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/revgate/revgate/gateway/console"
	"github.com/revgate/revgate/revocation"
)

// consoleParts is what the gateway keeps for the admin console: the ring
// of request counters, sampled by Run.
type consoleParts struct {
	requests *console.RequestRing
}

func (g *Gateway) newConsole() *consoleParts {
	return &consoleParts{requests: console.NewRequestRing(g.metrics.requestsByOutcome, g.now)}
}

// Run does the gateway's background work until ctx ends: sampling the
// request counters for the admin console's status page.
func (g *Gateway) Run(ctx context.Context) {
	if g.console != nil {
		g.console.requests.Run(ctx)
	}
}

// consoleActorKey marks an admin API request made in process by the
// console for its signed-in user. Only code in this process can set a
// context value, so no client can claim it.
type consoleActorKey struct{}

// anonymousActor acts when admin.insecure_no_auth lets anyone in.
const anonymousActor = "anonymous (insecure_no_auth)"

// mountConsole serves the admin console under /console/ of e, calling the
// admin API (api) in process for every lookup and change.
func (g *Gateway) mountConsole(e *echo.Echo, api http.Handler) error {
	o := console.Options{
		API: api,
		AsActor: func(r *http.Request, actor string) *http.Request {
			return r.WithContext(context.WithValue(r.Context(), consoleActorKey{}, actor))
		},
		Anonymous:  anonymousActor,
		Trail:      g.trail,
		EmailMarks: g.cfg.EmailMarkClaim() != "",
		Status:     g.consoleStatus,
		Requests:   g.console.requests,
		SessionTTL: g.cfg.Console.SessionTTL,
		Logger:     g.log,
		Now:        g.now,
	}
	if !g.cfg.Admin.InsecureNoAuth {
		o.SignIn = g.adminTokenName()
	}
	c, err := console.New(o)
	if err != nil {
		return err
	}
	h := echo.WrapHandler(c)
	e.Any("/console", h)
	e.Any("/console/*", h)
	return nil
}

// adminTokenName returns a function naming the admin token presented, or
// false. Tokens are compared as SHA-256 digests in constant time, every
// configured token every time, so neither a token's content nor its
// length leaks through timing.
func (g *Gateway) adminTokenName() func(presented string) (string, bool) {
	type named struct {
		name   string
		digest [sha256.Size]byte
	}
	var tokens []named
	for _, t := range g.cfg.Admin.Tokens {
		tokens = append(tokens, named{name: t.Name, digest: sha256.Sum256([]byte(t.Token))})
	}
	return func(presented string) (string, bool) {
		digest := sha256.Sum256([]byte(strings.TrimSpace(presented)))
		actor := ""
		for _, t := range tokens {
			if subtle.ConstantTimeCompare(digest[:], t.digest[:]) == 1 {
				actor = t.name
			}
		}
		return actor, actor != ""
	}
}

// consoleStatus is the status page's view of readiness, the eviction
// policy and the loaded keys: what /readyz and /v1/keys tell.
func (g *Gateway) consoleStatus(ctx context.Context) console.Status {
	checks, _ := g.readiness(ctx)
	s := console.Status{StoreOK: checks["store"] == "ok", Checks: checks}
	if g.eviction != nil {
		policy, err := g.eviction(ctx)
		switch {
		case errors.Is(err, revocation.ErrPolicyUnknown):
			s.EvictionProblem = "cannot be read (CONFIG GET refused); check it is noeviction"
		case err != nil:
			s.EvictionProblem = "cannot be read: the store does not answer"
		case !revocation.SafeEvictionPolicy(policy):
			s.EvictionPolicy, s.EvictionProblem = policy, "UNSAFE: revocations can be evicted; set noeviction"
		default:
			s.EvictionPolicy = policy
		}
	}
	for _, k := range g.verifier.Keys() {
		s.Keys = append(s.Keys, console.Key{KID: k.KID, Alg: k.Alg, Source: k.Source, FetchedAt: k.FetchedAt})
	}
	return s
}

// requestsByOutcome sums revgate_requests_total by outcome, over modes
// and routes.
func (m *Metrics) requestsByOutcome() map[string]float64 {
	ch := make(chan prometheus.Metric, 64)
	go func() {
		m.requests.Collect(ch)
		close(ch)
	}()
	out := map[string]float64{}
	for metric := range ch {
		var d dto.Metric
		if metric.Write(&d) != nil {
			continue
		}
		for _, l := range d.GetLabel() {
			if l.GetName() == "outcome" {
				out[l.GetValue()] += d.GetCounter().GetValue()
			}
		}
	}
	return out
}
