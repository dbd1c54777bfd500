package revocation

import (
	"context"
	"sync"
	"time"
)

// minSweepInterval is the fewest writes between two sweeps of a Memory.
const minSweepInterval = 1024

// Memory is a Store held in process memory, for the demo and for a single
// gateway instance: its state is neither shared nor kept across restarts.
// It follows the same rules as Redis, record for record.
//
// Expired records read as absent at once. They are deleted when a write
// touches them and by a sweep that runs after as many writes as there were
// records at the last sweep (at least minSweepInterval), so memory stays
// within about twice the live records without a background goroutine, at
// an amortized constant cost per write.
type Memory struct {
	now func() time.Time

	mu      sync.RWMutex
	records map[memKey]record

	writes    int // since the last sweep
	nextSweep int // sweep when writes reaches this
}

// memKey names a record, as a Redis key does: kind is one of the key
// layout's tags (tagToken, tagUsed, tagSubject, tagSession, tagGlobal,
// tagEmail) and id the jti, subject, session or canonical address ("" for
// the global mark). No encoding is needed: a struct
// key cannot collide.
type memKey struct {
	kind string
	id   string
}

// record is one stored value with its expiry, both unix seconds. For a jti
// the value is its expiry; for a mark, the mark.
type record struct {
	value     int64
	expiresAt int64
}

// liveAt reports whether r exists and has not expired at now (unix seconds).
// A record is dead from its expiry second on, as it is in Redis within the
// same second.
func (r record) liveAt(now int64) bool { return r.expiresAt > now }

var _ Store = (*Memory)(nil)

// NewMemory returns an empty in-memory store. now is its clock; nil means
// time.Now.
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{
		now:       now,
		records:   make(map[memKey]record),
		nextSweep: minSweepInterval,
	}
}

func (m *Memory) unixNow() int64 { return m.now().Unix() }

// Check implements Store.
func (m *Memory) Check(_ context.Context, q Query) (State, error) {
	now := m.unixNow()
	m.mu.RLock()
	defer m.mu.RUnlock()
	var st State
	if q.JTI != "" {
		st.JTIRevoked = m.records[memKey{tagToken, q.JTI}].liveAt(now)
		if q.Used {
			st.JTIUsed = m.records[memKey{tagUsed, q.JTI}].liveAt(now)
		}
	}
	if q.Subject != "" {
		if r := m.records[memKey{tagSubject, q.Subject}]; r.liveAt(now) {
			st.SubjectMark = unixTime(r.value)
		}
	}
	if q.Session != "" {
		st.SessionRevoked = m.records[memKey{tagSession, q.Session}].liveAt(now)
	}
	if e := CanonicalEmail(q.Email); e != "" {
		if r := m.records[memKey{tagEmail, e}]; r.liveAt(now) {
			st.EmailMark = unixTime(r.value)
		}
	}
	if r := m.records[memKey{tagGlobal, ""}]; r.liveAt(now) {
		st.GlobalMark = unixTime(r.value)
	}
	return st, nil
}

// RevokeToken implements Store. Revoking twice keeps the later expiry; an
// expiry that has already passed records nothing.
func (m *Memory) RevokeToken(_ context.Context, jti string, expiresAt time.Time) error {
	exp := ceilUnix(expiresAt)
	m.forward(memKey{tagToken, jti}, record{value: exp, expiresAt: exp})
	return nil
}

// GetToken implements Store.
func (m *Memory) GetToken(_ context.Context, jti string) (TokenRevocation, error) {
	r, ok := m.get(memKey{tagToken, jti})
	if !ok {
		return TokenRevocation{}, ErrNotFound
	}
	return TokenRevocation{JTI: jti, ExpiresAt: unixTime(r.expiresAt)}, nil
}

// UnrevokeToken implements Store.
func (m *Memory) UnrevokeToken(_ context.Context, jti string) error {
	m.delete(memKey{tagToken, jti})
	return nil
}

// RevokeSession implements Store, with RevokeToken's rules.
func (m *Memory) RevokeSession(_ context.Context, sid string, until time.Time) error {
	exp := ceilUnix(until)
	m.forward(memKey{tagSession, sid}, record{value: exp, expiresAt: exp})
	return nil
}

// GetSession implements Store.
func (m *Memory) GetSession(_ context.Context, sid string) (SessionRevocation, error) {
	r, ok := m.get(memKey{tagSession, sid})
	if !ok {
		return SessionRevocation{}, ErrNotFound
	}
	return SessionRevocation{Session: sid, ExpiresAt: unixTime(r.expiresAt)}, nil
}

// UnrevokeSession implements Store.
func (m *Memory) UnrevokeSession(_ context.Context, sid string) error {
	m.delete(memKey{tagSession, sid})
	return nil
}

// MarkSubject implements Store. When mark plus ttl has already passed,
// nothing is stored (the mark could reject no unexpired token) but the
// winning mark is still returned, as Redis does.
func (m *Memory) MarkSubject(_ context.Context, subject string, mark time.Time, ttl time.Duration) (time.Time, error) {
	v, _ := m.forward(memKey{tagSubject, subject}, markRecord(mark, ttl))
	return unixTime(v), nil
}

// GetSubject implements Store.
func (m *Memory) GetSubject(_ context.Context, subject string) (time.Time, error) {
	return m.getMark(memKey{tagSubject, subject})
}

// UnmarkSubject implements Store.
func (m *Memory) UnmarkSubject(_ context.Context, subject string) error {
	m.delete(memKey{tagSubject, subject})
	return nil
}

// MarkEmail implements Store, with MarkSubject's rules.
func (m *Memory) MarkEmail(_ context.Context, address string, mark time.Time, ttl time.Duration) (time.Time, error) {
	v, _ := m.forward(memKey{tagEmail, CanonicalEmail(address)}, markRecord(mark, ttl))
	return unixTime(v), nil
}

// GetEmail implements Store.
func (m *Memory) GetEmail(_ context.Context, address string) (time.Time, error) {
	return m.getMark(memKey{tagEmail, CanonicalEmail(address)})
}

// UnmarkEmail implements Store.
func (m *Memory) UnmarkEmail(_ context.Context, address string) error {
	m.delete(memKey{tagEmail, CanonicalEmail(address)})
	return nil
}

// MarkGlobal implements Store, with MarkSubject's rules.
func (m *Memory) MarkGlobal(_ context.Context, mark time.Time, ttl time.Duration) (time.Time, error) {
	v, _ := m.forward(memKey{tagGlobal, ""}, markRecord(mark, ttl))
	return unixTime(v), nil
}

// GetGlobal implements Store.
func (m *Memory) GetGlobal(_ context.Context) (time.Time, error) {
	return m.getMark(memKey{tagGlobal, ""})
}

// UnmarkGlobal implements Store.
func (m *Memory) UnmarkGlobal(_ context.Context) error {
	m.delete(memKey{tagGlobal, ""})
	return nil
}

// MarkUsed implements Store. Marking twice keeps the later expiry.
func (m *Memory) MarkUsed(_ context.Context, jti string, expiresAt time.Time) (bool, error) {
	exp := ceilUnix(expiresAt)
	_, existed := m.forward(memKey{tagUsed, jti}, record{value: exp, expiresAt: exp})
	return existed, nil
}

// Ping implements Store; memory always answers.
func (m *Memory) Ping(context.Context) error { return nil }

// Close implements Store; there is nothing to release.
func (m *Memory) Close() error { return nil }

// get returns the live record at k.
func (m *Memory) get(k memKey) (record, bool) {
	now := m.unixNow()
	m.mu.RLock()
	r := m.records[k]
	m.mu.RUnlock()
	return r, r.liveAt(now)
}

func (m *Memory) getMark(k memKey) (time.Time, error) {
	r, ok := m.get(k)
	if !ok {
		return time.Time{}, ErrNotFound
	}
	return unixTime(r.value), nil
}

func (m *Memory) delete(k memKey) {
	m.mu.Lock()
	delete(m.records, k)
	m.mu.Unlock()
}

// forward is the in-memory twin of the Redis forward script: it keeps the
// stored record when it is live and its value is not earlier than r's,
// otherwise stores r unless r has already expired. It returns the winning
// value (r's, even when r was not worth storing) and whether a live record
// existed before.
func (m *Memory) forward(k memKey, r record) (value int64, existed bool) {
	now := m.unixNow()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.noteWrite(now)
	cur, ok := m.records[k]
	existed = ok && cur.liveAt(now)
	switch {
	case existed && cur.value >= r.value:
		return cur.value, existed
	case r.liveAt(now):
		m.records[k] = r
	case ok && !existed:
		delete(m.records, k) // lazy removal; a live earlier record stays, as in Redis
	}
	return r.value, existed
}

// noteWrite counts a write and sweeps expired records when due. The caller
// holds m.mu for writing.
func (m *Memory) noteWrite(now int64) {
	m.writes++
	if m.writes < m.nextSweep {
		return
	}
	for k, r := range m.records {
		if !r.liveAt(now) {
			delete(m.records, k)
		}
	}
	m.writes = 0
	m.nextSweep = max(minSweepInterval, len(m.records))
}

// markRecord is the record of a mark that lives ttl past the mark, both in
// whole seconds, the ttl rounded up.
func markRecord(mark time.Time, ttl time.Duration) record {
	v := mark.Unix()
	return record{value: v, expiresAt: v + int64((ttl+time.Second-1)/time.Second)}
}

// CeilSecond rounds t up to a whole second, as every store keeps an expiry:
// a record must never expire before the last instant a token it rejects
// could be accepted (jwt.leeway need not be whole seconds).
func CeilSecond(t time.Time) time.Time {
	if c := t.Truncate(time.Second); !c.Equal(t) {
		return c.Add(time.Second)
	}
	return t
}

func ceilUnix(t time.Time) int64 { return CeilSecond(t).Unix() }

// unixTime is the UTC time of unix seconds s. UTC so that every store
// returns the same, printable value.
func unixTime(s int64) time.Time { return time.Unix(s, 0).UTC() }
