package config

import (
	"testing"
	"time"
)

func TestUpgradeKeys(t *testing.T) {
	t.Run("websocket is off and recheck_interval is 10s unless set", func(t *testing.T) {
		cleanEnv(t)
		c := mustLoadYAML(t, `
upstream: {url: "http://app:3000"}
routes: [{prefix: "/ws/"}]
jwt: {jwks_url: "https://issuer.example/jwks.json"}
admin: {tokens: [{name: ops, token: "ops-token-0123456789"}]}
`)
		if c.Routes[0].WebSocket {
			t.Error("routes[0].websocket = true by default")
		}
		if c.Revocation.RecheckInterval != 10*time.Second {
			t.Errorf("revocation.recheck_interval = %v, want 10s", c.Revocation.RecheckInterval)
		}
	})
	t.Run("both load from the file", func(t *testing.T) {
		cleanEnv(t)
		c := mustLoadYAML(t, `
upstream: {url: "http://app:3000"}
routes: [{prefix: "/ws/", websocket: true}, {prefix: "/api/"}]
jwt: {jwks_url: "https://issuer.example/jwks.json"}
revocation: {recheck_interval: 2s}
admin: {tokens: [{name: ops, token: "ops-token-0123456789"}]}
`)
		want := []Route{{Prefix: "/ws/", Auth: AuthRequired, WebSocket: true}, {Prefix: "/api/", Auth: AuthRequired}}
		if d := diff(want, c.Routes); d != "" {
			t.Errorf("routes (-want +got):\n%s", d)
		}
		if c.Revocation.RecheckInterval != 2*time.Second {
			t.Errorf("revocation.recheck_interval = %v, want 2s", c.Revocation.RecheckInterval)
		}
	})
	t.Run("both load from the environment", func(t *testing.T) {
		cleanEnv(t)
		t.Setenv("REVGATE_ROUTES", `[{"prefix":"/ws/","websocket":true}]`)
		t.Setenv("REVGATE_REVOCATION_RECHECK_INTERVAL", "500ms")
		c := mustLoadYAML(t, `
upstream: {url: "http://app:3000"}
jwt: {jwks_url: "https://issuer.example/jwks.json"}
admin: {tokens: [{name: ops, token: "ops-token-0123456789"}]}
`)
		if len(c.Routes) != 1 || !c.Routes[0].WebSocket {
			t.Errorf("routes = %+v, want /ws/ with websocket", c.Routes)
		}
		if c.Revocation.RecheckInterval != 500*time.Millisecond {
			t.Errorf("revocation.recheck_interval = %v, want 500ms", c.Revocation.RecheckInterval)
		}
	})
	for _, d := range []time.Duration{0, -time.Second} {
		t.Run("recheck_interval "+d.String()+" is refused", func(t *testing.T) {
			c := validConfig()
			c.Revocation.RecheckInterval = d
			want := []Problem{{"revocation.recheck_interval", "must be greater than 0"}}
			if d := diff(want, problemsOf(t, c.Validate())); d != "" {
				t.Errorf("problems (-want +got):\n%s", d)
			}
		})
	}
}
