package gateway

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/revgate/revgate/gateway/adminapi"
	"github.com/revgate/revgate/gateway/console"
)

var errAdminRebindHost = &apiError{status: http.StatusForbidden, code: adminapi.CodeForbidden,
	message: "with admin.insecure_no_auth, only requests addressed to localhost or an IP address are answered"}

// insecureHostGuard answers, with admin.insecure_no_auth, only requests
// whose Host is loopback-named or an IP literal (console.RebindSafeHost).
// A DNS-rebinding page (its attacker's name, resolved to 127.0.0.1) sends
// its own name as Host and no Origin on its GETs, so the API's Origin
// check alone would let it read every answer of the listener; with a
// token required it has none to present, so normal mode needs no Host
// rule. The console's in-process calls carry no Host: the browser's
// request they serve passed this guard already.
func insecureHostGuard(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if _, inProcess := r.Context().Value(consoleActorKey{}).(string); !inProcess && !console.RebindSafeHost(r.Host) {
			return errAdminRebindHost
		}
		return next(c)
	}
}
