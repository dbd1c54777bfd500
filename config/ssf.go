package config

import (
	"slices"
	"strings"
	"time"
)

// SSF configures the OpenID Shared Signals Framework receiver: the identity
// provider (the transmitter) sends Security Event Tokens (RFC 8417) when a
// session is revoked, a credential changes or an account is disabled, by
// push (RFC 8935) to PushPath or by poll (RFC 8936) from PollURL. The
// receiver is on when either is set.
type SSF struct {
	// Issuer is the SETs' iss. Required when the receiver is on.
	Issuer string `mapstructure:"issuer" yaml:"issuer"`
	// JWKSURL is the transmitter's keys, fetched and refreshed like
	// jwt.jwks_url (jwt.jwks_refresh, jwt.jwks_unknown_kid_cooldown): https://
	// (http:// only for a loopback host). JWKSFile is a local JWKS instead.
	// Exactly one is required when the receiver is on; they are the
	// transmitter's own, never jwt.*'s.
	JWKSURL  string `mapstructure:"jwks_url" yaml:"jwks_url"`
	JWKSFile string `mapstructure:"jwks_file" yaml:"jwks_file"`
	// Audience is the SETs' aud (they must contain it). Required when the
	// receiver is on.
	Audience string `mapstructure:"audience" yaml:"audience"`
	// PushPath is where the transmitter POSTs SETs, on the proxy and
	// decision listeners; "" (default) = no push endpoint.
	PushPath string `mapstructure:"push_path" yaml:"push_path"`
	// PushAuthorization is the whole Authorization header value the
	// transmitter sends ("Bearer ..."), compared in constant time. Required
	// with PushPath: an open push endpoint would let anyone revoke everyone.
	// Load fills it from PushAuthorizationFile when that is set.
	PushAuthorization     string `mapstructure:"push_authorization" yaml:"push_authorization"`
	PushAuthorizationFile string `mapstructure:"push_authorization_file" yaml:"push_authorization_file"`
	// PollURL is the transmitter's poll endpoint; "" (default) = no
	// polling. https:// (http:// only for a loopback host).
	PollURL string `mapstructure:"poll_url" yaml:"poll_url"`
	// PollAuthorization is the Authorization header value sent to PollURL;
	// "" sends none. Load fills it from PollAuthorizationFile when that is
	// set.
	PollAuthorization     string `mapstructure:"poll_authorization" yaml:"poll_authorization"`
	PollAuthorizationFile string `mapstructure:"poll_authorization_file" yaml:"poll_authorization_file"`
	// PollInterval is the pause between two polls that found nothing.
	// Default 5s.
	PollInterval time.Duration `mapstructure:"poll_interval" yaml:"poll_interval"`
	// EmailClaim names the access-token claim that email subjects of SETs
	// are matched against (revocation rule 5). Default "email".
	EmailClaim string `mapstructure:"email_claim" yaml:"email_claim"`
}

// Enabled reports whether the receiver is on: a push endpoint, a poller or
// both.
func (s *SSF) Enabled() bool { return s.PushPath != "" || s.PollURL != "" }

// The bounds of ssf.poll_interval: polling faster than once a second only
// loads the transmitter, and slower than hourly leaves a revoked account
// working for too long.
const (
	minPollInterval = time.Second
	maxPollInterval = time.Hour
)

// minPushAuthorization is the shortest push authorization accepted: a
// short one can be guessed, and whoever guesses it can revoke everyone.
const minPushAuthorization = 16

func (c *Config) validateSSF(ps *problems) {
	s := &c.SSF
	if !s.Enabled() {
		return
	}
	const on = "when ssf.push_path or ssf.poll_url is set"
	if s.Issuer == "" {
		ps.add("ssf.issuer", "is required %s: the SETs' iss", on)
	}
	if s.Audience == "" {
		ps.add("ssf.audience", "is required %s: the SETs' aud", on)
	}
	switch {
	case s.JWKSURL == "" && s.JWKSFile == "":
		ps.add("ssf", "needs jwks_url or jwks_file %s: the transmitter's keys", on)
	case s.JWKSURL != "" && s.JWKSFile != "":
		ps.add("ssf.jwks_file", "set either ssf.jwks_url or ssf.jwks_file, not both")
	case s.JWKSURL != "":
		checkJWKSURL(ps, "ssf.jwks_url", s.JWKSURL)
	}
	if s.EmailClaim == "" {
		ps.add("ssf.email_claim", `is required (for example "email"): the access-token claim email subjects match`)
	}
	switch s.EmailClaim {
	case "exp", "nbf", "iat", "aud":
		ps.add("ssf.email_claim", "must name a string claim (for example \"email\"), not %q", s.EmailClaim)
	}
	if s.PushPath != "" {
		c.validateSSFPush(ps)
	}
	if s.PollURL != "" {
		c.validateSSFPoll(ps)
	}
}

func (c *Config) validateSSFPush(ps *problems) {
	s := &c.SSF
	checkPath(ps, "ssf.push_path", s.PushPath)
	// Own paths are matched with the trailing slash optional.
	p := strings.TrimSuffix(s.PushPath, "/")
	for _, o := range []struct{ key, path string }{
		{"logout.path", c.Logout.Path},
		{"oauth.introspection_path", c.OAuth.IntrospectionPath},
		{"oauth.revocation_path", c.OAuth.RevocationPath},
		{"backchannel_logout.path", c.BackchannelLogout.Path},
		{"global_revocation.path", c.GlobalRevocation.Path},
	} {
		if o.path != "" && strings.TrimSuffix(o.path, "/") == p {
			ps.add("ssf.push_path", "%q is already %s", s.PushPath, o.key)
		}
	}
	if c.Decision.Listen != "" && (slices.Contains(decisionPaths, p) || strings.HasPrefix(p, "/ext-authz/")) {
		ps.add("ssf.push_path", "%q is a decision endpoint on decision.listen: choose another path", s.PushPath)
	}
	switch {
	case s.PushAuthorization == "" && s.PushAuthorizationFile == "":
		ps.add("ssf.push_authorization", "is required when ssf.push_path is set (or push_authorization_file): the Authorization value the transmitter sends; an open push endpoint would let anyone revoke every user")
	case s.PushAuthorization == "":
		// A file not read yet is reported with the other secrets.
	default:
		key := secretKey("ssf.push_authorization", s.PushAuthorizationFile)
		if len(s.PushAuthorization) < minPushAuthorization {
			ps.add(key, "must be at least %d bytes: a short value can be guessed, and whoever guesses it can revoke every user", minPushAuthorization)
		}
		checkHeaderValue(ps, key, s.PushAuthorization)
	}
}

func (c *Config) validateSSFPoll(ps *problems) {
	s := &c.SSF
	const key = "ssf.poll_url"
	u := checkHTTPSURL(ps, key, s.PollURL, "the poll authorization and the events would travel in the clear")
	if u != nil && u.User != nil {
		ps.add(key, "must not contain credentials: set ssf.poll_authorization (or poll_authorization_file)")
	}
	if s.PollAuthorization != "" {
		checkHeaderValue(ps, secretKey("ssf.poll_authorization", s.PollAuthorizationFile), s.PollAuthorization)
	}
	switch {
	case s.PollInterval < minPollInterval:
		ps.add("ssf.poll_interval", "must be at least %s", minPollInterval)
	case s.PollInterval > maxPollInterval:
		ps.add("ssf.poll_interval", "must be at most %s: a revoked account would keep working that long", maxPollInterval)
	}
}

// secretKey is the key a secret given inline as key or as key_file is
// reported under.
func secretKey(key, file string) string {
	if file != "" {
		return key + "_file"
	}
	return key
}

// checkHeaderValue requires a value that can be sent as a header field:
// no control characters (a line break would end the header). The message
// never shows the value, a secret.
func checkHeaderValue(ps *problems, key, v string) {
	if strings.ContainsFunc(v, func(r rune) bool { return r != '\t' && isControl(r) }) {
		ps.add(key, "must not contain control characters: it is sent as an Authorization header")
	}
}
