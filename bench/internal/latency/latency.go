// Package latency is the benchmark drivers' latency histogram
// (bench/loadgen, bench/grpcload): log-linear, fixed size, exact enough
// for p99.9 at any rate, and cheap to record from many goroutines each
// with its own.
package latency

import (
	"math/bits"
	"time"
)

// Hist is a log-linear histogram of nanoseconds: values below 2^subBits
// are exact; above, each power of two is split into 2^subBits buckets.
type Hist struct {
	counts [64 << subBits]int64
	// N is how many values were recorded, Max the largest, in ns.
	N   int64
	Max int64
}

const subBits = 7

func bucket(v int64) int {
	if v < 1<<subBits {
		return int(v)
	}
	e := bits.Len64(uint64(v)) - subBits - 1 // shift that leaves subBits+1 bits
	return (e+1)<<subBits + int(v>>e) - 1<<subBits
}

// upper is the largest value in bucket b.
func upper(b int) int64 {
	if b < 1<<subBits {
		return int64(b)
	}
	e := b>>subBits - 1
	m := int64(b&(1<<subBits-1) + 1<<subBits)
	return (m+1)<<e - 1
}

// Record adds one duration.
func (h *Hist) Record(d time.Duration) {
	v := max(int64(d), 0)
	h.counts[bucket(v)]++
	h.N++
	h.Max = max(h.Max, v)
}

// Merge adds o's values.
func (h *Hist) Merge(o *Hist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.N += o.N
	h.Max = max(h.Max, o.Max)
}

// Quantile returns q's value in microseconds (a bucket's upper bound).
func (h *Hist) Quantile(q float64) float64 {
	if h.N == 0 {
		return 0
	}
	rank := int64(q*float64(h.N-1)) + 1
	var seen int64
	for b, c := range h.counts {
		seen += c
		if seen >= rank {
			return float64(min(upper(b), h.Max)) / 1e3
		}
	}
	return float64(h.Max) / 1e3
}
