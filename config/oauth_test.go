package config

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const testClientSecret = "orders-secret-0123456789"

func oauthConfig() Config {
	c := validConfig()
	c.OAuth.IntrospectionPath = "/oauth2/introspect"
	c.OAuth.RevocationPath = "/oauth2/revoke"
	c.OAuth.Clients = []OAuthClient{{ID: "orders-api", Secret: testClientSecret}}
	return c
}

func TestValidateOAuth(t *testing.T) {
	tests := []struct {
		name   string
		modify func(c *Config)
		want   []Problem
	}{
		{"both endpoints with one client are valid", func(c *Config) {}, nil},
		{"clients without an endpoint are valid", func(c *Config) {
			c.OAuth.IntrospectionPath, c.OAuth.RevocationPath = "", ""
		}, nil},
		{"an endpoint needs a client", func(c *Config) { c.OAuth.Clients = nil },
			[]Problem{{"oauth.clients", "needs at least one client when oauth.introspection_path or oauth.revocation_path is set"}}},
		{"paths must be clean and absolute", func(c *Config) {
			c.OAuth.IntrospectionPath = "oauth2/introspect"
			c.OAuth.RevocationPath = "/oauth2//revoke"
		}, []Problem{
			{"oauth.introspection_path", `must start with "/", got "oauth2/introspect"`},
			{"oauth.revocation_path", `must be a clean path (no //, . or .. segments): "/oauth2//revoke" would never match; use "/oauth2/revoke"`},
		}},
		{"a path must not be logout.path, with or without its trailing slash", func(c *Config) {
			c.OAuth.IntrospectionPath = "/auth/logout/"
		}, []Problem{{"oauth.introspection_path", `"/auth/logout/" is already logout.path`}}},
		{"the two paths must differ", func(c *Config) { c.OAuth.RevocationPath = "/oauth2/introspect" },
			[]Problem{{"oauth.revocation_path", `"/oauth2/introspect" is already oauth.introspection_path`}}},
		{"a client needs an id and a secret", func(c *Config) {
			c.OAuth.Clients = []OAuthClient{{}}
		}, []Problem{
			{"oauth.clients[0]", "needs secret or secret_file"},
			{"oauth.clients[0].id", "is required: it is the client_id the client authenticates with"},
		}},
		{"ids are unique", func(c *Config) {
			c.OAuth.Clients = append(c.OAuth.Clients, OAuthClient{ID: "orders-api", Secret: testClientSecret + "x"})
		}, []Problem{{"oauth.clients[1].id", `"orders-api" is already oauth.clients[0].id`}}},
		{"an id has no control characters", func(c *Config) { c.OAuth.Clients[0].ID = "a\nb" },
			[]Problem{{"oauth.clients[0].id", "must not contain control characters"}}},
		{"a short secret is refused without being echoed", func(c *Config) { c.OAuth.Clients[0].Secret = "short-secret" },
			[]Problem{{"oauth.clients[0].secret", "must be at least 16 bytes: a short secret can be guessed"}}},
		{"rate limit and burst are positive", func(c *Config) { c.OAuth.RateLimit, c.OAuth.RateBurst = 0, -1 },
			[]Problem{{"oauth.rate_limit", "must be greater than 0 (requests per second per client)"}, {"oauth.rate_burst", "must be greater than 0"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := oauthConfig()
			tt.modify(&c)
			got := problemsOf(t, c.Validate())
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("problems (-want +got):\n%s", d)
			}
		})
	}
}

func TestLoadOAuthClientSecretFromFile(t *testing.T) {
	cleanEnv(t)
	file := writeFile(t, "orders-api", testClientSecret+"\n")
	c := mustLoadYAML(t, `
upstream: {url: "http://127.0.0.1:3000"}
jwt: {jwks_url: "https://issuer.example/jwks.json"}
admin: {tokens: [{name: ops, token: ops-token-0123456789}]}
oauth:
  introspection_path: /oauth2/introspect
  clients:
    - id: orders-api
      secret_file: `+file+`
      revoke_any: true
`)
	want := []OAuthClient{{ID: "orders-api", Secret: testClientSecret, SecretFile: file, RevokeAny: true}}
	if d := cmp.Diff(want, c.OAuth.Clients); d != "" {
		t.Errorf("clients (-want +got):\n%s", d)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}

	t.Run("both secret and secret_file is an error naming the key", func(t *testing.T) {
		_, err := loadYAML(t, `
oauth:
  clients: [{id: a, secret: `+testClientSecret+`, secret_file: `+file+`}]
`)
		want := []Problem{{"oauth.clients[0].secret", "set either oauth.clients[0].secret or oauth.clients[0].secret_file, not both"}}
		if d := cmp.Diff(want, problemsOf(t, err)); d != "" {
			t.Errorf("problems (-want +got):\n%s", d)
		}
	})
	t.Run("an unreadable secret_file names the key and the file only", func(t *testing.T) {
		_, err := loadYAML(t, "oauth:\n  clients: [{id: a, secret_file: /nonexistent/secret}]\n")
		want := []Problem{{"oauth.clients[0].secret_file", `cannot read "/nonexistent/secret": no such file or directory`}}
		if d := cmp.Diff(want, problemsOf(t, err)); d != "" {
			t.Errorf("problems (-want +got):\n%s", d)
		}
	})
}

func TestRedactedHidesOAuthClientSecrets(t *testing.T) {
	c := oauthConfig()
	c.OAuth.Clients = append(c.OAuth.Clients, OAuthClient{ID: "billing", Secret: "billing-secret-from-file", SecretFile: "/run/secrets/billing"})
	r := c.Redacted()
	want := []OAuthClient{
		{ID: "orders-api", Secret: RedactedValue},
		{ID: "billing", SecretFile: "/run/secrets/billing"},
	}
	if d := cmp.Diff(want, r.OAuth.Clients); d != "" {
		t.Errorf("redacted clients (-want +got):\n%s", d)
	}
	if c.OAuth.Clients[0].Secret != testClientSecret {
		t.Errorf("Redacted changed the original: %q", c.OAuth.Clients[0].Secret)
	}
	var buf bytes.Buffer
	if err := WriteYAML(&buf, r); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{testClientSecret, "billing-secret-from-file"} {
		if strings.Contains(buf.String(), s) {
			t.Errorf("config check output holds the secret %q:\n%s", s, buf.String())
		}
	}
}
