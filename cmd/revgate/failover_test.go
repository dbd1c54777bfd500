package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/revgate/revgate/internal/redistest"
)

// failoverTimeout bounds each wait of the failover test: Sentinel's
// promotion, then the gateway finding the new master.
const failoverTimeout = 30 * time.Second

// TestFailoverKeepsEveryAcknowledgedRevocation runs revgate against a
// Sentinel-managed Redis with min_replicas_ack: 1, revokes tokens through
// the admin API, kills the master with SIGKILL and lets Sentinel promote
// the replica. Every revocation the admin API acknowledged must still be in
// force through the same gateway process, which must find the new master
// by itself; no revoked token may get through at any point.
func TestFailoverKeepsEveryAcknowledgedRevocation(t *testing.T) {
	t.Parallel()
	s := redistest.StartSentinel(t, redistest.SentinelOptions{})
	sig := newSigner(t)
	upstream := newUpstream(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	gw := startGateway(t, fmt.Sprintf(`upstream:
  url: %q
jwt:
  jwks_file: %q
  algorithms: [ES256]
revocation:
  redis:
    addrs: [%s]
    master_name: %q
    min_replicas_ack: 1
    min_replicas_timeout: 1s
log:
  level: warn
`, upstream, sig.jwksPath, strings.Join(s.Addrs, ", "), s.MasterName))
	proxy, admin := "http://"+gw.proxy+"/x", "http://"+gw.admin

	const n = 100
	revoked := make([]string, n)
	start := time.Now()
	for i := range revoked {
		revoked[i] = sig.mint(t, fmt.Sprintf("user-%d", i))
		if code := call(t, "POST", admin+"/v1/revocations/tokens", adminToken, `{"token":"`+revoked[i]+`"}`); code != http.StatusOK {
			t.Fatalf("revoking token %d: %d, want 200", i, code)
		}
	}
	perRevocation := time.Since(start) / n
	mallory := sig.mint(t, "mallory")
	if code := call(t, "POST", admin+"/v1/revocations/subjects/mallory", adminToken, ""); code != http.StatusOK {
		t.Fatalf("revoking subject mallory: %d, want 200", code)
	}
	fresh := sig.mint(t, "alice")
	if code := call(t, "GET", proxy, revoked[0], ""); code != http.StatusUnauthorized {
		t.Fatalf("a revoked token before the failover: %d, want 401", code)
	}
	if code := call(t, "GET", proxy, fresh, ""); code != http.StatusOK {
		t.Fatalf("a fresh token before the failover: %d, want 200", code)
	}

	s.KillMaster()
	killed := time.Now()
	promoted := s.WaitFailover(failoverTimeout)

	// The gateway is not told anything: it must find the new master
	// through the Sentinels. Until it does it answers 503 (on_store_error:
	// closed); a revoked token must never be served meanwhile.
	wronglyAllowed := 0
	deadline := time.Now().Add(failoverTimeout)
	for i := 0; ; i++ {
		if call(t, "GET", proxy, revoked[i%n], "") == http.StatusOK {
			wronglyAllowed++
		}
		if call(t, "GET", proxy, fresh, "") == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gateway still fails a fresh token %v after the replica was promoted", failoverTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
	recovered := time.Since(killed)

	survived := 0
	for i, tok := range revoked {
		switch code := call(t, "GET", proxy, tok, ""); code {
		case http.StatusUnauthorized:
			survived++
		case http.StatusOK:
			wronglyAllowed++
			t.Errorf("revoked token %d is accepted after the failover", i)
		default:
			t.Errorf("revoked token %d after the failover: %d, want 401", i, code)
		}
	}
	if code := call(t, "GET", proxy, mallory, ""); code != http.StatusUnauthorized {
		t.Errorf("a token of the revoked subject after the failover: %d, want 401", code)
	}
	if code := call(t, "GET", proxy, fresh, ""); code != http.StatusOK {
		t.Errorf("a fresh token after the failover: %d, want 200", code)
	}
	t.Logf("failover: %d/%d acknowledged revocations (and 1/1 subject mark) survived; %d requests with a revoked token wrongly allowed; "+
		"replica promoted %v after SIGKILL of the master; gateway serving again %v after it; a revocation with min_replicas_ack: 1 took %v on average",
		survived, n, wronglyAllowed, promoted.Round(time.Millisecond), recovered.Round(time.Millisecond), perRevocation.Round(time.Microsecond))
	if survived != n || wronglyAllowed != 0 {
		t.Errorf("%d of %d revocations survived and %d revoked requests were allowed; want all and none", survived, n, wronglyAllowed)
	}

	// The promoted master has no replica left: a revocation is applied (the
	// token is rejected at once) but cannot be acknowledged as durable, so
	// the admin API answers 503 and the operator knows to act.
	late := sig.mint(t, "late")
	if code := call(t, "POST", admin+"/v1/revocations/tokens", adminToken, `{"token":"`+late+`"}`); code != http.StatusServiceUnavailable {
		t.Errorf("revoking with no replica left to acknowledge: %d, want 503", code)
	}
	if code := call(t, "GET", proxy, late, ""); code != http.StatusUnauthorized {
		t.Errorf("the token whose revocation was not acknowledged: %d, want 401 (the master applied it)", code)
	}
}
