package revocation_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/revgate/revgate/revocation"
	"github.com/revgate/revgate/revocation/storetest"
)

func TestMemoryConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) revocation.Store { return revocation.NewMemory(nil) })
}

// fakeClock is a settable clock in whole seconds, safe for concurrent use.
type fakeClock struct{ unix atomic.Int64 }

func newFakeClock(t time.Time) *fakeClock {
	c := &fakeClock{}
	c.Set(t)
	return c
}

func (c *fakeClock) Now() time.Time  { return time.Unix(c.unix.Load(), 0) }
func (c *fakeClock) Set(t time.Time) { c.unix.Store(t.Unix()) }

func TestMemoryUsesItsClock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := newFakeClock(time.Unix(1_700_000_000, 0))
	m := revocation.NewMemory(clock.Now)

	exp := clock.Now().Add(time.Hour)
	if err := m.RevokeToken(ctx, "j1", exp); err != nil {
		t.Fatal(err)
	}
	if _, err := m.MarkSubject(ctx, "alice", clock.Now(), time.Hour); err != nil {
		t.Fatal(err)
	}
	q := revocation.Query{JTI: "j1", Subject: "alice"}

	clock.Set(exp.Add(-time.Second))
	if st, _ := m.Check(ctx, q); !st.JTIRevoked || st.SubjectMark.IsZero() {
		t.Errorf("a second before expiry: Check = %+v, want jti revoked and a subject mark", st)
	}
	clock.Set(exp)
	if st, _ := m.Check(ctx, q); st != (revocation.State{}) {
		t.Errorf("at expiry: Check = %+v, want nothing (records end at their expiry second)", st)
	}
}

func BenchmarkMemoryCheck(b *testing.B) {
	ctx := context.Background()
	m := revocation.NewMemory(nil)
	if err := m.RevokeToken(ctx, "revoked", time.Now().Add(time.Hour)); err != nil {
		b.Fatal(err)
	}
	if _, err := m.MarkSubject(ctx, "alice", time.Now(), time.Hour); err != nil {
		b.Fatal(err)
	}
	q := revocation.Query{JTI: "3f2b0c9e-6d2a-4a51-9d0e-7d5f3c1a2b4e", Subject: "alice", Used: true}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Check(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
}
