package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/revgate/revgate/revocation"
)

const ssfPollAuth = "Bearer poll-secret-0123456789"

// pollTransmitter is the transmitter's side of RFC 8936: a queue of SETs
// that a poll delivers (at most pageSize at a time, saying moreAvailable
// when more wait) until the recipient acknowledges them or reports an
// error for them; a SET neither acknowledged nor reported is delivered
// again. A poll with returnImmediately false on an empty queue is held
// until a SET is queued or a short wait ends.
type pollTransmitter struct {
	srv      *httptest.Server
	pageSize int

	mu        sync.Mutex
	order     []string          // queued jtis, oldest first
	queue     map[string]string // jti → SET, not yet acknowledged
	acked     []string
	errs      map[string]setError
	polls     int
	delivered map[string]int // jti → times delivered
	badPolls  int            // polls refused (authorization, body)
	added     chan struct{}
}

func newPollTransmitter(t *testing.T) *pollTransmitter {
	p := &pollTransmitter{pageSize: 2, queue: map[string]string{}, errs: map[string]setError{},
		delivered: map[string]int{}, added: make(chan struct{}, 1)}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *pollTransmitter) add(jti, set string) {
	p.mu.Lock()
	p.order = append(p.order, jti)
	p.queue[jti] = set
	p.mu.Unlock()
	select {
	case p.added <- struct{}{}:
	default:
	}
}

func (p *pollTransmitter) serve(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Ack               []string            `json:"ack"`
		SetErrs           map[string]setError `json:"setErrs"`
		ReturnImmediately bool                `json:"returnImmediately"`
		MaxEvents         *int                `json:"maxEvents"`
	}
	if r.Method != http.MethodPost || r.Header.Get("Authorization") != ssfPollAuth ||
		r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&req) != nil {
		p.mu.Lock()
		p.badPolls++
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"err":"authentication_failed","description":"who are you"}`))
		return
	}
	p.mu.Lock()
	p.polls++
	for _, jti := range req.Ack {
		if _, ok := p.queue[jti]; ok {
			p.acked = append(p.acked, jti)
			p.remove(jti)
		}
	}
	for jti, e := range req.SetErrs {
		if _, ok := p.queue[jti]; ok {
			p.errs[jti] = e
			p.remove(jti)
		}
	}
	empty := len(p.order) == 0
	p.mu.Unlock()
	if empty && !req.ReturnImmediately && (req.MaxEvents == nil || *req.MaxEvents > 0) {
		select {
		case <-p.added:
		case <-time.After(200 * time.Millisecond):
		case <-r.Context().Done():
		}
	}
	limit := p.pageSize
	if req.MaxEvents != nil && *req.MaxEvents < limit {
		limit = *req.MaxEvents
	}
	p.mu.Lock()
	sets := map[string]string{}
	for _, jti := range p.order {
		if len(sets) == limit {
			break
		}
		sets[jti] = p.queue[jti]
		p.delivered[jti]++
	}
	more := len(p.order) > len(sets)
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"sets": sets, "moreAvailable": more})
}

func (p *pollTransmitter) remove(jti string) {
	delete(p.queue, jti)
	p.order = slices.DeleteFunc(p.order, func(s string) bool { return s == jti })
}

// waitFor polls cond every 20ms for at most d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out after %s waiting for %s", d, what)
}

// startPoller runs PollSSF until the test ends, and checks it stops.
func startPoller(t *testing.T, h *harness) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.gw.PollSSF(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("PollSSF: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Error("PollSSF did not stop within 10s of its context ending")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func withPoll(p *pollTransmitter) func(*ssfSettings) {
	return func(s *ssfSettings) {
		s.pushPath, s.pollURL, s.pollAuthorization = "", p.srv.URL, ssfPollAuth
	}
}

func TestSSFPollAppliesAcknowledgesAndReportsErrors(t *testing.T) {
	tr := newTransmitter(t)
	p := newPollTransmitter(t)
	h := newSSFHarness(t, nil, tr, withPoll(p))
	old := time.Now().Add(-time.Minute)
	alice := mint(t, tok{sub: "alice", iat: old})
	bob := mint(t, tok{sub: "bob", iat: old, extra: map[string]any{"sid": "s-bob"}})

	applied := setClaims(eventAccountDisabled, map[string]any{}, issSub("alice"))
	session := setClaims(eventSessionRevoked, map[string]any{}, map[string]any{"format": "complex",
		"session": map[string]any{"format": "opaque", "id": "s-bob"}})
	verification := setClaims(eventVerification, map[string]any{"state": "abc"}, nil)
	refused := setClaims(eventAccountDisabled, map[string]any{}, issSub("carol"))
	refused["aud"] = "https://someone-else.example"
	for _, c := range []map[string]any{applied, session, verification, refused} {
		p.add(c["jti"].(string), tr.set(t, c))
	}
	stop := startPoller(t, h)
	waitFor(t, 10*time.Second, "the queue to drain", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.order) == 0
	})
	stop()

	p.mu.Lock()
	acked, errs, bad := slices.Clone(p.acked), p.errs, p.badPolls
	p.mu.Unlock()
	slices.Sort(acked)
	want := []string{applied["jti"].(string), session["jti"].(string), verification["jti"].(string)}
	slices.Sort(want)
	if !slices.Equal(acked, want) {
		t.Errorf("acknowledged %v, want %v", acked, want)
	}
	if e, ok := errs[refused["jti"].(string)]; !ok || e.Code != setErrInvalidAudience || e.Description == "" || len(errs) != 1 {
		t.Errorf("setErrs = %v, want one invalid_audience for the refused SET", errs)
	}
	if bad != 0 {
		t.Errorf("%d polls were not RFC 8936 requests with the authorization", bad)
	}
	wantStatus(t, h.get("/x", alice), 401)
	wantStatus(t, h.get("/x", bob), 401)
	series, _ := h.scrape()
	for _, s := range []string{
		`revgate_ssf_events_total{event="account-disabled",result="applied"}`,
		`revgate_ssf_events_total{event="session-revoked",result="applied"}`,
		`revgate_ssf_events_total{event="verification",result="ignored"}`,
		`revgate_ssf_events_total{event="other",result="refused"}`,
	} {
		if series[s] != 1 {
			t.Errorf("%s = %v, want 1", s, series[s])
		}
	}
	if series[`revgate_ssf_polls_total{result="ok"}`] < 2 {
		t.Errorf("polls ok = %v: moreAvailable should have made a second poll", series[`revgate_ssf_polls_total{result="ok"}`])
	}
}

func TestSSFPollLeavesUnacknowledgedWhatTheStoreCouldNotApply(t *testing.T) {
	store, srv := redisStore(t)
	tr := newTransmitter(t)
	p := newPollTransmitter(t)
	h := newSSFHarness(t, store, tr, withPoll(p))
	alice := mint(t, tok{sub: "alice", iat: time.Now().Add(-time.Minute)})
	c := setClaims(eventCredentialChange, map[string]any{"credential_type": "password", "change_type": "update"}, issSub("alice"))
	jti := c["jti"].(string)

	srv.Stop()
	p.add(jti, tr.set(t, c))
	startPoller(t, h)
	waitFor(t, 10*time.Second, "two deliveries while the store is down", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.delivered[jti] >= 2
	})
	p.mu.Lock()
	acked, errs := len(p.acked), len(p.errs)
	p.mu.Unlock()
	if acked != 0 || errs != 0 {
		t.Fatalf("with the store down the SET was acknowledged (%d) or reported (%d)", acked, errs)
	}
	srv.Restart()
	waitFor(t, 15*time.Second, "the SET to be acknowledged after the store came back", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return slices.Contains(p.acked, jti)
	})
	wantStatus(t, h.get("/x", alice), 401)
	series, _ := h.scrape()
	if series[`revgate_ssf_events_total{event="credential-change",result="store_unavailable"}`] < 1 {
		t.Error("store_unavailable not counted")
	}
	if series[`revgate_ssf_events_total{event="credential-change",result="applied"}`] != 1 {
		t.Error("applied not counted once")
	}
}

func TestSSFPollBacksOffWhenTheTransmitterRefuses(t *testing.T) {
	tr := newTransmitter(t)
	p := newPollTransmitter(t)
	h := newSSFHarness(t, nil, tr, func(s *ssfSettings) {
		withPoll(p)(s)
		s.pollAuthorization = "Bearer wrong"
	})
	stop := startPoller(t, h)
	time.Sleep(1500 * time.Millisecond)
	stop()
	p.mu.Lock()
	bad, polls := p.badPolls, p.polls
	p.mu.Unlock()
	// Backoff starts at 1s (with jitter from 0.5s): in 1.5s at most three
	// attempts, where polling without backoff would make dozens.
	if bad < 1 || bad > 3 || polls != 0 {
		t.Errorf("refused polls = %d, accepted = %d; want 1 to 3 refused", bad, polls)
	}
	series, _ := h.scrape()
	if series[`revgate_ssf_polls_total{result="error"}`] != float64(bad) {
		t.Errorf("polls error = %v, want %d", series[`revgate_ssf_polls_total{result="error"}`], bad)
	}
	if logs := h.logs.String(); !containsAll(logs, "ssf poll failed") || containsAll(logs, "Bearer wrong") {
		t.Errorf("want a warning without the authorization in the logs:\n%s", logs)
	}
}

func TestSSFPollRunsOncePerGateway(t *testing.T) {
	tr := newTransmitter(t)
	p := newPollTransmitter(t)
	h := newSSFHarness(t, nil, tr, withPoll(p))
	startPoller(t, h)
	waitFor(t, 5*time.Second, "the first poller to start", func() bool { return h.gw.ssf.polling.Load() })
	if err := h.gw.PollSSF(context.Background()); err == nil {
		t.Fatal("a second poller started")
	}
}

func TestSSFPollIsOffWithoutPollURL(t *testing.T) {
	h := newSSFHarness(t, revocation.NewMemory(nil), newTransmitter(t), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.gw.PollSSF(ctx); err != nil || ctx.Err() != nil {
		t.Fatalf("PollSSF without poll_url = %v after %v; want nil at once", err, ctx.Err())
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
