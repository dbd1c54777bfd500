package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestValidateDecisionMode(t *testing.T) {
	tests := []struct {
		name   string
		modify func(c *Config)
		want   []Problem
	}{
		{"decision.listen alone needs no upstream", func(c *Config) {
			c.Upstream.URL = ""
			c.Decision.Listen = "127.0.0.1:8081"
		}, nil},
		{"decision.grpc_listen alone needs no upstream", func(c *Config) {
			c.Upstream.URL = ""
			c.Decision.GRPCListen = "127.0.0.1:9191"
		}, nil},
		{"without an upstream listen is unused, so not checked", func(c *Config) {
			c.Upstream.URL = ""
			c.Listen = ""
			c.Decision.Listen = ":8081"
		}, nil},
		{"without an upstream admin.listen may equal the unused listen", func(c *Config) {
			c.Upstream.URL = ""
			c.Decision.Listen = ":8081"
			c.Admin.Listen = c.Listen
		}, nil},
		{"the proxy and both decision listeners run together", func(c *Config) {
			c.Decision.Listen = "127.0.0.1:8081"
			c.Decision.GRPCListen = "127.0.0.1:9191"
		}, nil},
		{"listeners on port 0 never clash", func(c *Config) {
			c.Listen, c.Admin.Listen = "127.0.0.1:0", "127.0.0.1:0"
			c.Decision.Listen, c.Decision.GRPCListen = "127.0.0.1:0", "127.0.0.1:0"
		}, nil},
		{"without any listener besides admin, upstream.url is required", func(c *Config) { c.Upstream.URL = "" },
			[]Problem{{"upstream.url", "is required: the http:// or https:// URL of the API behind revgate"}}},
		{"decision.listen needs a port", func(c *Config) { c.Decision.Listen = "localhost" },
			[]Problem{{"decision.listen", `expected host:port like 127.0.0.1:8081, or "" to turn it off, got "localhost"`}}},
		{"decision.grpc_listen needs a port", func(c *Config) { c.Decision.GRPCListen = "9191" },
			[]Problem{{"decision.grpc_listen", `expected host:port like 127.0.0.1:8081, or "" to turn it off, got "9191"`}}},
		{"decision.listen differs from listen", func(c *Config) { c.Decision.Listen = c.Listen },
			[]Problem{{"decision.listen", "must differ from listen"}}},
		{"decision.listen differs from admin.listen", func(c *Config) { c.Decision.Listen = c.Admin.Listen },
			[]Problem{{"decision.listen", "must differ from admin.listen"}}},
		{"decision.grpc_listen differs from decision.listen", func(c *Config) {
			c.Decision.Listen, c.Decision.GRPCListen = "127.0.0.1:8081", "127.0.0.1:8081"
		}, []Problem{{"decision.grpc_listen", "must differ from decision.listen"}}},
		{"logout.path is not a decision endpoint", func(c *Config) {
			c.Decision.Listen = "127.0.0.1:8081"
			c.Logout.Path = "/forward-auth"
		}, []Problem{{"logout.path", `"/forward-auth" is a decision endpoint on decision.listen: choose another path`}}},
		{"logout.path is not under /ext-authz/", func(c *Config) {
			c.Decision.Listen = "127.0.0.1:8081"
			c.Logout.Path = "/ext-authz/logout"
		}, []Problem{{"logout.path", `"/ext-authz/logout" is a decision endpoint on decision.listen: choose another path`}}},
		{"logout.path may be a decision path when no decision listener runs", func(c *Config) { c.Logout.Path = "/auth-request" }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.modify(&c)
			err := c.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate:\n%v", err)
				}
				return
			}
			if d := diff(tt.want, problemsOf(t, err)); d != "" {
				t.Errorf("problems (-want +got):\n%s", d)
			}
		})
	}
}

func TestDecisionModeAndProxyEnabled(t *testing.T) {
	c := validConfig()
	if !c.ProxyEnabled() || c.Decision.Enabled() {
		t.Errorf("default: proxy %v decision %v, want proxy only", c.ProxyEnabled(), c.Decision.Enabled())
	}
	c.Upstream.URL, c.Decision.GRPCListen = "", ":9191"
	if c.ProxyEnabled() || !c.Decision.Enabled() {
		t.Errorf("grpc only: proxy %v decision %v, want decision only", c.ProxyEnabled(), c.Decision.Enabled())
	}
}

func TestLoadDecisionKeys(t *testing.T) {
	cleanEnv(t)
	c := mustLoadYAML(t, "decision:\n  listen: 127.0.0.1:8081\n")
	if c.Decision.Listen != "127.0.0.1:8081" || c.Decision.GRPCListen != "" {
		t.Errorf("decision = %+v", c.Decision)
	}
	t.Setenv("REVGATE_DECISION_GRPC_LISTEN", "127.0.0.1:9191")
	c = mustLoadYAML(t, "")
	if c.Decision.Listen != "" || c.Decision.GRPCListen != "127.0.0.1:9191" {
		t.Errorf("decision from the environment = %+v, want defaults off and grpc_listen set", c.Decision)
	}
	if _, err := loadYAML(t, "decision:\n  listne: :8081\n"); err == nil {
		t.Error("a misspelt decision key loaded")
	}
}

// revgate's own endpoints are served on the HTTP listeners only: with the
// gRPC decision listener alone, every one set is named, since an identity
// provider's pushes or an OAuth client's calls would reach nothing.
func TestOwnEndpointsNeedAnHTTPListener(t *testing.T) {
	grpcOnly := func() Config {
		c := validConfig()
		c.Upstream.URL, c.Decision.GRPCListen = "", "127.0.0.1:9191"
		c.JWT.Issuer = StringList{"https://idp.example"}
		c.OAuth.IntrospectionPath = "/oauth2/introspect"
		c.OAuth.Clients = []OAuthClient{{ID: "rp", Secret: "0123456789abcdef0123"}}
		c.BackchannelLogout = BackchannelLogout{Path: "/bcl", Audience: StringList{"web"}, MaxAge: c.BackchannelLogout.MaxAge}
		return c
	}
	c := grpcOnly()
	got := problemsOf(t, c.Validate())
	want := []Problem{
		{"oauth.introspection_path", "is served on the proxy listener (upstream.url) or on decision.listen, and neither is on: requests to it would reach nothing"},
		{"backchannel_logout.path", "is served on the proxy listener (upstream.url) or on decision.listen, and neither is on: requests to it would reach nothing"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
	c = grpcOnly()
	c.Decision.Listen = "127.0.0.1:8081"
	if err := c.Validate(); err != nil {
		t.Errorf("with decision.listen as well: %v", err)
	}
}

func TestOAuthPathsAreNotDecisionEndpoints(t *testing.T) {
	c := validConfig()
	c.Decision.Listen = "127.0.0.1:8081"
	c.OAuth.IntrospectionPath = "/forward-auth"
	c.OAuth.RevocationPath = "/ext-authz/revoke"
	c.OAuth.Clients = []OAuthClient{{ID: "rp", Secret: "0123456789abcdef0123"}}
	want := []Problem{
		{"oauth.introspection_path", `"/forward-auth" is a decision endpoint on decision.listen: choose another path`},
		{"oauth.revocation_path", `"/ext-authz/revoke" is a decision endpoint on decision.listen: choose another path`},
	}
	if d := cmp.Diff(want, problemsOf(t, c.Validate())); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
}
