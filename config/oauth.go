package config

import (
	"fmt"
	"slices"
	"strings"
)

// OAuth configures the standard OAuth endpoints revgate answers from its
// revocation state: token introspection (RFC 7662) and token revocation
// (RFC 7009), served on the proxy listener.
type OAuth struct {
	// IntrospectionPath serves RFC 7662 introspection; "" (default) = off.
	IntrospectionPath string `mapstructure:"introspection_path" yaml:"introspection_path"`
	// RevocationPath serves RFC 7009 revocation; "" (default) = off.
	RevocationPath string `mapstructure:"revocation_path" yaml:"revocation_path"`
	// Clients may call both endpoints, authenticated with client_secret_basic
	// or client_secret_post (RFC 6749 2.3.1). At least one is required when
	// an endpoint is on.
	Clients []OAuthClient `mapstructure:"clients" yaml:"clients"`
	// RateLimit is each client's sustained request rate on the endpoints,
	// per second, and RateBurst how many requests it may send at once
	// above it (a token bucket per client id). Defaults 50 and 100.
	RateLimit int `mapstructure:"rate_limit" yaml:"rate_limit"`
	RateBurst int `mapstructure:"rate_burst" yaml:"rate_burst"`
}

// OAuthClient is one client of the OAuth endpoints.
type OAuthClient struct {
	// ID is the client_id, unique among clients; it names the client in
	// audit events and metrics.
	ID string `mapstructure:"id" yaml:"id"`
	// Secret is at least 16 bytes. Load fills it from SecretFile when that
	// is set.
	Secret     string `mapstructure:"secret" yaml:"secret"`
	SecretFile string `mapstructure:"secret_file" yaml:"secret_file"`
	// RevokeAny lets the client revoke tokens issued to other clients; by
	// default it may revoke only tokens whose client_id or azp claim is its
	// own id. Default false.
	RevokeAny bool `mapstructure:"revoke_any" yaml:"revoke_any"`
}

// Enabled reports whether either endpoint is on.
func (o *OAuth) Enabled() bool { return o.IntrospectionPath != "" || o.RevocationPath != "" }

// minClientSecret is the shortest client secret accepted: a short one can be
// guessed.
const minClientSecret = 16

func (c *Config) validateOAuth(ps *problems) {
	o := &c.OAuth
	own := map[string]string{}
	if c.Logout.Path != "" {
		own[strings.TrimSuffix(c.Logout.Path, "/")] = "logout.path"
	}
	for _, p := range []struct{ key, path string }{
		{"oauth.introspection_path", o.IntrospectionPath},
		{"oauth.revocation_path", o.RevocationPath},
	} {
		if p.path == "" {
			continue
		}
		checkPath(ps, p.key, p.path)
		// Own paths are matched with the trailing slash optional, so "/x"
		// and "/x/" are one path.
		k := strings.TrimSuffix(p.path, "/")
		if c.Decision.Listen != "" && (slices.Contains(decisionPaths, k) || strings.HasPrefix(k, "/ext-authz/")) {
			ps.add(p.key, "%q is a decision endpoint on decision.listen: choose another path", p.path)
			continue
		}
		if other, dup := own[k]; dup {
			ps.add(p.key, "%q is already %s", p.path, other)
			continue
		}
		own[k] = p.key
	}
	ids := map[string]int{}
	for i, cl := range o.Clients {
		key := fmt.Sprintf("oauth.clients[%d]", i)
		switch {
		case cl.ID == "":
			ps.add(key+".id", "is required: it is the client_id the client authenticates with")
		case strings.ContainsFunc(cl.ID, isControl):
			ps.add(key+".id", "must not contain control characters")
		default:
			if j, dup := ids[cl.ID]; dup {
				ps.add(key+".id", "%q is already oauth.clients[%d].id", cl.ID, j)
			} else {
				ids[cl.ID] = i
			}
		}
		checkSecret(ps, key, "secret", cl.Secret, cl.SecretFile, minClientSecret,
			fmt.Sprintf("must be at least %d bytes: a short secret can be guessed", minClientSecret))
	}
	if o.Enabled() && len(o.Clients) == 0 {
		ps.add("oauth.clients", "needs at least one client when oauth.introspection_path or oauth.revocation_path is set")
	}
	if o.RateLimit <= 0 {
		ps.add("oauth.rate_limit", "must be greater than 0 (requests per second per client)")
	}
	if o.RateBurst <= 0 {
		ps.add("oauth.rate_burst", "must be greater than 0")
	}
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }
