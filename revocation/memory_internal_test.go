package revocation

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestMemorySweepBoundsGrowth writes many short-lived records and checks
// that expired ones do not pile up: after any write, the store holds at
// most the live records plus the writes since the last sweep.
func TestMemorySweepBoundsGrowth(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_700_000_000, 0)
	m := NewMemory(func() time.Time { return now })

	const live = 100
	for i := range live {
		// Outlives the test's fake hours.
		if err := m.RevokeToken(ctx, fmt.Sprintf("live-%d", i), now.Add(365*24*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	// Each short-lived record expires one second after it is written, so
	// at most one of them is live at a time.
	maxSize := 0
	for i := range 20 * minSweepInterval {
		if _, err := m.MarkUsed(ctx, fmt.Sprintf("short-%d", i), now.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Second)
		m.mu.RLock()
		maxSize = max(maxSize, len(m.records))
		m.mu.RUnlock()
	}
	if limit := live + 1 + minSweepInterval; maxSize > limit {
		t.Errorf("store grew to %d records, want at most %d (live + one sweep interval)", maxSize, limit)
	}

	// Live records survive every sweep.
	for i := range live {
		if _, err := m.GetToken(ctx, fmt.Sprintf("live-%d", i)); err != nil {
			t.Fatalf("live record %d lost: %v", i, err)
		}
	}
}

// TestMemoryForwardKeepsLiveEarlierMark pins the Redis script's behaviour:
// a mark that is later but already lapsed is returned, and does not
// replace (or delete) a live earlier one.
func TestMemoryForwardKeepsLiveEarlierMark(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_700_000_000, 0)
	m := NewMemory(func() time.Time { return now })

	early := now.Add(-3 * time.Hour)
	if _, err := m.MarkSubject(ctx, "alice", early, 10*time.Hour); err != nil {
		t.Fatal(err)
	}
	lapsed := now.Add(-2 * time.Hour)
	got, err := m.MarkSubject(ctx, "alice", lapsed, time.Hour)
	if err != nil || !got.Equal(lapsed) {
		t.Errorf("MarkSubject(lapsed) = %v, %v; want %v", got, err, lapsed)
	}
	if got, err := m.GetSubject(ctx, "alice"); err != nil || !got.Equal(early) {
		t.Errorf("GetSubject = %v, %v; want the live earlier mark %v", got, err, early)
	}
}
