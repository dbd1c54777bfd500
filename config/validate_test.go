package config_test

import (
	"strings"
	"testing"
	"time"

	. "github.com/revgate/revgate/config"
	"github.com/revgate/revgate/gateway/jwtverify"

	"github.com/google/go-cmp/cmp"
)

func TestValidateAcceptsValidConfigs(t *testing.T) {
	tests := []struct {
		name   string
		modify func(c *Config)
	}{
		{"the minimal config is valid", func(c *Config) {}},
		{"an empty session_claim (session revocation off) is valid", func(c *Config) { c.JWT.SessionClaim = "" }},
		{"a session_claim of another name is valid", func(c *Config) { c.JWT.SessionClaim = "session_state" }},
		{"an HMAC-only config is valid", func(c *Config) {
			c.JWT.JWKSURL = ""
			c.JWT.Algorithms = []string{"HS256"}
			c.JWT.HMACSecret = strings.Repeat("k", 32)
		}},
		{"HS512 with a 64-byte secret next to RS256 keys is valid", func(c *Config) {
			c.JWT.Algorithms = []string{"RS256", "HS512"}
			c.JWT.HMACSecret = strings.Repeat("k", 64)
		}},
		{"a jwks_url over http to localhost is valid", func(c *Config) { c.JWT.JWKSURL = "http://localhost:8081/jwks.json" }},
		{"a jwks_url over http to 127.0.0.1 is valid", func(c *Config) { c.JWT.JWKSURL = "http://127.0.0.1:8081/jwks.json" }},
		{"a jwks_url over http to [::1] is valid", func(c *Config) { c.JWT.JWKSURL = "http://[::1]:8081/jwks.json" }},
		{"local key files alone are valid", func(c *Config) {
			c.JWT.JWKSURL = ""
			c.JWT.JWKSFile = "/keys/jwks.json"
			c.JWT.PublicKeyFiles = []string{"/keys/a.pem"}
		}},
		{"every algorithm but none is valid", func(c *Config) {
			c.JWT.Algorithms = jwtverify.Algorithms()
			c.JWT.HMACSecret = strings.Repeat("k", 64)
		}},
		{"routes with every auth mode are valid", func(c *Config) {
			c.Routes = []Route{{Prefix: "/a/", Auth: "none"}, {Prefix: "/b/", Auth: "required"}, {Prefix: "/c/", Auth: "refresh"}, {Prefix: "/d", Auth: ""}, {Prefix: "/", Auth: "required"}}
		}},
		{"Sentinel is valid", func(c *Config) {
			c.Revocation.Redis = Redis{Addrs: []string{"s1:26379", "s2:26379"}, MasterName: "mymaster", DB: 3, Password: "p", KeyPrefix: "x:"}
		}},
		{"Cluster with TLS and a CA is valid", func(c *Config) {
			c.Revocation.Redis = Redis{Addrs: []string{"c1:6379"}, Cluster: true, TLS: true, CAFile: "/ca.pem"}
		}},
		{"trusted proxies as CIDRs and addresses are valid", func(c *Config) {
			c.Server.TrustedProxies = []string{"10.0.0.0/8", "192.168.1.7", "fd00::/8", "::1", "10.1.2.3/8"}
		}},
		{"waiting for a replica on Sentinel is valid", func(c *Config) {
			c.Revocation.Redis = Redis{Addrs: []string{"s1:26379"}, MasterName: "mymaster", MinReplicasAck: 1, MinReplicasTimeout: time.Second}
		}},
		{"waiting for a replica of each shard on a Cluster is valid", func(c *Config) {
			c.Revocation.Redis = Redis{Addrs: []string{"c1:6379"}, Cluster: true, MinReplicasAck: 2, MinReplicasTimeout: 100 * time.Millisecond}
		}},
		{"no replica wait needs no timeout", func(c *Config) { c.Revocation.Redis.MinReplicasTimeout = 0 }},
		{"a rediss url with a CA is valid", func(c *Config) {
			c.Revocation.Redis = Redis{URL: "rediss://user:pw@r.example:6380/2", CAFile: "/ca.pem"}
		}},
		{"the memory store ignores redis settings", func(c *Config) {
			c.Revocation.Store = "memory"
			c.Revocation.Redis = Redis{}
		}},
		{"failing open is valid", func(c *Config) { c.Revocation.OnStoreError = "open" }},
		{"an empty logout path disables logout", func(c *Config) { c.Logout.Path = "" }},
		{"the demo's unauthenticated loopback admin API is valid", func(c *Config) {
			c.Admin.Tokens = nil
			c.Admin.InsecureNoAuth = true
			c.Admin.Listen = "localhost:9090"
		}},
		{"a zero leeway, write timeout and drain delay are valid", func(c *Config) {
			c.JWT.Leeway = 0
			c.Server.WriteTimeout = 0
			c.Server.DrainDelay = 0
		}},
		{"claims of any value type are valid", func(c *Config) {
			c.JWT.RequiredClaims = map[string]any{"token_type": "access", "ver": 2, "admin": false, "roles": []any{"a"}}
		}},
		{"no forward headers is valid", func(c *Config) { c.JWT.ForwardHeaders = nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ValidConfig()
			tt.modify(&c)
			if err := c.Validate(jwtverify.CheckAlgorithms); err != nil {
				t.Errorf("Validate:\n%v", err)
			}
		})
	}
}

func TestValidateReportsEachProblemByKey(t *testing.T) {
	long := strings.Repeat("s", 64)
	tests := []struct {
		name   string
		modify func(c *Config)
		want   []Problem
	}{
		// listen, upstream
		{"listen is required", func(c *Config) { c.Listen = "" },
			[]Problem{{"listen", "is required (host:port, like :8080)"}}},
		{"listen needs a port", func(c *Config) { c.Listen = "localhost" },
			[]Problem{{"listen", `expected host:port like :8080, got "localhost"`}}},
		{"upstream.url is required", func(c *Config) { c.Upstream.URL = "" },
			[]Problem{{"upstream.url", "is required: the http:// or https:// URL of the API behind revgate"}}},
		{"upstream.url must be http or https", func(c *Config) { c.Upstream.URL = "ftp://x/" },
			[]Problem{{"upstream.url", `expected an http:// or https:// URL, got scheme "ftp"`}}},
		{"upstream.url must be absolute", func(c *Config) { c.Upstream.URL = "/just/a/path" },
			[]Problem{{"upstream.url", `expected an http:// or https:// URL, got scheme ""`}}},
		{"upstream.url needs a host", func(c *Config) { c.Upstream.URL = "http:///path" },
			[]Problem{{"upstream.url", "needs a host"}}},
		{"upstream.url must parse", func(c *Config) { c.Upstream.URL = "http://a b/" },
			[]Problem{{"upstream.url", `expected an http:// or https:// URL: invalid character " " in host name`}}},
		{"upstream.url must not carry credentials", func(c *Config) { c.Upstream.URL = "http://u:p@x/" },
			[]Problem{{"upstream.url", "must not contain credentials: they would not be sent"}}},
		{"upstream.timeout must be positive", func(c *Config) { c.Upstream.Timeout = 0 },
			[]Problem{{"upstream.timeout", "must be greater than 0"}}},
		{"upstream.max_idle_conns_per_host must be positive", func(c *Config) { c.Upstream.MaxIdleConnsPerHost = 0 },
			[]Problem{{"upstream.max_idle_conns_per_host", "must be greater than 0"}}},

		// routes
		{"a route needs a prefix", func(c *Config) { c.Routes = []Route{{Auth: "none"}} },
			[]Problem{{"routes[0].prefix", "is required"}}},
		{"a route prefix starts with a slash", func(c *Config) { c.Routes = []Route{{Prefix: "api/"}} },
			[]Problem{{"routes[0].prefix", `must start with "/", got "api/"`}}},
		{"a route prefix is a clean path", func(c *Config) { c.Routes = []Route{{Prefix: "/api//x/../y/"}} },
			[]Problem{{"routes[0].prefix", `must be a clean path (no //, . or .. segments): "/api//x/../y/" would never match; use "/api/y/"`}}},
		{"a route prefix has no ;parameters", func(c *Config) { c.Routes = []Route{{Prefix: "/api;v=1/"}} },
			[]Problem{{"routes[0].prefix", `must not contain ';', '?' or '#' (paths are matched without ;parameters and query): "/api;v=1/"`}}},
		{"a route auth is none, required or refresh", func(c *Config) { c.Routes = []Route{{Prefix: "/a/", Auth: "optional"}} },
			[]Problem{{"routes[0].auth", `expected none, required or refresh, got "optional"`}}},
		{"route prefixes are unique", func(c *Config) {
			c.Routes = []Route{{Prefix: "/a/", Auth: "none"}, {Prefix: "/b/", Auth: "none"}, {Prefix: "/a/", Auth: "required"}}
		},
			[]Problem{{"routes[2].prefix", `"/a/" is already routes[0].prefix`}}},

		// jwt key sources and algorithms
		{"jwt needs a key source", func(c *Config) { c.JWT.JWKSURL = "" },
			[]Problem{{"jwt", "needs a key source: jwks_url, jwks_file, public_key_files or hmac_secret (or hmac_secret_file)"}}},
		{"jwks_url must be https", func(c *Config) { c.JWT.JWKSURL = "http://issuer.example/jwks" },
			[]Problem{{"jwt.jwks_url", "must be https:// (http:// is allowed only for a loopback host such as 127.0.0.1 or localhost): keys fetched in the clear can be replaced"}}},
		{"jwks_url over http to a private address is refused", func(c *Config) { c.JWT.JWKSURL = "http://10.0.0.1/jwks" },
			[]Problem{{"jwt.jwks_url", "must be https:// (http:// is allowed only for a loopback host such as 127.0.0.1 or localhost): keys fetched in the clear can be replaced"}}},
		{"jwks_url must be a URL", func(c *Config) { c.JWT.JWKSURL = "file:///keys.json" },
			[]Problem{{"jwt.jwks_url", `expected an https:// URL, got scheme "file"`}}},
		{"jwks_url needs a host", func(c *Config) { c.JWT.JWKSURL = "https:///jwks" },
			[]Problem{{"jwt.jwks_url", "needs a host"}}},
		{"jwks_refresh must be positive", func(c *Config) { c.JWT.JWKSRefresh = 0 },
			[]Problem{{"jwt.jwks_refresh", "must be greater than 0"}}},
		{"jwks_unknown_kid_cooldown must be positive", func(c *Config) { c.JWT.JWKSUnknownKidCooldown = -time.Second },
			[]Problem{{"jwt.jwks_unknown_kid_cooldown", "must be greater than 0"}}},
		{"public_key_files entries are not empty", func(c *Config) { c.JWT.PublicKeyFiles = []string{"/a.pem", ""} },
			[]Problem{{"jwt.public_key_files[1]", "must not be empty"}}},
		{"algorithms must not be empty", func(c *Config) { c.JWT.Algorithms = nil },
			[]Problem{{"jwt.algorithms", "needs at least one algorithm (for example RS256)"}}},
		{"the none algorithm is never allowed", func(c *Config) { c.JWT.Algorithms = []string{"RS256", "none"} },
			[]Problem{{"jwt.algorithms[1]", `"none" is never allowed: it would accept unsigned tokens`}}},
		{"the none algorithm is never allowed in any case", func(c *Config) { c.JWT.Algorithms = []string{"None"} },
			[]Problem{{"jwt.algorithms[0]", `"none" is never allowed: it would accept unsigned tokens`}}},
		{"an unknown algorithm is refused", func(c *Config) { c.JWT.Algorithms = []string{"rs256"} },
			[]Problem{{"jwt.algorithms[0]", `unknown algorithm "rs256" (expected one of HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA)`}}},
		{"an HS algorithm needs a secret", func(c *Config) { c.JWT.Algorithms = []string{"RS256", "HS256", "HS384"} },
			[]Problem{{"jwt.algorithms", "HS256, HS384 needs jwt.hmac_secret or jwt.hmac_secret_file"}}},
		{"a secret needs an HS algorithm", func(c *Config) { c.JWT.HMACSecret = long },
			[]Problem{{"jwt.hmac_secret", "is set, but jwt.algorithms allows none of HS256, HS384, HS512: add one, or remove the secret"}}},
		{"an HS256 secret is at least 32 bytes", func(c *Config) {
			c.JWT.Algorithms = []string{"HS256"}
			c.JWT.HMACSecret = strings.Repeat("s", 31)
		}, []Problem{{"jwt.hmac_secret", "must be at least 32 bytes for HS256: a shorter secret can be brute-forced offline from any one token"}}},
		{"an HS512 secret is at least 64 bytes", func(c *Config) {
			c.JWT.Algorithms = []string{"HS256", "HS512"}
			c.JWT.HMACSecret = strings.Repeat("s", 63)
		}, []Problem{{"jwt.hmac_secret", "must be at least 64 bytes for HS512: a shorter secret can be brute-forced offline from any one token"}}},
		{"a short secret from a file is reported on the file key", func(c *Config) {
			c.JWT.Algorithms = []string{"HS256"}
			c.JWT.HMACSecret = "short"
			c.JWT.HMACSecretFile = "/run/secrets/hmac"
		}, []Problem{{"jwt.hmac_secret_file", "must be at least 32 bytes for HS256: a shorter secret can be brute-forced offline from any one token"}}},
		{"a secret file that Load did not read is reported", func(c *Config) {
			c.JWT.Algorithms = []string{"HS256"}
			c.JWT.HMACSecretFile = "/run/secrets/hmac"
		}, []Problem{{"jwt.hmac_secret_file", "was not read: Load reads it into jwt.hmac_secret"}}},

		// jwt claims and lookup
		{"issuer entries are not empty", func(c *Config) { c.JWT.Issuer = StringList{"https://a", ""} },
			[]Problem{{"jwt.issuer[1]", "must not be empty"}}},
		{"audience entries are not empty", func(c *Config) { c.JWT.Audience = StringList{""} },
			[]Problem{{"jwt.audience[0]", "must not be empty"}}},
		{"leeway is not negative", func(c *Config) { c.JWT.Leeway = -time.Second },
			[]Problem{{"jwt.leeway", "must not be negative"}}},
		{"subject_claim is required", func(c *Config) { c.JWT.SubjectClaim = "" },
			[]Problem{{"jwt.subject_claim", `is required (for example "sub")`}}},
		{"session_claim names no numeric registered claim", func(c *Config) { c.JWT.SessionClaim = "iat" },
			[]Problem{{"jwt.session_claim", `must name a string claim (for example "sid"), not "iat"; "" turns session revocation off`}}},
		{"a required claim has a value", func(c *Config) { c.JWT.RequiredClaims = map[string]any{"token_type": nil} },
			[]Problem{{"jwt.required_claims[token_type]", "needs a value"}}},
		{"a required claim has a name", func(c *Config) { c.JWT.RefreshRequiredClaims = map[string]any{"": "x"} },
			[]Problem{{"jwt.refresh_required_claims", "a claim name must not be empty"}}},
		{"lookup is not empty", func(c *Config) { c.JWT.Lookup = nil },
			[]Problem{{"jwt.lookup", `needs at least one entry (for example "header:Authorization:Bearer")`}}},
		{"each lookup entry parses", func(c *Config) { c.JWT.Lookup = []string{"cookie:session", "body:token"} },
			[]Problem{{"jwt.lookup[1]", `"body:token": unknown source "body" (expected header, cookie or query)`}}},

		// forward headers
		{"a forward header name is a valid header name", func(c *Config) { c.JWT.ForwardHeaders = map[string]string{"X User": "sub"} },
			[]Problem{{"jwt.forward_headers[X User]", `"X User" is not a valid HTTP header name`}}},
		{"a forward header cannot replace a header the proxy sets", func(c *Config) { c.JWT.ForwardHeaders = map[string]string{"x-forwarded-for": "sub"} },
			[]Problem{{"jwt.forward_headers[x-forwarded-for]", "X-Forwarded-For is set by the proxy and cannot carry a claim"}}},
		{"a forward header cannot replace X-Real-IP, which the proxy sets from the peer", func(c *Config) { c.JWT.ForwardHeaders = map[string]string{"X-Real-IP": "sub"} },
			[]Problem{{"jwt.forward_headers[X-Real-IP]", "X-Real-Ip is set by the proxy and cannot carry a claim"}}},
		{"two forward headers differing only in case are refused", func(c *Config) { c.JWT.ForwardHeaders = map[string]string{"X-User": "sub", "x-user": "email"} },
			[]Problem{{"jwt.forward_headers[x-user]", `is the same header as "X-User" (header names are case-insensitive)`}}},
		{"a forward header names a claim", func(c *Config) { c.JWT.ForwardHeaders = map[string]string{"X-User": ""} },
			[]Problem{{"jwt.forward_headers[X-User]", "needs a claim name"}}},

		// revocation
		{"the store is redis or memory", func(c *Config) { c.Revocation.Store = "postgres" },
			[]Problem{{"revocation.store", `expected redis or memory, got "postgres"`}}},
		{"redis needs url or addrs", func(c *Config) { c.Revocation.Redis.URL = "" },
			[]Problem{{"revocation.redis", "needs url (standalone) or addrs (Sentinel or Cluster)"}}},
		{"redis takes url or addrs, not both", func(c *Config) { c.Revocation.Redis.Addrs = []string{"a:6379"} },
			[]Problem{{"revocation.redis", "set either url (standalone) or addrs (Sentinel or Cluster), not both"}}},
		{"the redis url scheme is redis or rediss", func(c *Config) { c.Revocation.Redis.URL = "http://r:6379" },
			[]Problem{{"revocation.redis.url", `expected a redis:// or rediss:// URL, got scheme "http"`}}},
		{"the redis url has a host", func(c *Config) { c.Revocation.Redis.URL = "redis:///0" },
			[]Problem{{"revocation.redis.url", "needs a host"}}},
		{"the redis url path is a database number", func(c *Config) { c.Revocation.Redis.URL = "redis://r:6379/zero" },
			[]Problem{{"revocation.redis.url", "the path must be a database number like /0"}}},
		{"a password in both the url and the password key is refused", func(c *Config) {
			c.Revocation.Redis.URL = "redis://:pw@r:6379/0"
			c.Revocation.Redis.Password = "other"
		}, []Problem{{"revocation.redis.password", "is also set in revocation.redis.url: set it in one place"}}},
		{"tls contradicts a redis:// url", func(c *Config) { c.Revocation.Redis.TLS = true },
			[]Problem{{"revocation.redis.tls", "contradicts the redis:// url: use a rediss:// url for TLS"}}},
		{"db applies to addrs only", func(c *Config) { c.Revocation.Redis.DB = 2 },
			[]Problem{{"revocation.redis.db", "applies to addrs only: put the database in the url's path (/2)"}}},
		{"addrs are host:port", func(c *Config) {
			c.Revocation.Redis = Redis{Addrs: []string{"a:26379", "b"}, MasterName: "m"}
		}, []Problem{{"revocation.redis.addrs[1]", `expected host:port, got "b"`}}},
		{"Sentinel credentials need master_name", func(c *Config) {
			c.Revocation.Redis.SentinelUsername = "s"
			c.Revocation.Redis.SentinelPassword = "p"
		}, []Problem{
			{"revocation.redis.sentinel_username", "applies only to Sentinel: set revocation.redis.master_name, or remove it"},
			{"revocation.redis.sentinel_password", "applies only to Sentinel: set revocation.redis.master_name, or remove it"},
		}},
		{"a Sentinel password file needs master_name", func(c *Config) { c.Revocation.Redis.SentinelPasswordFile = "/run/secrets/s" },
			[]Problem{
				{"revocation.redis.sentinel_password_file", "applies only to Sentinel: set revocation.redis.master_name, or remove it"},
				{"revocation.redis.sentinel_password_file", "was not read: Load reads it into revocation.redis.sentinel_password"},
			}},
		{"master_name needs addrs", func(c *Config) { c.Revocation.Redis.MasterName = "m" },
			[]Problem{{"revocation.redis.master_name", "needs revocation.redis.addrs (the Sentinel addresses)"}}},
		{"cluster needs addrs", func(c *Config) { c.Revocation.Redis.Cluster = true },
			[]Problem{{"revocation.redis.cluster", "needs revocation.redis.addrs (the cluster's seed addresses)"}}},
		{"cluster excludes master_name", func(c *Config) {
			c.Revocation.Redis = Redis{Addrs: []string{"a:6379"}, Cluster: true, MasterName: "m"}
		}, []Problem{{"revocation.redis.cluster", "cannot be combined with master_name (Sentinel)"}}},
		{"cluster has only database 0", func(c *Config) {
			c.Revocation.Redis = Redis{Addrs: []string{"a:6379"}, Cluster: true, DB: 1}
		}, []Problem{{"revocation.redis.db", "must be 0 with cluster: Redis Cluster has only database 0"}}},
		{"db is not negative", func(c *Config) {
			c.Revocation.Redis = Redis{Addrs: []string{"a:6379"}, MasterName: "m", DB: -1}
		}, []Problem{{"revocation.redis.db", "must not be negative"}}},
		{"min_replicas_ack is not negative", func(c *Config) { c.Revocation.Redis.MinReplicasAck = -1 },
			[]Problem{{"revocation.redis.min_replicas_ack", "must not be negative (0 turns waiting for replicas off)"}}},
		{"min_replicas_timeout is not negative", func(c *Config) { c.Revocation.Redis.MinReplicasTimeout = -time.Second },
			[]Problem{{"revocation.redis.min_replicas_timeout", "must not be negative"}}},
		{"min_replicas_ack needs a timeout", func(c *Config) {
			c.Revocation.Redis.MinReplicasAck = 1
			c.Revocation.Redis.MinReplicasTimeout = 0
		}, []Problem{{"revocation.redis.min_replicas_timeout", "must be greater than 0 with min_replicas_ack: Redis WAIT 0 would block until enough replicas answer, possibly forever"}}},
		{"ca_file needs TLS", func(c *Config) { c.Revocation.Redis.CAFile = "/ca.pem" },
			[]Problem{{"revocation.redis.ca_file", "needs revocation.redis.tls: true or a rediss:// url"}}},
		{"on_store_error is closed or open", func(c *Config) { c.Revocation.OnStoreError = "ignore" },
			[]Problem{{"revocation.on_store_error", `expected closed or open, got "ignore"`}}},
		{"max_token_lifetime must be positive", func(c *Config) { c.Revocation.MaxTokenLifetime = 0 },
			[]Problem{{"revocation.max_token_lifetime", "must be greater than 0"}}},
		{"lookup_timeout must be positive", func(c *Config) { c.Revocation.LookupTimeout = 0 },
			[]Problem{{"revocation.lookup_timeout", "must be greater than 0"}}},

		// logout, admin, log, server
		{"the logout path starts with a slash", func(c *Config) { c.Logout.Path = "logout" },
			[]Problem{{"logout.path", `must start with "/", got "logout"`}}},
		{"admin.listen is required", func(c *Config) { c.Admin.Listen = "" },
			[]Problem{{"admin.listen", "is required (host:port, like :8080)"}}},
		{"admin.listen differs from listen", func(c *Config) { c.Admin.Listen = c.Listen },
			[]Problem{{"admin.listen", "must differ from listen"}}},
		{"the admin API needs a token", func(c *Config) { c.Admin.Tokens = nil },
			[]Problem{{"admin.tokens", "needs at least one token (admin.insecure_no_auth: true is for the demo only)"}}},
		{"an admin token has a name", func(c *Config) { c.Admin.Tokens[0].Name = "" },
			[]Problem{{"admin.tokens[0].name", "is required: it names the caller in the audit log"}}},
		{"admin token names are unique", func(c *Config) {
			c.Admin.Tokens = append(c.Admin.Tokens, AdminToken{Name: "ops", Token: "another-token-0123456789"})
		}, []Problem{{"admin.tokens[1].name", `"ops" is already admin.tokens[0].name`}}},
		{"an admin token has a token", func(c *Config) { c.Admin.Tokens[0].Token = "" },
			[]Problem{{"admin.tokens[0]", "needs token or token_file"}}},
		{"an admin token is at least 16 characters", func(c *Config) { c.Admin.Tokens[0].Token = "short" },
			[]Problem{{"admin.tokens[0].token", "must be at least 16 characters: a short token can be guessed"}}},
		{"two admin tokens are not the same token", func(c *Config) {
			c.Admin.Tokens = append(c.Admin.Tokens, AdminToken{Name: "ci", Token: c.Admin.Tokens[0].Token})
		}, []Problem{{"admin.tokens[1].token", "is the same token as admin.tokens[0]: the audit log could not tell them apart"}}},
		{"insecure_no_auth does not mix with tokens", func(c *Config) { c.Admin.InsecureNoAuth = true },
			[]Problem{{"admin.insecure_no_auth", "cannot be combined with admin.tokens: remove one"}}},
		{"insecure_no_auth needs a loopback listener", func(c *Config) {
			c.Admin.Tokens = nil
			c.Admin.InsecureNoAuth = true
			c.Admin.Listen = ":9090"
		}, []Problem{{"admin.insecure_no_auth", "needs a loopback admin.listen such as 127.0.0.1:9090: anyone who can reach an unauthenticated admin API can un-revoke tokens"}}},
		{"the log level is known", func(c *Config) { c.Log.Level = "trace" },
			[]Problem{{"log.level", `expected debug, info, warn or error, got "trace"`}}},
		{"the log format is json or text", func(c *Config) { c.Log.Format = "logfmt" },
			[]Problem{{"log.format", `expected json or text, got "logfmt"`}}},
		{"read_header_timeout must be positive", func(c *Config) { c.Server.ReadHeaderTimeout = 0 },
			[]Problem{{"server.read_header_timeout", "must be greater than 0: without it a slow client can hold a connection forever"}}},
		{"server timeouts are not negative", func(c *Config) {
			c.Server.ReadTimeout = -1
			c.Server.WriteTimeout = -1
			c.Server.IdleTimeout = -1
			c.Server.DrainDelay = -1
		}, []Problem{
			{"server.read_timeout", "must not be negative"},
			{"server.write_timeout", "must not be negative"},
			{"server.idle_timeout", "must not be negative"},
			{"server.drain_delay", "must not be negative"},
		}},
		{"max_header_bytes must be positive", func(c *Config) { c.Server.MaxHeaderBytes = 0 },
			[]Problem{{"server.max_header_bytes", "must be greater than 0"}}},
		{"shutdown_timeout must be positive", func(c *Config) { c.Server.ShutdownTimeout = 0 },
			[]Problem{{"server.shutdown_timeout", "must be greater than 0"}}},
		{"each trusted proxy is an address or a CIDR", func(c *Config) {
			c.Server.TrustedProxies = []string{"10.0.0.0/8", "proxy.internal", "10.0.0.0/33", "", "fe80::1%eth0", "::1"}
		}, []Problem{
			{"server.trusted_proxies[1]", `expected an IP address or a CIDR such as 10.0.0.0/8, got "proxy.internal"`},
			{"server.trusted_proxies[2]", `expected an IP address or a CIDR such as 10.0.0.0/8, got "10.0.0.0/33"`},
			{"server.trusted_proxies[3]", `expected an IP address or a CIDR such as 10.0.0.0/8, got ""`},
			{"server.trusted_proxies[4]", `expected an IP address or a CIDR such as 10.0.0.0/8, got "fe80::1%eth0"`},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ValidConfig()
			tt.modify(&c)
			if d := cmp.Diff(tt.want, ProblemsOf(t, c.Validate(jwtverify.CheckAlgorithms))); d != "" {
				t.Errorf("problems (-want +got):\n%s", d)
			}
		})
	}
}

func TestValidateReportsEverythingAtOnceInConfigOrder(t *testing.T) {
	c := Default() // no upstream, no key source, no admin token
	c.Server.ShutdownTimeout = 0
	c.Log.Level = "loud"
	c.Routes = []Route{{Prefix: "/b/", Auth: "maybe"}, {Prefix: "a"}}
	c.JWT.Algorithms = []string{"none"}
	c.JWT.ForwardHeaders = map[string]string{"Z-Bad Header": "sub", "A-Bad Header": "sub"}
	err := c.Validate(jwtverify.CheckAlgorithms)
	want := []Problem{
		{"upstream.url", "is required: the http:// or https:// URL of the API behind revgate"},
		{"routes[0].auth", `expected none, required or refresh, got "maybe"`},
		{"routes[1].prefix", `must start with "/", got "a"`},
		{"jwt", "needs a key source: jwks_url, jwks_file, public_key_files or hmac_secret (or hmac_secret_file)"},
		{"jwt.algorithms[0]", `"none" is never allowed: it would accept unsigned tokens`},
		{"jwt.forward_headers[A-Bad Header]", `"A-Bad Header" is not a valid HTTP header name`},
		{"jwt.forward_headers[Z-Bad Header]", `"Z-Bad Header" is not a valid HTTP header name`},
		{"admin.tokens", "needs at least one token (admin.insecure_no_auth: true is for the demo only)"},
		{"log.level", `expected debug, info, warn or error, got "loud"`},
		{"server.shutdown_timeout", "must be greater than 0"},
	}
	if d := cmp.Diff(want, ProblemsOf(t, err)); d != "" {
		t.Fatalf("problems (-want +got):\n%s", d)
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want) {
		t.Fatalf("Error() has %d lines, want %d:\n%s", len(lines), len(want), err)
	}
	for i, p := range want {
		if lines[i] != p.Key+": "+p.Message {
			t.Errorf("line %d = %q, want %q", i, lines[i], p.Key+": "+p.Message)
		}
	}
}

func TestValidateNeverShowsSecrets(t *testing.T) {
	c := ValidConfig()
	c.JWT.Algorithms = []string{"RS256"}
	c.JWT.HMACSecret = "short-hmac-secret"
	c.Revocation.Redis.URL = "redis://:redis-url-password@r:6379/bad"
	c.Revocation.Redis.Password = "redis-password"
	c.Admin.Tokens = []AdminToken{{Name: "a", Token: "short-tok"}, {Name: "b", Token: "dup-token-0123456789"}, {Name: "c", Token: "dup-token-0123456789"}}
	err := c.Validate(jwtverify.CheckAlgorithms)
	if err == nil {
		t.Fatal("Validate succeeded, want problems")
	}
	for _, secret := range []string{"short-hmac-secret", "redis-url-password", "redis-password", "short-tok", "dup-token-0123456789"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error shows secret %q:\n%v", secret, err)
		}
	}
}

func TestValidationErrorFormatsOneProblemPerLine(t *testing.T) {
	err := &ValidationError{Problems: []Problem{
		{Key: "jwt.leeway", Message: `expected a duration like 30s, got "thirty"`},
		{Message: `unknown key "jwt.algoritms"`},
	}}
	want := "jwt.leeway: expected a duration like 30s, got \"thirty\"\nunknown key \"jwt.algoritms\""
	if err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
}
