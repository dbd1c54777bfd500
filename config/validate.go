package config

import (
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// reservedHeaders are set by the proxy itself; a claim must not replace
// them.
var reservedHeaders = []string{
	"Connection", "Content-Length", "Forwarded", "Host", "Keep-Alive",
	"Proxy-Authenticate", "Proxy-Authorization", "Proxy-Connection", "Te",
	"Trailer", "Transfer-Encoding", "Upgrade",
	"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto",
	"X-Real-Ip", "X-Original-Url", "X-Rewrite-Url",
}

// A Check is a rule that lives with the code that owns it (the verifier's
// algorithm table, say) rather than here; Validate runs it beside its own,
// so every problem is still reported in one list.
type Check func(*Config) []Problem

// Validate checks that c is complete and consistent, runs checks, and
// reports every problem at once as a *ValidationError, in config order. It
// reads no files: key files are loaded, and reported on, by whoever uses
// them.
func (c *Config) Validate(checks ...Check) error {
	var ps problems
	for _, check := range checks {
		for _, p := range check(c) {
			ps.list = append(ps.list, orderedProblem{at: p.Key, Problem: p})
		}
	}
	if c.ProxyEnabled() {
		checkAddr(&ps, "listen", c.Listen)
	}
	c.validateUpstream(&ps)
	c.validateRoutes(&ps)
	c.validateJWT(&ps)
	c.validateRevocation(&ps)
	if p := c.Logout.Path; p != "" {
		checkPath(&ps, "logout.path", p)
	}
	c.validateOAuth(&ps)
	c.validateBackchannel(&ps)
	c.validateSSF(&ps)
	c.validateConsole(&ps)
	c.validateGlobalRevocation(&ps)
	c.validateDecision(&ps)
	c.validateAdmin(&ps)
	oneOf(&ps, "log.level", c.Log.Level, "debug", "info", "warn", "error")
	oneOf(&ps, "log.format", c.Log.Format, LogFormatJSON, LogFormatText)
	c.validateServer(&ps)
	for _, s := range c.secrets() {
		if s.file != "" && *s.inline == "" {
			ps.add(s.fileKey, "was not read: Load reads it into %s", s.key)
		}
	}
	return ps.err()
}

func (c *Config) validateUpstream(ps *problems) {
	if c.Upstream.URL == "" {
		if !c.Decision.Enabled() {
			ps.add("upstream.url", "is required: the http:// or https:// URL of the API behind revgate")
		}
	} else if u, err := parseURL(c.Upstream.URL); err != nil {
		ps.add("upstream.url", "expected an http:// or https:// URL: %v", err)
	} else {
		switch {
		case u.Scheme != "http" && u.Scheme != "https":
			ps.add("upstream.url", "expected an http:// or https:// URL, got scheme %q", u.Scheme)
		case u.Host == "":
			ps.add("upstream.url", "needs a host")
		case u.User != nil:
			ps.add("upstream.url", "must not contain credentials: they would not be sent")
		}
	}
	positive(ps, "upstream.timeout", c.Upstream.Timeout)
	if c.Upstream.MaxIdleConnsPerHost <= 0 {
		ps.add("upstream.max_idle_conns_per_host", "must be greater than 0")
	}
}

func (c *Config) validateRoutes(ps *problems) {
	seen := make(map[string]int)
	for i, r := range c.Routes {
		key := fmt.Sprintf("routes[%d]", i)
		if r.Prefix == "" {
			ps.add(key+".prefix", "is required")
		} else {
			checkPath(ps, key+".prefix", r.Prefix)
			if j, dup := seen[r.Prefix]; dup {
				ps.add(key+".prefix", "%q is already routes[%d].prefix", r.Prefix, j)
			} else {
				seen[r.Prefix] = i
			}
		}
		if r.Auth != "" {
			oneOf(ps, key+".auth", r.Auth, AuthNone, AuthRequired, AuthRefresh)
		}
	}
}

func (c *Config) validateJWT(ps *problems) {
	j := &c.JWT
	hasSecret := j.HMACSecret != "" || j.HMACSecretFile != ""
	if j.JWKSURL == "" && j.JWKSFile == "" && len(j.PublicKeyFiles) == 0 && !hasSecret {
		ps.add("jwt", "needs a key source: jwks_url, jwks_file, public_key_files or hmac_secret (or hmac_secret_file)")
	}
	if j.JWKSURL != "" {
		checkJWKSURL(ps, "jwt.jwks_url", j.JWKSURL)
	}
	positive(ps, "jwt.jwks_refresh", j.JWKSRefresh)
	positive(ps, "jwt.jwks_unknown_kid_cooldown", j.JWKSUnknownKidCooldown)
	for i, f := range j.PublicKeyFiles {
		if f == "" {
			ps.add(fmt.Sprintf("jwt.public_key_files[%d]", i), "must not be empty")
		}
	}

	for i, s := range j.Issuer {
		if s == "" {
			ps.add(fmt.Sprintf("jwt.issuer[%d]", i), "must not be empty")
		}
	}
	for i, s := range j.Audience {
		if s == "" {
			ps.add(fmt.Sprintf("jwt.audience[%d]", i), "must not be empty")
		}
	}
	if j.Leeway < 0 {
		ps.add("jwt.leeway", "must not be negative")
	}
	if c.JWT.VerifyCacheSize < 0 {
		ps.add("jwt.verify_cache_size", "must not be negative (0 disables the cache)")
	}
	if j.SubjectClaim == "" {
		ps.add("jwt.subject_claim", `is required (for example "sub")`)
	}
	switch j.SessionClaim {
	case "exp", "nbf", "iat", "aud":
		// A session id is a string; these never are, so every token
		// carrying one would be refused as malformed.
		ps.add("jwt.session_claim", `must name a string claim (for example "sid"), not %q; "" turns session revocation off`, j.SessionClaim)
	}
	checkClaims(ps, "jwt.required_claims", j.RequiredClaims)
	checkClaims(ps, "jwt.refresh_required_claims", j.RefreshRequiredClaims)

	if len(j.Lookup) == 0 {
		ps.add("jwt.lookup", `needs at least one entry (for example "header:Authorization:Bearer")`)
	}
	for i, l := range j.Lookup {
		if _, err := ParseLookup(l); err != nil {
			ps.add(fmt.Sprintf("jwt.lookup[%d]", i), "%v", err)
		}
	}

	canonical := make(map[string]string)
	for _, h := range sortedKeys(j.ForwardHeaders) {
		key := fmt.Sprintf("jwt.forward_headers[%s]", h)
		ch := textproto.CanonicalMIMEHeaderKey(h)
		switch {
		case !isToken(h):
			ps.add(key, "%q is not a valid HTTP header name", h)
		case slices.Contains(reservedHeaders, ch):
			ps.add(key, "%s is set by the proxy and cannot carry a claim", ch)
		case canonical[ch] != "":
			ps.add(key, "is the same header as %q (header names are case-insensitive)", canonical[ch])
		}
		canonical[ch] = h
		if j.ForwardHeaders[h] == "" {
			ps.add(key, "needs a claim name")
		}
	}
}

func checkJWKSURL(ps *problems, key, raw string) {
	checkHTTPSURL(ps, key, raw, "keys fetched in the clear can be replaced")
}

// checkHTTPSURL checks that raw is an absolute https:// URL with a host,
// http:// being allowed for a loopback host only; why, when set, says what
// plain http would expose. It returns the URL when all that holds, for the
// caller's own checks, else nil (the problem added).
func checkHTTPSURL(ps *problems, key, raw, why string) *url.URL {
	u, err := parseURL(raw)
	if err != nil {
		ps.add(key, "expected an https:// URL: %v", err)
		return nil
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		ps.add(key, "expected an https:// URL, got scheme %q", u.Scheme)
	case u.Hostname() == "":
		ps.add(key, "needs a host")
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		msg := "must be https:// (http:// is allowed only for a loopback host such as 127.0.0.1 or localhost)"
		if why != "" {
			msg += ": " + why
		}
		ps.add(key, "%s", msg)
	default:
		return u
	}
	return nil
}

func checkClaims(ps *problems, key string, claims map[string]any) {
	for _, name := range sortedKeys(claims) {
		if name == "" {
			ps.add(key, "a claim name must not be empty")
			continue
		}
		if claims[name] == nil {
			ps.add(fmt.Sprintf("%s[%s]", key, name), "needs a value")
		}
	}
}

func (c *Config) validateRevocation(ps *problems) {
	r := &c.Revocation
	oneOf(ps, "revocation.store", r.Store, StoreRedis, StoreMemory)
	if r.Store == StoreRedis {
		r.Redis.validate(ps)
	}
	oneOf(ps, "revocation.on_store_error", r.OnStoreError, OnStoreErrorClosed, OnStoreErrorOpen)
	positive(ps, "revocation.max_token_lifetime", r.MaxTokenLifetime)
	positive(ps, "revocation.lookup_timeout", r.LookupTimeout)
	positive(ps, "revocation.recheck_interval", r.RecheckInterval)
}

func (c *Config) validateDecision(ps *problems) {
	d := &c.Decision
	type listener struct{ key, addr string }
	ls := []listener{{"admin.listen", c.Admin.Listen}}
	if c.ProxyEnabled() {
		ls = append(ls, listener{"listen", c.Listen})
	}
	for _, l := range []listener{{"decision.listen", d.Listen}, {"decision.grpc_listen", d.GRPCListen}} {
		if l.addr == "" {
			continue
		}
		if _, port, err := net.SplitHostPort(l.addr); err != nil || port == "" {
			ps.add(l.key, "expected host:port like 127.0.0.1:8081, or \"\" to turn it off, got %q", l.addr)
			continue
		}
		// Port 0 asks for any free port, so two such addresses never clash.
		for _, o := range ls {
			if l.addr == o.addr && !strings.HasSuffix(l.addr, ":0") {
				ps.add(l.key, "must differ from %s", o.key)
			}
		}
		ls = append(ls, l)
	}
	if !c.ProxyEnabled() && d.Listen == "" {
		// Only the gRPC listener: no HTTP listener serves revgate's own
		// endpoints, so an identity provider's pushes would reach nothing.
		// (logout.path is on by default and left alone.)
		for _, o := range []struct{ key, path string }{
			{"oauth.introspection_path", c.OAuth.IntrospectionPath},
			{"oauth.revocation_path", c.OAuth.RevocationPath},
			{"backchannel_logout.path", c.BackchannelLogout.Path},
			{"global_revocation.path", c.GlobalRevocation.Path},
			{"ssf.push_path", c.SSF.PushPath},
		} {
			if o.path != "" {
				ps.add(o.key, "is served on the proxy listener (upstream.url) or on decision.listen, and neither is on: requests to it would reach nothing")
			}
		}
	}
	if d.Listen == "" || c.Logout.Path == "" {
		return
	}
	if lp := strings.TrimSuffix(c.Logout.Path, "/"); slices.Contains(decisionPaths, lp) || strings.HasPrefix(lp, "/ext-authz/") {
		ps.add("logout.path", "%q is a decision endpoint on decision.listen: choose another path", c.Logout.Path)
	}
}

func (c *Config) validateAdmin(ps *problems) {
	a := &c.Admin
	checkAddr(ps, "admin.listen", a.Listen)
	// Port 0 asks for any free port, so two such addresses never clash.
	if c.ProxyEnabled() && a.Listen != "" && a.Listen == c.Listen && !strings.HasSuffix(a.Listen, ":0") {
		ps.add("admin.listen", "must differ from listen")
	}
	names := make(map[string]int)
	tokens := make(map[string]int)
	for i, t := range a.Tokens {
		key := fmt.Sprintf("admin.tokens[%d]", i)
		if t.Name == "" {
			ps.add(key+".name", "is required: it names the caller in the audit log")
		} else if j, dup := names[t.Name]; dup {
			ps.add(key+".name", "%q is already admin.tokens[%d].name", t.Name, j)
		} else {
			names[t.Name] = i
		}
		tokenKey, ok := checkSecret(ps, key, "token", t.Token, t.TokenFile, 16, "must be at least 16 characters: a short token can be guessed")
		if ok {
			if j, dup := tokens[t.Token]; dup {
				ps.add(tokenKey, "is the same token as admin.tokens[%d]: the audit log could not tell them apart", j)
			} else {
				tokens[t.Token] = i
			}
		}
	}
	switch {
	case len(a.Tokens) == 0 && !a.InsecureNoAuth:
		ps.add("admin.tokens", "needs at least one token (admin.insecure_no_auth: true is for the demo only)")
	case len(a.Tokens) > 0 && a.InsecureNoAuth:
		ps.add("admin.insecure_no_auth", "cannot be combined with admin.tokens: remove one")
	}
	if a.InsecureNoAuth {
		if host, _, err := net.SplitHostPort(a.Listen); err == nil && !isLoopback(host) {
			ps.add("admin.insecure_no_auth", "needs a loopback admin.listen such as 127.0.0.1:9090: anyone who can reach an unauthenticated admin API can un-revoke tokens")
		}
	}
}

func (c *Config) validateServer(ps *problems) {
	s := &c.Server
	if s.ReadHeaderTimeout <= 0 {
		ps.add("server.read_header_timeout", "must be greater than 0: without it a slow client can hold a connection forever")
	}
	nonNegative(ps, "server.read_timeout", s.ReadTimeout)
	nonNegative(ps, "server.write_timeout", s.WriteTimeout)
	nonNegative(ps, "server.idle_timeout", s.IdleTimeout)
	if s.MaxHeaderBytes <= 0 {
		ps.add("server.max_header_bytes", "must be greater than 0")
	}
	nonNegative(ps, "server.drain_delay", s.DrainDelay)
	positive(ps, "server.shutdown_timeout", s.ShutdownTimeout)
	for i, p := range s.TrustedProxies {
		if _, err := ParseTrustedProxy(p); err != nil {
			ps.add(fmt.Sprintf("server.trusted_proxies[%d]", i), "expected an IP address or a CIDR such as 10.0.0.0/8, got %q", p)
		}
	}
}

func positive(ps *problems, key string, d time.Duration) {
	if d <= 0 {
		ps.add(key, "must be greater than 0")
	}
}

func nonNegative(ps *problems, key string, d time.Duration) {
	if d < 0 {
		ps.add(key, "must not be negative")
	}
}

func oneOf(ps *problems, key, v string, allowed ...string) {
	if slices.Contains(allowed, v) {
		return
	}
	list := strings.Join(allowed[:len(allowed)-1], ", ") + " or " + allowed[len(allowed)-1]
	ps.add(key, "expected %s, got %q", list, v)
}

func checkAddr(ps *problems, key, addr string) {
	if addr == "" {
		ps.add(key, "is required (host:port, like :8080)")
		return
	}
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
		ps.add(key, "expected host:port like :8080, got %q", addr)
	}
}

// checkPath requires an absolute, clean path: the gateway matches cleaned
// request paths, so "/api//x" or "/api/../x" would never match.
func checkPath(ps *problems, key, p string) {
	if !strings.HasPrefix(p, "/") {
		ps.add(key, `must start with "/", got %q`, p)
		return
	}
	if strings.ContainsAny(p, ";?#") {
		ps.add(key, "must not contain ';', '?' or '#' (paths are matched without ;parameters and query): %q", p)
		return
	}
	clean := path.Clean(p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	if clean != p {
		ps.add(key, "must be a clean path (no //, . or .. segments): %q would never match; use %q", p, clean)
	}
}

// parseURL parses raw without echoing it in errors: a URL may hold a
// password.
func parseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, err
	}
	return u, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func isNonNegativeInt(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 0
}

// isToken reports whether s is an RFC 9110 token, the syntax of a header
// field name.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("!#$%&'*+-.^_`|~", r):
		default:
			return false
		}
	}
	return true
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// checkSecret checks a secret given inline as key.name or as key.name_file
// (which Load reads into the inline value): one of them is set, and a read
// value is at least min bytes, else short is reported. It returns the key
// the secret is reported under and whether it is set and long enough; a
// file not read yet is reported with the other secrets.
func checkSecret(ps *problems, key, name, value, file string, min int, short string) (secretKey string, ok bool) {
	secretKey = key + "." + name
	if file != "" {
		secretKey += "_file"
	}
	switch {
	case value == "" && file == "":
		ps.add(key, "needs %s or %s_file", name, name)
	case value == "":
	case len(value) < min:
		ps.add(secretKey, "%s", short)
	default:
		return secretKey, true
	}
	return secretKey, false
}
