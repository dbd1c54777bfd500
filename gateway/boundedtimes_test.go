package gateway

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/revgate/revgate/config"
)

// TestFarFutureTimesAreRefusedOrBoundedBeforeAnythingIsWritten: an
// expires_at or a token exp far in the future was stored, then answered
// 500, and its audit line was not JSON (slog cannot write years past 9999
// as JSON).
func TestFarFutureTimesAreRefusedOrBoundedBeforeAnythingIsWritten(t *testing.T) {
	h := newHarness(t, nil, func(c *config.Config) { c.Log.Format = config.LogFormatJSON })
	latest := time.Now().Add(h.cfg.Revocation.MaxTokenLifetime + h.cfg.JWT.Leeway)

	for _, exp := range []string{`253402300799`, `"9999-12-31T23:59:59Z"`, `"2200-01-01T00:00:00Z"`, itoa(latest.Add(time.Hour).Unix())} {
		status, body := h.adminCall(http.MethodPost, "/v1/revocations/tokens", `{"jti":"far-`+exp[1:4]+`","expires_at":`+exp+`}`)
		if status != http.StatusBadRequest || !strings.Contains(str(body["message"]), "expires_at: later than") {
			t.Errorf("expires_at %s: %d %v, want 400 naming expires_at", exp, status, body)
		}
		if code, _ := h.adminCall(http.MethodGet, "/v1/revocations/tokens/far-"+exp[1:4], ""); code != http.StatusNotFound {
			t.Errorf("expires_at %s: refused, yet GET answers %d", exp, code)
		}
	}

	// An expires_at within the bound is accepted.
	at := time.Now().Add(h.cfg.Revocation.MaxTokenLifetime - time.Minute).Unix()
	h.mustAdmin(http.MethodPost, "/v1/revocations/tokens", `{"jti":"at-bound","expires_at":`+itoa(at)+`}`)

	// A token whose exp is far in the future is revoked until the bound.
	{
		token := mint(t, tok{jti: "far-token", exp: time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)})
		body := h.mustAdmin(http.MethodPost, "/v1/revocations/tokens", `{"token":"`+token+`"}`)
		got, err := time.Parse(time.RFC3339, str(body["expires_at"]))
		if err != nil {
			t.Fatalf("expires_at %v: %v", body["expires_at"], err)
		}
		if got.After(latest.Add(2*time.Second)) || got.Before(latest.Add(-time.Minute)) {
			t.Errorf("expires_at = %v, want about now + max_token_lifetime + leeway (%v)", got, latest)
		}
		if code, _ := h.adminCall(http.MethodGet, "/v1/revocations/tokens/far-token", ""); code != http.StatusOK {
			t.Errorf("GET = %d, want 200", code)
		}
	}

	// Every line the gateway logged over the run is one JSON object.
	sc := bufio.NewScanner(strings.NewReader(h.logs.String()))
	lines := 0
	for sc.Scan() {
		lines++
		var v map[string]any
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Errorf("log line %d is not JSON: %q", lines, sc.Text())
		}
	}
	if lines < 3 {
		t.Fatalf("only %d log lines: is the harness logging?", lines)
	}
}
