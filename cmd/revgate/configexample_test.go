package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/revgate/revgate/config"
)

var exampleTokenRe = regexp.MustCompile(`token: "([0-9a-f]{64})"`)

func TestConfigExamplePassesConfigCheck(t *testing.T) {
	r := runCLIEnv(t, nil, "", "config", "example")
	want(t, r, 0)
	path := filepath.Join(t.TempDir(), "revgate.yaml")
	if err := os.WriteFile(path, []byte(r.stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	check := runCLIEnv(t, nil, "", "config", "check", "--config", path)
	want(t, check, 0)
	if !strings.Contains(check.stderr, "configuration is valid") {
		t.Fatalf("config check did not say the example is valid: %s", check)
	}
	m := exampleTokenRe.FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("the example has no generated admin token:\n%s", r.stdout)
	}
	if strings.Contains(check.stdout, m[1]) {
		t.Fatal("config check printed the example's admin token")
	}
}

func TestConfigExampleIsCommentedAndHasEveryCommonKey(t *testing.T) {
	r := runCLIEnv(t, nil, "", "config", "example")
	want(t, r, 0)
	for _, key := range []string{
		"listen:", "upstream:", "url:", "timeout:", "strip_authorization:", "routes:", "prefix:", "auth:",
		"jwks_url:", "jwks_file:", "public_key_files:", "hmac_secret_file:", "algorithms:", "issuer:", "audience:",
		"leeway:", "subject_claim:", "session_claim:", "required_claims:", "lookup:", "forward_headers:",
		"revocation:", "store:", "redis:", "password_file:", "key_prefix:", "on_store_error:", "max_token_lifetime:",
		"logout:", "path:", "admin:", "tokens:", "name:", "token_file", "log:", "level:", "format:",
	} {
		if !strings.Contains(r.stdout, key) {
			t.Errorf("the example lacks %s", key)
		}
	}
	if n := strings.Count(r.stdout, "#"); n < 30 {
		t.Errorf("the example has %d comments; it should say what each key does", n)
	}
	again := runCLIEnv(t, nil, "", "config", "example")
	if a, b := exampleTokenRe.FindString(r.stdout), exampleTokenRe.FindString(again.stdout); a == "" || a == b {
		t.Fatalf("two runs printed the same admin token %q: it must be fresh each time", a)
	}
}

// TestConfigExampleValuesAreTheDefaults loads the example through the
// configuration loader: apart from the lines marked EDIT and the admin
// token, it must be exactly revgate's defaults, so the comments cannot
// describe values revgate no longer uses.
func TestConfigExampleValuesAreTheDefaults(t *testing.T) {
	var buf bytes.Buffer
	if err := configExample.Execute(&buf, map[string]string{"AdminToken": newAdminToken()}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "revgate.yaml")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := got.Validate(); err != nil {
		t.Fatal(err)
	}

	// The EDIT lines; jwt.algorithms is one, at its default.
	wantCfg := config.Default()
	wantCfg.Upstream.URL = "http://127.0.0.1:3000"
	wantCfg.Routes = []config.Route{{Prefix: "/health", Auth: config.AuthNone}}
	wantCfg.JWT.JWKSURL = "https://issuer.example.com/.well-known/jwks.json"
	wantCfg.JWT.Issuer = config.StringList{"https://issuer.example.com"}
	wantCfg.JWT.Audience = config.StringList{"my-api"}
	wantCfg.Admin.Tokens = got.Admin.Tokens
	if len(got.Admin.Tokens) != 1 || got.Admin.Tokens[0].Name != "ops" || len(got.Admin.Tokens[0].Token) != 64 {
		t.Fatalf("admin tokens: %d, want one named ops with a 64-hex-digit token", len(got.Admin.Tokens))
	}
	if diff := cmp.Diff(wantCfg, *got, cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("the example differs from the defaults outside its EDIT lines (-defaults +example):\n%s", diff)
	}
	if edits := strings.Count(buf.String(), "# EDIT:"); edits != 6 {
		t.Fatalf("the example has %d EDIT lines, the test knows 6: update both together", edits)
	}
}

func TestServeHelpPointsAtTheConfigExample(t *testing.T) {
	r := runCLIEnv(t, nil, "", "serve", "--help")
	want(t, r, 0)
	if !strings.Contains(r.stdout, "revgate config example") {
		t.Fatalf("serve --help does not mention revgate config example:\n%s", r.stdout)
	}
}
