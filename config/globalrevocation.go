package config

import (
	"fmt"
	"slices"
	"strings"
)

// GlobalRevocation configures the Global Token Revocation endpoint
// (draft-parecki-oauth-global-token-revocation; Okta calls it Universal
// Logout): the identity provider POSTs a subject identifier, authenticated
// by a bearer JWT it signed, and revgate sets that subject's mark to now.
// It is served on the proxy and decision listeners and never forwarded.
type GlobalRevocation struct {
	// Path is where the identity provider POSTs; "" (default) = off.
	Path string `mapstructure:"path" yaml:"path"`
	// Audience is this endpoint's public URL as the identity provider
	// calls it: the bearer JWT's aud must contain it. Required when Path is
	// set; https:// (http:// only for a loopback host), with no query or
	// fragment.
	Audience string `mapstructure:"audience" yaml:"audience"`
	// ClientIDs are the identity provider's client ids allowed to call the
	// endpoint: the bearer JWT's sub must be one of them (Okta puts the
	// app's client id there). Required when Path is set: without it any
	// JWT the issuer signs for the endpoint's URL, such as an access token
	// some other client obtained with that audience, would revoke anyone.
	ClientIDs StringList `mapstructure:"client_ids" yaml:"client_ids"`
	// EmailClaim names the access-token claim that "email" subject
	// identifiers are matched against; "" (default) refuses the email
	// format with 400.
	EmailClaim string `mapstructure:"email_claim" yaml:"email_claim"`
}

// Enabled reports whether the endpoint is on.
func (g *GlobalRevocation) Enabled() bool { return g.Path != "" }

// EmailMarkClaim is the access-token claim that email marks are matched
// against (revocation rule 5), or "" when no receiver that sets them is on
// and the claim is never read: ssf.email_claim while the Shared Signals
// receiver is on, else global_revocation.email_claim while that endpoint
// is on. Validate makes the two agree when both are set, so a mark from
// either receiver is read through the same claim.
func (c *Config) EmailMarkClaim() string {
	switch {
	case c.SSF.Enabled():
		return c.SSF.EmailClaim
	case c.GlobalRevocation.Enabled():
		return c.GlobalRevocation.EmailClaim
	}
	return ""
}

func (c *Config) validateGlobalRevocation(ps *problems) {
	g := &c.GlobalRevocation
	if strings.ContainsFunc(g.EmailClaim, isControl) {
		ps.add("global_revocation.email_claim", "must not contain control characters")
	}
	if !g.Enabled() {
		return
	}
	checkPath(ps, "global_revocation.path", g.Path)
	// Own paths are matched with the trailing slash optional.
	p := strings.TrimSuffix(g.Path, "/")
	for _, o := range []struct{ key, path string }{
		{"logout.path", c.Logout.Path},
		{"oauth.introspection_path", c.OAuth.IntrospectionPath},
		{"oauth.revocation_path", c.OAuth.RevocationPath},
		{"backchannel_logout.path", c.BackchannelLogout.Path},
		{"ssf.push_path", c.SSF.PushPath},
	} {
		if o.path != "" && strings.TrimSuffix(o.path, "/") == p {
			ps.add("global_revocation.path", "%q is already %s", g.Path, o.key)
		}
	}
	if c.Decision.Listen != "" && (slices.Contains(decisionPaths, p) || strings.HasPrefix(p, "/ext-authz/")) {
		ps.add("global_revocation.path", "%q is a decision endpoint on decision.listen: choose another path", g.Path)
	}
	if len(nonEmptyList(c.JWT.Issuer)) == 0 {
		ps.add("jwt.issuer", "is required when global_revocation.path is set: the bearer JWT's iss and an iss_sub subject's iss must equal it")
	}
	checkAudienceURL(ps, "global_revocation.audience", g.Audience)
	if len(nonEmptyList(g.ClientIDs)) == 0 {
		ps.add("global_revocation.client_ids", "is required when global_revocation.path is set: the identity provider's client id(s) allowed to call it, which the bearer JWT's sub must equal (Okta: the client id of the Okta app)")
	}
	for i, id := range g.ClientIDs {
		if strings.ContainsFunc(id, isControl) {
			ps.add(fmt.Sprintf("global_revocation.client_ids[%d]", i), "must not contain control characters")
		}
	}
	if g.EmailClaim != "" && c.SSF.Enabled() && g.EmailClaim != c.SSF.EmailClaim {
		ps.add("global_revocation.email_claim", "is %q but ssf.email_claim is %q: email marks from both receivers are matched against one access-token claim, so set the same claim (or leave this one empty to refuse email subjects here)", g.EmailClaim, c.SSF.EmailClaim)
	}
}

// checkAudienceURL checks the endpoint URL a bearer JWT's aud names: the
// draft requires https, and Okta sends it without query or fragment.
func checkAudienceURL(ps *problems, key, raw string) {
	if raw == "" {
		ps.add(key, "is required when global_revocation.path is set: this endpoint's public URL, which the bearer JWT's aud must contain")
		return
	}
	u := checkHTTPSURL(ps, key, raw, "")
	if u == nil {
		return
	}
	switch {
	case u.User != nil:
		ps.add(key, "must not contain credentials")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(raw, "#"):
		ps.add(key, "must not have a query or a fragment: the identity provider's aud has neither")
	}
}
