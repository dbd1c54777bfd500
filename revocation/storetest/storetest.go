// Package storetest is the conformance suite of revocation.Store: every
// implementation, and every Redis topology, runs the same Run so they all
// mean the same thing by "revoked".
package storetest

import (
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/revgate/revgate/revocation"
)

// ttl is the lifetime the suite gives marks: long enough that no mark set
// "now" lapses during a run.
const ttl = time.Hour

// Run checks that the stores newStore returns follow the revocation.Store
// contract. Subtests run in parallel; newStore is called once per subtest,
// possibly concurrently, and must return an empty store that shares no
// state with any other it returns (on Redis: its own key prefix). The store
// must use the real clock: one subtest waits for records to expire. Run
// closes each store when its subtest ends.
//
// The suite assumes nothing about time beyond whole seconds: every time it
// compares has been truncated to the second, as stores do.
func Run(t *testing.T, newStore func(t *testing.T) revocation.Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, s revocation.Store)
	}{
		{"an empty store reports nothing revoked", testEmpty},
		{"a revoked jti is revoked and nothing else is", testRevokeToken},
		{"an unrevoked jti is no longer revoked", testUnrevokeToken},
		{"revoking a jti twice keeps the later expiry", testRevokeTwice},
		{"a jti whose expiry has passed is not recorded", testRevokeExpired},
		{"records stop applying when they expire", testExpiry},
		{"a subject mark can be set, read and removed", testSubjectMark},
		{"a subject mark only moves forward", testSubjectForward},
		{"a mark whose lifetime has passed is returned but not stored", testMarkLapsed},
		{"concurrent marks of one subject end at the latest", testConcurrentMarks},
		{"the global mark can be set, read, moved forward and removed", testGlobalMark},
		{"different subjects never share a mark", testSubjectsDistinct},
		{"a jti, a used jti and a subject with the same text stay apart", testNamespaces},
		{"a used refresh jti is reported only when asked for", testUsed},
		{"marks are truncated to whole seconds, expiries rounded up", testWholeSeconds},
		{"a revoked session is reported only when the query names it", testRevokeSession},
		{"a session record lives until its expiry, the later one kept", testSessionExpiry},
		{"an unrevoked session is no longer revoked", testUnrevokeSession},
		{"odd sessions never collide with each other, jtis or subjects", testSessionsDistinct},
		{"an email mark can be set, read and removed, apart from the rest", testEmailMark},
		{"case and white-space variants of an address are one address", testEmailCase},
		{"an email mark only moves forward", testEmailForward},
		{"odd addresses never collide with each other or with subjects", testEmailsDistinct},
		{"an email mark stops applying when it expires", testEmailExpiry},
		{"ping answers", testPing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			t.Cleanup(func() { _ = s.Close() })
			tt.run(t, s)
		})
	}
}

// now is the current time in whole seconds.
func now() time.Time { return time.Now().Truncate(time.Second) }

func testEmpty(t *testing.T, s revocation.Store) {
	ctx := t.Context()
	wantState(t, s, revocation.Query{JTI: "j1", Subject: "alice", Used: true}, revocation.State{})
	wantState(t, s, revocation.Query{}, revocation.State{})
	_, err := s.GetToken(ctx, "j1")
	wantNotFound(t, "GetToken", err)
	_, err = s.GetSubject(ctx, "alice")
	wantNotFound(t, "GetSubject", err)
	_, err = s.GetGlobal(ctx)
	wantNotFound(t, "GetGlobal", err)
	_, err = s.GetSession(ctx, "sid1")
	wantNotFound(t, "GetSession", err)
	wantState(t, s, revocation.Query{Session: "sid1"}, revocation.State{})
	_, err = s.GetEmail(ctx, "alice@example.com")
	wantNotFound(t, "GetEmail", err)
	wantState(t, s, revocation.Query{Email: "alice@example.com"}, revocation.State{})
}

func testRevokeToken(t *testing.T, s revocation.Store) {
	ctx := t.Context()
	exp := now().Add(time.Hour)
	must(t, s.RevokeToken(ctx, "j1", exp))

	wantState(t, s, revocation.Query{JTI: "j1", Subject: "alice", Used: true}, revocation.State{JTIRevoked: true})
	wantState(t, s, revocation.Query{JTI: "j2", Subject: "alice"}, revocation.State{})
	wantToken(t, s, "j1", exp)
	_, err := s.GetToken(ctx, "j2")
	wantNotFound(t, "GetToken of another jti", err)
}

func testUnrevokeToken(t *testing.T, s revocation.Store) {
	ctx := t.Context()
	must(t, s.RevokeToken(ctx, "j1", now().Add(time.Hour)))
	must(t, s.UnrevokeToken(ctx, "j1"))

	wantState(t, s, revocation.Query{JTI: "j1"}, revocation.State{})
	_, err := s.GetToken(ctx, "j1")
	wantNotFound(t, "GetToken after UnrevokeToken", err)
	if err := s.UnrevokeToken(ctx, "j1"); err != nil {
		t.Errorf("UnrevokeToken of an unrevoked jti = %v, want nil", err)
	}
	if err := s.UnrevokeToken(ctx, "never-revoked"); err != nil {
		t.Errorf("UnrevokeToken of a jti never revoked = %v, want nil", err)
	}
}

func testRevokeTwice(t *testing.T, s revocation.Store) {
	ctx := t.Context()
	earlier, later := now().Add(time.Hour), now().Add(2*time.Hour)

	must(t, s.RevokeToken(ctx, "later-first", later))
	must(t, s.RevokeToken(ctx, "later-first", earlier))
	wantToken(t, s, "later-first", later)

	must(t, s.RevokeToken(ctx, "earlier-first", earlier))
	must(t, s.RevokeToken(ctx, "earlier-first", later))
	wantToken(t, s, "earlier-first", later)
}

func testRevokeExpired(t *testing.T, s revocation.Store) {
	ctx := t.Context()
	if err := s.RevokeToken(ctx, "old", now().Add(-time.Minute)); err != nil {
		t.Fatalf("RevokeToken with a past expiry = %v, want nil", err)
	}
	wantState(t, s, revocation.Query{JTI: "old"}, revocation.State{})
	_, err := s.GetToken(ctx, "old")
	wantNotFound(t, "GetToken", err)

	// A past expiry must not shorten a live revocation either.
	exp := now().Add(time.Hour)
	must(t, s.RevokeToken(ctx, "live", exp))
	must(t, s.RevokeToken(ctx, "live", now().Add(-time.Minute)))
	wantToken(t, s, "live", exp)
}

// testExpiry is the one subtest that waits: every kind of record is given
// the same expiry, 1 to 2 seconds ahead.
func testExpiry(t *testing.T, s revocation.Store) {
	ctx := t.Context()
	exp := now().Add(2 * time.Second)
	mark := exp.Add(-ttl) // a mark lives ttl past itself: it lapses at exp
	must(t, s.RevokeToken(ctx, "j1", exp))
	_, err := s.MarkUsed(ctx, "j1", exp)
	must(t, err)
	_, err = s.MarkSubject(ctx, "alice", mark, ttl)
	must(t, err)
	_, err = s.MarkGlobal(ctx, mark, ttl)
	must(t, err)
	must(t, s.RevokeSession(ctx, "sid1", exp))

	q := revocation.Query{JTI: "j1", Subject: "alice", Session: "sid1", Used: true}
	wantState(t, s, q, revocation.State{JTIRevoked: true, JTIUsed: true, SubjectMark: mark, GlobalMark: mark, SessionRevoked: true})

	// Redis expires a key once the clock is past its expiry in
	// milliseconds; a little slack covers that.
	time.Sleep(time.Until(exp) + 150*time.Millisecond)

	wantState(t, s, q, revocation.State{})
	_, err = s.GetToken(ctx, "j1")
	wantNotFound(t, "GetToken after expiry", err)
	_, err = s.GetSubject(ctx, "alice")
	wantNotFound(t, "GetSubject after expiry", err)
	_, err = s.GetGlobal(ctx)
	wantNotFound(t, "GetGlobal after expiry", err)
	_, err = s.GetSession(ctx, "sid1")
	wantNotFound(t, "GetSession after expiry", err)
}

func testSubjectMark(t *testing.T, s revocation.Store) {
	ctx := t.Context()
	_, err := s.GetSubject(ctx, "alice")
	wantNotFound(t, "GetSubject before MarkSubject", err)

	m := now().Add(-time.Minute)
	wantMark(t, "MarkSubject", m)(s.MarkSubject(ctx, "alice", m, ttl))
	wantMark(t, "GetSubject", m)(s.GetSubject(ctx, "alice"))
	wantState(t, s, revocation.Query{Subject: "alice"}, revocation.State{SubjectMark: m})
	wantState(t, s, revocation.Query{JTI: "j1", Subject: "bob"}, revocation.State{})

	must(t, s.UnmarkSubject(ctx, "alice"))
	_, err = s.GetSubject(ctx, "alice")
	wantNotFound(t, "GetSubject after UnmarkSubject", err)
	wantState(t, s, revocation.Query{Subject: "alice"}, revocation.State{})
	if err := s.UnmarkSubject(ctx, "alice"); err != nil {
		t.Errorf("UnmarkSubject of an unmarked subject = %v, want nil", err)
	}
}

func testSubjectForward(t *testing.T, s revocation.Store) {
	ctx := t.Context()
	m := now()
	wantMark(t, "first MarkSubject", m)(s.MarkSubject(ctx, "alice", m, ttl))
	wantMark(t, "MarkSubject with an earlier mark", m)(s.MarkSubject(ctx, "alice", m.Add(-time.Hour), ttl))
	wantMark(t, "GetSubject after an earlier mark", m)(s.GetSubject(ctx, "alice"))
	wantMark(t, "MarkSubject with the same mark", m)(s.MarkSubject(ctx, "alice", m, ttl))

	later := m.Add(time.Second)
	wantMark(t, "MarkSubject with a later mark", later)(s.MarkSubject(ctx, "alice", later, ttl))
	wantMark(t, "GetSubject after a later mark", later)(s.GetSubject(ctx, "alice"))
	wantState(t, s, revocation.Query{Subject: "alice"}, revocation.State{SubjectMark: later})
}

func testMarkLapsed(t *testing.T, s revocation.Store) {
	ctx := t.Context()
	// Every token this mark could reject expired an hour ago.
	m := now().Add(-2 * ttl)
	wantMark(t, "MarkSubject", m)(s.MarkSubject(ctx, "alice", m, ttl))
	_, err := s.GetSubject(ctx, "alice")
	wantNotFound(t, "GetSubject", err)
	wantMark(t, "MarkGlobal", m)(s.MarkGlobal(ctx, m, ttl))
	_, err = s.GetGlobal(ctx)
	wantNotFound(t, "GetGlobal", err)
}

func testConcurrentMarks(t *testing.T, s revocation.Store) {
	ctx := t.Context()
	const writers = 50
	base := now()
	marks := make([]time.Time, writers)
	latest := time.Time{}
	for i := range marks {
		marks[i] = base.Add(time.Duration(rand.IntN(2000)-1000) * time.Second)
		if marks[i].After(latest) {
			latest = marks[i]
		}
	}

	var wg sync.WaitGroup
	got := make([]time.Time, writers)
	errs := make([]error, writers)
	for i := range marks {
		wg.Go(func() {
			got[i], errs[i] = s.MarkSubject(ctx, "alice", marks[i], ttl)
		})
	}
	wg.Wait()

	for i := range marks {
		if errs[i] != nil {
			t.Fatalf("MarkSubject(%v) = %v", marks[i], errs[i])
		}
		// The winner can be no earlier than what this writer asked for.
		if got[i].Before(marks[i]) {
			t.Errorf("MarkSubject(%v) returned the earlier %v", marks[i], got[i])
		}
	}
	wantMark(t, "GetSubject after concurrent marks", latest)(s.GetSubject(ctx, "alice"))
}

func testGlobalMark(t *testing.T, s revocation.Store) {
	ctx := t.Context()
	_, err := s.GetGlobal(ctx)
	wantNotFound(t, "GetGlobal before MarkGlobal", err)

	m := now().Add(-time.Minute)
	wantMark(t, "MarkGlobal", m)(s.MarkGlobal(ctx, m, ttl))
	wantMark(t, "GetGlobal", m)(s.GetGlobal(ctx))
	// The global mark is always looked up, whatever the query names.
	wantState(t, s, revocation.Query{}, revocation.State{GlobalMark: m})
	wantState(t, s, revocation.Query{JTI: "j1", Subject: "alice", Used: true}, revocation.State{GlobalMark: m})

	wantMark(t, "MarkGlobal with an earlier mark", m)(s.MarkGlobal(ctx, m.Add(-time.Hour), ttl))
	later := m.Add(time.Second)
	wantMark(t, "MarkGlobal with a later mark", later)(s.MarkGlobal(ctx, later, ttl))
	wantMark(t, "GetGlobal after a later mark", later)(s.GetGlobal(ctx))
	_, err = s.GetSubject(ctx, "alice")
	wantNotFound(t, "GetSubject with only a global mark", err)

	must(t, s.UnmarkGlobal(ctx))
	_, err = s.GetGlobal(ctx)
	wantNotFound(t, "GetGlobal after UnmarkGlobal", err)
	wantState(t, s, revocation.Query{Subject: "alice"}, revocation.State{})
	if err := s.UnmarkGlobal(ctx); err != nil {
		t.Errorf("UnmarkGlobal without a mark = %v, want nil", err)
	}
}

// collidingSubjects are subjects a naive key layout would confuse: joined
// with ':' separators, Cluster hash tags, spaces, Unicode (including two
// spellings of "ü"), invalid UTF-8, NUL bytes, the layout's own tags, 1 KiB
// strings, and the numeric forms the gateway must keep apart.
func collidingSubjects() []string {
	kib := strings.Repeat("x", 1024)
	return []string{
		"a:b", "a", ":b", "b", "a:", ":", "::",
		"s:a", "t:a", "u:a", "g", "s:", "t:",
		"{x}", "x", "{x", "x}", "{}", "{", "}",
		"a b", "a  b", " a", "a ", " ", "\t", "a\nb",
		"ü", "u\u0308", "日本語", "😀", "\u00a0",
		"\x00", "a\x00b", "\xff\xfe", "\xff",
		kib, kib[:1023] + "y", kib[:1023], strings.Repeat("ü", 512),
		"42", "42.0", "4.2e1", "042", "-0", "0",
	}
}

func testSubjectsDistinct(t *testing.T, s revocation.Store) {
	ctx := t.Context()
	subjects := collidingSubjects()
	base := now().Add(-time.Duration(len(subjects)+1) * time.Second)
	markOf := func(i int) time.Time { return base.Add(time.Duration(i) * time.Second) }
	for i, sub := range subjects {
		wantMark(t, "MarkSubject", markOf(i))(s.MarkSubject(ctx, sub, markOf(i), ttl))
	}
	for i, sub := range subjects {
		got, err := s.GetSubject(ctx, sub)
		if err != nil || !got.Equal(markOf(i)) {
			t.Errorf("GetSubject(%q) = %v, %v; want %v (its own mark)", sub, got, err, markOf(i))
		}
		wantState(t, s, revocation.Query{Subject: sub}, revocation.State{SubjectMark: markOf(i)})
	}
	_, err := s.GetGlobal(ctx)
	wantNotFound(t, "GetGlobal after marking subjects", err)

	// Removing one removes only that one.
	must(t, s.UnmarkSubject(ctx, "a:b"))
	wantMark(t, `GetSubject("a") after UnmarkSubject("a:b")`, markOf(1))(s.GetSubject(ctx, "a"))
}

func testNamespaces(t *testing.T, s revocation.Store) {
	ctx := t.Context()
	exp := now().Add(time.Hour)
	must(t, s.RevokeToken(ctx, "x", exp))
	_, err := s.MarkUsed(ctx, "y", exp)
	must(t, err)
	m := now()
	_, err = s.MarkSubject(ctx, "z", m, ttl)
	must(t, err)

	wantState(t, s, revocation.Query{JTI: "x", Subject: "x", Used: true}, revocation.State{JTIRevoked: true})
	wantState(t, s, revocation.Query{JTI: "y", Subject: "y", Used: true}, revocation.State{JTIUsed: true})
	wantState(t, s, revocation.Query{JTI: "z", Subject: "z", Used: true}, revocation.State{SubjectMark: m})
	_, err = s.GetToken(ctx, "y")
	wantNotFound(t, "GetToken of a jti only marked used", err)
}

func testUsed(t *testing.T, s revocation.Store) {
	ctx := t.Context()
	// The first use is told it was first, every later one that it was not:
	// atomically, so of two at once exactly one is first.
	wantUsed := func(jti string, exp time.Time, want bool) {
		t.Helper()
		got, err := s.MarkUsed(ctx, jti, exp)
		must(t, err)
		if got != want {
			t.Errorf("MarkUsed(%q) alreadyUsed = %v, want %v", jti, got, want)
		}
	}
	wantUsed("r1", now().Add(time.Hour), false)
	wantUsed("r1", now().Add(time.Hour), true)
	wantUsed("r1", now().Add(2*time.Hour), true)

	wantState(t, s, revocation.Query{JTI: "r1", Used: true}, revocation.State{JTIUsed: true})
	wantState(t, s, revocation.Query{JTI: "r1"}, revocation.State{})
	wantState(t, s, revocation.Query{JTI: "r2", Used: true}, revocation.State{})

	wantUsed("r-old", now().Add(-time.Minute), false)
	wantUsed("r-old", now().Add(-time.Minute), false) // nothing was stored
	wantState(t, s, revocation.Query{JTI: "r-old", Used: true}, revocation.State{})

	var first atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			used, err := s.MarkUsed(ctx, "r-race", now().Add(time.Hour))
			if err == nil && !used {
				first.Add(1)
			}
		})
	}
	wg.Wait()
	if n := first.Load(); n != 1 {
		t.Errorf("of 8 concurrent MarkUsed, %d were told they were first, want 1", n)
	}
}

func testWholeSeconds(t *testing.T, s revocation.Store) {
	ctx := t.Context()
	sec := now().Add(-time.Minute)
	withNanos := sec.Add(987654321 * time.Nanosecond)

	wantMark(t, "MarkSubject", sec)(s.MarkSubject(ctx, "alice", withNanos, ttl))
	wantMark(t, "GetSubject", sec)(s.GetSubject(ctx, "alice"))
	wantMark(t, "MarkGlobal", sec)(s.MarkGlobal(ctx, withNanos, ttl))
	wantState(t, s, revocation.Query{Subject: "alice"}, revocation.State{SubjectMark: sec, GlobalMark: sec})

	// Later within the same second is the same mark: it does not win.
	wantMark(t, "MarkSubject later in the same second", sec)(s.MarkSubject(ctx, "bob", sec, ttl))
	wantMark(t, "MarkSubject later in the same second", sec)(s.MarkSubject(ctx, "bob", withNanos, ttl))

	// An expiry is rounded up (jwt.leeway need not be whole seconds): a
	// record never lapses while the token it rejects would be accepted.
	exp := now().Add(time.Hour)
	must(t, s.RevokeToken(ctx, "j1", exp.Add(987654321*time.Nanosecond)))
	wantToken(t, s, "j1", exp.Add(time.Second))
	must(t, s.RevokeToken(ctx, "j2", exp))
	wantToken(t, s, "j2", exp)
}

func testPing(t *testing.T, s revocation.Store) {
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping = %v, want nil", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantState(t *testing.T, s revocation.Store, q revocation.Query, want revocation.State) {
	t.Helper()
	got, err := s.Check(t.Context(), q)
	if err != nil {
		t.Fatalf("Check(%+v) = %v", q, err)
	}
	// cmp compares times with Equal: location does not matter.
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Check(%+v) state mismatch (-want +got):\n%s", q, diff)
	}
}

func wantToken(t *testing.T, s revocation.Store, jti string, exp time.Time) {
	t.Helper()
	got, err := s.GetToken(t.Context(), jti)
	if err != nil {
		t.Fatalf("GetToken(%q) = %v", jti, err)
	}
	want := revocation.TokenRevocation{JTI: jti, ExpiresAt: exp}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GetToken(%q) mismatch (-want +got):\n%s", jti, diff)
	}
}

// wantMark checks a (time, error) result against want; called as
// wantMark(t, what, want)(s.MarkSubject(...)).
func wantMark(t *testing.T, what string, want time.Time) func(time.Time, error) {
	return func(got time.Time, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s = %v", what, err)
		}
		if !got.Equal(want) {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
}

func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, revocation.ErrNotFound) {
		t.Errorf("%s = %v, want ErrNotFound", what, err)
	}
}
