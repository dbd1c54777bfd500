package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const testGTRAudience = "https://api.example/global-token-revocation"

const gtrClientIDsRequired = "is required when global_revocation.path is set: the identity provider's client id(s) allowed to call it, which the bearer JWT's sub must equal (Okta: the client id of the Okta app)"

func globalRevocationConfig() Config {
	c := validConfig()
	c.JWT.Issuer = StringList{"https://idp.example"}
	c.GlobalRevocation.Path = "/global-token-revocation"
	c.GlobalRevocation.Audience = testGTRAudience
	c.GlobalRevocation.ClientIDs = StringList{"0oa1client"}
	return c
}

func TestValidateGlobalRevocation(t *testing.T) {
	tests := []struct {
		name   string
		modify func(c *Config)
		want   []Problem
	}{
		{"path, issuer and audience are valid", func(c *Config) {}, nil},
		{"an email claim is valid", func(c *Config) { c.GlobalRevocation.EmailClaim = "email" }, nil},
		{"http to a loopback audience is valid", func(c *Config) {
			c.GlobalRevocation.Audience = "http://127.0.0.1:8080/global-token-revocation"
		}, nil},
		{"off needs neither issuer nor audience", func(c *Config) {
			c.GlobalRevocation = GlobalRevocation{}
			c.JWT.Issuer = nil
		}, nil},
		{"on needs jwt.issuer, an audience and client ids, reported together", func(c *Config) {
			c.JWT.Issuer = nil
			c.GlobalRevocation.Audience = ""
			c.GlobalRevocation.ClientIDs = nil
		}, []Problem{
			{"jwt.issuer", "is required when global_revocation.path is set: the bearer JWT's iss and an iss_sub subject's iss must equal it"},
			{"global_revocation.audience", "is required when global_revocation.path is set: this endpoint's public URL, which the bearer JWT's aud must contain"},
			{"global_revocation.client_ids", gtrClientIDsRequired},
		}},
		{"client ids of only empty strings are none", func(c *Config) { c.GlobalRevocation.ClientIDs = StringList{"", ""} },
			[]Problem{{"global_revocation.client_ids", gtrClientIDsRequired}}},
		{"several client ids are valid", func(c *Config) { c.GlobalRevocation.ClientIDs = StringList{"0oa1client", "0oa2client"} }, nil},
		{"a client id has no control characters", func(c *Config) { c.GlobalRevocation.ClientIDs = StringList{"0oa1client", "0oa\n2"} },
			[]Problem{{"global_revocation.client_ids[1]", "must not contain control characters"}}},
		{"the audience is an absolute URL", func(c *Config) { c.GlobalRevocation.Audience = "global-token-revocation" },
			[]Problem{{"global_revocation.audience", `expected an https:// URL, got scheme ""`}}},
		{"the audience has a host", func(c *Config) { c.GlobalRevocation.Audience = "https:///x" },
			[]Problem{{"global_revocation.audience", "needs a host"}}},
		{"the audience is https unless on loopback", func(c *Config) { c.GlobalRevocation.Audience = "http://api.example/gtr" },
			[]Problem{{"global_revocation.audience", "must be https:// (http:// is allowed only for a loopback host such as 127.0.0.1 or localhost)"}}},
		{"the audience has no query", func(c *Config) { c.GlobalRevocation.Audience = testGTRAudience + "?tenant=a" },
			[]Problem{{"global_revocation.audience", "must not have a query or a fragment: the identity provider's aud has neither"}}},
		{"the audience has no fragment", func(c *Config) { c.GlobalRevocation.Audience = testGTRAudience + "#" },
			[]Problem{{"global_revocation.audience", "must not have a query or a fragment: the identity provider's aud has neither"}}},
		{"the audience has no credentials", func(c *Config) { c.GlobalRevocation.Audience = "https://u:p@api.example/gtr" },
			[]Problem{{"global_revocation.audience", "must not contain credentials"}}},
		{"the email claim has no control characters", func(c *Config) { c.GlobalRevocation.EmailClaim = "e\nmail" },
			[]Problem{{"global_revocation.email_claim", "must not contain control characters"}}},
		{"the path is clean and absolute", func(c *Config) { c.GlobalRevocation.Path = "gtr" },
			[]Problem{{"global_revocation.path", `must start with "/", got "gtr"`}}},
		{"the path is not logout.path, with or without its trailing slash", func(c *Config) { c.GlobalRevocation.Path = "/auth/logout/" },
			[]Problem{{"global_revocation.path", `"/auth/logout/" is already logout.path`}}},
		{"the path is not an OAuth endpoint", func(c *Config) {
			c.OAuth.IntrospectionPath = "/oauth2/introspect"
			c.OAuth.Clients = []OAuthClient{{ID: "a", Secret: testClientSecret}}
			c.GlobalRevocation.Path = "/oauth2/introspect"
		}, []Problem{{"global_revocation.path", `"/oauth2/introspect" is already oauth.introspection_path`}}},
		{"the path is not the back-channel logout path", func(c *Config) {
			c.BackchannelLogout.Path = "/oidc/logout"
			c.BackchannelLogout.Audience = StringList{"web"}
			c.GlobalRevocation.Path = "/oidc/logout/"
		}, []Problem{{"global_revocation.path", `"/oidc/logout/" is already backchannel_logout.path`}}},
		{"the path is not a decision endpoint", func(c *Config) {
			c.Decision.Listen = "127.0.0.1:8081"
			c.GlobalRevocation.Path = "/ext-authz/gtr"
		}, []Problem{{"global_revocation.path", `"/ext-authz/gtr" is a decision endpoint on decision.listen: choose another path`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := globalRevocationConfig()
			tt.modify(&c)
			got := problemsOf(t, c.Validate())
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("problems (-want +got):\n%s", d)
			}
		})
	}
}

func TestLoadGlobalRevocation(t *testing.T) {
	const base = `
upstream:
  url: "http://app:3000"
jwt:
  jwks_url: "https://idp.example/jwks.json"
  issuer: "https://idp.example"
admin:
  tokens:
    - name: ops
      token: "ops-token-0123456789"
`
	t.Run("from the file", func(t *testing.T) {
		cleanEnv(t)
		c := mustLoadYAML(t, base+`
global_revocation:
  path: "/global-token-revocation"
  audience: "`+testGTRAudience+`"
  client_ids: ["0oa1client", "0oa2client"]
  email_claim: "email"
`)
		want := GlobalRevocation{Path: "/global-token-revocation", Audience: testGTRAudience, ClientIDs: StringList{"0oa1client", "0oa2client"}, EmailClaim: "email"}
		if d := cmp.Diff(want, c.GlobalRevocation); d != "" {
			t.Errorf("mismatch (-want +got):\n%s", d)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("Validate: %v", err)
		}
	})
	t.Run("from the environment", func(t *testing.T) {
		cleanEnv(t)
		t.Setenv("REVGATE_GLOBAL_REVOCATION_PATH", "/gtr")
		t.Setenv("REVGATE_GLOBAL_REVOCATION_AUDIENCE", "https://api.example/gtr")
		t.Setenv("REVGATE_GLOBAL_REVOCATION_EMAIL_CLAIM", "upn")
		t.Setenv("REVGATE_GLOBAL_REVOCATION_CLIENT_IDS", "0oa1client, 0oa2client")
		c := mustLoadYAML(t, base)
		want := GlobalRevocation{Path: "/gtr", Audience: "https://api.example/gtr", ClientIDs: StringList{"0oa1client", "0oa2client"}, EmailClaim: "upn"}
		if d := cmp.Diff(want, c.GlobalRevocation); d != "" {
			t.Errorf("mismatch (-want +got):\n%s", d)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("Validate: %v", err)
		}
	})
	t.Run("an unknown key is an error", func(t *testing.T) {
		cleanEnv(t)
		_, err := loadYAML(t, base+"global_revocation: {path: /gtr, audiences: [x]}\n")
		if err == nil || !strings.Contains(err.Error(), `unknown key "global_revocation.audiences"`) {
			t.Errorf("error = %v, want one naming the unknown key", err)
		}
	})
}

// Email marks are matched against one access-token claim, whichever
// receiver set them: the two receivers' email_claim must agree.
func TestGlobalRevocationAndSSFAgreeOnTheEmailClaim(t *testing.T) {
	both := func(gtrClaim string) Config {
		c := ssfConfig()
		c.JWT.Issuer = StringList{"https://idp.example"}
		c.GlobalRevocation = GlobalRevocation{Path: "/global-token-revocation", Audience: testGTRAudience, ClientIDs: StringList{"0oa1client"}, EmailClaim: gtrClaim}
		return c
	}
	for _, tt := range []struct {
		name     string
		gtrClaim string
		want     []Problem
	}{
		{"the same claim is valid", "email", nil},
		{"no claim refuses email subjects at the endpoint and is valid", "", nil},
		{"two different claims are refused", "mail", []Problem{{"global_revocation.email_claim",
			`is "mail" but ssf.email_claim is "email": email marks from both receivers are matched against one access-token claim, so set the same claim (or leave this one empty to refuse email subjects here)`}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := both(tt.gtrClaim)
			if d := cmp.Diff(tt.want, problemsOf(t, c.Validate())); d != "" {
				t.Errorf("problems (-want +got):\n%s", d)
			}
		})
	}
	t.Run("the push path and the endpoint's path differ", func(t *testing.T) {
		c := both("")
		c.SSF.PushPath = c.GlobalRevocation.Path
		got := problemsOf(t, c.Validate())
		want := []Problem{
			{"ssf.push_path", `"/global-token-revocation" is already global_revocation.path`},
			{"global_revocation.path", `"/global-token-revocation" is already ssf.push_path`},
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("problems (-want +got):\n%s", d)
		}
	})
}

func TestEmailMarkClaimIsReadOnlyWhileAReceiverSetsMarks(t *testing.T) {
	c := validConfig()
	c.SSF.EmailClaim = "email"
	c.GlobalRevocation.EmailClaim = "mail"
	if got := c.EmailMarkClaim(); got != "" {
		t.Errorf("with both receivers off = %q, want \"\"", got)
	}
	c.GlobalRevocation.Path = "/gtr"
	if got := c.EmailMarkClaim(); got != "mail" {
		t.Errorf("with only global revocation on = %q, want mail", got)
	}
	c.SSF.PushPath = "/ssf"
	if got := c.EmailMarkClaim(); got != "email" {
		t.Errorf("with the SSF receiver on = %q, want email", got)
	}
}
