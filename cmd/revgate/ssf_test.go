package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// signSET signs an account-disabled SET about an opaque subject with the
// transmitter's key.
func signSET(t *testing.T, tx signer, jti, subject string) string {
	t.Helper()
	payload, _ := json.Marshal(map[string]any{
		"iss": "https://tx.example", "aud": "https://revgate.example", "iat": time.Now().Unix(), "jti": jti,
		"sub_id": map[string]any{"format": "opaque", "id": subject},
		"events": map[string]any{"https://schemas.openid.net/secevent/risc/event-type/account-disabled": map[string]any{}},
	})
	hdr := jws.NewHeaders()
	_ = hdr.Set(jws.TypeKey, "secevent+jwt")
	_ = hdr.Set(jws.KeyIDKey, "e2e")
	b, err := jws.Sign(payload, jws.WithKey(jwa.ES256, tx.key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// `revgate serve` with the ssf section: a pushed SET and a polled one
// each revoke their subject on the next request, and SIGTERM stops the
// poller and the process cleanly.
func TestServeReceivesSharedSignalsByPushAndByPoll(t *testing.T) {
	tokens, tx := newSigner(t), newSigner(t)
	upstream := newUpstream(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(200) })

	var mu sync.Mutex
	polled := signSET(t, tx, "poll-1", "bob")
	acked := false
	poll := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Ack []string `json:"ack"`
		}
		if r.Header.Get("Authorization") != "Bearer poll-secret" || json.NewDecoder(r.Body).Decode(&req) != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		sets := map[string]string{}
		if strings.Contains(strings.Join(req.Ack, ","), "poll-1") {
			acked = true
		}
		if !acked {
			sets["poll-1"] = polled
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"sets": sets, "moreAvailable": false})
	})
	const pushAuth = "Bearer push-secret-0123456789"
	p := startGateway(t, fmt.Sprintf(`upstream:
  url: %q
jwt:
  jwks_file: %q
  algorithms: [ES256]
revocation:
  store: memory
server:
  drain_delay: 0s
ssf:
  issuer: "https://tx.example"
  jwks_file: %q
  audience: "https://revgate.example"
  push_path: "/ssf/events"
  push_authorization: %q
  poll_url: %q
  poll_authorization: "Bearer poll-secret"
  poll_interval: 1s
`, upstream, tokens.jwksPath, tx.jwksPath, pushAuth, poll))
	alice, bob := tokens.mint(t, "alice"), tokens.mint(t, "bob")
	wantCall(t, 200, "alice before the push", "GET", "http://"+p.proxy+"/x", alice, "")

	req, _ := http.NewRequest(http.MethodPost, "http://"+p.proxy+"/ssf/events", strings.NewReader(signSET(t, tx, "push-1", "alice")))
	req.Header.Set("Content-Type", "application/secevent+jwt")
	req.Header.Set("Authorization", pushAuth)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("push answered %d, want 202", resp.StatusCode)
	}
	wantCall(t, 401, "alice after the push", "GET", "http://"+p.proxy+"/x", alice, "")

	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		mu.Lock()
		done := acked
		mu.Unlock()
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the polled SET was not acknowledged within 15s\n%s", p.stderr.String())
		}
	}
	wantCall(t, 401, "bob after the poll", "GET", "http://"+p.proxy+"/x", bob, "")

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil {
			t.Fatalf("revgate exited with %v, want 0\n%s", err, p.stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("revgate did not exit after SIGTERM with the poller running")
	}
	if log := p.stderr.String(); strings.Contains(log, "push-secret") || strings.Contains(log, "poll-secret") {
		t.Errorf("an authorization value reached the log:\n%s", log)
	}
}
