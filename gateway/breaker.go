package gateway

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Circuit breaker settings. A dead Redis refuses connections at once, but a
// hung one (paused, partitioned, swapping) makes every lookup wait the whole
// revocation.lookup_timeout; with the breaker open a request is refused (or,
// with on_store_error: open, forwarded) in microseconds instead, and the
// store is spared a storm of reconnects while it recovers.
const (
	// breakerThreshold consecutive failed lookups open the circuit.
	breakerThreshold = 5
	// breakerBaseCooldown is how long the circuit first stays open.
	breakerBaseCooldown = time.Second
	// breakerMaxCooldown caps the cool-down, which doubles each time the
	// probe after it fails: a store that returns is tried again within
	// this long.
	breakerMaxCooldown = 10 * time.Second
)

// breakerState is where the circuit is.
type breakerState uint64

const (
	// breakerClosed: lookups go to the store.
	breakerClosed breakerState = iota
	// breakerOpen: lookups fail at once until the cool-down ends.
	breakerOpen
	// breakerHalfOpen: one probe lookup is in flight; others fail at once.
	breakerHalfOpen
)

func (s breakerState) String() string {
	switch s {
	case breakerClosed:
		return "closed"
	case breakerOpen:
		return "open"
	case breakerHalfOpen:
		return "half-open"
	}
	return "unknown"
}

// breaker is a circuit breaker around the store lookup. Closed, it counts
// consecutive failures; at breakerThreshold it opens for a cool-down, then
// lets one probe through (half-open): the probe's success closes it, its
// failure opens it again for twice as long, up to breakerMaxCooldown.
//
// The closed path, taken by every request while the store is healthy, is
// one atomic load before the lookup and at most one after; the clock is
// read and the mutex taken only on failures and while open. A nil *breaker
// lets every lookup through.
type breaker struct {
	now          func() time.Time
	log          *slog.Logger
	threshold    int64
	baseCooldown time.Duration
	maxCooldown  time.Duration

	// word is generation<<2 | state. The generation changes on every
	// transition, so the outcome of a lookup admitted under an earlier
	// state (one still in flight when the circuit opened, say) is ignored.
	word atomic.Uint64
	// failures counts consecutive failures while closed.
	failures atomic.Int64

	mu           sync.Mutex // serializes transitions
	cooldown     time.Duration
	openUntil    time.Time
	probeStarted time.Time
}

// newBreaker returns a closed breaker with the package's settings. now is
// the clock and log receives one event per opening and closing.
func newBreaker(now func() time.Time, log *slog.Logger) *breaker {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &breaker{
		now:          now,
		log:          log,
		threshold:    breakerThreshold,
		baseCooldown: breakerBaseCooldown,
		maxCooldown:  breakerMaxCooldown,
		cooldown:     breakerBaseCooldown,
	}
}

// breakerTicket is the admission of one lookup; its outcome goes back to
// done.
type breakerTicket struct {
	gen   uint64
	probe bool
}

func pack(gen uint64, s breakerState) uint64 { return gen<<2 | uint64(s) }

func unpack(w uint64) (uint64, breakerState) { return w >> 2, breakerState(w & 3) }

// state is the circuit's current state.
func (b *breaker) state() breakerState {
	_, s := unpack(b.word.Load())
	return s
}

// allow admits a lookup, or refuses it with errCircuitOpen (errors.go),
// which wraps revocation.ErrUnavailable so on_store_error applies to it
// like to any other store failure.
func (b *breaker) allow() (breakerTicket, error) {
	if b == nil {
		return breakerTicket{}, nil
	}
	if gen, s := unpack(b.word.Load()); s == breakerClosed {
		return breakerTicket{gen: gen}, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	gen, s := unpack(b.word.Load())
	now := b.now()
	switch s {
	case breakerClosed: // closed while we waited for the lock
		return breakerTicket{gen: gen}, nil
	case breakerOpen:
		if now.Before(b.openUntil) {
			return breakerTicket{}, errCircuitOpen
		}
	case breakerHalfOpen:
		// A probe that never reported back (its goroutine panicked, say)
		// must not keep the circuit half-open forever.
		if now.Sub(b.probeStarted) < b.maxCooldown {
			return breakerTicket{}, errCircuitOpen
		}
	}
	b.probeStarted = now
	b.word.Store(pack(gen+1, breakerHalfOpen))
	return breakerTicket{gen: gen + 1, probe: true}, nil
}

// done reports the outcome of an admitted lookup. err is the store's error;
// callerGone says the request's own context ended (the client left), which
// says nothing about the store and is not counted either way.
func (b *breaker) done(t breakerTicket, err error, callerGone bool) {
	if b == nil {
		return
	}
	if !t.probe {
		switch {
		case err == nil:
			// Writing only when needed keeps the healthy path free of
			// stores to a shared cache line.
			if b.failures.Load() != 0 {
				b.failures.Store(0)
			}
			return
		case callerGone:
			return
		case b.failures.Add(1) < b.threshold:
			return
		}
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	gen, s := unpack(b.word.Load())
	if gen != t.gen {
		return // admitted under an earlier state: stale news
	}
	switch {
	case t.probe && err == nil:
		b.word.Store(pack(gen+1, breakerClosed))
		b.failures.Store(0)
		b.cooldown = b.baseCooldown
		b.log.Info("revocation store answers again; lookup circuit closed")
	case t.probe && callerGone:
		// The probe's client left before the store answered: let the next
		// request probe at once.
		b.word.Store(pack(gen+1, breakerOpen))
	case t.probe:
		b.cooldown = min(2*b.cooldown, b.maxCooldown)
		b.openLocked(gen)
		b.log.Warn("revocation store still failing; lookup circuit stays open",
			"retry_in", b.cooldown.String(), "error", err.Error())
	case s == breakerClosed && b.failures.Load() >= b.threshold:
		b.cooldown = b.baseCooldown
		b.openLocked(gen)
		b.log.Error("revocation store failing; lookup circuit open: lookups fail at once, and on_store_error applies, until a probe succeeds",
			"consecutive_failures", b.threshold, "retry_in", b.cooldown.String(), "error", err.Error())
	}
}

// openLocked opens the circuit for the current cool-down. b.mu is held.
func (b *breaker) openLocked(gen uint64) {
	b.openUntil = b.now().Add(b.cooldown)
	b.failures.Store(0)
	b.word.Store(pack(gen+1, breakerOpen))
}
