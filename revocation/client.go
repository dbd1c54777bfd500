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
)

// Client timeouts when ClientOptions leaves them zero. The gateway also
// bounds each lookup with its own context deadline, which the client
// honors; these bound everything else (admin calls, readiness, reconnects).
const (
	DefaultDialTimeout  = 2 * time.Second
	DefaultReadTimeout  = time.Second
	DefaultWriteTimeout = time.Second
)

// ClientOptions say how to reach Redis: exactly one of URL (one server) or
// Addrs (one server, Sentinels with MasterName, or Cluster seed nodes).
// Every other field is optional; its zero value is the default given.
type ClientOptions struct {
	// URL is a redis:// or rediss:// URL in go-redis's ParseURL syntax: the
	// path is the database number, the query may set client options.
	// Default: none (set Addrs instead).
	URL string
	// Addrs are host:port addresses: the server itself when alone, the
	// Sentinels with MasterName, the seed nodes with Cluster. Several
	// addresses need one of the two. Default: none (set URL instead).
	Addrs []string
	// MasterName is the name of the master the Sentinels in Addrs watch.
	// Default "": no Sentinel.
	MasterName string
	// Cluster makes Addrs the seed nodes of a Redis Cluster. Default false.
	Cluster bool
	// Username and Password authenticate to the data nodes (the master,
	// the cluster nodes). With URL they replace the URL's own when set.
	// Default: none, or the URL's.
	Username string
	Password string
	// SentinelUsername and SentinelPassword authenticate to the Sentinels
	// themselves (their own requirepass), not to the master; only with
	// MasterName. Default: none, since sending the data password to a
	// Sentinel that has none fails the handshake.
	SentinelUsername string
	SentinelPassword string
	// DB is the database for Addrs; a URL carries its own in its path, and
	// a Cluster has only database 0. Default 0.
	DB int
	// TLS turns TLS on for Addrs or a redis:// URL; a rediss:// URL turns
	// it on by itself. Default false.
	TLS bool
	// CAFile is a PEM bundle that replaces the system roots when verifying
	// the servers' certificates; it needs TLS. Default "": the system
	// roots.
	CAFile string
	// DialTimeout bounds opening a connection. With URL a set value
	// replaces the URL's dial_timeout. Default DefaultDialTimeout (or the
	// URL's).
	DialTimeout time.Duration
	// ReadTimeout and WriteTimeout bound one socket read or write; a
	// context deadline bounds them further. With URL a set value replaces
	// the URL's read_timeout or write_timeout. Default DefaultReadTimeout
	// and DefaultWriteTimeout (or the URL's).
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
}

// NewClient builds the Redis client o describes:
//   - URL (redis:// or rediss://): a *redis.Client;
//   - Addrs with MasterName: a Sentinel-backed failover *redis.Client;
//   - Addrs with Cluster: a *redis.ClusterClient;
//   - one address alone: a *redis.Client.
//
// Every client honors context deadlines on its sockets, so a per-request
// deadline bounds a slow Redis. Nothing is dialed here. An error about one
// field is an *OptionError naming it; no error contains a password or the
// URL.
func NewClient(o ClientOptions) (redis.UniversalClient, error) {
	if o.URL != "" && len(o.Addrs) > 0 {
		return nil, errors.New("set URL or Addrs, not both")
	}
	if o.URL != "" {
		return newURLClient(o)
	}
	if len(o.Addrs) == 0 {
		return nil, errors.New("set URL or Addrs")
	}
	for i, a := range o.Addrs {
		if strings.ContainsAny(a, "@/") {
			// Likely a URL with credentials: do not echo it.
			return nil, optionError(fmt.Sprintf("Addrs[%d]", i), "expected host:port, not a URL (credentials go in Username and Password)")
		}
		if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
			return nil, optionError(fmt.Sprintf("Addrs[%d]", i), "%q is not host:port", a)
		}
	}
	tlsConfig, err := withTLS(o, nil)
	if err != nil {
		return nil, err
	}
	t := o.timeouts()

	// Reads go to masters only (no ReadOnly, RouteByLatency or replica
	// routing): a replica may lag, and a revocation the admin API has
	// acknowledged must be seen on the very next request.
	switch {
	case o.MasterName != "" && o.Cluster:
		return nil, errors.New("set MasterName (Sentinel) or Cluster, not both")
	case o.MasterName != "":
		return redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName:            o.MasterName,
			SentinelAddrs:         o.Addrs,
			SentinelUsername:      o.SentinelUsername,
			SentinelPassword:      o.SentinelPassword,
			Username:              o.Username,
			Password:              o.Password,
			DB:                    o.DB,
			TLSConfig:             tlsConfig,
			DialTimeout:           t.dial,
			ReadTimeout:           t.read,
			WriteTimeout:          t.write,
			ContextTimeoutEnabled: true,
		}), nil
	case o.Cluster:
		if o.DB != 0 {
			return nil, optionError("DB", "a cluster has only database 0")
		}
		return redis.NewClusterClient(&redis.ClusterOptions{
			Addrs:                 o.Addrs,
			Username:              o.Username,
			Password:              o.Password,
			TLSConfig:             tlsConfig,
			DialTimeout:           t.dial,
			ReadTimeout:           t.read,
			WriteTimeout:          t.write,
			ContextTimeoutEnabled: true,
		}), nil
	case len(o.Addrs) > 1:
		return nil, optionError("Addrs", "several addresses need MasterName (Sentinel) or Cluster")
	}
	opts := &redis.Options{
		Addr:      o.Addrs[0],
		Username:  o.Username,
		Password:  o.Password,
		DB:        o.DB,
		TLSConfig: tlsConfig,
	}
	t.apply(opts)
	return redis.NewClient(opts), nil
}

// newURLClient handles ClientOptions.URL. url.Parse errors quote the URL,
// password included, so they are never passed on.
func newURLClient(o ClientOptions) (redis.UniversalClient, error) {
	u, err := url.Parse(o.URL)
	if err != nil {
		return nil, optionError("URL", "not a valid URL (check the host, port and %%-escapes; or put the password in Password instead)")
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		// Not quoting the scheme: in "user:secret@host" it is "user".
		return nil, optionError("URL", "must start with redis:// or rediss://")
	}
	// An '@' outside the user info means a password with an unescaped '/',
	// '?' or '#' split the URL: the rest would show up in go-redis's error
	// about the path or query.
	if strings.Contains(u.Path+u.RawQuery+u.Fragment, "@") {
		return nil, optionError("URL", "unexpected '@' after the host (a password with '/', '?', '#' or '@' must be %%-escaped; or put it in Password)")
	}
	opts, err := redis.ParseURL(o.URL)
	if err != nil {
		// What is left to complain about is the path (database number) and
		// query options, neither of which holds the user info.
		return nil, &OptionError{Option: "URL", Err: err}
	}
	if o.Username != "" {
		opts.Username = o.Username
	}
	if o.Password != "" {
		opts.Password = o.Password
	}
	// ParseURL set TLSConfig for rediss:// (with the URL's host as
	// ServerName, and skip_verify); o.TLS turns it on for redis://.
	if opts.TLSConfig, err = withTLS(o, opts.TLSConfig); err != nil {
		return nil, err
	}
	// A timeout set in o wins over the URL's, as the credentials do; one
	// set in neither gets the default.
	t := timeouts{dial: o.DialTimeout, read: o.ReadTimeout, write: o.WriteTimeout}
	t = t.or(timeouts{dial: opts.DialTimeout, read: opts.ReadTimeout, write: opts.WriteTimeout})
	t = t.or(defaultTimeouts)
	t.apply(opts)
	return redis.NewClient(opts), nil
}

// timeouts are a client's socket timeouts.
type timeouts struct{ dial, read, write time.Duration }

var defaultTimeouts = timeouts{dial: DefaultDialTimeout, read: DefaultReadTimeout, write: DefaultWriteTimeout}

// timeouts returns o's timeouts, the defaults where o leaves them zero.
func (o ClientOptions) timeouts() timeouts {
	return timeouts{dial: o.DialTimeout, read: o.ReadTimeout, write: o.WriteTimeout}.or(defaultTimeouts)
}

// or fills t's zero timeouts from d.
func (t timeouts) or(d timeouts) timeouts {
	if t.dial == 0 {
		t.dial = d.dial
	}
	if t.read == 0 {
		t.read = d.read
	}
	if t.write == 0 {
		t.write = d.write
	}
	return t
}

// apply sets t on a standalone client's options.
func (t timeouts) apply(o *redis.Options) {
	o.DialTimeout, o.ReadTimeout, o.WriteTimeout = t.dial, t.read, t.write
	// Without this go-redis ignores context deadlines on the socket, and a
	// per-request lookup timeout would not bound a slow Redis.
	o.ContextTimeoutEnabled = true
}

// withTLS returns c, or a new configuration when c is nil and o.TLS is set,
// with o.CAFile as its roots; nil means TLS is off. A new configuration
// leaves ServerName empty: crypto/tls then takes it from each dialed
// address, which is right for every Sentinel, master and cluster node.
func withTLS(o ClientOptions, c *tls.Config) (*tls.Config, error) {
	if c == nil && o.TLS {
		c = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if o.CAFile == "" {
		return c, nil
	}
	if c == nil {
		return nil, optionError("CAFile", "set, but TLS is off (use a rediss:// URL or TLS)")
	}
	pool, err := loadCAs(o.CAFile)
	if err != nil {
		return nil, err
	}
	c.RootCAs = pool
	return c, nil
}

func loadCAs(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, &OptionError{Option: "CAFile", Err: err}
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, optionError("CAFile", "%s holds no PEM certificate", file)
	}
	return pool, nil
}

// An OptionError is a ClientOptions field NewClient cannot use. Its text is
// "Option: what is wrong", and never holds a password or the URL.
type OptionError struct {
	// Option names the field, with an index for Addrs: "URL", "Addrs[1]",
	// "CAFile".
	Option string
	Err    error
}

func (e *OptionError) Error() string { return e.Option + ": " + e.Err.Error() }

func (e *OptionError) Unwrap() error { return e.Err }

func optionError(option, format string, args ...any) error {
	return &OptionError{Option: option, Err: fmt.Errorf(format, args...)}
}
