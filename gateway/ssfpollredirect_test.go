package gateway

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// A poll is never redirected: net/http would resend ssf.poll_authorization
// to another port or scheme of the same host (https to http included).
// The redirect is a failed poll, logged with its status, and backed off.
func TestSSFPollDoesNotFollowRedirects(t *testing.T) {
	tr := newTransmitter(t)
	target := newPollTransmitter(t) // where the redirect points: must see nothing
	var hits atomic.Int64
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Redirect(w, r, target.srv.URL+"/poll", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirector.Close)
	h := newSSFHarness(t, nil, tr, func(s *ssfSettings) {
		s.pushPath, s.pollURL, s.pollAuthorization = "", redirector.URL, ssfPollAuth
	})
	target.add("j1", tr.set(t, setClaims(eventAccountDisabled, map[string]any{}, issSub("alice"))))
	stop := startPoller(t, h)
	time.Sleep(1500 * time.Millisecond)
	stop()

	target.mu.Lock()
	polls, bad := target.polls, target.badPolls
	target.mu.Unlock()
	if polls != 0 || bad != 0 {
		t.Fatalf("the redirect was followed: the target saw %d polls with the authorization and %d without", polls, bad)
	}
	// Backoff starts at 1s (with jitter from 0.5s): at most three attempts.
	n := hits.Load()
	if n < 1 || n > 3 {
		t.Errorf("redirected polls = %d, want 1 to 3", n)
	}
	series, _ := h.scrape()
	if got := series[`revgate_ssf_polls_total{result="error"}`]; got != float64(n) {
		t.Errorf("polls error = %v, want %d", got, n)
	}
	if logs := h.logs.String(); !containsAll(logs, "ssf poll failed", "poll answered 307") || containsAll(logs, "poll-secret") {
		t.Errorf("want a warning with the status and without the authorization:\n%s", logs)
	}
	if _, err := h.store.GetSubject(t.Context(), "alice"); err == nil {
		t.Error("a SET from the redirect target was applied")
	}
}
