package revocation

import (
	"context"
	"time"
)

// DefaultTrailLength is how many events a trail keeps when none is given.
const DefaultTrailLength = 10000

// MaxTrailScan bounds how many events one Recent call reads, whatever the
// trail's length: a filter that matches nothing must not read a stream of
// any size.
const MaxTrailScan = 100000

// TrailRetention is how long a shared trail is kept after its last
// change: every key revgate writes expires by itself, the trail's too. An
// idle store's trail is forgotten 30 days after its last event; the audit
// log is the record.
const TrailRetention = 30 * 24 * time.Hour

// Event is one change of revocation state as the trail keeps it: a copy of
// an audit event's fields. It never holds a token (a jti is not one).
type Event struct {
	// ID orders events; set by the trail on Append (for Redis, the stream
	// entry id).
	ID string
	// Time is when the change was made.
	Time time.Time
	// Action is the audit action: revoke_token, unrevoke_subject, ...
	Action string
	// Actor names who made the change: an admin token's name,
	// "self-service", an identity provider.
	Actor string
	// Subject, JTI, Session and Email name what changed; "" when not
	// concerned. JTI is only ever the revoked token's jti, never that of
	// a logout token or request that asked for the change.
	Subject string
	JTI     string
	Session string
	Email   string
	// Reason is the reason given, if any.
	Reason string
	// Until is the record's expiry or the mark set; zero when none.
	Until time.Time
	// Gateway names the instance that made the change (its host name).
	Gateway string
}

// TrailFilter selects events; empty fields match everything. Fields are
// compared exactly.
type TrailFilter struct {
	Subject string
	JTI     string
	Session string
	Email   string
	Actor   string
	// Global selects events without a subject, jti, session or email
	// (the global mark's).
	Global bool
}

// Match reports whether e passes f.
func (f TrailFilter) Match(e Event) bool {
	switch {
	case f.Subject != "" && e.Subject != f.Subject,
		f.JTI != "" && e.JTI != f.JTI,
		f.Session != "" && e.Session != f.Session,
		f.Email != "" && e.Email != f.Email,
		f.Actor != "" && e.Actor != f.Actor,
		f.Global && (e.Subject != "" || e.JTI != "" || e.Session != "" || e.Email != ""):
		return false
	}
	return true
}

// Trail is a capped, newest-first record of recent revocation changes,
// shared by every gateway of one store. It is a convenience for people
// (the admin console); the structured audit log stays the source of
// truth, so a trail may drop old events and callers log, not fail, when
// Append does.
type Trail interface {
	// Append adds e, dropping the oldest events past the trail's length.
	Append(ctx context.Context, e Event) error
	// Recent returns up to limit events matching f, newest first.
	Recent(ctx context.Context, f TrailFilter, limit int) ([]Event, error)
}

// TrailOf returns the trail that goes with store: on Redis a stream next
// to its keys, shared by every gateway of the store; otherwise a trail in
// this process's memory. length caps it (0: DefaultTrailLength).
func TrailOf(store Store, length int) Trail {
	if r, ok := store.(*Redis); ok {
		return NewRedisTrail(r.client, r.keys.prefix, length)
	}
	return NewMemoryTrail(length)
}
