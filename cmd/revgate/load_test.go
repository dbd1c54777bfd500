package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"

	"github.com/revgate/revgate/internal/redistest"
)

// loadFlag selects the full consistency run:
//
//	go test ./cmd/revgate -run TestConsistencyUnderLoad -load -v
var loadFlag = flag.Bool("load", false, "run TestConsistencyUnderLoad at full size: 10 000 revoked tokens and 1 000 revoked subjects under full-speed load")

// loadSize bounds one consistency run.
type loadSize struct {
	tokens     int           // tokens revoked one by one (by jti or by the token itself)
	subjects   int           // subjects revoked...
	perSubject int           // ...each with this many tokens in the load
	valid      int           // tokens never revoked
	workers    int           // concurrent load goroutines
	revokers   int           // concurrent admin clients
	maxTime    time.Duration // the whole run, load included
	maxReqs    int64         // load requests, at most
	tail       time.Duration // load kept up after the last revocation
}

var (
	smallLoad = loadSize{tokens: 300, subjects: 30, perSubject: 2, valid: 50, workers: 8, revokers: 2,
		maxTime: time.Minute, maxReqs: 2_000_000, tail: 500 * time.Millisecond}
	fullLoad = loadSize{tokens: 10_000, subjects: 1_000, perSubject: 2, valid: 500, workers: 32, revokers: 4,
		maxTime: 10 * time.Minute, maxReqs: 50_000_000, tail: 2 * time.Second}
)

// loadTarget is one token in the load. ack is when the revocation covering
// it was acknowledged (nanoseconds since the run began; 0: not revoked).
type loadTarget struct {
	token     string
	jti       string
	expiresAt time.Time
	revocable bool
	ack       atomic.Int64
}

// loadCounts are what the run reports.
type loadCounts struct {
	requests        atomic.Int64 // load requests answered
	afterAck        atomic.Int64 // requests with a revoked token started after its ack
	wronglyAllowed  atomic.Int64 // of those, answered 200
	wronglyRejected atomic.Int64 // never-revoked tokens not answered 200
	serverErrors    atomic.Int64 // 5xx from a proxy or the admin API
	unexpected      atomic.Int64 // any other status
	nextRequest     atomic.Int64 // "very next request" checks after an ack
	transport       atomic.Int64 // requests that failed to complete
}

func TestConsistencyUnderLoad(t *testing.T) {
	size := smallLoad
	if *loadFlag {
		size = fullLoad
	}
	redis := redistest.Start(t, redistest.Options{})
	s := newSigner(t)
	upstream := newUpstream(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	// Two gateways share the Redis: a revocation acknowledged by one must
	// hold on the other at once.
	cfg := fmt.Sprintf("upstream:\n  url: %q\njwt:\n  jwks_file: %q\n  algorithms: [ES256]\nrevocation:\n  redis:\n    url: %q\nlog:\n  level: warn\n",
		upstream, s.jwksPath, redis.URL())
	gateways := []*process{startGateway(t, cfg), startGateway(t, cfg)}

	// Tokens are issued 2s ago, so a subject mark set now covers them all.
	issued := time.Now().Add(-2 * time.Second)
	newTarget := func(sub string, revocable bool) *loadTarget {
		jti := randomID()
		tok, err := mint(s.key, jwa.ES256, mintRequest{Subject: sub, JTI: jti, TTL: time.Hour, Now: issued})
		if err != nil {
			t.Fatal(err)
		}
		return &loadTarget{token: tok, jti: jti, expiresAt: issued.Add(time.Hour), revocable: revocable}
	}
	var valid, revocable []*loadTarget
	for i := range size.valid {
		valid = append(valid, newTarget(fmt.Sprintf("valid-%d", i), false))
	}
	// A revocation is one admin call and the targets it covers.
	type revocation struct {
		path, body string
		covers     []*loadTarget
	}
	var revocations []revocation
	for i := range size.tokens {
		tg := newTarget(fmt.Sprintf("token-%d", i), true)
		revocable = append(revocable, tg)
		body := fmt.Sprintf(`{"jti":%q,"expires_at":%d,"reason":"load test"}`, tg.jti, tg.expiresAt.Unix())
		if i%2 == 1 {
			body = fmt.Sprintf(`{"token":%q}`, tg.token)
		}
		revocations = append(revocations, revocation{path: "/v1/revocations/tokens", body: body, covers: []*loadTarget{tg}})
	}
	for i := range size.subjects {
		sub := fmt.Sprintf("subject %d: {ü}", i) // any characters at all
		var covers []*loadTarget
		for range size.perSubject {
			tg := newTarget(sub, true)
			revocable = append(revocable, tg)
			covers = append(covers, tg)
		}
		revocations = append(revocations, revocation{path: "/v1/revocations/subjects/" + url.PathEscape(sub), covers: covers})
	}
	rand.Shuffle(len(revocations), func(i, j int) { revocations[i], revocations[j] = revocations[j], revocations[i] })

	transport := &http.Transport{MaxIdleConnsPerHost: 2 * (size.workers + size.revokers)}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 10 * time.Second}
	var c loadCounts
	var firstErrors sync.Map // kind -> first example, for the failure message
	note := func(kind, detail string) { firstErrors.LoadOrStore(kind, detail) }
	begin := time.Now()
	since := func() int64 { return int64(time.Since(begin)) }

	get := func(gw *process, token string) (int, error) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+gw.proxy+"/api/x", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}

	// The most recently acknowledged targets, where a stale answer would
	// show: index+1 in a ring, 0 when empty.
	const ringSize = 256
	var ring [ringSize]atomic.Int64
	var ringPos atomic.Int64
	index := map[*loadTarget]int{}
	for i, tg := range revocable {
		index[tg] = i
	}

	ctx, cancel := context.WithTimeout(context.Background(), size.maxTime)
	defer cancel()
	stopLoad := make(chan struct{})
	var load sync.WaitGroup
	for w := range size.workers {
		load.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), uint64(begin.UnixNano())))
			for {
				select {
				case <-stopLoad:
					return
				default:
				}
				if c.requests.Load() >= size.maxReqs {
					return
				}
				var tg *loadTarget
				switch r := rng.IntN(4); {
				case r < 2:
					tg = valid[rng.IntN(len(valid))]
				case r == 2 && ringPos.Load() > 0:
					n := min(ringPos.Load(), ringSize)
					if i := ring[(ringPos.Load()-rng.Int64N(n))%ringSize].Load(); i > 0 {
						tg = revocable[i-1]
					}
				}
				if tg == nil {
					tg = revocable[rng.IntN(len(revocable))]
				}
				gw := gateways[rng.IntN(len(gateways))]
				start := since()
				code, err := get(gw, tg.token)
				if err != nil {
					if ctx.Err() == nil {
						c.transport.Add(1)
						note("transport", err.Error())
					}
					continue
				}
				c.requests.Add(1)
				ack := tg.ack.Load()
				switch {
				case code >= 500:
					c.serverErrors.Add(1)
					note("5xx", fmt.Sprintf("%d from %s", code, gw.proxy))
				case !tg.revocable && code != http.StatusOK:
					c.wronglyRejected.Add(1)
					note("wrongly rejected", fmt.Sprintf("never-revoked token answered %d", code))
				case tg.revocable && ack != 0 && start > ack:
					c.afterAck.Add(1)
					if code != http.StatusUnauthorized {
						c.wronglyAllowed.Add(1)
						note("wrongly allowed", fmt.Sprintf("%d for jti %s, request started %v after the ack", code, tg.jti, time.Duration(start-ack)))
					}
				case code != http.StatusOK && code != http.StatusUnauthorized:
					c.unexpected.Add(1)
					note("unexpected", fmt.Sprintf("%d", code))
				}
			}
		})
	}

	// Revoke while the load runs.
	work := make(chan revocation)
	var revokers sync.WaitGroup
	var revoked atomic.Int64
	for r := range size.revokers {
		revokers.Go(func() {
			for rv := range work {
				admin := gateways[r%len(gateways)]
				other := gateways[(r+1)%len(gateways)]
				req, _ := http.NewRequest(http.MethodPost, "http://"+admin.admin+rv.path, strings.NewReader(rv.body))
				req.Header.Set("Authorization", "Bearer "+adminToken)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					note("admin transport", err.Error())
					c.transport.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					if resp.StatusCode >= 500 {
						c.serverErrors.Add(1)
					}
					c.unexpected.Add(1)
					note("admin", fmt.Sprintf("POST %s answered %d", rv.path, resp.StatusCode))
					continue
				}
				ack := since()
				for _, tg := range rv.covers {
					tg.ack.Store(ack)
					ring[ringPos.Add(1)%ringSize].Store(int64(index[tg] + 1))
				}
				revoked.Add(1)
				// The very next request, on the other gateway.
				code, err := get(other, rv.covers[0].token)
				c.nextRequest.Add(1)
				if err == nil && code != http.StatusUnauthorized {
					c.wronglyAllowed.Add(1)
					note("wrongly allowed", fmt.Sprintf("the very next request after the ack answered %d", code))
				}
			}
		})
	}
	timedOut := false
feed:
	for _, rv := range revocations {
		select {
		case work <- rv:
		case <-ctx.Done():
			timedOut = true
			break feed
		}
	}
	close(work)
	revokers.Wait()
	revokeTime := time.Since(begin)
	select {
	case <-time.After(size.tail):
	case <-ctx.Done():
	}
	close(stopLoad)
	load.Wait()
	elapsed := time.Since(begin)

	t.Logf("revoked %d tokens and %d subjects (%d tokens) in %v, %d acknowledged, through 2 gateways on one Redis",
		size.tokens, size.subjects, size.subjects*size.perSubject, revokeTime.Round(time.Millisecond), revoked.Load())
	t.Logf("load: %d requests in %v (%.0f/s) by %d workers; %d with a revoked token started after its ack; %d very-next-request checks",
		c.requests.Load(), elapsed.Round(time.Millisecond), float64(c.requests.Load())/elapsed.Seconds(), size.workers, c.afterAck.Load(), c.nextRequest.Load())
	t.Logf("wrongly allowed %d, wrongly rejected %d, 5xx %d, other statuses %d, transport errors %d",
		c.wronglyAllowed.Load(), c.wronglyRejected.Load(), c.serverErrors.Load(), c.unexpected.Load(), c.transport.Load())
	firstErrors.Range(func(k, v any) bool { t.Logf("first %s: %s", k, v); return true })

	if timedOut {
		t.Fatalf("the revocations did not finish within %v", size.maxTime)
	}
	if n := revoked.Load(); n != int64(len(revocations)) {
		t.Errorf("%d of %d revocations acknowledged", n, len(revocations))
	}
	for name, n := range map[string]int64{
		"wrongly allowed": c.wronglyAllowed.Load(), "wrongly rejected": c.wronglyRejected.Load(),
		"5xx": c.serverErrors.Load(), "other statuses": c.unexpected.Load(), "transport errors": c.transport.Load(),
	} {
		if n != 0 {
			t.Errorf("%s: %d, want 0", name, n)
		}
	}
	if c.afterAck.Load() == 0 {
		t.Error("no request with a revoked token started after its ack: the run checked nothing")
	}
	// Every revoked token is rejected at the end, on both gateways.
	for _, gw := range gateways {
		for i, tg := range revocable {
			if i%max(1, len(revocable)/200) != 0 {
				continue
			}
			if code, err := get(gw, tg.token); err != nil || code != http.StatusUnauthorized {
				t.Errorf("after the run a revoked token answered %d (%v) on %s", code, err, gw.proxy)
			}
		}
	}
}
