package config

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Config is the whole of revgate's configuration. Field tags name the YAML
// keys; every key can be overridden by REVGATE_<PATH> (dots become
// underscores). Defaults are set by Default.
type Config struct {
	// Listen is the proxy listener's address. Default ":8080". Unused when
	// upstream.url is empty (decision mode only).
	Listen     string     `mapstructure:"listen" yaml:"listen"`
	Upstream   Upstream   `mapstructure:"upstream" yaml:"upstream"`
	Routes     []Route    `mapstructure:"routes" yaml:"routes"`
	JWT        JWT        `mapstructure:"jwt" yaml:"jwt"`
	Revocation Revocation `mapstructure:"revocation" yaml:"revocation"`
	Logout     Logout     `mapstructure:"logout" yaml:"logout"`
	OAuth      OAuth      `mapstructure:"oauth" yaml:"oauth"`
	// BackchannelLogout receives OpenID Connect Back-Channel Logout tokens.
	BackchannelLogout BackchannelLogout `mapstructure:"backchannel_logout" yaml:"backchannel_logout"`
	// SSF receives Shared Signals (CAEP, RISC) from the identity provider.
	SSF SSF `mapstructure:"ssf" yaml:"ssf"`
	// GlobalRevocation receives Global Token Revocation requests.
	GlobalRevocation GlobalRevocation `mapstructure:"global_revocation" yaml:"global_revocation"`
	Decision         Decision         `mapstructure:"decision" yaml:"decision"`
	Admin            Admin            `mapstructure:"admin" yaml:"admin"`
	Log              Log              `mapstructure:"log" yaml:"log"`
	Server           Server           `mapstructure:"server" yaml:"server"`

	// Console is the admin console on the admin listener.
	Console Console `mapstructure:"console" yaml:"console"`
}

// Upstream is the API revgate protects.
type Upstream struct {
	// URL is http:// or https://, with an optional base path. Required
	// unless a decision listener is set; empty, no proxy listener starts.
	URL string `mapstructure:"url" yaml:"url"`
	// Timeout bounds the whole upstream exchange up to the response headers.
	// Default 30s.
	Timeout time.Duration `mapstructure:"timeout" yaml:"timeout"`
	// StripAuthorization drops the Authorization header before forwarding.
	// Default false.
	StripAuthorization bool `mapstructure:"strip_authorization" yaml:"strip_authorization"`
	// MaxIdleConnsPerHost is the upstream keep-alive pool size. Default 256.
	MaxIdleConnsPerHost int `mapstructure:"max_idle_conns_per_host" yaml:"max_idle_conns_per_host"`
}

// Auth modes of a route.
const (
	AuthNone     = "none"
	AuthRequired = "required"
	AuthRefresh  = "refresh"
)

// Route sets the auth mode of every path under Prefix; the longest matching
// prefix wins, and paths no route matches need a token.
type Route struct {
	// Prefix is a clean absolute path ("/api/token/"); it matches whole
	// segments of the cleaned request path: the path itself and what lies
	// below it after a "/" ("/health" matches "/health" and "/health/x",
	// never "/healthy"). A prefix ending in "/" matches every path that
	// starts with it.
	Prefix string `mapstructure:"prefix" yaml:"prefix"`
	// Auth is none, required (default; Load fills it in) or refresh.
	Auth string `mapstructure:"auth" yaml:"auth"`
	// WebSocket lets a request on this route upgrade to a WebSocket, after
	// the route's auth; the tunnel is closed when the token expires or is
	// revoked. Elsewhere the Upgrade header is removed and the request is
	// forwarded as a plain request. Default false.
	WebSocket bool `mapstructure:"websocket" yaml:"websocket"`
}

// JWT says how tokens are found and verified. At least one key source
// (jwks_url, jwks_file, public_key_files, hmac_secret) is required.
type JWT struct {
	// JWKSURL is a remote JWKS, cached and refreshed in the background. It
	// must be https:// (http:// only for a loopback host).
	JWKSURL string `mapstructure:"jwks_url" yaml:"jwks_url"`
	// JWKSRefresh is the background refresh interval of jwks_url. Default 5m.
	JWKSRefresh time.Duration `mapstructure:"jwks_refresh" yaml:"jwks_refresh"`
	// JWKSUnknownKidCooldown bounds refetches triggered by an unknown kid to
	// one per cooldown. Default 30s.
	JWKSUnknownKidCooldown time.Duration `mapstructure:"jwks_unknown_kid_cooldown" yaml:"jwks_unknown_kid_cooldown"`
	// JWKSFile is a local JWKS file.
	JWKSFile string `mapstructure:"jwks_file" yaml:"jwks_file"`
	// PublicKeyFiles are PEM public keys.
	PublicKeyFiles []string `mapstructure:"public_key_files" yaml:"public_key_files"`
	// HMACSecret is the HS256/384/512 key, at least as long as the hash
	// (32, 48 or 64 bytes). Load fills it from HMACSecretFile when that is
	// set, so the rest of the program only ever reads HMACSecret.
	HMACSecret     string `mapstructure:"hmac_secret" yaml:"hmac_secret"`
	HMACSecretFile string `mapstructure:"hmac_secret_file" yaml:"hmac_secret_file"`
	// Algorithms is the allow-list. Default ["RS256"].
	Algorithms []string `mapstructure:"algorithms" yaml:"algorithms"`
	// Issuer: if set, iss must be one of these. Audience: if set, aud must
	// contain one of these. Each is given as a string or a list.
	Issuer   StringList `mapstructure:"issuer" yaml:"issuer"`
	Audience StringList `mapstructure:"audience" yaml:"audience"`
	// Leeway is the clock skew allowed on exp, nbf and iat. Default 30s.
	Leeway time.Duration `mapstructure:"leeway" yaml:"leeway"`
	// SubjectClaim names the claim holding the user. Default "sub".
	SubjectClaim string `mapstructure:"subject_claim" yaml:"subject_claim"`
	// SessionClaim names the claim holding the identity provider's session
	// id (OpenID Connect's sid), checked against revoked sessions
	// (revocation rule 4). "" turns session revocation off. Default "sid".
	SessionClaim string `mapstructure:"session_claim" yaml:"session_claim"`
	// RequiredClaims maps a claim to the exact value it must have. Claim
	// names keep their case. Default none.
	RequiredClaims map[string]any `mapstructure:"required_claims" yaml:"required_claims"`
	// RefreshRequiredClaims is RequiredClaims for auth: refresh routes.
	RefreshRequiredClaims map[string]any `mapstructure:"refresh_required_claims" yaml:"refresh_required_claims"`
	// RefreshReuseDetection revokes a subject whose used refresh token is
	// presented again. Default false.
	RefreshReuseDetection bool `mapstructure:"refresh_reuse_detection" yaml:"refresh_reuse_detection"`
	// Lookup lists where a token is looked for, in order:
	// "header:NAME:SCHEME", "header:NAME", "cookie:NAME", "query:NAME".
	// Default ["header:Authorization:Bearer"].
	Lookup []string `mapstructure:"lookup" yaml:"lookup"`
	// VerifyCacheSize bounds the cache of verified tokens, which lets a
	// token seen before skip the signature check (revocation is still
	// checked on every request). 0 disables it. Default 10000.
	VerifyCacheSize int `mapstructure:"verify_cache_size" yaml:"verify_cache_size"`
	// ForwardHeaders maps an upstream header to the claim it carries.
	// Default {X-Revgate-Subject: sub}.
	ForwardHeaders map[string]string `mapstructure:"forward_headers" yaml:"forward_headers"`
}

// Revocation stores.
const (
	StoreRedis  = "redis"
	StoreMemory = "memory"
)

// What to do when the revocation store fails (revocation.on_store_error).
const (
	OnStoreErrorClosed = "closed"
	OnStoreErrorOpen   = "open"
)

// Revocation says where revocation state lives.
type Revocation struct {
	// Store is redis (default) or memory.
	Store string `mapstructure:"store" yaml:"store"`
	Redis Redis  `mapstructure:"redis" yaml:"redis"`
	// OnStoreError is closed (default: 503) or open (forward, log, count).
	OnStoreError string `mapstructure:"on_store_error" yaml:"on_store_error"`
	// MaxTokenLifetime is the longest exp-iat accepted. Default 24h.
	MaxTokenLifetime time.Duration `mapstructure:"max_token_lifetime" yaml:"max_token_lifetime"`
	// LookupTimeout bounds the per-request store lookup. Default 250ms.
	LookupTimeout time.Duration `mapstructure:"lookup_timeout" yaml:"lookup_timeout"`
	// RecheckInterval is how often the revocation state of an open
	// WebSocket tunnel's token is read again; a tunnel is closed at most
	// this long after its token is revoked. Default 10s.
	RecheckInterval time.Duration `mapstructure:"recheck_interval" yaml:"recheck_interval"`
}

// Redis is the revocation store's connection: exactly one of URL
// (standalone) or Addrs (Sentinel with MasterName, or Cluster).
type Redis struct {
	// URL is redis:// or rediss://. Default "redis://127.0.0.1:6379/0",
	// applied only when Addrs is empty.
	URL string `mapstructure:"url" yaml:"url"`
	// Addrs are Sentinel or Cluster seed addresses (host:port).
	Addrs []string `mapstructure:"addrs" yaml:"addrs"`
	// MasterName selects Sentinel.
	MasterName string `mapstructure:"master_name" yaml:"master_name"`
	// Cluster selects Redis Cluster.
	Cluster  bool   `mapstructure:"cluster" yaml:"cluster"`
	Username string `mapstructure:"username" yaml:"username"`
	// Password is filled by Load from PasswordFile when that is set.
	Password     string `mapstructure:"password" yaml:"password"`
	PasswordFile string `mapstructure:"password_file" yaml:"password_file"`
	// SentinelUsername and SentinelPassword authenticate to the Sentinels
	// themselves (their own requirepass), not to the master; only with
	// MasterName. SentinelPassword is filled by Load from
	// SentinelPasswordFile when that is set.
	SentinelUsername     string `mapstructure:"sentinel_username" yaml:"sentinel_username"`
	SentinelPassword     string `mapstructure:"sentinel_password" yaml:"sentinel_password"`
	SentinelPasswordFile string `mapstructure:"sentinel_password_file" yaml:"sentinel_password_file"`
	// DB applies to addrs/Sentinel; a url carries its own. Default 0.
	DB int `mapstructure:"db" yaml:"db"`
	// TLS enables TLS for addrs; a rediss:// url enables it by itself.
	TLS bool `mapstructure:"tls" yaml:"tls"`
	// CAFile is a PEM bundle to verify the server with; it needs TLS.
	CAFile string `mapstructure:"ca_file" yaml:"ca_file"`
	// KeyPrefix starts every key revgate writes. Default "revgate:".
	KeyPrefix string `mapstructure:"key_prefix" yaml:"key_prefix"`
	// MinReplicasAck, when above 0, makes every revocation write wait
	// (Redis WAIT) until that many replicas of the master hold it; when
	// fewer acknowledge within MinReplicasTimeout the admin API answers 503
	// although the master keeps the write. On a Cluster it counts the
	// replicas of the key's shard. Default 0 (off: replication is
	// asynchronous, and a failover may lose the latest revocations).
	MinReplicasAck int `mapstructure:"min_replicas_ack" yaml:"min_replicas_ack"`
	// MinReplicasTimeout bounds that wait. Default 500ms.
	MinReplicasTimeout time.Duration `mapstructure:"min_replicas_timeout" yaml:"min_replicas_timeout"`
}

// Logout configures the self-service logout endpoint.
type Logout struct {
	// Path on the proxy listener; "" disables. Default "/auth/logout".
	Path string `mapstructure:"path" yaml:"path"`
}

// Decision configures decision mode: an ingress or mesh asks revgate
// "allow or deny?" and forwards the request itself.
type Decision struct {
	// Listen is the HTTP decision listener (/forward-auth, /auth-request,
	// /ext-authz/...). Default "" (off).
	Listen string `mapstructure:"listen" yaml:"listen"`
	// GRPCListen is the Envoy ext_authz gRPC listener
	// (envoy.service.auth.v3.Authorization/Check). Default "" (off).
	GRPCListen string `mapstructure:"grpc_listen" yaml:"grpc_listen"`
}

// Enabled reports whether any decision listener is set.
func (d Decision) Enabled() bool { return d.Listen != "" || d.GRPCListen != "" }

// decisionPaths are the HTTP decision listener's endpoints (and
// /ext-authz/ everything under it); logout.path must not be one.
var decisionPaths = []string{"/forward-auth", "/auth-request", "/ext-authz"}

// ProxyEnabled reports whether the proxy listener runs: it needs an
// upstream, which decision mode alone does not.
func (c *Config) ProxyEnabled() bool { return c.Upstream.URL != "" }

// Admin configures the admin listener.
type Admin struct {
	// Listen default "127.0.0.1:9090".
	Listen string `mapstructure:"listen" yaml:"listen"`
	// Tokens are the accepted bearer tokens; at least one is required
	// unless InsecureNoAuth.
	Tokens []AdminToken `mapstructure:"tokens" yaml:"tokens"`
	// InsecureNoAuth serves the admin API without authentication, only on
	// a loopback listener. Only the demo sets it.
	InsecureNoAuth bool `mapstructure:"insecure_no_auth" yaml:"insecure_no_auth"`
}

// AdminToken is one named bearer token of the admin API.
type AdminToken struct {
	// Name identifies the token's holder in the audit log.
	Name string `mapstructure:"name" yaml:"name"`
	// Token is at least 16 characters. Load fills it from TokenFile when
	// that is set.
	Token     string `mapstructure:"token" yaml:"token"`
	TokenFile string `mapstructure:"token_file" yaml:"token_file"`
}

// Log formats.
const (
	LogFormatJSON = "json"
	LogFormatText = "text"
)

// Log configures logging.
type Log struct {
	// Level: debug, info (default), warn, error.
	Level string `mapstructure:"level" yaml:"level"`
	// Format: json (default) or text.
	Format string `mapstructure:"format" yaml:"format"`
	// IncludeSubject adds the token's subject to access log lines. Off by
	// default: subjects are personal data. Default false.
	IncludeSubject bool `mapstructure:"include_subject" yaml:"include_subject"`
}

// Server holds listener timeouts and the shutdown sequence.
type Server struct {
	// ReadHeaderTimeout default 10s; ReadTimeout default 60s; WriteTimeout
	// default 0 (none: responses may stream); IdleTimeout default 120s.
	ReadHeaderTimeout time.Duration `mapstructure:"read_header_timeout" yaml:"read_header_timeout"`
	ReadTimeout       time.Duration `mapstructure:"read_timeout" yaml:"read_timeout"`
	WriteTimeout      time.Duration `mapstructure:"write_timeout" yaml:"write_timeout"`
	IdleTimeout       time.Duration `mapstructure:"idle_timeout" yaml:"idle_timeout"`
	// MaxHeaderBytes default 64 KiB.
	MaxHeaderBytes int `mapstructure:"max_header_bytes" yaml:"max_header_bytes"`
	// DrainDelay: after SIGTERM, /readyz fails at once and the listeners keep
	// serving this long so load balancers stop sending. Default 5s.
	DrainDelay time.Duration `mapstructure:"drain_delay" yaml:"drain_delay"`
	// ShutdownTimeout bounds how long in-flight requests may take to finish
	// after the drain. Default 25s.
	ShutdownTimeout time.Duration `mapstructure:"shutdown_timeout" yaml:"shutdown_timeout"`
	// TrustedProxies are the peers (CIDRs, or single addresses) whose
	// X-Forwarded-For, X-Forwarded-Host, X-Forwarded-Proto and Forwarded
	// headers the upstream receives, with the peer appended; X-Real-IP is
	// then the right-most untrusted address of X-Forwarded-For. From any
	// other peer those headers are replaced. Default none.
	TrustedProxies []string `mapstructure:"trusted_proxies" yaml:"trusted_proxies"`
}

// ParseTrustedProxy parses a server.trusted_proxies entry: a CIDR
// ("10.0.0.0/8", "fd00::/8") or one address. An IPv4-mapped IPv6 entry is
// read as the IPv4 one, as peers are.
func ParseTrustedProxy(s string) (netip.Prefix, error) {
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return netip.Prefix{}, err
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		if a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("%q has a zone", s)
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// StringList is a key that may be written as one string or as a list of
// strings; an empty string means an empty list. Like every list key, a
// string is split on commas (the environment gives lists that way).
type StringList []string
