package gateway

import (
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/revgate/revgate/revocation"
)

// ssfAction is what one event of a SET asks for.
type ssfAction struct {
	// event is the metric label of the event type.
	event string
	// target is what it revokes; nil for an event with no effect.
	target *ssfTarget
	// at is a subject or email mark's time: the event's event_timestamp,
	// else the SET's iat.
	at time.Time
}

// plan reads every event of se into actions, in event type order, and
// refuses the whole SET if any event cannot be read: a SET is applied
// entirely or not at all.
func (s *ssfReceiver) plan(se *securityEvent, now time.Time, markTTL time.Duration) ([]ssfAction, *setError) {
	uris := make([]string, 0, len(se.events))
	for uri := range se.events {
		uris = append(uris, uri)
	}
	slices.Sort(uris)
	actions := make([]ssfAction, 0, len(uris))
	for _, uri := range uris {
		body := se.events[uri]
		a := ssfAction{event: ssfEventNames[uri]}
		if a.event == "" {
			a.event = ssfEventOther
		}
		var pick func(ssfSubject) ssfTarget
		switch uri {
		case eventSessionRevoked:
			pick = ssfSubject.sessionFirst
		case eventAccountDisabled, eventCredentialCompromise, eventSessionsRevoked:
			pick = ssfSubject.userFirst
		case eventCredentialChange:
			ct, ok := body["change_type"].(string)
			if !ok {
				return nil, invalidSET(`credential-change event has no "change_type" string`)
			}
			// A created credential takes nothing away; a revoked, updated
			// (a password reset) or deleted one ends what it let in.
			if ct == "revoke" || ct == "update" || ct == "delete" {
				pick = ssfSubject.userFirst
			}
		}
		if pick != nil {
			id, err := eventSubject(se, body)
			if err != nil {
				return nil, err
			}
			sub, err := s.mapSubject(id)
			if err != nil {
				return nil, err
			}
			t := pick(sub)
			a.target = &t
			if a.at, err = eventTime(body, se.iat, now, markTTL); err != nil {
				return nil, err
			}
		}
		actions = append(actions, a)
	}
	return actions, nil
}

// eventTime is when the event happened (CAEP event_timestamp), else when
// the SET was issued, never later than now: a mark in the future would
// refuse tokens not yet issued. One earlier than now - markTTL is moved up
// to it, which refuses the same tokens (all older ones have expired) and
// keeps the record's expiry in the future.
func eventTime(body map[string]any, iat, now time.Time, markTTL time.Duration) (time.Time, *setError) {
	at, ok, err := setNumericDate(body, "event_timestamp")
	if err != nil {
		var se *setError
		errors.As(err, &se)
		return time.Time{}, se
	}
	if !ok {
		at = iat
	}
	if at.After(now) {
		at = now
	}
	if oldest := now.Add(-markTTL); at.Before(oldest) {
		at = oldest
	}
	return at, nil
}

// receiveSET verifies, plans and applies one SET received by push or poll.
// It returns nil when the SET is accepted (applied, without effect, or
// seen before), a *setError when it is refused, and any other error when
// the store failed or the transmitter's keys could not be refreshed
// (errSETKeysUnavailable): then the transmitter must deliver it again.
//
// Everything is checked before anything is written. The effects are then
// written before the jti's replay record, so a store failure in between
// leaves the SET unrecorded and its redelivery applies it again; every
// effect is idempotent (marks only move forward, revocations keep the
// later expiry). audit carries the context, and the peer for audit events.
func (g *Gateway) receiveSET(audit *http.Request, raw string) error {
	s, ctx, now := g.ssf, audit.Context(), g.now()
	se, err := s.verifySET(ctx, raw, now, g.cfg.JWT.Leeway)
	if err != nil {
		switch {
		case errors.As(err, new(*setError)):
			s.count(ssfEventOther, ssfRefused)
		case errors.Is(err, errSETKeysUnavailable):
			s.count(ssfEventOther, ssfKeysUnavailable)
			g.log.WarnContext(ctx, "ssf: SET signed with a key not in the transmitter's key set, which could not be refreshed; it will be delivered again",
				"retry_jwks_after", g.cfg.JWT.JWKSUnknownKidCooldown.String())
		}
		return err
	}
	actions, serr := s.plan(se, now, g.markTTL)
	if serr != nil {
		for uri := range se.events {
			name := ssfEventNames[uri]
			if name == "" {
				name = ssfEventOther
			}
			s.count(name, ssfRefused)
		}
		return serr
	}
	countAll := func(result string) {
		for _, a := range actions {
			if result == ssfApplied && a.target == nil {
				s.count(a.event, ssfIgnored)
			} else {
				s.count(a.event, result)
			}
		}
	}
	// The record outlives every effect the SET had: marks, sessions and
	// jtis it revoked all lapse by now + max_token_lifetime + leeway, so a
	// later replay could only redo what has lapsed. A SET delivered again
	// (a retry after an answer that was lost, or a second poller) was
	// already applied, so it is accepted without effect.
	replayed, err := g.applyOnce(ctx, pushedKey(usedSETPrefix, se.iss, se.jti), g.latestExpiry, func() error {
		for _, a := range actions {
			if a.target == nil {
				continue
			}
			if err := g.applySSF(audit, se, a); err != nil {
				return err
			}
		}
		return nil
	})
	switch {
	case err != nil:
		countAll(ssfStoreUnavailable)
		return err
	case replayed:
		countAll(ssfReplayed)
		return nil
	}
	countAll(ssfApplied)
	return nil
}

// applySSF writes one event's effect, with its audit event.
func (g *Gateway) applySSF(audit *http.Request, se *securityEvent, a ssfAction) error {
	ctx, t := audit.Context(), a.target
	actor := actorSSF + se.iss
	attrs := []slog.Attr{slog.String("ssf_event", a.event), slog.String("set_jti", se.jti)}
	switch {
	case t.session != "":
		until := g.latestExpiry()
		if err := g.store.RevokeSession(ctx, t.session, until); err != nil {
			g.metrics.storeError("revoke", err)
			return err
		}
		g.metrics.revocations.WithLabelValues("session", "ssf").Inc()
		g.auditEvent(audit, "revoke_session", actor, append(attrs, slog.String("session", t.session), slog.Time("expires_at", until.UTC()))...)
	case t.jti != "":
		until := g.latestExpiry()
		if err := g.store.RevokeToken(ctx, t.jti, until); err != nil {
			g.metrics.storeError("revoke", err)
			return err
		}
		g.metrics.revocations.WithLabelValues("token", "ssf").Inc()
		g.auditEvent(audit, "revoke_token", actor, append(attrs, slog.String("jti", t.jti), slog.Time("expires_at", until.UTC()))...)
	case t.email != "":
		mark, err := g.store.MarkEmail(ctx, t.email, a.at, g.markTTL)
		if err != nil {
			g.metrics.storeError("revoke", err)
			return err
		}
		g.metrics.revocations.WithLabelValues("email", "ssf").Inc()
		g.auditEvent(audit, "revoke_email", actor, append(attrs, slog.String("email", revocation.CanonicalEmail(t.email)), slog.Time("revoked_before", mark.UTC()))...)
	default:
		mark, err := g.store.MarkSubject(ctx, t.subject, a.at, g.markTTL)
		if err != nil {
			g.metrics.storeError("revoke", err)
			return err
		}
		g.metrics.revocations.WithLabelValues("subject", "ssf").Inc()
		g.auditEvent(audit, "revoke_subject", actor, append(attrs, slog.String("subject", t.subject), slog.Time("revoked_before", mark.UTC()))...)
	}
	return nil
}
