package revocation

import (
	"context"
	"strconv"
	"sync"
)

// MemoryTrail is a Trail in this process's memory: a ring of the last
// events.
type MemoryTrail struct {
	mu     sync.Mutex
	events []Event // ring; next is the slot Append writes
	next   int
	full   bool
	seq    uint64
}

var _ Trail = (*MemoryTrail)(nil)

// NewMemoryTrail returns an empty trail keeping the last length events
// (0 or less: DefaultTrailLength).
func NewMemoryTrail(length int) *MemoryTrail {
	if length <= 0 {
		length = DefaultTrailLength
	}
	return &MemoryTrail{events: make([]Event, length)}
}

// Append implements Trail.
func (m *MemoryTrail) Append(_ context.Context, e Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.seq++
	e.ID = strconv.FormatUint(m.seq, 10)
	m.events[m.next] = e
	m.next++
	if m.next == len(m.events) {
		m.next, m.full = 0, true
	}
	return nil
}

// Recent implements Trail.
func (m *MemoryTrail) Recent(_ context.Context, f TrailFilter, limit int) ([]Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.next
	if m.full {
		n = len(m.events)
	}
	var out []Event
	for i := 0; i < n && len(out) < limit; i++ {
		e := m.events[(m.next-1-i+len(m.events))%len(m.events)]
		if f.Match(e) {
			out = append(out, e)
		}
	}
	return out, nil
}
