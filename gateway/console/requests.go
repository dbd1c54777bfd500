package console

import (
	"context"
	"slices"
	"sort"
	"sync"
	"time"
)

// Sampling of the request counters: every 10s, 15 minutes kept.
const (
	SampleEvery = 10 * time.Second
	keptSamples = int(15*time.Minute/SampleEvery) + 1
)

// windows are the spans the status page shows requests over.
var windows = []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute}

// RequestRing keeps recent snapshots of the process's request counters
// (requests by outcome), so the status page can show the last minutes
// without a Prometheus server.
type RequestRing struct {
	read func() map[string]float64
	now  func() time.Time

	mu    sync.Mutex
	snaps []snapshot // oldest first
}

type snapshot struct {
	at     time.Time
	counts map[string]float64
}

// NewRequestRing samples read, which returns cumulative requests by
// outcome.
func NewRequestRing(read func() map[string]float64, now func() time.Time) *RequestRing {
	if now == nil {
		now = time.Now
	}
	return &RequestRing{read: read, now: now}
}

// Sample takes one snapshot.
func (rr *RequestRing) Sample() {
	s := snapshot{at: rr.now(), counts: rr.read()}
	rr.mu.Lock()
	defer rr.mu.Unlock()
	rr.snaps = append(rr.snaps, s)
	if len(rr.snaps) > keptSamples {
		rr.snaps = append(rr.snaps[:0], rr.snaps[len(rr.snaps)-keptSamples:]...)
	}
}

// Run samples every SampleEvery until ctx ends.
func (rr *RequestRing) Run(ctx context.Context) {
	rr.Sample()
	t := time.NewTicker(SampleEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			rr.Sample()
		}
	}
}

// Window is one outcome's requests over the last 1, 5 and 15 minutes.
type Window struct {
	Outcome string
	Counts  [3]float64
}

// Windows returns requests per outcome over each window, from the
// snapshot taken at or just before the window's start (or the oldest one
// kept, when the process is younger: since then says from when).
func (rr *RequestRing) Windows() (rows []Window, since time.Time) {
	// A copy: Sample compacts the ring in place once it is full.
	rr.mu.Lock()
	snaps := slices.Clone(rr.snaps)
	rr.mu.Unlock()
	// Read after the copy: the counters only grow, so every snapshot in
	// it is at most current, and no window comes out negative.
	now, current := rr.now(), rr.read()
	if len(snaps) == 0 {
		return nil, time.Time{}
	}
	var bases [3]map[string]float64
	for i, w := range windows {
		bases[i] = snaps[0].counts
		for _, s := range snaps {
			if s.at.After(now.Add(-w)) {
				break
			}
			bases[i] = s.counts
		}
	}
	for outcome, n := range current {
		row := Window{Outcome: outcome}
		for i := range windows {
			row.Counts[i] = n - bases[i][outcome]
		}
		rows = append(rows, row)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Outcome < rows[j].Outcome })
	return rows, snaps[0].at
}
