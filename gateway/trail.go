package gateway

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/revgate/revgate/revocation"
)

// trailTimeout bounds one trail write: the change it records is already
// made and logged, so a slow store must not hold the answer up for long.
const trailTimeout = time.Second

// hostname names this instance in trail events; read once, when the
// first event is written.
var hostname = sync.OnceValue(func() string {
	h, _ := os.Hostname()
	return h
})

// appendTrail copies an audit event into the console's trail, when there
// is one. A failure is logged and counted (store_errors_total{op="trail"}),
// never returned: the audit log is the record, the trail a convenience,
// and the revocation has been made.
func (g *Gateway) appendTrail(ctx context.Context, action, actor string, attrs []slog.Attr) {
	if g.trail == nil {
		return
	}
	e := revocation.Event{Time: g.now().UTC(), Action: action, Actor: actor, Gateway: hostname()}
	for _, a := range attrs {
		switch a.Key {
		case "subject":
			e.Subject = a.Value.String()
		case "jti":
			// Only a revoked (or reused) token's jti is "jti"; receivers
			// name the jti of the request that asked for a change
			// logout_jti, set_jti or request_jti, which stay in the
			// audit log only.
			e.JTI = a.Value.String()
		case "session":
			e.Session = a.Value.String()
		case "email":
			// Canonical, as marks are kept, so a lookup finds it.
			e.Email = revocation.CanonicalEmail(a.Value.String())
		case "reason":
			e.Reason = a.Value.String()
		case "expires_at", "revoked_before":
			if a.Value.Kind() == slog.KindTime {
				e.Until = a.Value.Time()
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), trailTimeout)
	defer cancel()
	if err := g.trail.Append(ctx, e); err != nil {
		g.metrics.storeError("trail", err)
		g.log.WarnContext(ctx, "writing the console trail failed; the audit log has the event", "action", action, "error", err.Error())
	}
}
