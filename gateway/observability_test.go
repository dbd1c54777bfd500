package gateway

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/revgate/revgate/config"
)

// scrape reads /metrics from the admin listener as series → value.
func (h *harness) scrape() (map[string]float64, string) {
	h.t.Helper()
	resp, err := http.Get(h.admin.URL + "/metrics")
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	series := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			h.t.Fatalf("bad metrics line %q", line)
		}
		series[line[:i]] = v
	}
	return series, string(body)
}

func TestMetricsCountEveryOutcomeExactly(t *testing.T) {
	store, srv := redisStore(t)
	h := newHarness(t, store, func(c *config.Config) {
		c.Routes = []config.Route{{Prefix: "/public/", Auth: config.AuthNone}}
	})
	old := time.Now().Add(-time.Minute)
	tokens := map[string]string{
		"allowed":  mint(t, tok{sub: "u-ok"}),
		"jti":      mint(t, tok{sub: "u-jti", jti: "metrics-jti"}),
		"subject":  mint(t, tok{sub: "u-sub", iat: old}),
		"global":   mint(t, tok{sub: "u-glob", iat: old.Add(-time.Hour)}),
		"tampered": mint(t, tok{sub: "u-bad"}) + "x",
	}
	h.mustAdmin(http.MethodPost, "/v1/revocations/tokens", `{"jti":"metrics-jti"}`)
	h.mustAdmin(http.MethodPost, "/v1/revocations/subjects/u-sub", "")
	h.mustAdmin(http.MethodPost, "/v1/revocations/all", `{"before":`+itoa(old.Add(-30*time.Minute).Unix())+`}`)

	mix := []struct {
		path, token string
		n           int
		want        int
	}{
		{"/x", tokens["allowed"], 3, 200},
		{"/public/x", "", 2, 200},
		{"/x", "", 2, 401},
		{"/x", tokens["tampered"], 1, 401},
		{"/x", tokens["jti"], 1, 401},
		{"/x", tokens["subject"], 1, 401},
		{"/x", tokens["global"], 1, 401},
	}
	for _, m := range mix {
		for range m.n {
			wantStatus(t, h.get(m.path, m.token), m.want)
		}
	}
	srv.Stop()
	for range 2 {
		wantStatus(t, h.get("/x", tokens["allowed"]), 503)
	}

	series, text := h.scrape()
	want := map[string]float64{
		`revgate_requests_total{mode="proxy",outcome="allowed",route="default"}`:           3,
		`revgate_requests_total{mode="proxy",outcome="allowed",route="/public/"}`:          2,
		`revgate_requests_total{mode="proxy",outcome="no_token",route="default"}`:          2,
		`revgate_requests_total{mode="proxy",outcome="invalid_token",route="default"}`:     1,
		`revgate_requests_total{mode="proxy",outcome="revoked_jti",route="default"}`:       1,
		`revgate_requests_total{mode="proxy",outcome="revoked_subject",route="default"}`:   1,
		`revgate_requests_total{mode="proxy",outcome="revoked_global",route="default"}`:    1,
		`revgate_requests_total{mode="proxy",outcome="store_unavailable",route="default"}`: 2,
		`revgate_revocations_total{kind="token",source="admin"}`:                           1,
		`revgate_revocations_total{kind="subject",source="admin"}`:                         1,
		`revgate_revocations_total{kind="global",source="admin"}`:                          1,
	}
	for k, v := range want {
		if series[k] != v {
			t.Errorf("%s = %v, want %v", k, series[k], v)
		}
	}
	var total float64
	for k, v := range series {
		if strings.HasPrefix(k, "revgate_requests_total{") {
			total += v
		}
	}
	if total != 13 {
		t.Errorf("requests_total sums to %v over all series, want 13", total)
	}
	storeErrs := series[`revgate_store_errors_total{kind="timeout",op="check"}`] + series[`revgate_store_errors_total{kind="error",op="check"}`]
	if storeErrs != 2 {
		t.Errorf("store check errors = %v, want 2\n%s", storeErrs, grep(text, "store_errors"))
	}
	for _, hist := range []string{"revgate_request_duration_seconds_count", "revgate_verify_duration_seconds_count", "revgate_store_lookup_duration_seconds_count", "revgate_upstream_duration_seconds_count"} {
		found := false
		for k, v := range series {
			if strings.HasPrefix(k, hist) && v > 0 {
				found = true
			}
		}
		if !found {
			t.Errorf("histogram %s has no observations", hist)
		}
	}

	t.Run("no label and no log line holds a token, a jti or a subject", func(t *testing.T) {
		secrets := []string{"metrics-jti", "u-ok", "u-jti", "u-sub", "u-glob", "u-bad"}
		for _, tk := range tokens {
			secrets = append(secrets, tk[:40])
		}
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("/metrics contains %q", s)
			}
		}
		for _, line := range strings.Split(h.logs.String(), "\n") {
			if strings.Contains(line, `"log":"audit"`) {
				continue // the audit trail names what was revoked, by design
			}
			for _, s := range secrets {
				if strings.Contains(line, s) {
					t.Errorf("log line contains %q: %s", s, line)
				}
			}
		}
	})
}

func grep(text, substr string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestAccessLogHasOneLinePerRequestAndTheSubjectOnlyWhenAsked(t *testing.T) {
	for _, include := range []bool{false, true} {
		h := newHarness(t, nil, func(c *config.Config) { c.Log.IncludeSubject = include })
		req, _ := http.NewRequest(http.MethodGet, h.proxy.URL+"/orders", nil)
		req.Header.Set("Authorization", "Bearer "+mint(t, tok{sub: "subject-in-log"}))
		req.Header.Set("X-Request-Id", "req-123")
		resp := h.do(req)
		wantStatus(t, resp, 200)
		if resp.Header.Get("X-Request-Id") != "req-123" {
			t.Errorf("response X-Request-Id = %q", resp.Header.Get("X-Request-Id"))
		}
		if got, _ := h.upstream.lastRequest(); got.Header.Get("X-Request-Id") != "req-123" {
			t.Errorf("upstream X-Request-Id = %q", got.Header.Get("X-Request-Id"))
		}
		wantStatus(t, h.get("/orders", ""), 401)

		var lines []map[string]any
		for _, l := range strings.Split(h.logs.String(), "\n") {
			if strings.Contains(l, `"log":"access"`) {
				var m map[string]any
				if err := json.Unmarshal([]byte(l), &m); err != nil {
					t.Fatal(err)
				}
				lines = append(lines, m)
			}
		}
		if len(lines) != 2 {
			t.Fatalf("include_subject=%v: %d access lines, want 2", include, len(lines))
		}
		first, second := lines[0], lines[1]
		if first["mode"] != "proxy" || first["method"] != "GET" || first["route"] != "default" || first["status"] != 200.0 || first["outcome"] != "allowed" ||
			first["request_id"] != "req-123" || first["duration_ms"] == nil || first["upstream_ms"] == nil {
			t.Errorf("first access line = %v", first)
		}
		if second["status"] != 401.0 || second["outcome"] != "no_token" || second["request_id"] == "" {
			t.Errorf("second access line = %v", second)
		}
		if _, has := first["subject"]; has != include {
			t.Errorf("include_subject=%v but subject present=%v", include, has)
		}
	}
}

func TestAFailingJWKSKeepsTheOldKeysAndSaysSo(t *testing.T) {
	pub, _ := testSigningKey(t).PublicKey()
	set := jwk.NewSet()
	_ = set.AddKey(pub)
	body, _ := json.Marshal(set)
	var failing atomic.Bool
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if failing.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		_, _ = w.Write(body)
	}))
	defer jwks.Close()
	h := newHarness(t, nil, func(c *config.Config) {
		c.JWT.JWKSFile = ""
		c.JWT.JWKSURL = jwks.URL
		c.JWT.JWKSRefresh = time.Second
	})
	token := mint(t, tok{})
	wantStatus(t, h.get("/x", token), 200)
	failing.Store(true)
	deadline := time.Now().Add(15 * time.Second)
	for {
		series, _ := h.scrape()
		if series[`revgate_jwks_refreshes_total{result="failure"}`] > 0 {
			if series["revgate_keys_loaded"] != 1 {
				t.Fatalf("keys_loaded = %v after a failed refresh, want the old key kept", series["revgate_keys_loaded"])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no JWKS refresh failure counted within 15s")
		}
		time.Sleep(200 * time.Millisecond)
	}
	wantStatus(t, h.get("/x", token), 200)
	resp, _ := http.Get(h.admin.URL + "/readyz")
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("readyz = %d with the last good keys", resp.StatusCode)
	}
}

func TestKeysAndConfigEndpointsNeedTheAdminTokenAndHideSecrets(t *testing.T) {
	const secret = "hmac-secret-that-must-never-be-shown-0123456789"
	h := newHarness(t, nil, func(c *config.Config) {
		c.JWT.HMACSecret = secret
		c.JWT.Algorithms = []string{"RS256", "HS256"}
	})
	for _, path := range []string{"/v1/keys", "/v1/config"} {
		resp, err := http.Get(h.admin.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("%s without the admin token = %d", path, resp.StatusCode)
		}
	}
	body := h.mustAdmin(http.MethodGet, "/v1/keys", "")
	keys, _ := body["keys"].([]any)
	if len(keys) != 2 {
		t.Fatalf("keys = %v, want the JWKS key and the HMAC secret", body)
	}
	raw, _ := json.Marshal(body)
	for _, forbidden := range []string{secret, `"n"`, `"k"`, `"d"`} {
		if strings.Contains(string(raw), forbidden) {
			t.Errorf("/v1/keys shows %s: %s", forbidden, raw)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, h.admin.URL+"/v1/config", nil)
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	resp := h.do(req)
	cfgText, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(cfgText), "hmac_secret: <redacted>") {
		t.Fatalf("/v1/config = %d:\n%s", resp.StatusCode, cfgText)
	}
	if strings.Contains(string(cfgText), secret) || strings.Contains(string(cfgText), testAdminToken) {
		t.Fatal("/v1/config shows a secret")
	}
}

func TestDashboardAndAlertsOnlyQueryMetricsThatExist(t *testing.T) {
	h := newHarness(t, nil, nil)
	wantStatus(t, h.get("/x", mint(t, tok{})), 200)
	_, text := h.scrape()
	exists := func(name string) bool {
		for _, suffix := range []string{"", "_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(name, suffix); ok && suffix != "" && strings.Contains(text, "# TYPE "+base+" histogram") {
				return true
			}
		}
		return strings.Contains(text, "# TYPE "+name+" ")
	}
	metricRe := regexp.MustCompile(`revgate_[a-z_]+`)

	raw, err := os.ReadFile("../charts/revgate/dashboards/revgate.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	var exprs []string
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	rules, err := os.ReadFile("../charts/revgate/dashboards/prometheusrule.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(rules), "\n") {
		if e, ok := strings.CutPrefix(strings.TrimSpace(l), "expr:"); ok {
			exprs = append(exprs, e)
		}
	}
	if len(exprs) < 10 {
		t.Fatalf("only %d queries found", len(exprs))
	}
	for _, e := range exprs {
		for _, name := range metricRe.FindAllString(e, -1) {
			if !exists(name) {
				t.Errorf("query uses %s, which /metrics does not have: %s", name, e)
			}
		}
	}
}
