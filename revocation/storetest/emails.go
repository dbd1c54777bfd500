package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/revgate/revgate/revocation"
)

// Email marks (the Shared Signals receiver's): a subject mark keyed by an
// address in revocation.CanonicalEmail form, read by Check only when the
// query names an address.

func testEmailMark(t *testing.T, s revocation.Store) {
	ctx := t.Context()
	_, err := s.GetEmail(ctx, "alice@example.com")
	wantNotFound(t, "GetEmail before MarkEmail", err)

	m := now().Add(-time.Minute)
	wantMark(t, "MarkEmail", m)(s.MarkEmail(ctx, "alice@example.com", m, ttl))
	wantMark(t, "GetEmail", m)(s.GetEmail(ctx, "alice@example.com"))
	wantState(t, s, revocation.Query{Email: "alice@example.com"}, revocation.State{EmailMark: m})
	wantState(t, s, revocation.Query{JTI: "j1", Subject: "alice", Session: "sid1", Used: true, Email: "alice@example.com"}, revocation.State{EmailMark: m})
	// A query that names no address, or another one, does not see it; nor
	// does a subject, jti or session of the same text.
	wantState(t, s, revocation.Query{JTI: "j1", Subject: "alice", Used: true}, revocation.State{})
	wantState(t, s, revocation.Query{Email: "bob@example.com"}, revocation.State{})
	wantState(t, s, revocation.Query{JTI: "alice@example.com", Subject: "alice@example.com", Session: "alice@example.com", Used: true}, revocation.State{})
	_, err = s.GetSubject(ctx, "alice@example.com")
	wantNotFound(t, "GetSubject of a marked address", err)

	must(t, s.UnmarkEmail(ctx, "alice@example.com"))
	_, err = s.GetEmail(ctx, "alice@example.com")
	wantNotFound(t, "GetEmail after UnmarkEmail", err)
	wantState(t, s, revocation.Query{Email: "alice@example.com"}, revocation.State{})
	if err := s.UnmarkEmail(ctx, "alice@example.com"); err != nil {
		t.Errorf("UnmarkEmail of an unmarked address = %v, want nil", err)
	}
}

// testEmailCase marks, reads and removes an address through case and
// white-space variants: every variant is the one address.
func testEmailCase(t *testing.T, s revocation.Store) {
	ctx := t.Context()
	m := now()
	wantMark(t, "MarkEmail", m)(s.MarkEmail(ctx, " Alice.Smith@Example.COM\n", m, ttl))
	for _, v := range []string{"alice.smith@example.com", "ALICE.SMITH@EXAMPLE.COM", "\talice.Smith@example.Com "} {
		wantMark(t, fmt.Sprintf("GetEmail(%q)", v), m)(s.GetEmail(ctx, v))
		wantState(t, s, revocation.Query{Email: v}, revocation.State{EmailMark: m})
	}
	// Non-ASCII letters fold too.
	wantMark(t, "MarkEmail", m)(s.MarkEmail(ctx, "JÜRGEN@Ö.example", m, ttl))
	wantState(t, s, revocation.Query{Email: "jürgen@ö.example"}, revocation.State{EmailMark: m})
	// A different address is not a case variant.
	wantState(t, s, revocation.Query{Email: "alice.smith@example.co"}, revocation.State{})
	wantState(t, s, revocation.Query{Email: "alicesmith@example.com"}, revocation.State{})
	// A query whose address is only white space reads nothing.
	wantState(t, s, revocation.Query{Email: "  "}, revocation.State{})

	must(t, s.UnmarkEmail(ctx, "ALICE.SMITH@example.com"))
	wantState(t, s, revocation.Query{Email: "alice.smith@example.com"}, revocation.State{})
	wantState(t, s, revocation.Query{Email: "jürgen@ö.example"}, revocation.State{EmailMark: m})
}

func testEmailForward(t *testing.T, s revocation.Store) {
	ctx := t.Context()
	m := now()
	wantMark(t, "first MarkEmail", m)(s.MarkEmail(ctx, "a@x", m, ttl))
	wantMark(t, "MarkEmail with an earlier mark", m)(s.MarkEmail(ctx, "A@X", m.Add(-time.Hour), ttl))
	wantMark(t, "GetEmail after an earlier mark", m)(s.GetEmail(ctx, "a@x"))
	later := m.Add(time.Second)
	wantMark(t, "MarkEmail with a later mark", later)(s.MarkEmail(ctx, "a@x", later.Add(987654321*time.Nanosecond), ttl))
	wantState(t, s, revocation.Query{Email: "a@x"}, revocation.State{EmailMark: later})

	// A mark whose lifetime has passed is returned but not stored.
	old := now().Add(-2 * ttl)
	wantMark(t, "MarkEmail of a lapsed mark", old)(s.MarkEmail(ctx, "b@x", old, ttl))
	_, err := s.GetEmail(ctx, "b@x")
	wantNotFound(t, "GetEmail of a lapsed mark", err)

	// A subject and the global mark are reported beside it.
	_, err = s.MarkSubject(ctx, "alice", m, ttl)
	must(t, err)
	_, err = s.MarkGlobal(ctx, m, ttl)
	must(t, err)
	wantState(t, s, revocation.Query{Subject: "alice", Email: "a@x"}, revocation.State{SubjectMark: m, GlobalMark: m, EmailMark: later})
}

// testEmailsDistinct marks every odd string as an address, each with its
// own mark, and the same texts as subjects with another: each query must
// see exactly its own record. Strings that are case or white-space
// variants of another in the list are left out, since they are one
// address.
func testEmailsDistinct(t *testing.T, s revocation.Store) {
	ctx := t.Context()
	seen := map[string]bool{}
	var addrs []string
	for _, a := range collidingSubjects() {
		c := revocation.CanonicalEmail(a)
		if c == "" || seen[c] {
			continue
		}
		seen[c] = true
		addrs = append(addrs, a)
	}
	base := now().Add(-time.Duration(len(addrs)+1) * time.Second)
	markOf := func(i int) time.Time { return base.Add(time.Duration(i) * time.Second) }
	subjectMark := now()
	for i, a := range addrs {
		wantMark(t, "MarkEmail", markOf(i))(s.MarkEmail(ctx, a, markOf(i), ttl))
		_, err := s.MarkSubject(ctx, a, subjectMark, ttl)
		must(t, err)
	}
	for i, a := range addrs {
		got, err := s.GetEmail(ctx, a)
		if err != nil || !got.Equal(markOf(i)) {
			t.Errorf("GetEmail(%q) = %v, %v; want %v (its own mark)", a, got, err, markOf(i))
		}
		wantState(t, s, revocation.Query{Email: a}, revocation.State{EmailMark: markOf(i)})
		wantState(t, s, revocation.Query{Subject: a, Email: a}, revocation.State{SubjectMark: subjectMark, EmailMark: markOf(i)})
	}

	// Removing one removes only that one.
	must(t, s.UnmarkEmail(ctx, "a:b"))
	wantState(t, s, revocation.Query{Email: "a:b"}, revocation.State{})
	wantMark(t, `GetEmail("a") after UnmarkEmail("a:b")`, markOf(1))(s.GetEmail(ctx, "a"))
	wantMark(t, `GetSubject("a:b") after UnmarkEmail("a:b")`, subjectMark)(s.GetSubject(ctx, "a:b"))
}

// testEmailExpiry waits for an email mark to lapse.
func testEmailExpiry(t *testing.T, s revocation.Store) {
	ctx := t.Context()
	exp := now().Add(2 * time.Second)
	mark := exp.Add(-ttl)
	_, err := s.MarkEmail(ctx, "a@x", mark, ttl)
	must(t, err)
	wantState(t, s, revocation.Query{Email: "a@x"}, revocation.State{EmailMark: mark})
	time.Sleep(time.Until(exp) + 150*time.Millisecond)
	wantState(t, s, revocation.Query{Email: "a@x"}, revocation.State{})
	_, err = s.GetEmail(ctx, "a@x")
	wantNotFound(t, "GetEmail after expiry", err)
}
