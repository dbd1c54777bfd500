package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/revgate/revgate/gateway/jwtverify"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/revgate/revgate/config"
	"github.com/revgate/revgate/internal/redistest"
	"github.com/revgate/revgate/revocation"
)

// manualClock is a clock tests move by hand.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func newManualClock() *manualClock {
	return &manualClock{t: time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)}
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var errTestStoreDown = fmt.Errorf("%w: test: connection refused", revocation.ErrUnavailable)

func TestBreaker(t *testing.T) {
	// lookup runs one admitted lookup with the given outcome.
	lookup := func(t *testing.T, b *breaker, err error) {
		t.Helper()
		tk, aerr := b.allow()
		if aerr != nil {
			t.Fatalf("lookup refused in state %s: %v", b.state(), aerr)
		}
		b.done(tk, err, false)
	}
	wantState := func(t *testing.T, b *breaker, want breakerState) {
		t.Helper()
		if got := b.state(); got != want {
			t.Fatalf("state = %s, want %s", got, want)
		}
	}
	wantRefused := func(t *testing.T, b *breaker) {
		t.Helper()
		_, err := b.allow()
		if !errors.Is(err, errCircuitOpen) || !errors.Is(err, revocation.ErrUnavailable) {
			t.Fatalf("allow in state %s = %v, want an error wrapping errCircuitOpen and revocation.ErrUnavailable", b.state(), err)
		}
	}
	open := func(t *testing.T, b *breaker) {
		t.Helper()
		for range breakerThreshold {
			lookup(t, b, errTestStoreDown)
		}
		wantState(t, b, breakerOpen)
	}

	t.Run("it opens after the threshold of consecutive failures, not before", func(t *testing.T) {
		b := newBreaker(newManualClock().Now, nil)
		for range breakerThreshold - 1 {
			lookup(t, b, errTestStoreDown)
		}
		wantState(t, b, breakerClosed)
		lookup(t, b, nil) // a success in between resets the count
		for range breakerThreshold - 1 {
			lookup(t, b, errTestStoreDown)
		}
		wantState(t, b, breakerClosed)
		lookup(t, b, errTestStoreDown)
		wantState(t, b, breakerOpen)
		wantRefused(t, b)
	})

	t.Run("the cool-down doubles while probes fail, up to the cap, and a good probe resets it", func(t *testing.T) {
		clock := newManualClock()
		b := newBreaker(clock.Now, nil)
		open(t, b)
		for _, cooldown := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second} {
			clock.Advance(cooldown - time.Millisecond)
			wantRefused(t, b)
			clock.Advance(time.Millisecond)
			tk, err := b.allow()
			if err != nil || !tk.probe {
				t.Fatalf("after %v: allow = %+v, %v; want the probe", cooldown, tk, err)
			}
			wantState(t, b, breakerHalfOpen)
			wantRefused(t, b) // one probe at a time
			b.done(tk, errTestStoreDown, false)
			wantState(t, b, breakerOpen)
		}
		clock.Advance(breakerMaxCooldown)
		lookup(t, b, nil)
		wantState(t, b, breakerClosed)
		// Closed again with a fresh count and the base cool-down.
		for range breakerThreshold - 1 {
			lookup(t, b, errTestStoreDown)
		}
		wantState(t, b, breakerClosed)
		lookup(t, b, errTestStoreDown)
		clock.Advance(breakerBaseCooldown)
		if tk, err := b.allow(); err != nil || !tk.probe {
			t.Fatalf("after the base cool-down: allow = %+v, %v; want the probe", tk, err)
		}
	})

	t.Run("outcomes of lookups admitted before the circuit opened are ignored", func(t *testing.T) {
		b := newBreaker(newManualClock().Now, nil)
		early, err := b.allow()
		if err != nil {
			t.Fatal(err)
		}
		open(t, b)
		b.done(early, nil, false)
		wantState(t, b, breakerOpen)
		b.done(early, errTestStoreDown, false)
		wantState(t, b, breakerOpen)
	})

	t.Run("a client that leaves is not a store failure", func(t *testing.T) {
		clock := newManualClock()
		b := newBreaker(clock.Now, nil)
		for range 3 * breakerThreshold {
			tk, _ := b.allow()
			b.done(tk, fmt.Errorf("%w: %w", revocation.ErrUnavailable, context.Canceled), true)
		}
		wantState(t, b, breakerClosed)

		open(t, b)
		clock.Advance(breakerBaseCooldown)
		tk, _ := b.allow()
		b.done(tk, fmt.Errorf("%w: %w", revocation.ErrUnavailable, context.Canceled), true)
		wantState(t, b, breakerOpen)
		// The next request probes at once, without another cool-down.
		if tk, err := b.allow(); err != nil || !tk.probe {
			t.Fatalf("allow = %+v, %v; want a new probe at once", tk, err)
		}
	})

	t.Run("a probe that never reports back does not wedge the circuit", func(t *testing.T) {
		clock := newManualClock()
		b := newBreaker(clock.Now, nil)
		open(t, b)
		clock.Advance(breakerBaseCooldown)
		if _, err := b.allow(); err != nil {
			t.Fatal(err)
		}
		clock.Advance(breakerMaxCooldown - time.Millisecond)
		wantRefused(t, b)
		clock.Advance(time.Millisecond)
		if tk, err := b.allow(); err != nil || !tk.probe {
			t.Fatalf("allow = %+v, %v; want a new probe", tk, err)
		}
	})

	t.Run("a nil breaker lets everything through", func(t *testing.T) {
		var b *breaker
		tk, err := b.allow()
		if err != nil {
			t.Fatal(err)
		}
		b.done(tk, errTestStoreDown, false)
	})

	t.Run("under concurrency there is never more than one probe in flight", func(t *testing.T) {
		clock := newManualClock()
		b := newBreaker(clock.Now, nil)
		var inFlight, maxInFlight, probes atomic.Int64
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := range 2000 {
					if g == 0 && i%50 == 0 {
						clock.Advance(300 * time.Millisecond)
					}
					tk, err := b.allow()
					if err != nil {
						continue
					}
					if tk.probe {
						probes.Add(1)
						n := inFlight.Add(1)
						for {
							m := maxInFlight.Load()
							if n <= m || maxInFlight.CompareAndSwap(m, n) {
								break
							}
						}
						inFlight.Add(-1)
					}
					// Mostly failing, now and then a success.
					var outcome error = errTestStoreDown
					if (i+g)%97 == 0 {
						outcome = nil
					}
					b.done(tk, outcome, false)
				}
			})
		}
		wg.Wait()
		if m := maxInFlight.Load(); m > 1 {
			t.Fatalf("%d probes were in flight at once", m)
		}
		if probes.Load() == 0 {
			t.Fatal("no probe was ever admitted: the test exercised nothing")
		}
	})
}

// countingStore counts what reaches the store underneath.
type countingStore struct {
	revocation.Store
	checks atomic.Int64
	writes atomic.Int64
	// lastQuery is the Query of the latest Check.
	lastQuery atomic.Pointer[revocation.Query]
}

func (s *countingStore) Check(ctx context.Context, q revocation.Query) (revocation.State, error) {
	s.checks.Add(1)
	s.lastQuery.Store(&q)
	return s.Store.Check(ctx, q)
}

func (s *countingStore) RevokeSession(ctx context.Context, sid string, until time.Time) error {
	s.writes.Add(1)
	return s.Store.RevokeSession(ctx, sid, until)
}

func (s *countingStore) UnrevokeSession(ctx context.Context, sid string) error {
	s.writes.Add(1)
	return s.Store.UnrevokeSession(ctx, sid)
}

func (s *countingStore) RevokeToken(ctx context.Context, jti string, exp time.Time) error {
	s.writes.Add(1)
	return s.Store.RevokeToken(ctx, jti, exp)
}

func (s *countingStore) MarkSubject(ctx context.Context, sub string, mark time.Time, ttl time.Duration) (time.Time, error) {
	s.writes.Add(1)
	return s.Store.MarkSubject(ctx, sub, mark, ttl)
}

func (s *countingStore) MarkGlobal(ctx context.Context, mark time.Time, ttl time.Duration) (time.Time, error) {
	s.writes.Add(1)
	return s.Store.MarkGlobal(ctx, mark, ttl)
}

func (s *countingStore) MarkUsed(ctx context.Context, jti string, exp time.Time) (bool, error) {
	s.writes.Add(1)
	return s.Store.MarkUsed(ctx, jti, exp)
}

func (s *countingStore) UnrevokeToken(ctx context.Context, jti string) error {
	s.writes.Add(1)
	return s.Store.UnrevokeToken(ctx, jti)
}

func (s *countingStore) UnmarkSubject(ctx context.Context, sub string) error {
	s.writes.Add(1)
	return s.Store.UnmarkSubject(ctx, sub)
}

func (s *countingStore) UnmarkGlobal(ctx context.Context) error {
	s.writes.Add(1)
	return s.Store.UnmarkGlobal(ctx)
}

// outageHarness is a gateway on a real Redis, with a store that counts
// lookups and a registry /metrics can be read from.
type outageHarness struct {
	*harness
	srv   *redistest.Server
	count *countingStore
	reg   *prometheus.Registry
}

func newOutageHarness(t *testing.T, mutate func(*config.Config)) *outageHarness {
	t.Helper()
	store, srv := redisStore(t)
	o := &outageHarness{srv: srv, count: &countingStore{Store: store}, reg: prometheus.NewRegistry()}
	h := &harness{t: t, upstream: newUpstream(t), logs: &syncBuffer{}, store: o.count}
	h.cfg = testConfig(t, h.upstream.srv.URL)
	h.cfg.Revocation.LookupTimeout = 200 * time.Millisecond
	if mutate != nil {
		mutate(h.cfg)
	}
	if err := h.cfg.Validate(); err != nil {
		t.Fatalf("test configuration invalid: %v", err)
	}
	logger := slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	v, err := jwtverify.NewVerifier(t.Context(), jwtverify.VerifierConfig{JWT: h.cfg.JWT, MaxTokenLifetime: h.cfg.Revocation.MaxTokenLifetime, Logger: logger})
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	h.gw, err = New(Options{Config: h.cfg, Store: o.count, Verifier: v, Logger: logger, Registerer: o.reg, Gatherer: o.reg})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h.proxy = httptest.NewServer(h.gw.ProxyHandler())
	t.Cleanup(h.proxy.Close)
	o.harness = h
	return o
}

func (o *outageHarness) breakerState() breakerState { return o.gw.pipeline.breaker.state() }

// counter sums the samples of the counter name whose labels include want.
func (o *outageHarness) counter(name string, want map[string]string) float64 {
	o.t.Helper()
	families, err := o.reg.Gather()
	if err != nil {
		o.t.Fatal(err)
	}
	sum := 0.0
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if have[k] != v {
					continue metrics
				}
			}
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

// pauseRedis makes the server hang, as a partitioned or swapping Redis does:
// connections are accepted, commands never answered, until d has passed.
func pauseRedis(t *testing.T, srv *redistest.Server, d time.Duration) {
	t.Helper()
	c := srv.NewClient()
	defer c.Close()
	if err := c.Do(t.Context(), "CLIENT", "PAUSE", strconv.FormatInt(d.Milliseconds(), 10), "ALL").Err(); err != nil {
		t.Fatalf("CLIENT PAUSE: %v", err)
	}
}

// untilAllowed polls with token until the gateway forwards it again, with no
// help from the test: that is the recovery the gateway owes by itself.
func untilAllowed(t *testing.T, client *http.Client, url, token string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		code := getCode(t, client, url, token)
		if code == http.StatusOK {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("still %d %v after the store came back", code, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// warmUp waits until a request succeeds: the first lookup dials Redis,
// which on a loaded machine under -race can outlast the short lookup
// timeout these tests use. What they test starts after it.
func warmUp(t *testing.T, client *http.Client, url, token string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code := getCode(t, client, url, token)
		if code == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("before the outage: %d for 10s", code)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func getCode(t *testing.T, client *http.Client, url, token string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b := make([]byte, 512)
	n, _ := resp.Body.Read(b)
	if resp.StatusCode == http.StatusServiceUnavailable && !strings.Contains(string(b[:n]), "revocation_unavailable") {
		t.Errorf("503 without revocation_unavailable: %q", b[:n])
	}
	return resp.StatusCode
}

// recoveryBound is how long the gateway may take to notice that the store
// is back: the longest cool-down plus slack for a loaded test machine.
const recoveryBound = breakerMaxCooldown + 5*time.Second

func TestOutageWithOnStoreErrorClosed(t *testing.T) {
	for _, kind := range []string{"killed", "hung"} {
		t.Run("a "+kind+" Redis gets 503s that stop reaching it once the circuit opens, and the gateway recovers by itself", func(t *testing.T) {
			o := newOutageHarness(t, nil)
			client := &http.Client{}
			defer client.CloseIdleConnections()
			url := o.proxy.URL + "/x"
			token := mint(t, tok{})
			warmUp(t, client, url, token)
			hits := o.upstream.hits.Load()

			pause := 3 * time.Second
			if kind == "killed" {
				o.srv.Stop()
			} else {
				pauseRedis(t, o.srv, pause)
			}
			outageStart := time.Now()
			for i := range breakerThreshold {
				if code := getCode(t, client, url, token); code != http.StatusServiceUnavailable {
					t.Fatalf("request %d during the outage: %d, want 503", i, code)
				}
			}
			if s := o.breakerState(); s != breakerOpen {
				t.Fatalf("after %d failed lookups the circuit is %s, want open", breakerThreshold, s)
			}

			const more = 50
			before := o.count.checks.Load()
			start := time.Now()
			for i := range more {
				if code := getCode(t, client, url, token); code != http.StatusServiceUnavailable {
					t.Fatalf("request %d with the circuit open: %d, want 503", i, code)
				}
			}
			// Each cool-down that ends lets exactly one probe through.
			probes := o.count.checks.Load() - before
			if allowed := 1 + int64(time.Since(start)/breakerBaseCooldown); probes > allowed {
				t.Errorf("%d of %d requests reached the store with the circuit open (at most %d probes allowed)", probes, more, allowed)
			}
			if n := o.upstream.hits.Load() - hits; n != 0 {
				t.Fatalf("the upstream saw %d requests during the outage", n)
			}
			if v := o.counter("revgate_store_errors_total", map[string]string{"op": "check", "kind": "circuit_open"}); v < more-float64(probes) {
				t.Errorf("revgate_store_errors_total{op=check,kind=circuit_open} = %v, want at least %d", v, more-probes)
			}
			if !strings.Contains(o.logs.String(), "lookup circuit open") {
				t.Error("opening the circuit was not logged")
			}

			if kind == "killed" {
				o.srv.Restart()
			} else {
				time.Sleep(time.Until(outageStart.Add(pause)))
			}
			took := untilAllowed(t, client, url, token, recoveryBound)
			t.Logf("forwarding again %v after the store returned", took.Round(time.Millisecond))
			if s := o.breakerState(); s != breakerClosed {
				t.Errorf("after recovery the circuit is %s, want closed", s)
			}
		})
	}
}

func TestOutageWithOnStoreErrorOpenForwardsAndCounts(t *testing.T) {
	o := newOutageHarness(t, func(c *config.Config) { c.Revocation.OnStoreError = config.OnStoreErrorOpen })
	client := &http.Client{}
	defer client.CloseIdleConnections()
	url := o.proxy.URL + "/x"
	o.srv.Stop()

	const n = 20
	for i := range n {
		if code := getCode(t, client, url, mint(t, tok{})); code != http.StatusOK {
			t.Fatalf("valid token %d during the outage: %d, want 200 (forwarded)", i, code)
		}
	}
	if s := o.breakerState(); s != breakerOpen {
		t.Errorf("circuit is %s, want open", s)
	}
	if got := o.upstream.hits.Load(); got != n {
		t.Errorf("upstream saw %d requests, want %d", got, n)
	}
	if code := getCode(t, client, url, "not-a-token"); code != http.StatusUnauthorized {
		t.Errorf("an invalid token during the outage: %d, want 401", code)
	}
	if code := getCode(t, client, url, mint(t, tok{exp: time.Now().Add(-time.Hour), iat: time.Now().Add(-2 * time.Hour)})); code != http.StatusUnauthorized {
		t.Errorf("an expired token during the outage: %d, want 401", code)
	}
	if got := o.upstream.hits.Load(); got != n {
		t.Errorf("upstream saw %d requests after the invalid ones, want %d", got, n)
	}
	if v := o.counter("revgate_requests_total", map[string]string{"outcome": OutcomeStoreFailOpen}); v != n {
		t.Errorf("revgate_requests_total{outcome=store_fail_open} = %v, want %d", v, n)
	}
	o.srv.Restart()
	// Fail-open forwards either way, so recovery shows in the circuit and
	// the outcome, not the status.
	deadline := time.Now().Add(recoveryBound)
	for o.breakerState() != breakerClosed {
		if time.Now().After(deadline) {
			t.Fatalf("circuit still %s %v after the store returned", o.breakerState(), recoveryBound)
		}
		getCode(t, client, url, mint(t, tok{}))
		time.Sleep(50 * time.Millisecond)
	}
	before := o.counter("revgate_requests_total", map[string]string{"outcome": OutcomeStoreFailOpen})
	if code := getCode(t, client, url, mint(t, tok{})); code != http.StatusOK {
		t.Fatalf("after recovery: %d", code)
	}
	if after := o.counter("revgate_requests_total", map[string]string{"outcome": OutcomeStoreFailOpen}); after != before {
		t.Error("a request after recovery was still counted as store_fail_open")
	}
}

func TestRepeatedOutagesLeakNeitherGoroutinesNorConnections(t *testing.T) {
	o := newOutageHarness(t, nil)
	transport := &http.Transport{MaxIdleConnsPerHost: 16}
	client := &http.Client{Transport: transport}
	defer transport.CloseIdleConnections()
	url := o.proxy.URL + "/x"
	token := mint(t, tok{})
	redisClient := o.srv.NewClient()

	// Warm up every pool (HTTP client, proxy transport, Redis) before
	// taking the baseline.
	tryBurst := func(want int) int64 {
		var wg sync.WaitGroup
		var wrong atomic.Int64
		for range 8 {
			wg.Go(func() {
				for range 4 {
					if getCode(t, client, url, token) != want {
						wrong.Add(1)
					}
				}
			})
		}
		wg.Wait()
		return wrong.Load()
	}
	burst := func(want int) {
		t.Helper()
		if n := tryBurst(want); n != 0 {
			t.Fatalf("%d of 32 requests did not get %d", n, want)
		}
	}
	// The first burst dials every pool at once; on a loaded machine under
	// -race a cold dial can outlast the 200ms lookup timeout. That is not
	// what this test is about, so the warm-up may take a few tries.
	for try := 1; tryBurst(http.StatusOK) != 0; try++ {
		if try == 5 {
			t.Fatal("the gateway never answered a warm-up burst with 200s")
		}
	}
	burst(http.StatusOK)
	settle := func() (goroutines, fds int) {
		transport.CloseIdleConnections()
		for range 50 {
			runtime.GC()
			time.Sleep(20 * time.Millisecond)
		}
		return runtime.NumGoroutine(), openFDs()
	}
	baseG, baseFDs := settle()
	maxClients := 10*runtime.GOMAXPROCS(0) + 2 // go-redis's pool size, plus the test's own client

	const outages = 5
	for i := range outages {
		hung := i%2 == 1
		if hung {
			pauseRedis(t, o.srv, 1500*time.Millisecond)
		} else {
			o.srv.Stop()
		}
		burst(http.StatusServiceUnavailable)
		if s := o.breakerState(); s != breakerOpen {
			t.Fatalf("outage %d: circuit %s, want open", i+1, s)
		}
		if !hung {
			o.srv.Restart()
		}
		untilAllowed(t, client, url, token, recoveryBound)
		burst(http.StatusOK)
		clients := connectedClients(t, redisClient)
		t.Logf("outage %d (hung=%v): recovered; redis connected_clients=%d goroutines=%d", i+1, hung, clients, runtime.NumGoroutine())
		if clients > maxClients {
			t.Errorf("outage %d: Redis has %d clients, more than the pool's %d", i+1, clients, maxClients)
		}
	}

	// Goroutines and descriptors come back to the baseline; a leak of one
	// per request or per outage would show as dozens.
	const slack = 8
	deadline := time.Now().Add(10 * time.Second)
	for {
		g, fds := settle()
		if g <= baseG+slack && (baseFDs < 0 || fds <= baseFDs+slack) {
			t.Logf("goroutines %d -> %d, open fds %d -> %d", baseG, g, baseFDs, fds)
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("after %d outages: goroutines %d -> %d, open fds %d -> %d\n%s", outages, baseG, g, baseFDs, fds, buf[:n])
		}
	}
}

// openFDs counts this process's open file descriptors; -1 where /proc is
// not available.
func openFDs() int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(entries)
}

// connectedClients reads INFO clients' connected_clients.
func connectedClients(t *testing.T, c *redis.Client) int {
	t.Helper()
	info, err := c.Info(t.Context(), "clients").Result()
	if err != nil {
		t.Fatalf("INFO clients: %v", err)
	}
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "connected_clients:"); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("connected_clients: %q", v)
			}
			return n
		}
	}
	t.Fatalf("INFO clients has no connected_clients:\n%s", info)
	return 0
}
