package gateway

import (
	"net/http"
	"strings"
	"testing"

	"github.com/revgate/revgate/config"
)

// TestEveryRefusalIsAnsweredAndCountedFromOneRow sends one request for each
// kind of refusal the proxy listener answers itself and checks that the
// status the client saw and the outcome the metrics counted are the ones of
// the same row of proxyRefusals. An oversized refresh body was once
// answered 413 but counted as upstream_error.
func TestEveryRefusalIsAnsweredAndCountedFromOneRow(t *testing.T) {
	h := newHarness(t, nil, func(c *config.Config) {
		c.Routes = []config.Route{{Prefix: "/api/token/refresh/", Auth: config.AuthRefresh}}
	})
	revoked := mint(t, tok{sub: "gone"})
	h.mustAdmin(http.MethodPost, "/v1/revocations/tokens", `{"token":"`+revoked+`"}`)
	huge := `{"refresh":"` + strings.Repeat("a", 2<<20) + `"}`
	tests := []struct {
		name       string
		method     string
		path, body string
		token      string
		header     map[string]string
		status     int
		outcome    string
		route      string
	}{
		{name: "no token", path: "/x", status: 401, outcome: OutcomeNoToken, route: "default"},
		{name: "a tampered token", path: "/x", token: mint(t, tok{}) + "x", status: 401, outcome: OutcomeInvalidToken, route: "default"},
		{name: "a revoked token", path: "/x", token: revoked, status: 401, outcome: OutcomeRevokedJTI, route: "default"},
		{name: "an ambiguous path", path: "/a%2Fb", token: mint(t, tok{}), status: 400, outcome: OutcomeBadRequest, route: "invalid_path"},
		{name: "a refresh body over 1 MiB", method: http.MethodPost, path: "/api/token/refresh/", body: huge,
			header: map[string]string{"Content-Type": "application/json"}, status: 413, outcome: OutcomeBadRequest, route: "/api/token/refresh/"},
		{name: "a refresh body that is not JSON", method: http.MethodPost, path: "/api/token/refresh/", body: "refresh=x",
			header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, status: 415, outcome: OutcomeBadRequest, route: "/api/token/refresh/"},
		{name: "a refresh body with two refresh members", method: http.MethodPost, path: "/api/token/refresh/", body: `{"refresh":"a","Refresh":"b"}`,
			header: map[string]string{"Content-Type": "application/json"}, status: 400, outcome: OutcomeBadRequest, route: "/api/token/refresh/"},
		{name: "logout with GET", method: http.MethodGet, path: "/auth/logout", token: mint(t, tok{}), status: 405, outcome: OutcomeBadRequest, route: "logout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := h.scrape()
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			req, _ := http.NewRequest(method, h.proxy.URL+tt.path, strings.NewReader(tt.body))
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp := h.do(req)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.status)
			}
			after, _ := h.scrape()
			series := `revgate_requests_total{mode="proxy",outcome="` + tt.outcome + `",route="` + tt.route + `"}`
			if got := after[series] - before[series]; got != 1 {
				t.Errorf("%s went up by %v, want 1", series, got)
			}
			row := rowWith(t, tt.status, tt.outcome)
			if row.code == "" {
				t.Fatalf("no row of proxyRefusals answers %d and counts %s", tt.status, tt.outcome)
			}
		})
	}
}

// rowWith finds the row of proxyRefusals with status and outcome.
func rowWith(t *testing.T, status int, outcome string) refusal {
	t.Helper()
	for _, row := range proxyRefusals {
		if row.status == status && row.outcome == outcome {
			return row.refusal
		}
	}
	return refusal{}
}

func TestEveryRefusalRowHasAStatusACodeAndAnOutcome(t *testing.T) {
	for i, row := range append(proxyRefusals, refusalRow{refusal: upstreamRefusal}) {
		if row.status < 400 || row.outcome == "" || (row.code == "" && row.status != 499) {
			t.Errorf("row %d is incomplete: %+v", i, row.refusal)
		}
	}
}
