package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/revgate/revgate/internal/testkit"
)

// TestServeNeverLogsASecretFromAnyPlace runs serve at log.level debug with
// a secret in every configuration value that can hold one, makes each of
// them be used (and fail: the JWKS URL, Redis and the upstream all refuse),
// sends tokens in the header and the query and a wrong admin token, and
// scans everything the process printed. The startup line once printed
// upstream.url's ?api_key= in full, and an upstream failure the whole
// outgoing URL, with the client's query.
func TestServeNeverLogsASecretFromAnyPlace(t *testing.T) {
	secrets := map[string]string{
		"upstream.url query":         "upstream-key-S3CR3T-1",
		"jwt.jwks_url query":         "jwks-key-S3CR3T-2",
		"jwt.jwks_url password":      "jwks-pass-S3CR3T-3",
		"jwt.hmac_secret":            "hmac-S3CR3T-4-0123456789abcdef0123456789",
		"revocation.redis.url":       "redis-url-pass-S3CR3T-5",
		"admin token":                "admin-token-S3CR3T-6-0123456789",
		"a wrong admin token":        "wrong-admin-S3CR3T-7-0123456789",
		"revocation.redis.password ": "redis-pass-S3CR3T-8",
	}
	refused := testkit.RefusedAddr(t)
	dir := t.TempDir()
	passFile := filepath.Join(dir, "redis-pass")
	if err := os.WriteFile(passFile, []byte(secrets["revocation.redis.password "]), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`listen: 127.0.0.1:0
upstream:
  url: "http://%[1]s/base?api_key=%[2]s"
  timeout: 2s
jwt:
  jwks_url: "http://user:%[4]s@%[1]s/jwks?api_key=%[3]s"
  hmac_secret: %[5]q
  algorithms: [RS256, HS256]
  lookup: ["header:Authorization:Bearer", "query:access_token"]
revocation:
  store: redis
  redis:
    url: "redis://:%[6]s@%[1]s/0"
  on_store_error: open
  lookup_timeout: 200ms
admin:
  listen: 127.0.0.1:0
  tokens:
    - name: ops
      token: %[7]q
log:
  level: debug
  format: json
server:
  drain_delay: 0s
`, refused, secrets["upstream.url query"], secrets["jwt.jwks_url query"], secrets["jwt.jwks_url password"],
		secrets["jwt.hmac_secret"], secrets["revocation.redis.url"], secrets["admin token"])
	path := filepath.Join(dir, "revgate.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "serve", "--config", path)
	cmd.Env = cleanEnv()
	p := &process{cmd: cmd, stderr: &testkit.Buffer{}, done: make(chan error, 1)}
	stdout := &testkit.Buffer{}
	cmd.Stdout, cmd.Stderr = stdout, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	p.proxy, p.admin = waitListening(t, p)

	key, err := jwk.FromRaw([]byte(secrets["jwt.hmac_secret"]))
	if err != nil {
		t.Fatal(err)
	}
	token := testkit.Mint(t, testkit.Token{Key: key, Alg: jwa.HS256})
	secrets["a client's token"] = token
	secrets["a client's token signature"] = token[strings.LastIndexByte(token, '.')+1:]

	// The token in the header and in the query: the store is down (fail
	// open), then the upstream refuses, so both errors are logged.
	call(t, http.MethodGet, "http://"+p.proxy+"/orders?x=1", token, "")
	call(t, http.MethodGet, "http://"+p.proxy+"/orders?access_token="+token, "", "")
	call(t, http.MethodGet, "http://"+p.proxy+"/orders", token+"tampered", "")
	call(t, http.MethodGet, "http://"+p.admin+"/v1/revocations/all", secrets["a wrong admin token"], "")
	call(t, http.MethodPost, "http://"+p.admin+"/v1/revocations/tokens", secrets["admin token"], `{"token":"`+token+`","reason":"test"}`)
	call(t, http.MethodGet, "http://"+p.admin+"/readyz", "", "")
	call(t, http.MethodGet, "http://"+p.admin+"/v1/config", secrets["admin token"], "")

	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not exit after SIGTERM")
	}
	out := stdout.String() + p.stderr.String()
	if !strings.Contains(out, "upstream request failed") || !strings.Contains(out, "revgate listening") {
		t.Fatalf("the run did not log what it should have; output:\n%s", out)
	}
	for where, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("the secret in %s appears in the output", where)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}
}
