package config

import (
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/redis/go-redis/v9"
)

func (r *Redis) validate(ps *problems) {
	const base = "revocation.redis"
	switch {
	case r.URL != "" && len(r.Addrs) > 0:
		ps.add(base, "set either url (standalone) or addrs (Sentinel or Cluster), not both")
	case r.URL == "" && len(r.Addrs) == 0:
		ps.add(base, "needs url (standalone) or addrs (Sentinel or Cluster)")
	}
	tlsByURL := false
	if r.URL != "" {
		if u := checkRedisURL(ps, base+".url", r.URL); u != nil {
			tlsByURL = u.Scheme == "rediss"
			if _, ok := u.User.Password(); ok && r.Password != "" {
				ps.add(base+".password", "is also set in revocation.redis.url: set it in one place")
			}
			if r.TLS && !tlsByURL {
				ps.add(base+".tls", "contradicts the redis:// url: use a rediss:// url for TLS")
			}
			if r.DB != 0 {
				ps.add(base+".db", "applies to addrs only: put the database in the url's path (/%d)", r.DB)
			}
		}
	}
	for i, a := range r.Addrs {
		key := fmt.Sprintf("%s.addrs[%d]", base, i)
		if strings.ContainsAny(a, "@/") {
			// Likely a URL with credentials: not quoted.
			ps.add(key, "expected host:port, not a URL (credentials go in revocation.redis.username and password)")
		} else if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
			ps.add(key, "expected host:port, got %q", a)
		}
	}
	if len(r.Addrs) > 1 && r.MasterName == "" && !r.Cluster {
		ps.add(base+".addrs", "several addresses need master_name (Sentinel) or cluster: true")
	}
	if r.MasterName == "" {
		if r.SentinelUsername != "" {
			ps.add(base+".sentinel_username", "applies only to Sentinel: set revocation.redis.master_name, or remove it")
		}
		if r.SentinelPasswordFile != "" {
			ps.add(base+".sentinel_password_file", "applies only to Sentinel: set revocation.redis.master_name, or remove it")
		} else if r.SentinelPassword != "" {
			ps.add(base+".sentinel_password", "applies only to Sentinel: set revocation.redis.master_name, or remove it")
		}
	}
	if r.MasterName != "" && len(r.Addrs) == 0 {
		ps.add(base+".master_name", "needs revocation.redis.addrs (the Sentinel addresses)")
	}
	if r.Cluster {
		if len(r.Addrs) == 0 {
			ps.add(base+".cluster", "needs revocation.redis.addrs (the cluster's seed addresses)")
		}
		if r.MasterName != "" {
			ps.add(base+".cluster", "cannot be combined with master_name (Sentinel)")
		}
	}
	switch {
	case r.DB < 0:
		ps.add(base+".db", "must not be negative")
	case r.DB != 0 && r.Cluster:
		ps.add(base+".db", "must be 0 with cluster: Redis Cluster has only database 0")
	}
	if r.CAFile != "" && !r.TLS && !tlsByURL {
		ps.add(base+".ca_file", "needs revocation.redis.tls: true or a rediss:// url")
	}
	// On a Cluster the count applies per shard (WAIT goes to the key's
	// master), so it is allowed there too.
	if r.MinReplicasAck < 0 {
		ps.add(base+".min_replicas_ack", "must not be negative (0 turns waiting for replicas off)")
	}
	switch {
	case r.MinReplicasTimeout < 0:
		ps.add(base+".min_replicas_timeout", "must not be negative")
	case r.MinReplicasTimeout == 0 && r.MinReplicasAck > 0:
		ps.add(base+".min_replicas_timeout", "must be greater than 0 with min_replicas_ack: Redis WAIT 0 would block until enough replicas answer, possibly forever")
	}
}

// checkRedisURL reports what is wrong with raw, revocation.redis.url, and
// returns it parsed, or nil when it does not parse. A password whose '/',
// '?', '#' or '@' is not %-escaped ends up anywhere in a URL, so no message
// quotes raw or a part of it; nor url.Parse's errors, which do.
func checkRedisURL(ps *problems, key, raw string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		ps.add(key, "expected a redis:// or rediss:// URL, but it does not parse (check the host, port and %%-escapes: a password with '/', '?', '#' or '@' must be %%-escaped, or go in revocation.redis.password)")
		return nil
	}
	db := strings.TrimPrefix(u.Path, "/")
	switch {
	case u.Opaque != "":
		// "user:secret@host": the scheme is the user name.
		ps.add(key, "expected a redis:// or rediss:// URL")
	case u.Scheme != "redis" && u.Scheme != "rediss":
		ps.add(key, "expected a redis:// or rediss:// URL, got scheme %q", u.Scheme)
	case u.Host == "":
		ps.add(key, "needs a host")
	case strings.Contains(u.Path+u.RawQuery+u.Fragment, "@"):
		ps.add(key, "unexpected '@' after the host: a password with '/', '?', '#' or '@' must be %%-escaped, or go in revocation.redis.password")
	case db != "" && !isNonNegativeInt(db):
		ps.add(key, "the path must be a database number like /0")
	default:
		// The query holds client options. go-redis, which reads them, knows
		// which it takes; its errors quote option names and values, never
		// the user info.
		if _, err := redis.ParseURL(raw); err != nil {
			ps.add(key, "%s", strings.TrimPrefix(err.Error(), "redis: "))
		}
	}
	return u
}
