package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const testPushAuthorization = "Bearer push-0123456789abcdef"

func ssfConfig() Config {
	c := validConfig()
	c.SSF.Issuer = "https://transmitter.example"
	c.SSF.JWKSURL = "https://transmitter.example/jwks"
	c.SSF.Audience = "https://revgate.example"
	c.SSF.PushPath = "/ssf/events"
	c.SSF.PushAuthorization = testPushAuthorization
	return c
}

func TestValidateSSF(t *testing.T) {
	tests := []struct {
		name   string
		modify func(c *SSF, all *Config)
		want   []Problem
	}{
		{"a push receiver with issuer, keys, audience and authorization is valid", func(*SSF, *Config) {}, nil},
		{"a poll receiver is valid without push keys", func(s *SSF, _ *Config) {
			s.PushPath, s.PushAuthorization = "", ""
			s.PollURL, s.PollAuthorization = "https://transmitter.example/poll", "Bearer poll"
		}, nil},
		{"push and poll together are valid", func(s *SSF, _ *Config) { s.PollURL = "https://transmitter.example/poll" }, nil},
		{"a local key file instead of a URL is valid", func(s *SSF, _ *Config) { s.JWKSURL, s.JWKSFile = "", "/keys/transmitter.json" }, nil},
		{"off needs nothing, whatever else is set", func(s *SSF, _ *Config) {
			*s = SSF{PollInterval: 5 * time.Second, EmailClaim: "email", Issuer: "x"}
		}, nil},
		{"off ignores a poll interval out of bounds", func(s *SSF, _ *Config) { *s = SSF{PollInterval: 0, EmailClaim: "email"} }, nil},
		{"on needs an issuer, an audience and keys", func(s *SSF, _ *Config) {
			s.Issuer, s.Audience, s.JWKSURL = "", "", ""
		}, []Problem{
			{"ssf", "needs jwks_url or jwks_file when ssf.push_path or ssf.poll_url is set: the transmitter's keys"},
			{"ssf.issuer", "is required when ssf.push_path or ssf.poll_url is set: the SETs' iss"},
			{"ssf.audience", "is required when ssf.push_path or ssf.poll_url is set: the SETs' aud"},
		}},
		{"polling alone also turns the checks on", func(s *SSF, _ *Config) {
			s.PushPath, s.PushAuthorization, s.Issuer = "", "", ""
			s.PollURL = "https://transmitter.example/poll"
		}, []Problem{{"ssf.issuer", "is required when ssf.push_path or ssf.poll_url is set: the SETs' iss"}}},
		{"jwks_url and jwks_file are exclusive", func(s *SSF, _ *Config) { s.JWKSFile = "/keys/t.json" },
			[]Problem{{"ssf.jwks_file", "set either ssf.jwks_url or ssf.jwks_file, not both"}}},
		{"jwks_url is https", func(s *SSF, _ *Config) { s.JWKSURL = "http://transmitter.example/jwks" },
			[]Problem{{"ssf.jwks_url", "must be https:// (http:// is allowed only for a loopback host such as 127.0.0.1 or localhost): keys fetched in the clear can be replaced"}}},
		{"jwks_url may be http on loopback", func(s *SSF, _ *Config) { s.JWKSURL = "http://127.0.0.1:8443/jwks" }, nil},
		{"the email claim is required", func(s *SSF, _ *Config) { s.EmailClaim = "" },
			[]Problem{{"ssf.email_claim", `is required (for example "email"): the access-token claim email subjects match`}}},
		{"the email claim names a string claim", func(s *SSF, _ *Config) { s.EmailClaim = "exp" },
			[]Problem{{"ssf.email_claim", `must name a string claim (for example "email"), not "exp"`}}},
		{"a push path needs an authorization: fail closed", func(s *SSF, _ *Config) { s.PushAuthorization = "" },
			[]Problem{{"ssf.push_authorization", "is required when ssf.push_path is set (or push_authorization_file): the Authorization value the transmitter sends; an open push endpoint would let anyone revoke every user"}}},
		{"a short push authorization can be guessed", func(s *SSF, _ *Config) { s.PushAuthorization = "Bearer abc" },
			[]Problem{{"ssf.push_authorization", "must be at least 16 bytes: a short value can be guessed, and whoever guesses it can revoke every user"}}},
		{"a push authorization is one header line", func(s *SSF, _ *Config) { s.PushAuthorization = "Bearer 0123456789abcdef\r\nX-Evil: 1" },
			[]Problem{{"ssf.push_authorization", "must not contain control characters: it is sent as an Authorization header"}}},
		{"the push path is clean and absolute", func(s *SSF, _ *Config) { s.PushPath = "ssf/events" },
			[]Problem{{"ssf.push_path", `must start with "/", got "ssf/events"`}}},
		{"the push path is not logout.path", func(s *SSF, _ *Config) { s.PushPath = "/auth/logout/" },
			[]Problem{{"ssf.push_path", `"/auth/logout/" is already logout.path`}}},
		{"the push path is not the back-channel logout path", func(s *SSF, c *Config) {
			c.JWT.Issuer = StringList{"https://idp.example"}
			c.BackchannelLogout.Path, c.BackchannelLogout.Audience = "/oidc/bcl", StringList{"web"}
			s.PushPath = "/oidc/bcl"
		}, []Problem{{"ssf.push_path", `"/oidc/bcl" is already backchannel_logout.path`}}},
		{"the push path is not an OAuth endpoint", func(s *SSF, c *Config) {
			c.OAuth.IntrospectionPath = "/oauth2/introspect"
			c.OAuth.Clients = []OAuthClient{{ID: "a", Secret: testClientSecret}}
			s.PushPath = "/oauth2/introspect"
		}, []Problem{{"ssf.push_path", `"/oauth2/introspect" is already oauth.introspection_path`}}},
		{"the push path is not a decision endpoint", func(s *SSF, c *Config) {
			c.Decision.Listen = "127.0.0.1:8081"
			s.PushPath = "/ext-authz/ssf"
		}, []Problem{{"ssf.push_path", `"/ext-authz/ssf" is a decision endpoint on decision.listen: choose another path`}}},
		{"the poll URL is https", func(s *SSF, _ *Config) { s.PollURL = "http://transmitter.example/poll" },
			[]Problem{{"ssf.poll_url", "must be https:// (http:// is allowed only for a loopback host such as 127.0.0.1 or localhost): the poll authorization and the events would travel in the clear"}}},
		{"the poll URL may be http on loopback", func(s *SSF, _ *Config) { s.PollURL = "http://localhost:9000/poll" }, nil},
		{"the poll URL is absolute", func(s *SSF, _ *Config) { s.PollURL = "/poll" },
			[]Problem{{"ssf.poll_url", `expected an https:// URL, got scheme ""`}}},
		{"the poll URL holds no credentials", func(s *SSF, _ *Config) { s.PollURL = "https://u:p@transmitter.example/poll" },
			[]Problem{{"ssf.poll_url", "must not contain credentials: set ssf.poll_authorization (or poll_authorization_file)"}}},
		{"the poll authorization is one header line", func(s *SSF, _ *Config) {
			s.PollURL, s.PollAuthorization = "https://transmitter.example/poll", "Bearer x\ny"
		}, []Problem{{"ssf.poll_authorization", "must not contain control characters: it is sent as an Authorization header"}}},
		{"the poll interval is at least a second", func(s *SSF, _ *Config) {
			s.PollURL, s.PollInterval = "https://transmitter.example/poll", 0
		}, []Problem{{"ssf.poll_interval", "must be at least 1s"}}},
		{"the poll interval is at most an hour", func(s *SSF, _ *Config) {
			s.PollURL, s.PollInterval = "https://transmitter.example/poll", 2*time.Hour
		}, []Problem{{"ssf.poll_interval", "must be at most 1h0m0s: a revoked account would keep working that long"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ssfConfig()
			tt.modify(&c.SSF, &c)
			got := problemsOf(t, c.Validate())
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("problems (-want +got):\n%s", d)
			}
		})
	}
}

func TestLoadSSF(t *testing.T) {
	cleanEnv(t)
	pushFile := writeFile(t, "ssf-push", testPushAuthorization+"\n")
	pollFile := writeFile(t, "ssf-poll", "Bearer poll-secret\n")
	t.Setenv("REVGATE_SSF_POLL_INTERVAL", "30s")
	c := mustLoadYAML(t, `
upstream:
  url: "http://app:3000"
jwt:
  jwks_url: "https://idp.example/jwks.json"
ssf:
  issuer: "https://transmitter.example"
  jwks_url: "https://transmitter.example/jwks"
  audience: "https://revgate.example"
  push_path: "/ssf/events"
  push_authorization_file: "`+pushFile+`"
  poll_url: "https://transmitter.example/poll"
  poll_authorization_file: "`+pollFile+`"
  email_claim: "upn"
admin:
  tokens:
    - name: ops
      token: "ops-token-0123456789"
`)
	want := SSF{
		Issuer: "https://transmitter.example", JWKSURL: "https://transmitter.example/jwks", Audience: "https://revgate.example",
		PushPath: "/ssf/events", PushAuthorization: testPushAuthorization, PushAuthorizationFile: pushFile,
		PollURL: "https://transmitter.example/poll", PollAuthorization: "Bearer poll-secret", PollAuthorizationFile: pollFile,
		PollInterval: 30 * time.Second, EmailClaim: "upn",
	}
	if d := cmp.Diff(want, c.SSF); d != "" {
		t.Errorf("mismatch (-want +got):\n%s", d)
	}

	t.Run("the authorizations are secrets: redacted, the files shown as paths", func(t *testing.T) {
		r := c.Redacted()
		if r.SSF.PushAuthorization != "" || r.SSF.PollAuthorization != "" {
			t.Errorf("Redacted kept an authorization read from a file: %+v", r.SSF)
		}
		inline := ssfConfig()
		inline.SSF.PollURL = "https://transmitter.example/poll?key=k1"
		inline.SSF.PollAuthorization = "Bearer poll-secret"
		r = inline.Redacted()
		if r.SSF.PushAuthorization != RedactedValue || r.SSF.PollAuthorization != RedactedValue {
			t.Errorf("Redacted = %+v, want both authorizations %q", r.SSF, RedactedValue)
		}
		if strings.Contains(r.SSF.PollURL, "k1") {
			t.Errorf("Redacted poll_url = %q, want its query redacted", r.SSF.PollURL)
		}
	})
}

func TestLoadSSFEnvironment(t *testing.T) {
	cleanEnv(t)
	t.Setenv("REVGATE_SSF_ISSUER", "https://transmitter.example")
	t.Setenv("REVGATE_SSF_JWKS_URL", "https://transmitter.example/jwks")
	t.Setenv("REVGATE_SSF_AUDIENCE", "https://revgate.example")
	t.Setenv("REVGATE_SSF_PUSH_PATH", "/ssf/events")
	t.Setenv("REVGATE_SSF_PUSH_AUTHORIZATION", testPushAuthorization)
	t.Setenv("REVGATE_SSF_EMAIL_CLAIM", "mail")
	c := mustLoadYAML(t, `
upstream: {url: "http://app:3000"}
jwt: {jwks_url: "https://idp.example/jwks.json"}
admin: {tokens: [{name: ops, token: "ops-token-0123456789"}]}
`)
	if !c.SSF.Enabled() || c.SSF.PushPath != "/ssf/events" || c.SSF.EmailClaim != "mail" || c.SSF.PushAuthorization != testPushAuthorization {
		t.Errorf("SSF from the environment = %+v", c.SSF)
	}
	if c.SSF.PollInterval != 5*time.Second {
		t.Errorf("poll_interval = %s, want the default 5s", c.SSF.PollInterval)
	}
}

func TestLoadSSFPushWithoutAuthorizationFails(t *testing.T) {
	cleanEnv(t)
	c := mustLoadYAML(t, `
upstream: {url: "http://app:3000"}
jwt: {jwks_url: "https://idp.example/jwks.json"}
ssf: {issuer: "https://t.example", jwks_file: "/k.json", audience: "a", push_path: "/ssf/events"}
admin: {tokens: [{name: ops, token: "ops-token-0123456789"}]}
`)
	got := problemsOf(t, c.Validate())
	if len(got) != 1 || got[0].Key != "ssf.push_authorization" {
		t.Errorf("problems = %v, want only ssf.push_authorization", got)
	}
}
