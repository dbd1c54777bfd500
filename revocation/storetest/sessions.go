package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/revgate/revgate/revocation"
)

// Session records (revocation rule 4): a revoked identity provider
// session, kept like a revoked jti under a key of its own.

func testRevokeSession(t *testing.T, s revocation.Store) {
	ctx := t.Context()
	must(t, s.RevokeSession(ctx, "sid1", now().Add(time.Hour)))

	wantState(t, s, revocation.Query{Session: "sid1"}, revocation.State{SessionRevoked: true})
	wantState(t, s, revocation.Query{JTI: "j1", Subject: "alice", Session: "sid1", Used: true}, revocation.State{SessionRevoked: true})
	// A query that names no session, or another one, does not see it.
	wantState(t, s, revocation.Query{JTI: "j1", Subject: "alice", Used: true}, revocation.State{})
	wantState(t, s, revocation.Query{JTI: "sid1", Subject: "sid1", Used: true}, revocation.State{})
	wantState(t, s, revocation.Query{Session: "sid2"}, revocation.State{})
	_, err := s.GetSession(ctx, "sid2")
	wantNotFound(t, "GetSession of another session", err)
	_, err = s.GetToken(ctx, "sid1")
	wantNotFound(t, "GetToken of a revoked session's id", err)
}

func testSessionExpiry(t *testing.T, s revocation.Store) {
	ctx := t.Context()
	earlier, later := now().Add(time.Hour), now().Add(2*time.Hour)
	must(t, s.RevokeSession(ctx, "later-first", later))
	must(t, s.RevokeSession(ctx, "later-first", earlier))
	wantSession(t, s, "later-first", later)
	must(t, s.RevokeSession(ctx, "earlier-first", earlier))
	must(t, s.RevokeSession(ctx, "earlier-first", later))
	wantSession(t, s, "earlier-first", later)

	// Expiries round up to whole seconds, as every record's do.
	must(t, s.RevokeSession(ctx, "nanos", earlier.Add(987654321*time.Nanosecond)))
	wantSession(t, s, "nanos", earlier.Add(time.Second))

	// A passed expiry records nothing and shortens nothing.
	must(t, s.RevokeSession(ctx, "old", now().Add(-time.Minute)))
	wantState(t, s, revocation.Query{Session: "old"}, revocation.State{})
	_, err := s.GetSession(ctx, "old")
	wantNotFound(t, "GetSession of a session revoked with a passed expiry", err)
	must(t, s.RevokeSession(ctx, "later-first", now().Add(-time.Minute)))
	wantSession(t, s, "later-first", later)
}

func testUnrevokeSession(t *testing.T, s revocation.Store) {
	ctx := t.Context()
	must(t, s.RevokeSession(ctx, "sid1", now().Add(time.Hour)))
	must(t, s.RevokeSession(ctx, "sid2", now().Add(time.Hour)))
	must(t, s.UnrevokeSession(ctx, "sid1"))

	wantState(t, s, revocation.Query{Session: "sid1"}, revocation.State{})
	_, err := s.GetSession(ctx, "sid1")
	wantNotFound(t, "GetSession after UnrevokeSession", err)
	wantState(t, s, revocation.Query{Session: "sid2"}, revocation.State{SessionRevoked: true})
	if err := s.UnrevokeSession(ctx, "sid1"); err != nil {
		t.Errorf("UnrevokeSession of an unrevoked session = %v, want nil", err)
	}
	if err := s.UnrevokeSession(ctx, "never-revoked"); err != nil {
		t.Errorf("UnrevokeSession of a session never revoked = %v, want nil", err)
	}
}

// testSessionsDistinct revokes every other odd string as a session, and
// marks or revokes the rest as subjects and jtis: each query must see
// exactly its own record.
func testSessionsDistinct(t *testing.T, s revocation.Store) {
	ctx := t.Context()
	ids := collidingSubjects()
	exp := now().Add(time.Hour)
	m := now()
	revoked := map[string]bool{}
	for i, id := range ids {
		if i%2 == 0 {
			must(t, s.RevokeSession(ctx, id, exp))
			revoked[id] = true
			continue
		}
		// The same text as a jti and as a subject must not reach the
		// session of that text.
		must(t, s.RevokeToken(ctx, id, exp))
		_, err := s.MarkSubject(ctx, id, m, ttl)
		must(t, err)
	}
	for i, id := range ids {
		if revoked[id] {
			wantState(t, s, revocation.Query{Session: id}, revocation.State{SessionRevoked: true})
			wantSession(t, s, id, exp)
			// Its jti and subject of the same text are untouched.
			wantState(t, s, revocation.Query{JTI: id, Subject: id}, revocation.State{})
			continue
		}
		wantState(t, s, revocation.Query{Session: id}, revocation.State{})
		_, err := s.GetSession(ctx, id)
		wantNotFound(t, fmt.Sprintf("GetSession(%q) of an unrevoked session (#%d)", id, i), err)
		wantState(t, s, revocation.Query{JTI: id, Subject: id, Session: id}, revocation.State{JTIRevoked: true, SubjectMark: m})
	}

	// Removing one removes only that one.
	must(t, s.UnrevokeSession(ctx, "a:b"))
	wantState(t, s, revocation.Query{Session: "a:b"}, revocation.State{})
	wantState(t, s, revocation.Query{Session: ids[2]}, revocation.State{SessionRevoked: true})
}

func wantSession(t *testing.T, s revocation.Store, sid string, exp time.Time) {
	t.Helper()
	got, err := s.GetSession(t.Context(), sid)
	if err != nil {
		t.Fatalf("GetSession(%q) = %v", sid, err)
	}
	want := revocation.SessionRevocation{Session: sid, ExpiresAt: exp}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GetSession(%q) mismatch (-want +got):\n%s", sid, diff)
	}
}
