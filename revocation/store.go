package revocation

import (
	"context"
	"errors"
	"time"
)

// ErrUnavailable wraps every failure to reach or use the backing store. The
// gateway maps it to 503 (or forwards, with on_store_error: open).
var ErrUnavailable = errors.New("revocation store unavailable")

// ErrNotReplicated is wrapped, together with ErrUnavailable, by a write
// that the master applied but fewer replicas than
// RedisOptions.MinReplicasAck acknowledged in time. The write stays
// on the master and takes effect at once (so "nothing was changed" would be
// wrong), but a failover before it reaches a replica would lose it. Every
// write is idempotent, so retrying is safe.
var ErrNotReplicated = errors.New("revocation not acknowledged by enough replicas")

// ErrNotFound is returned by the Get* methods when nothing is recorded.
var ErrNotFound = errors.New("revocation not found")

// Query names what one request needs checked. Empty fields are not looked up
// (the global mark always is).
type Query struct {
	// JTI is the token's jti; "" when the token has none.
	JTI string
	// Subject is the canonical subject; "" when the token has none.
	Subject string
	// Session is the token's session id (jwt.session_claim); "" when the
	// token has none, and then no session record is read.
	Session string
	// Used asks, in the same round trip, whether JTI was recorded as a used
	// refresh token (refresh reuse detection).
	Used bool
	// Email is the token's email address (ssf.email_claim), matched
	// against email marks the Shared Signals receiver sets; "" when the
	// token has none or the receiver is off, and then no email mark is
	// read. The store canonicalises it with CanonicalEmail.
	Email string
}

// State is the answer to a Query. Zero times mean "no mark".
type State struct {
	JTIRevoked  bool
	JTIUsed     bool
	SubjectMark time.Time
	GlobalMark  time.Time
	// SessionRevoked reports a revoked Query.Session.
	SessionRevoked bool
	// EmailMark is Query.Email's revoked-before mark.
	EmailMark time.Time
}

// TokenRevocation is what is recorded for a revoked jti.
type TokenRevocation struct {
	JTI string
	// ExpiresAt is when the record (and so the revocation) lapses.
	ExpiresAt time.Time
}

// SessionRevocation is what is recorded for a revoked session.
type SessionRevocation struct {
	Session string
	// ExpiresAt is when the record (and so the revocation) lapses.
	ExpiresAt time.Time
}

// Store is revgate's revocation state. All times are whole seconds; stores
// truncate. Every record has an expiry, so nothing ever needs flushing.
// Implementations must be safe for concurrent use, and every method returns
// an error wrapping ErrUnavailable when the backing store fails; a write may
// also wrap ErrNotReplicated (see there).
type Store interface {
	// Check answers a Query in at most one round trip.
	Check(ctx context.Context, q Query) (State, error)

	// RevokeToken records jti as revoked until expiresAt. Revoking an already
	// revoked jti keeps the later expiry.
	RevokeToken(ctx context.Context, jti string, expiresAt time.Time) error
	// GetToken returns the record for jti or ErrNotFound.
	GetToken(ctx context.Context, jti string) (TokenRevocation, error)
	// UnrevokeToken deletes the record; deleting nothing is not an error.
	UnrevokeToken(ctx context.Context, jti string) error

	// RevokeSession records the identity provider's session sid as revoked
	// until until (the caller passes now + max_token_lifetime + leeway, by
	// when every token of the session has expired). Revoking an already
	// revoked session keeps the later expiry; an expiry that has passed
	// records nothing.
	RevokeSession(ctx context.Context, sid string, until time.Time) error
	// GetSession returns the record for sid or ErrNotFound.
	GetSession(ctx context.Context, sid string) (SessionRevocation, error)
	// UnrevokeSession deletes the record; deleting nothing is not an error.
	UnrevokeSession(ctx context.Context, sid string) error

	// MarkSubject moves the subject's revoked-before mark forward to mark,
	// atomically even under concurrent writers: a later stored mark is kept,
	// with its own expiry. When mark wins, the record expires ttl after mark
	// (the caller passes max_token_lifetime + leeway). It returns the mark
	// in force after the call.
	MarkSubject(ctx context.Context, subject string, mark time.Time, ttl time.Duration) (time.Time, error)
	// GetSubject returns the subject's mark or ErrNotFound.
	GetSubject(ctx context.Context, subject string) (time.Time, error)
	// UnmarkSubject deletes the subject's mark.
	UnmarkSubject(ctx context.Context, subject string) error

	// MarkEmail, GetEmail and UnmarkEmail do the same for an email
	// address's mark, with MarkSubject's rules. The store canonicalises
	// address with CanonicalEmail, so case variants of one address share
	// one mark. An address that is empty once canonical is never read by
	// Check: callers refuse it.
	MarkEmail(ctx context.Context, address string, mark time.Time, ttl time.Duration) (time.Time, error)
	GetEmail(ctx context.Context, address string) (time.Time, error)
	UnmarkEmail(ctx context.Context, address string) error

	// MarkGlobal, GetGlobal and UnmarkGlobal do the same for the global mark.
	MarkGlobal(ctx context.Context, mark time.Time, ttl time.Duration) (time.Time, error)
	GetGlobal(ctx context.Context) (time.Time, error)
	UnmarkGlobal(ctx context.Context) error

	// MarkUsed records jti as a used refresh token until expiresAt, and
	// reports, atomically, whether it was recorded already: two requests
	// that presented one refresh token at once both pass Check, and only
	// this answer tells the later one it was not the first.
	MarkUsed(ctx context.Context, jti string, expiresAt time.Time) (alreadyUsed bool, err error)

	// Ping checks the store answers.
	Ping(ctx context.Context) error
	// Close releases connections.
	Close() error
}
