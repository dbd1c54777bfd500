package gateway

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/revgate/revgate/config"
	"github.com/revgate/revgate/revocation"
)

// withTransmitter configures the receiver as an operator would, with tr's keys.
func withTransmitter(tr *transmitter) func(*config.Config) {
	return func(c *config.Config) {
		c.SSF.Issuer = ssfTestIssuer
		c.SSF.Audience = ssfTestAudience
		c.SSF.JWKSURL = tr.jwks.URL
		c.SSF.PushPath = ssfTestPath
		c.SSF.PushAuthorization = ssfTestAuth
	}
}

func TestSSFPushIsServedFromTheConfigurationOnBothListeners(t *testing.T) {
	tr := newTransmitter(t)
	d := newDecisionHarness(t, nil, withTransmitter(tr))
	old := time.Now().Add(-time.Minute)
	alice := mint(t, tok{sub: "alice", iat: old})
	bob := mint(t, tok{sub: "bob", iat: old})

	wantAccepted(t, d.push(tr.set(t, setClaims(eventAccountDisabled, map[string]any{}, issSub("alice")))))
	wantStatus(t, d.get("/x", alice), 401)

	req, _ := http.NewRequest(http.MethodPost, d.decision.URL+ssfTestPath,
		strings.NewReader(tr.set(t, setClaims(eventAccountDisabled, map[string]any{}, issSub("bob")))))
	req.Header.Set("Content-Type", "application/secevent+jwt")
	req.Header.Set("Authorization", ssfTestAuth)
	wantAccepted(t, d.do(req))
	wantStatus(t, d.get("/x", bob), 401)
	if n := d.upstream.hits.Load(); n != 0 {
		t.Errorf("upstream saw %d requests", n)
	}
}

// A transmitter delivers a SET again when it did not see the answer (RFC
// 8935 §2.2 leaves retrying to it). RFC 8417 §2.2 gives jti for telling
// duplicates apart; the duplicate is acknowledged with 202 (a 400 would
// make the transmitter count a SET that was applied as failed, and may
// make it disable the stream) and has no effect.
func TestSSFPushOfTheSameSETTwiceIsAcceptedWithoutEffect(t *testing.T) {
	tr := newTransmitter(t)
	h := newSSFHarness(t, nil, tr, nil)
	set := tr.set(t, setClaims(eventAccountDisabled, map[string]any{}, issSub("alice")))
	wantAccepted(t, h.push(set))
	ctx := context.Background()
	if _, err := h.store.GetSubject(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	// An operator lifts the mark; the replayed SET must not put it back.
	if err := h.store.UnmarkSubject(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	wantAccepted(t, h.push(set))
	if _, err := h.store.GetSubject(ctx, "alice"); !errors.Is(err, revocation.ErrNotFound) {
		t.Errorf("the replayed SET marked the subject again: %v", err)
	}
	series, _ := h.scrape()
	if v := series[`revgate_ssf_events_total{event="account-disabled",result="replayed"}`]; v != 1 {
		t.Errorf("replayed = %v, want 1", v)
	}
	if v := series[`revgate_ssf_events_total{event="account-disabled",result="applied"}`]; v != 1 {
		t.Errorf("applied = %v, want 1", v)
	}
}

func TestSSFPushWhileTheStoreIsDownIsRetried(t *testing.T) {
	store, srv := redisStore(t)
	tr := newTransmitter(t)
	h := newSSFHarness(t, store, tr, nil)
	token := mint(t, tok{sub: "alice", iat: time.Now().Add(-time.Minute), extra: map[string]any{"sid": "s-7"}})
	set := tr.set(t, setClaims(eventSessionRevoked, map[string]any{}, map[string]any{"format": "complex",
		"session": map[string]any{"format": "opaque", "id": "s-7"}, "user": issSub("alice")}))

	srv.Stop()
	resp := h.push(set)
	got := decodeBody(t, resp)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("push with the store down answered %d %v (Retry-After %q), want 503 with Retry-After",
			resp.StatusCode, got, resp.Header.Get("Retry-After"))
	}
	series, _ := h.scrape()
	if v := series[`revgate_ssf_events_total{event="session-revoked",result="store_unavailable"}`]; v != 1 {
		t.Errorf("store_unavailable = %v, want 1", v)
	}
	if v := series[`revgate_requests_total{mode="proxy",outcome="store_unavailable",route="ssf_push"}`]; v != 1 {
		t.Errorf("ssf_push store_unavailable = %v, want 1", v)
	}
	srv.Restart()
	if _, err := store.GetSession(context.Background(), "s-7"); !errors.Is(err, revocation.ErrNotFound) {
		t.Fatalf("the refused delivery left a session record: %v", err)
	}
	// The transmitter retries the same SET: it is not a replay.
	wantAccepted(t, h.push(set))
	wantStatus(t, h.get("/x", token), 401)
	wantAccepted(t, h.push(set))
	series, _ = h.scrape()
	if v := series[`revgate_ssf_events_total{event="session-revoked",result="replayed"}`]; v != 1 {
		t.Errorf("replayed = %v, want 1", v)
	}
}

func TestSSFConcurrentDeliveriesOfOneSETApplyItOnce(t *testing.T) {
	backends(t, func(t *testing.T, store func() revocation.Store) {
		tr := newTransmitter(t)
		h := newSSFHarness(t, store(), tr, nil)
		set := tr.set(t, setClaims(eventAccountDisabled, map[string]any{}, issSub("alice")))
		const n = 8
		codes := make(chan int, n)
		for range n {
			go func() {
				req, _ := http.NewRequest(http.MethodPost, h.proxy.URL+ssfTestPath, strings.NewReader(set))
				req.Header.Set("Content-Type", "application/secevent+jwt")
				req.Header.Set("Authorization", ssfTestAuth)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					codes <- -1
					return
				}
				resp.Body.Close()
				codes <- resp.StatusCode
			}()
		}
		for range n {
			if c := <-codes; c != http.StatusAccepted {
				t.Errorf("a delivery answered %d, want 202", c)
			}
		}
		series, _ := h.scrape()
		applied := series[`revgate_ssf_events_total{event="account-disabled",result="applied"}`]
		replayed := series[`revgate_ssf_events_total{event="account-disabled",result="replayed"}`]
		if applied != 1 || replayed != n-1 {
			t.Errorf("applied %v, replayed %v; want 1 and %d", applied, replayed, n-1)
		}
	})
}
