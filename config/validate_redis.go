package config

import (
	"fmt"
	"net"
	"strings"
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
		if u, err := parseURL(r.URL); err != nil {
			ps.add(base+".url", "expected a redis:// or rediss:// URL: %v", err)
		} else {
			tlsByURL = u.Scheme == "rediss"
			db := strings.TrimPrefix(u.Path, "/")
			switch {
			case u.Scheme != "redis" && u.Scheme != "rediss":
				ps.add(base+".url", "expected a redis:// or rediss:// URL, got scheme %q", u.Scheme)
			case u.Host == "":
				ps.add(base+".url", "needs a host")
			case db != "" && !isNonNegativeInt(db):
				ps.add(base+".url", "the path must be a database number like /0")
			}
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
		if _, _, err := net.SplitHostPort(a); err != nil || a == "" {
			ps.add(fmt.Sprintf("%s.addrs[%d]", base, i), "expected host:port, got %q", a)
		}
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
