package config

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// secretConfig is a valid config with every secret set.
func secretConfig() Config {
	c := validConfig()
	c.JWT.Algorithms = []string{"RS256", "HS256"}
	c.JWT.HMACSecret = "hmac-secret-4f1c-0123456789abcdef0123"
	c.Revocation.Redis = Redis{URL: "rediss://app:url-password-9d2e@redis.example:6380/1", KeyPrefix: "rg:"}
	c.Admin.Tokens = []AdminToken{
		{Name: "ops", Token: "ops-token-7a3b-0123456789"},
		{Name: "ci", Token: "ci-token-5c8d-0123456789"},
	}
	return c
}

var secretStrings = []string{
	"hmac-secret-4f1c-0123456789abcdef0123",
	"url-password-9d2e",
	"redis-password-6b0f",
	"ops-token-7a3b-0123456789",
	"ci-token-5c8d-0123456789",
	"sentinel-password-31ab",
}

func TestRedactedHidesEverySecret(t *testing.T) {
	tests := []struct {
		name   string
		modify func(c *Config)
	}{
		{"inline secrets and a url password are hidden", func(c *Config) {}},
		{"a redis password key is hidden", func(c *Config) {
			c.Revocation.Redis.URL = "redis://redis.example:6379/0"
			c.Revocation.Redis.Password = "redis-password-6b0f"
		}},
		{"secrets read from files are hidden", func(c *Config) {
			c.JWT.HMACSecretFile = "/run/secrets/hmac"
			c.Admin.Tokens[0].TokenFile = "/run/secrets/ops"
		}},
		{"a url that does not parse but has user info is hidden whole", func(c *Config) {
			c.Revocation.Redis.URL = "redis://:url-password-9d2e@red is/0"
		}},
		{"a sentinel password is hidden", func(c *Config) {
			c.Revocation.Redis = Redis{Addrs: []string{"s:26379"}, MasterName: "m", Password: "redis-password-6b0f"}
		}},
		{"the Sentinels' own password is hidden", func(c *Config) {
			c.Revocation.Redis = Redis{Addrs: []string{"s:26379"}, MasterName: "m", SentinelUsername: "watcher", SentinelPassword: "sentinel-password-31ab"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := secretConfig()
			tt.modify(&c)
			var buf bytes.Buffer
			if err := WriteYAML(&buf, c.Redacted()); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			for _, s := range secretStrings {
				if strings.Contains(out, s) {
					t.Errorf("output contains secret %q:\n%s", s, out)
				}
			}
			if !strings.Contains(out, RedactedValue) {
				t.Errorf("output does not contain %q:\n%s", RedactedValue, out)
			}
		})
	}
}

func TestRedactedReplacesOnlyWhatIsSet(t *testing.T) {
	c := secretConfig()
	c.JWT.HMACSecretFile = "/run/secrets/hmac"
	r := c.Redacted()

	want := c
	want.Routes = nil
	want.JWT.HMACSecret = "" // read from its file: only the path is shown
	want.Revocation.Redis.URL = "rediss://app:" + RedactedValue + "@redis.example:6380/1"
	want.Admin.Tokens = []AdminToken{{Name: "ops", Token: RedactedValue}, {Name: "ci", Token: RedactedValue}}
	if d := diff(want, r); d != "" {
		t.Errorf("Redacted() (-want +got):\n%s", d)
	}
	if r.Revocation.Redis.Password != "" {
		t.Errorf("an unset password became %q", r.Revocation.Redis.Password)
	}
}

func TestRedactedLeavesTheOriginalAlone(t *testing.T) {
	c := secretConfig()
	c.Routes = []Route{{Prefix: "/a/", Auth: "none"}}
	c.JWT.RequiredClaims = map[string]any{"roles": []any{"a"}, "nested": map[string]any{"k": "v"}}
	before := secretConfig()
	before.Routes = []Route{{Prefix: "/a/", Auth: "none"}}
	before.JWT.RequiredClaims = map[string]any{"roles": []any{"a"}, "nested": map[string]any{"k": "v"}}

	r := c.Redacted()
	r.Routes[0].Prefix = "/changed/"
	r.JWT.Algorithms[0] = "ES256"
	r.JWT.ForwardHeaders["X-New"] = "x"
	r.JWT.RequiredClaims["roles"].([]any)[0] = "changed"
	r.JWT.RequiredClaims["nested"].(map[string]any)["k"] = "changed"
	r.Revocation.Redis.KeyPrefix = "changed"

	if d := cmp.Diff(before, c); d != "" {
		t.Errorf("changing the copy changed the original (-want +got):\n%s", d)
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"a url without user info is unchanged", "redis://r:6379/0", "redis://r:6379/0"},
		{"a username alone is kept", "redis://app@r:6379/0", "redis://app@r:6379/0"},
		{"a password is replaced", "redis://app:secret@r:6379/0", "redis://app:<redacted>@r:6379/0"},
		{"an empty username keeps its place", "rediss://:secret@r:6379/0", "rediss://:<redacted>@r:6379/0"},
		{"an escaped username stays escaped", "redis://a%40b:secret@r/0", "redis://a%40b:<redacted>@r/0"},
		{"a url that does not parse with an @ is replaced whole", "redis://:se cret@r:x/0", RedactedValue},
		{"an opaque url with an @ is replaced whole", "redis:user:secret@r", RedactedValue},
		{"an empty url stays empty", "", ""},
		{"query values are replaced", "https://idp.example/jwks?api_key=s3cret&v=2", "https://idp.example/jwks?api_key=<redacted>&v=<redacted>"},
		{"a password and a query", "redis://app:secret@r:6379/0?dial_timeout=1s#x", "redis://app:<redacted>@r:6379/0?dial_timeout=<redacted>#x"},
		{"a url that does not parse with a ? is replaced whole", "https://idp example/jwks?k=s", RedactedValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RedactURL(tt.in); got != tt.want {
				t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestWriteYAML(t *testing.T) {
	c := validConfig()
	c.Server.WriteTimeout = 0
	c.Upstream.Timeout = 90 * time.Second
	c.JWT.RequiredClaims = map[string]any{"token_type": "access"}
	var buf bytes.Buffer
	if err := WriteYAML(&buf, c); err != nil {
		t.Fatal(err)
	}
	out := buf.String()

	t.Run("durations are Go duration strings", func(t *testing.T) {
		for _, line := range []string{
			"  timeout: 1m30s\n",
			"  jwks_refresh: 5m\n",
			"  leeway: 30s\n",
			"  max_token_lifetime: 24h\n",
			"  lookup_timeout: 250ms\n",
			"  write_timeout: 0s\n",
		} {
			if !strings.Contains(out, line) {
				t.Errorf("output lacks %q:\n%s", line, out)
			}
		}
	})
	t.Run("keys use their YAML names in config order", func(t *testing.T) {
		var top []string
		for _, line := range strings.Split(out, "\n") {
			if name, _, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, " ") {
				top = append(top, name)
			}
		}
		want := []string{"listen", "upstream", "routes", "jwt", "revocation", "logout", "oauth", "backchannel_logout", "ssf", "global_revocation", "decision", "admin", "log", "server", "console"}
		if d := cmp.Diff(want, top); d != "" {
			t.Errorf("top-level keys (-want +got):\n%s\n%s", d, out)
		}
		for _, key := range []string{"max_idle_conns_per_host:", "jwks_unknown_kid_cooldown:", "required_claims:", "token_type: access", "key_prefix:", "session_claim: sid", "max_age: 5m", "insecure_no_auth:", "read_header_timeout:"} {
			if !strings.Contains(out, key) {
				t.Errorf("output lacks %q", key)
			}
		}
	})
}

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{250 * time.Millisecond, "250ms"},
		{30 * time.Second, "30s"},
		{5 * time.Minute, "5m"},
		{90 * time.Minute, "1h30m"},
		{24 * time.Hour, "24h"},
		{time.Hour + time.Second, "1h0m1s"},
		{1500 * time.Millisecond, "1.5s"},
	}
	for _, tt := range tests {
		if got := formatDuration(tt.d); got != tt.want {
			t.Errorf("formatDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
		if back, err := time.ParseDuration(formatDuration(tt.d)); err != nil || back != tt.d {
			t.Errorf("formatDuration(%v) = %q parses back as %v, %v", tt.d, formatDuration(tt.d), back, err)
		}
	}
}

func TestWriteYAMLRoundTrips(t *testing.T) {
	full := secretConfig()
	full.Listen = ":8443"
	full.Upstream.StripAuthorization = true
	full.Routes = []Route{{Prefix: "/api/token/", Auth: "none"}, {Prefix: "/api/token/refresh/", Auth: "refresh"}}
	full.JWT.JWKSFile = "/keys/jwks.json"
	full.JWT.PublicKeyFiles = []string{"/keys/a.pem"}
	full.JWT.Issuer = StringList{"https://issuer.example"}
	full.JWT.Audience = StringList{"api", "true", "123"}
	full.JWT.Leeway = 1500 * time.Millisecond
	full.JWT.SubjectClaim = "user_id"
	full.JWT.RequiredClaims = map[string]any{
		"token_type":                 "access",
		"tokenVersion":               2,
		"admin":                      false,
		"https://example.com/claims": map[string]any{"Role": "x"},
		"scopes":                     []any{"read", "write"},
	}
	full.JWT.RefreshRequiredClaims = map[string]any{"token_type": "refresh"}
	full.JWT.RefreshReuseDetection = true
	full.JWT.Lookup = []string{"header:Authorization:Bearer", "cookie:access_token", "query:token"}
	full.JWT.ForwardHeaders = map[string]string{"X-User-ID": "user_id", "X-Email": "email"}
	full.Revocation.OnStoreError = "open"
	full.Logout.Path = ""
	full.Log = Log{Level: "debug", Format: "text"}

	sentinel := validConfig()
	sentinel.Revocation.Redis = Redis{Addrs: []string{"s1:26379", "s2:26379"}, MasterName: "mymaster", Username: "app", Password: "redis-password-6b0f", DB: 4, TLS: true, CAFile: "/ca.pem", KeyPrefix: ""}

	demo := validConfig()
	demo.Revocation.Store = "memory"
	demo.Admin.Tokens = nil
	demo.Admin.InsecureNoAuth = true

	tests := []struct {
		name string
		c    Config
	}{
		{"the defaults load back equal", Default()},
		{"a config using every key loads back equal", full},
		{"a Sentinel config loads back equal", sentinel},
		{"a demo config loads back equal", demo},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cleanEnv(t)
			var buf bytes.Buffer
			if err := WriteYAML(&buf, tt.c); err != nil {
				t.Fatal(err)
			}
			got, err := loadYAML(t, buf.String())
			if err != nil {
				t.Fatalf("Load of WriteYAML output: %v\n%s", err, buf.String())
			}
			if d := diff(tt.c, *got); d != "" {
				t.Errorf("round trip (-want +got):\n%s\n%s", d, buf.String())
			}
		})
	}
}

func TestRedactErrorHidesTheQueryAndPasswordOfEveryURLItNames(t *testing.T) {
	const raw = "https://user:pw-secret@issuer.example/jwks?api_key=key-secret"
	_, fetchErr := http.Get("http://user:pw-secret@127.0.0.1:1/jwks?api_key=key-secret") // a *url.Error; nothing listens on port 1
	wrapped := fmt.Errorf("failed to fetch %q: %w", raw, fetchErr)
	for _, err := range []error{fetchErr, wrapped} {
		got := RedactError(err, raw)
		if strings.Contains(got, "pw-secret") || strings.Contains(got, "key-secret") {
			t.Errorf("RedactError = %q: a secret remains", got)
		}
		if !strings.Contains(got, "api_key="+RedactedValue) {
			t.Errorf("RedactError = %q: the query's name should remain", got)
		}
	}
}
