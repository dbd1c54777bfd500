package console

import (
	"sync"
	"testing"
	"time"
)

// The status page reads the ring while the sampler keeps it at
// keptSamples: once full, every Sample drops the oldest snapshot. A
// reader must never see the slots being rewritten under it (go test
// -race reports it), nor windows out of order.
func TestRequestRingReadsWhileSampling(t *testing.T) {
	var mu sync.Mutex
	now, n := time.Unix(1e9, 0), 0.0
	tick := func() time.Time { mu.Lock(); defer mu.Unlock(); now = now.Add(SampleEvery); return now }
	// Cumulative requests grow by one per sample: over any window the
	// count is the number of samples it spans.
	read := func() map[string]float64 { mu.Lock(); defer mu.Unlock(); n++; return map[string]float64{"allowed": n} }
	rr := NewRequestRing(read, tick)
	for range keptSamples + 5 {
		rr.Sample()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 500 {
			rr.Sample()
		}
	}()
	for range 500 {
		rows, since := rr.Windows()
		if len(rows) != 1 || rows[0].Outcome != "allowed" || since.IsZero() {
			t.Fatalf("Windows() = %v, %v; want one row for allowed", rows, since)
		}
		c := rows[0].Counts
		// Snapshots are oldest first with ever larger totals: a longer
		// window starts no later, so counts no fewer.
		if c[0] < 1 || c[1] < c[0] || c[2] < c[1] {
			t.Fatalf("counts over 1, 5, 15 minutes = %v; want at least 1 and not decreasing", c)
		}
	}
	<-done
}
