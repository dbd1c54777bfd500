package gateway

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/revgate/revgate/config"
)

// TEMPORARY until the ssfstore foundation is merged.

func (g *Gateway) storeMarkEmail(ctx context.Context, addr string, at time.Time) (time.Time, error) {
	m, ok := g.store.(interface {
		MarkEmail(ctx context.Context, address string, mark time.Time, ttl time.Duration) (time.Time, error)
	})
	if !ok {
		return time.Time{}, errors.New("no email marks")
	}
	return m.MarkEmail(ctx, addr, at, g.markTTL)
}

func canonicalEmailPremerge(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func ssfSettingsFrom(c *config.Config) ssfSettings { return ssfSettings{} }
