package gateway

import (
	"log/slog"

	"github.com/labstack/echo/v4"

	"github.com/revgate/revgate/gateway/adminapi"
)

// unrevokeReason reads the optional body of an unrevoke (DELETE) request
// and returns its reason as audit attributes: none when no reason was
// given, so the audit event of a bodiless DELETE is unchanged.
func unrevokeReason(c echo.Context) ([]slog.Attr, error) {
	var req adminapi.Unrevoke
	if err := readAdminBody(c, &req); err != nil {
		return nil, err
	}
	if err := checkText("reason", req.Reason, maxReasonBytes, false); err != nil {
		return nil, err
	}
	if req.Reason == "" {
		return nil, nil
	}
	return []slog.Attr{slog.String("reason", req.Reason)}, nil
}
