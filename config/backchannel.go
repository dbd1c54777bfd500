package config

import (
	"slices"
	"strings"
	"time"
)

// BackchannelLogout configures the OpenID Connect Back-Channel Logout 1.0
// receiver: the identity provider POSTs a logout token when a session ends,
// and revgate revokes that session (or the subject). It is served on the
// proxy and decision listeners and never forwarded.
type BackchannelLogout struct {
	// Path is where the identity provider POSTs logout tokens; "" (default)
	// = off.
	Path string `mapstructure:"path" yaml:"path"`
	// Audience lists the client ids registered with this URI; a logout
	// token's aud must contain one. Required when Path is set.
	Audience StringList `mapstructure:"audience" yaml:"audience"`
	// MaxAge is how old a logout token's iat may be (plus jwt.leeway).
	// Default 5m.
	MaxAge time.Duration `mapstructure:"max_age" yaml:"max_age"`
}

// Enabled reports whether the receiver is on.
func (b *BackchannelLogout) Enabled() bool { return b.Path != "" }

func (c *Config) validateBackchannel(ps *problems) {
	b := &c.BackchannelLogout
	if b.MaxAge <= 0 {
		ps.add("backchannel_logout.max_age", "must be greater than 0")
	}
	if !b.Enabled() {
		return
	}
	checkPath(ps, "backchannel_logout.path", b.Path)
	// Own paths are matched with the trailing slash optional.
	p := strings.TrimSuffix(b.Path, "/")
	for _, o := range []struct{ key, path string }{
		{"logout.path", c.Logout.Path},
		{"oauth.introspection_path", c.OAuth.IntrospectionPath},
		{"oauth.revocation_path", c.OAuth.RevocationPath},
	} {
		if o.path != "" && strings.TrimSuffix(o.path, "/") == p {
			ps.add("backchannel_logout.path", "%q is already %s", b.Path, o.key)
		}
	}
	if c.Decision.Listen != "" && (slices.Contains(decisionPaths, p) || strings.HasPrefix(p, "/ext-authz/")) {
		ps.add("backchannel_logout.path", "%q is a decision endpoint on decision.listen: choose another path", b.Path)
	}
	if len(nonEmptyList(c.JWT.Issuer)) == 0 {
		ps.add("jwt.issuer", "is required when backchannel_logout.path is set: a logout token's iss must equal it")
	}
	if len(nonEmptyList(b.Audience)) == 0 {
		ps.add("backchannel_logout.audience", "is required when backchannel_logout.path is set: the client id(s) registered with this logout URI")
	}
}

func nonEmptyList(l []string) []string {
	var out []string
	for _, s := range l {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
