package config

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func backchannelConfig() Config {
	c := validConfig()
	c.JWT.Issuer = StringList{"https://idp.example"}
	c.BackchannelLogout.Path = "/oidc/backchannel-logout"
	c.BackchannelLogout.Audience = StringList{"orders-web"}
	return c
}

func TestValidateBackchannelLogout(t *testing.T) {
	tests := []struct {
		name   string
		modify func(c *Config)
		want   []Problem
	}{
		{"path, issuer and audience are valid", func(c *Config) {}, nil},
		{"off needs neither issuer nor audience", func(c *Config) {
			c.BackchannelLogout = BackchannelLogout{MaxAge: time.Minute}
			c.JWT.Issuer = nil
		}, nil},
		{"on needs jwt.issuer and an audience", func(c *Config) {
			c.JWT.Issuer = nil
			c.BackchannelLogout.Audience = nil
		}, []Problem{
			{"jwt.issuer", "is required when backchannel_logout.path is set: a logout token's iss must equal it"},
			{"backchannel_logout.audience", "is required when backchannel_logout.path is set: the client id(s) registered with this logout URI"},
		}},
		{"the path is clean and absolute", func(c *Config) { c.BackchannelLogout.Path = "/oidc//logout" },
			[]Problem{{"backchannel_logout.path", `must be a clean path (no //, . or .. segments): "/oidc//logout" would never match; use "/oidc/logout"`}}},
		{"the path is not logout.path, with or without its trailing slash", func(c *Config) { c.BackchannelLogout.Path = "/auth/logout/" },
			[]Problem{{"backchannel_logout.path", `"/auth/logout/" is already logout.path`}}},
		{"the path is not an OAuth endpoint", func(c *Config) {
			c.OAuth.RevocationPath = "/oauth2/revoke"
			c.OAuth.Clients = []OAuthClient{{ID: "a", Secret: testClientSecret}}
			c.BackchannelLogout.Path = "/oauth2/revoke"
		}, []Problem{{"backchannel_logout.path", `"/oauth2/revoke" is already oauth.revocation_path`}}},
		{"the path is not a decision endpoint", func(c *Config) {
			c.Decision.Listen = "127.0.0.1:8081"
			c.BackchannelLogout.Path = "/forward-auth"
		}, []Problem{{"backchannel_logout.path", `"/forward-auth" is a decision endpoint on decision.listen: choose another path`}}},
		{"max_age is positive", func(c *Config) { c.BackchannelLogout.MaxAge = 0 },
			[]Problem{{"backchannel_logout.max_age", "must be greater than 0"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := backchannelConfig()
			tt.modify(&c)
			got := problemsOf(t, c.Validate())
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("problems (-want +got):\n%s", d)
			}
		})
	}
}

func TestLoadBackchannelLogout(t *testing.T) {
	cleanEnv(t)
	c := mustLoadYAML(t, `
upstream:
  url: "http://app:3000"
jwt:
  jwks_url: "https://idp.example/jwks.json"
  issuer: "https://idp.example"
backchannel_logout:
  path: "/oidc/backchannel-logout"
  audience: ["orders-web", "billing-web"]
  max_age: 2m
admin:
  tokens:
    - name: ops
      token: "ops-token-0123456789"
`)
	want := BackchannelLogout{Path: "/oidc/backchannel-logout", Audience: StringList{"orders-web", "billing-web"}, MaxAge: 2 * time.Minute}
	if d := cmp.Diff(want, c.BackchannelLogout); d != "" {
		t.Errorf("mismatch (-want +got):\n%s", d)
	}
}
