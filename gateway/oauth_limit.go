package gateway

import (
	"math"
	"sync"
	"time"
)

// Limits of failed client authentication on the OAuth endpoints, per remote
// address: with secrets of at least 16 bytes guessing is hopeless anyway;
// this bounds the work (and the log lines) a guesser can cause.
const (
	authFailureRate  = 5  // per second, sustained
	authFailureBurst = 20 // at once
	// maxFailureAddrs bounds the addresses remembered; past it, addresses
	// not seen before share one bucket.
	maxFailureAddrs = 10000
)

// limiter is a set of token buckets, one per key: rate tokens a second up
// to burst. Keys are client ids (bounded by the configuration) or remote
// addresses; at most max buckets are kept, the overflow one included.
type limiter struct {
	rate, burst float64
	max         int
	now         func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// overflowKey is the bucket shared by keys that find the limiter full.
const overflowKey = "\x00overflow"

func newLimiter(rate, burst float64, max int, now func() time.Time) *limiter {
	return &limiter{rate: rate, burst: burst, max: max, now: now, buckets: make(map[string]*bucket)}
}

// get returns key's bucket, refilled to now. The caller holds mu.
func (l *limiter) get(key string, now time.Time) *bucket {
	b := l.buckets[key]
	if b == nil {
		// One place is kept for the overflow bucket.
		if len(l.buckets) >= l.max-1 {
			l.sweep(now)
		}
		if len(l.buckets) >= l.max-1 {
			key = overflowKey
			b = l.buckets[key]
		}
		if b == nil {
			b = &bucket{tokens: l.burst, last: now}
			l.buckets[key] = b
		}
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = math.Min(l.burst, b.tokens+el*l.rate)
		b.last = now
	}
	return b
}

// sweep forgets buckets that have refilled: they hold nothing a new
// bucket would not.
func (l *limiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.buckets, k)
		}
	}
}

// take spends one token of key's bucket; when there is none it reports how
// long until there is.
func (l *limiter) take(key string) (ok bool, retryAfter time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.get(key, l.now())
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, l.wait(b)
}

// check reports whether key's bucket holds a token, without spending it.
func (l *limiter) check(key string) (ok bool, retryAfter time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.get(key, l.now())
	if b.tokens >= 1 {
		return true, 0
	}
	return false, l.wait(b)
}

// spend takes a token from key's bucket whether or not one is left (down to
// no less than none).
func (l *limiter) spend(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.get(key, l.now())
	b.tokens = math.Max(0, b.tokens-1)
}

func (l *limiter) wait(b *bucket) time.Duration {
	return time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// retryAfterSeconds is a Retry-After value: whole seconds, at least 1.
func retryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}
