package revocation

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/revgate/revgate/config"
)

// Client timeouts. The gateway also bounds each lookup with its own context
// deadline (revocation.lookup_timeout), which the client honors; these
// bound everything else (admin calls, readiness, reconnects).
const (
	dialTimeout  = 2 * time.Second
	readTimeout  = time.Second
	writeTimeout = time.Second
)

// NewClient builds the Redis client cfg describes:
//   - url (redis:// or rediss://): a *redis.Client;
//   - addrs with master_name: a Sentinel-backed failover *redis.Client;
//   - addrs with cluster: a *redis.ClusterClient;
//   - one addr alone: a *redis.Client.
//
// cfg.Password (already read from password_file by the config loader) and
// cfg.Username override the URL's. TLS is on for rediss:// or cfg.TLS;
// cfg.CAFile replaces the system roots. Nothing is dialed here. Errors name
// the configuration key and never contain the password or the URL.
func NewClient(cfg config.Redis) (redis.UniversalClient, error) {
	if cfg.URL != "" && len(cfg.Addrs) > 0 {
		return nil, errors.New("revocation.redis: set url or addrs, not both")
	}
	if cfg.URL != "" {
		return newURLClient(cfg)
	}
	if len(cfg.Addrs) == 0 {
		return nil, errors.New("revocation.redis: url or addrs is required")
	}
	for i, a := range cfg.Addrs {
		if strings.ContainsAny(a, "@/") {
			// Likely a URL with credentials: do not echo it.
			return nil, fmt.Errorf("revocation.redis.addrs[%d]: expected host:port, not a URL (credentials go in username and password)", i)
		}
		if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
			return nil, fmt.Errorf("revocation.redis.addrs[%d]: %q is not host:port", i, a)
		}
	}
	tlsConfig, err := withTLS(cfg, nil)
	if err != nil {
		return nil, err
	}

	// Reads go to masters only (no ReadOnly, RouteByLatency or replica
	// routing): a replica may lag, and a revocation the admin API has
	// acknowledged must be seen on the very next request.
	switch {
	case cfg.MasterName != "" && cfg.Cluster:
		return nil, errors.New("revocation.redis: master_name (Sentinel) and cluster cannot both be set")
	case cfg.MasterName != "":
		// The Sentinels have credentials of their own (sentinel_username,
		// sentinel_password), unset by default: sending the data password
		// to a Sentinel without one fails the handshake.
		return redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName:            cfg.MasterName,
			SentinelAddrs:         cfg.Addrs,
			SentinelUsername:      cfg.SentinelUsername,
			SentinelPassword:      cfg.SentinelPassword,
			Username:              cfg.Username,
			Password:              cfg.Password,
			DB:                    cfg.DB,
			TLSConfig:             tlsConfig,
			DialTimeout:           dialTimeout,
			ReadTimeout:           readTimeout,
			WriteTimeout:          writeTimeout,
			ContextTimeoutEnabled: true,
		}), nil
	case cfg.Cluster:
		if cfg.DB != 0 {
			return nil, errors.New("revocation.redis.db: a cluster has only database 0")
		}
		return redis.NewClusterClient(&redis.ClusterOptions{
			Addrs:                 cfg.Addrs,
			Username:              cfg.Username,
			Password:              cfg.Password,
			TLSConfig:             tlsConfig,
			DialTimeout:           dialTimeout,
			ReadTimeout:           readTimeout,
			WriteTimeout:          writeTimeout,
			ContextTimeoutEnabled: true,
		}), nil
	case len(cfg.Addrs) > 1:
		return nil, errors.New("revocation.redis.addrs: several addresses need master_name (Sentinel) or cluster: true")
	}
	opts := &redis.Options{
		Addr:      cfg.Addrs[0],
		Username:  cfg.Username,
		Password:  cfg.Password,
		DB:        cfg.DB,
		TLSConfig: tlsConfig,
	}
	setDefaults(opts)
	return redis.NewClient(opts), nil
}

// newURLClient handles revocation.redis.url. url.Parse errors quote the
// URL, password included, so they are never passed on.
func newURLClient(cfg config.Redis) (redis.UniversalClient, error) {
	const key = "revocation.redis.url"
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("%s: not a valid URL (check the host, port and %%-escapes; put the password in revocation.redis.password instead)", key)
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		// Not quoting the scheme: in "user:secret@host" it is "user".
		return nil, fmt.Errorf("%s: must start with redis:// or rediss://", key)
	}
	// An '@' outside the user info means a password with an unescaped '/',
	// '?' or '#' split the URL: the rest would show up in go-redis's error
	// about the path or query.
	if strings.Contains(u.Path+u.RawQuery+u.Fragment, "@") {
		return nil, fmt.Errorf("%s: unexpected '@' after the host (a password with '/', '?', '#' or '@' must be %%-escaped; or use revocation.redis.password)", key)
	}
	opts, err := redis.ParseURL(cfg.URL)
	if err != nil {
		// What is left to complain about is the path (database number) and
		// query options, neither of which holds the user info.
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	if cfg.Username != "" {
		opts.Username = cfg.Username
	}
	if cfg.Password != "" {
		opts.Password = cfg.Password
	}
	// ParseURL set TLSConfig for rediss:// (with the URL's host as
	// ServerName, and skip_verify); cfg.TLS turns it on for redis://.
	if opts.TLSConfig, err = withTLS(cfg, opts.TLSConfig); err != nil {
		return nil, err
	}
	setDefaults(opts)
	return redis.NewClient(opts), nil
}

// setDefaults fills the timeouts a URL's query did not set.
func setDefaults(o *redis.Options) {
	if o.DialTimeout == 0 {
		o.DialTimeout = dialTimeout
	}
	if o.ReadTimeout == 0 {
		o.ReadTimeout = readTimeout
	}
	if o.WriteTimeout == 0 {
		o.WriteTimeout = writeTimeout
	}
	// Without this go-redis ignores context deadlines on the socket, and a
	// per-request lookup timeout would not bound a slow Redis.
	o.ContextTimeoutEnabled = true
}

// withTLS returns c, or a new configuration when c is nil and cfg.TLS is
// set, with cfg.CAFile as its roots; nil means TLS is off. A new
// configuration leaves ServerName empty: crypto/tls then takes it from each
// dialed address, which is right for every Sentinel, master and cluster
// node.
func withTLS(cfg config.Redis, c *tls.Config) (*tls.Config, error) {
	if c == nil && cfg.TLS {
		c = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if cfg.CAFile == "" {
		return c, nil
	}
	if c == nil {
		return nil, errors.New("revocation.redis.ca_file: set, but TLS is off (use rediss:// or tls: true)")
	}
	pool, err := loadCAs(cfg.CAFile)
	if err != nil {
		return nil, err
	}
	c.RootCAs = pool
	return c, nil
}

func loadCAs(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("revocation.redis.ca_file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("revocation.redis.ca_file: %s holds no PEM certificate", file)
	}
	return pool, nil
}
