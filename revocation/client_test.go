package revocation_test

import (
	"crypto/tls"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/revgate/revgate/internal/redistest"
	"github.com/revgate/revgate/revocation"
)

// secret is the password in every client test; no error may contain it,
// nor its distinctive tail.
const (
	secret     = "hunter2-Zq9Secret"
	secretTail = "Zq9Secret"
)

func TestNewClientBuildsTheConfiguredClient(t *testing.T) {
	t.Parallel()
	ca := redistest.NewTLSFiles(t).CAFile
	tests := []struct {
		name  string
		opts  revocation.ClientOptions
		check func(t *testing.T, c redis.UniversalClient)
	}{
		{
			name: "a redis url gives a plain client with the URL's address, database and credentials",
			opts: revocation.ClientOptions{URL: "redis://user:" + secret + "@cache.example:6380/3"},
			check: func(t *testing.T, c redis.UniversalClient) {
				o := plainOptions(t, c)
				want := redis.Options{Addr: "cache.example:6380", DB: 3, Username: "user", Password: secret}
				if o.Addr != want.Addr || o.DB != want.DB || o.Username != want.Username || o.Password != want.Password {
					t.Errorf("options = addr %q db %d user %q, want %q %d %q (and the URL's password)", o.Addr, o.DB, o.Username, want.Addr, want.DB, want.Username)
				}
				if o.TLSConfig != nil {
					t.Error("TLS is on for redis://")
				}
				wantTimeouts(t, o)
			},
		},
		{
			name: "a username and password set in the options override the URL's",
			opts: revocation.ClientOptions{URL: "redis://old:oldpass@cache.example:6379/0", Username: "svc", Password: secret},
			check: func(t *testing.T, c redis.UniversalClient) {
				o := plainOptions(t, c)
				if o.Username != "svc" || o.Password != secret {
					t.Errorf("username %q, password overridden = %v; want svc, true", o.Username, o.Password == secret)
				}
			},
		},
		{
			name: "a rediss url turns TLS on, with the CA file as roots",
			opts: revocation.ClientOptions{URL: "rediss://cache.example:6380", CAFile: ca},
			check: func(t *testing.T, c redis.UniversalClient) {
				o := plainOptions(t, c)
				if o.TLSConfig == nil || o.TLSConfig.RootCAs == nil || o.TLSConfig.ServerName != "cache.example" {
					t.Fatalf("TLSConfig = %+v, want RootCAs set and ServerName cache.example", o.TLSConfig)
				}
				if o.TLSConfig.MinVersion < tls.VersionTLS12 {
					t.Errorf("MinVersion = %x, want at least TLS 1.2", o.TLSConfig.MinVersion)
				}
			},
		},
		{
			name: "TLS turns TLS on for a redis url",
			opts: revocation.ClientOptions{URL: "redis://cache.example:6379", TLS: true},
			check: func(t *testing.T, c redis.UniversalClient) {
				if o := plainOptions(t, c); o.TLSConfig == nil {
					t.Error("TLS is off")
				}
			},
		},
		{
			name: "timeouts in the URL's query are kept",
			opts: revocation.ClientOptions{URL: "redis://cache.example:6379/0?dial_timeout=7s&read_timeout=3s"},
			check: func(t *testing.T, c redis.UniversalClient) {
				o := plainOptions(t, c)
				if o.DialTimeout != 7*time.Second || o.ReadTimeout != 3*time.Second {
					t.Errorf("dial %v read %v, want 7s 3s", o.DialTimeout, o.ReadTimeout)
				}
			},
		},
		{
			name: "one address alone gives a plain client on the configured database",
			opts: revocation.ClientOptions{Addrs: []string{"10.0.0.1:6379"}, DB: 2, Password: secret, TLS: true},
			check: func(t *testing.T, c redis.UniversalClient) {
				o := plainOptions(t, c)
				if o.Addr != "10.0.0.1:6379" || o.DB != 2 || o.Password != secret || o.TLSConfig == nil {
					t.Errorf("options = addr %q db %d tls %v, want 10.0.0.1:6379 2 on, with the password", o.Addr, o.DB, o.TLSConfig != nil)
				}
				wantTimeouts(t, o)
			},
		},
		{
			name: "addresses with a master name give a Sentinel failover client",
			opts: revocation.ClientOptions{Addrs: []string{"s1:26379", "s2:26379"}, MasterName: "mymaster"},
			check: func(t *testing.T, c redis.UniversalClient) {
				if o := plainOptions(t, c); o.Addr != "FailoverClient" {
					t.Errorf("Addr = %q, want go-redis's failover client", o.Addr)
				}
			},
		},
		{
			name: "addresses with cluster give a cluster client",
			opts: revocation.ClientOptions{Addrs: []string{"n1:6379", "n2:6379"}, Cluster: true, Password: secret},
			check: func(t *testing.T, c redis.UniversalClient) {
				cc, ok := c.(*redis.ClusterClient)
				if !ok {
					t.Fatalf("client is a %T, want *redis.ClusterClient", c)
				}
				o := cc.Options()
				if len(o.Addrs) != 2 || o.Password != secret || !o.ContextTimeoutEnabled {
					t.Errorf("cluster options = addrs %v, context timeouts %v; want 2 addrs, the password, context timeouts on", o.Addrs, o.ContextTimeoutEnabled)
				}
				if o.DialTimeout != 2*time.Second || o.ReadTimeout != time.Second || o.WriteTimeout != time.Second {
					t.Errorf("cluster timeouts dial %v read %v write %v, want 2s 1s 1s", o.DialTimeout, o.ReadTimeout, o.WriteTimeout)
				}
			},
		},
		{
			name: "timeouts set in the options replace the defaults",
			opts: revocation.ClientOptions{Addrs: []string{"10.0.0.1:6379"}, DialTimeout: 5 * time.Second, ReadTimeout: 3 * time.Second, WriteTimeout: 4 * time.Second},
			check: func(t *testing.T, c redis.UniversalClient) {
				o := plainOptions(t, c)
				if o.DialTimeout != 5*time.Second || o.ReadTimeout != 3*time.Second || o.WriteTimeout != 4*time.Second || !o.ContextTimeoutEnabled {
					t.Errorf("dial %v read %v write %v context %v, want 5s 3s 4s true", o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.ContextTimeoutEnabled)
				}
			},
		},
		{
			name: "a timeout set in the options replaces the URL's, and the URL's others are kept",
			opts: revocation.ClientOptions{URL: "redis://cache.example:6379/0?dial_timeout=7s&read_timeout=3s", ReadTimeout: 5 * time.Second},
			check: func(t *testing.T, c redis.UniversalClient) {
				o := plainOptions(t, c)
				if o.DialTimeout != 7*time.Second || o.ReadTimeout != 5*time.Second || o.WriteTimeout != time.Second {
					t.Errorf("dial %v read %v write %v, want 7s (the URL's) 5s (the options') 1s (the default)", o.DialTimeout, o.ReadTimeout, o.WriteTimeout)
				}
			},
		},
		{
			name: "timeouts set in the options reach a Sentinel failover client",
			opts: revocation.ClientOptions{Addrs: []string{"s1:26379"}, MasterName: "mymaster", ReadTimeout: 3 * time.Second},
			check: func(t *testing.T, c redis.UniversalClient) {
				o := plainOptions(t, c)
				if o.DialTimeout != 2*time.Second || o.ReadTimeout != 3*time.Second || o.WriteTimeout != time.Second || !o.ContextTimeoutEnabled {
					t.Errorf("dial %v read %v write %v context %v, want 2s 3s 1s true", o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.ContextTimeoutEnabled)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := revocation.NewClient(tt.opts)
			if err != nil {
				t.Fatalf("NewClient: %v", err)
			}
			defer c.Close()
			tt.check(t, c)
		})
	}
}

func TestNewClientRejectsBadConfiguration(t *testing.T) {
	t.Parallel()
	notPEM := filepath.Join(t.TempDir(), "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	// An error about one field is an *OptionError naming it; the others
	// name the fields in conflict.
	tests := []struct {
		name       string
		opts       revocation.ClientOptions
		wantOption string // the field an *OptionError must name, or ""
		wantPrefix string // how the message starts when wantOption is ""
	}{
		{"no url and no addrs", revocation.ClientOptions{Password: secret}, "", "set URL or Addrs"},
		{"both url and addrs", revocation.ClientOptions{URL: "redis://h:1", Addrs: []string{"h:1"}, Password: secret}, "", "set URL or Addrs, not both"},
		{"a url that does not parse, with the password in it", revocation.ClientOptions{URL: "redis://user:" + secret + "@host:port/0"}, "URL", ""},
		{"a url whose password has an unescaped '/'", revocation.ClientOptions{URL: "redis://:ab/" + secret + "@host:6379/0"}, "URL", ""},
		{"a url whose password has an unescaped '?'", revocation.ClientOptions{URL: "redis://:12?" + secret + "@host:6379"}, "URL", ""},
		{"a url whose password has an unescaped '#'", revocation.ClientOptions{URL: "redis://:12#" + secret + "@host:6379"}, "URL", ""},
		{"a url without a scheme", revocation.ClientOptions{URL: secret + ":" + secret + "@host:6379"}, "URL", ""},
		{"an http url", revocation.ClientOptions{URL: "http://:" + secret + "@host:6379"}, "URL", ""},
		{"a url with a bad database", revocation.ClientOptions{URL: "redis://:" + secret + "@host:6379/x"}, "URL", ""},
		{"a url with an unknown option", revocation.ClientOptions{URL: "redis://:" + secret + "@host:6379/0?colour=blue"}, "URL", ""},
		{"several addresses without a topology", revocation.ClientOptions{Addrs: []string{"a:1", "b:1"}, Password: secret}, "Addrs", ""},
		{"an address that is a URL with a password", revocation.ClientOptions{Addrs: []string{"redis://:" + secret + "@host:6379"}}, "Addrs[0]", ""},
		{"an address without a port", revocation.ClientOptions{Addrs: []string{"a"}, Password: secret}, "Addrs[0]", ""},
		{"sentinel and cluster at once", revocation.ClientOptions{Addrs: []string{"a:1"}, MasterName: "m", Cluster: true, Password: secret}, "", "set MasterName (Sentinel) or Cluster, not both"},
		{"a cluster with a database", revocation.ClientOptions{Addrs: []string{"a:1"}, Cluster: true, DB: 1, Password: secret}, "DB", ""},
		{"a CA file that does not exist", revocation.ClientOptions{URL: "rediss://h:1", CAFile: "/nonexistent/ca.pem", Password: secret}, "CAFile", ""},
		{"a CA file that holds no certificate", revocation.ClientOptions{Addrs: []string{"a:1"}, TLS: true, CAFile: notPEM, Password: secret}, "CAFile", ""},
		{"a CA file without TLS", revocation.ClientOptions{URL: "redis://h:1", CAFile: notPEM, Password: secret}, "CAFile", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := revocation.NewClient(tt.opts)
			if err == nil {
				c.Close()
				t.Fatal("NewClient succeeded, want an error")
			}
			msg := err.Error()
			var oe *revocation.OptionError
			switch {
			case tt.wantOption == "":
				if errors.As(err, &oe) {
					t.Errorf("error %q is about the one field %s, want it to name the fields in conflict", msg, oe.Option)
				}
				if !strings.HasPrefix(msg, tt.wantPrefix) {
					t.Errorf("error %q does not start with %q", msg, tt.wantPrefix)
				}
			case !errors.As(err, &oe) || oe.Option != tt.wantOption:
				t.Errorf("error %q is not an *OptionError naming %s", msg, tt.wantOption)
			case !strings.HasPrefix(msg, tt.wantOption+": "):
				t.Errorf("error %q does not start with the field %q", msg, tt.wantOption)
			}
			if strings.Contains(msg, "revocation.redis") {
				t.Errorf("error %q names a configuration key: only the config package speaks in those", msg)
			}
			if strings.Contains(msg, secretTail) {
				t.Errorf("error %q contains (part of) the password", msg)
			}
		})
	}
}

func plainOptions(t *testing.T, c redis.UniversalClient) *redis.Options {
	t.Helper()
	pc, ok := c.(*redis.Client)
	if !ok {
		t.Fatalf("client is a %T, want *redis.Client", c)
	}
	return pc.Options()
}

// wantTimeouts checks the defaults the gateway relies on: short socket
// timeouts, and context deadlines honored (the per-request lookup
// timeout).
func wantTimeouts(t *testing.T, o *redis.Options) {
	t.Helper()
	if o.DialTimeout != 2*time.Second || o.ReadTimeout != time.Second || o.WriteTimeout != time.Second {
		t.Errorf("timeouts dial %v read %v write %v, want 2s 1s 1s", o.DialTimeout, o.ReadTimeout, o.WriteTimeout)
	}
	if !o.ContextTimeoutEnabled {
		t.Error("ContextTimeoutEnabled is off: context deadlines would not bound a lookup")
	}
}
