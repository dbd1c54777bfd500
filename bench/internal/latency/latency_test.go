package latency

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestBucketHoldsItsValueWithinPrecision(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 100_000 {
		v := r.Int64N(int64(10 * time.Second))
		b := bucket(v)
		up := upper(b)
		if v > up {
			t.Fatalf("value %d above its bucket's upper bound %d", v, up)
		}
		if b > 0 && upper(b-1) >= v {
			t.Fatalf("value %d also fits the previous bucket (upper %d)", v, upper(b-1))
		}
		if float64(up-v) > float64(v)/(1<<subBits) {
			t.Fatalf("value %d reported as %d: worse than 1/%d", v, up, 1<<subBits)
		}
	}
}

func TestQuantilesOfAUniformSpread(t *testing.T) {
	var h Hist
	for i := 1; i <= 10_000; i++ {
		h.Record(time.Duration(i) * time.Microsecond)
	}
	for _, c := range []struct{ q, want float64 }{{.5, 5000}, {.99, 9900}, {1, 10000}} {
		got := h.Quantile(c.q)
		if got < c.want || got > c.want*(1+1.0/(1<<subBits)) {
			t.Errorf("quantile(%v) = %vµs, want %vµs within 1/%d", c.q, got, c.want, 1<<subBits)
		}
	}
}
