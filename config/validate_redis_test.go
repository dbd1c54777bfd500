package config_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	. "github.com/revgate/revgate/config"
	"github.com/revgate/revgate/gateway/jwtverify"
)

// redisSecret is the password in every revocation.redis case below; no
// problem may contain it, nor its distinctive tail in any case.
const (
	redisSecret     = "hunter2-Zq9Secret"
	redisSecretTail = "zq9secret" // compared in lower case
)

// TestValidateChecksWhatTheRedisClientWouldRefuse holds the checks the
// Redis client also makes: each problem is found here, named by its key,
// before serve builds the client.
func TestValidateChecksWhatTheRedisClientWouldRefuse(t *testing.T) {
	tests := []struct {
		name string
		r    Redis
		want []Problem
	}{
		{"an address that is a URL is refused without being quoted", Redis{Addrs: []string{"redis://:" + redisSecret + "@host:6379"}},
			[]Problem{{"revocation.redis.addrs[0]", "expected host:port, not a URL (credentials go in revocation.redis.username and password)"}}},
		{"an address with a user name is refused without being quoted", Redis{Addrs: []string{"user@host:6379"}},
			[]Problem{{"revocation.redis.addrs[0]", "expected host:port, not a URL (credentials go in revocation.redis.username and password)"}}},
		{"an address with an empty port is refused", Redis{Addrs: []string{"host:"}},
			[]Problem{{"revocation.redis.addrs[0]", `expected host:port, got "host:"`}}},
		{"several addresses need Sentinel or Cluster", Redis{Addrs: []string{"a:6379", "b:6379"}},
			[]Problem{{"revocation.redis.addrs", "several addresses need master_name (Sentinel) or cluster: true"}}},
		{"one address alone is a standalone server", Redis{Addrs: []string{"a:6379"}}, nil},
		{"a url that does not parse is refused without quoting the parser", Redis{URL: "redis://user:" + redisSecret + "@host:port/0"},
			[]Problem{{"revocation.redis.url", "expected a redis:// or rediss:// URL, but it does not parse (check the host, port and %-escapes: a password with '/', '?', '#' or '@' must be %-escaped, or go in revocation.redis.password)"}}},
		{"a url whose password has an unescaped '?' is refused", Redis{URL: "redis://:12?" + redisSecret + "@host:6379"},
			[]Problem{{"revocation.redis.url", "unexpected '@' after the host: a password with '/', '?', '#' or '@' must be %-escaped, or go in revocation.redis.password"}}},
		{"a url whose password has an unescaped '#' is refused", Redis{URL: "redis://:12#" + redisSecret + "@host:6379"},
			[]Problem{{"revocation.redis.url", "unexpected '@' after the host: a password with '/', '?', '#' or '@' must be %-escaped, or go in revocation.redis.password"}}},
		{"a url without '//' does not have its user name quoted as a scheme", Redis{URL: "user:" + redisSecret + "@host:6379"},
			[]Problem{{"revocation.redis.url", "expected a redis:// or rediss:// URL"}}},
		{"a url with an option the client does not know is refused", Redis{URL: "redis://host:6379/0?colour=blue"},
			[]Problem{{"revocation.redis.url", "unexpected option: colour"}}},
		{"a url with an option the client knows is valid", Redis{URL: "redis://host:6379/0?dial_timeout=3s&read_timeout=1s"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ValidConfig()
			c.Revocation.Redis = tt.r
			if d := cmp.Diff(tt.want, ProblemsOf(t, c.Validate(jwtverify.CheckAlgorithms))); d != "" {
				t.Errorf("problems (-want +got):\n%s", d)
			}
		})
	}
}

// TestValidateNamesTheRedisKeyAndNeverThePassword runs every connection
// setting the Redis client refuses (but for the CA file's content: Validate
// reads no files) through Validate: the first problem names the key, and no
// problem holds the password or a piece of it.
func TestValidateNamesTheRedisKeyAndNeverThePassword(t *testing.T) {
	tests := []struct {
		name    string
		r       Redis
		wantKey string
	}{
		{"no url and no addrs", Redis{Password: redisSecret}, "revocation.redis"},
		{"both url and addrs", Redis{URL: "redis://h:1", Addrs: []string{"h:1"}, Password: redisSecret}, "revocation.redis"},
		{"a url that does not parse, with the password in it", Redis{URL: "redis://user:" + redisSecret + "@host:port/0"}, "revocation.redis.url"},
		{"a url whose password has an unescaped '/'", Redis{URL: "redis://:ab/" + redisSecret + "@host:6379/0"}, "revocation.redis.url"},
		{"a url whose password has an unescaped '?'", Redis{URL: "redis://:12?" + redisSecret + "@host:6379"}, "revocation.redis.url"},
		{"a url whose password has an unescaped '#'", Redis{URL: "redis://:12#" + redisSecret + "@host:6379"}, "revocation.redis.url"},
		{"a url without a scheme", Redis{URL: redisSecret + ":" + redisSecret + "@host:6379"}, "revocation.redis.url"},
		{"an http url", Redis{URL: "http://:" + redisSecret + "@host:6379"}, "revocation.redis.url"},
		{"a url with a bad database", Redis{URL: "redis://:" + redisSecret + "@host:6379/x"}, "revocation.redis.url"},
		{"a url with an unknown option", Redis{URL: "redis://:" + redisSecret + "@host:6379/0?colour=blue"}, "revocation.redis.url"},
		{"several addresses without a topology", Redis{Addrs: []string{"a:1", "b:1"}, Password: redisSecret}, "revocation.redis.addrs"},
		{"an address that is a URL with a password", Redis{Addrs: []string{"redis://:" + redisSecret + "@host:6379"}}, "revocation.redis.addrs[0]"},
		{"an address without a port", Redis{Addrs: []string{"a"}, Password: redisSecret}, "revocation.redis.addrs[0]"},
		{"sentinel and cluster at once", Redis{Addrs: []string{"a:1"}, MasterName: "m", Cluster: true, Password: redisSecret}, "revocation.redis.cluster"},
		{"a cluster with a database", Redis{Addrs: []string{"a:1"}, Cluster: true, DB: 1, Password: redisSecret}, "revocation.redis.db"},
		{"a CA file without TLS", Redis{URL: "redis://h:1", CAFile: "/ca.pem", Password: redisSecret}, "revocation.redis.ca_file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ValidConfig()
			c.Revocation.Redis = tt.r
			err := c.Validate(jwtverify.CheckAlgorithms)
			ps := ProblemsOf(t, err)
			if len(ps) == 0 {
				t.Fatal("Validate found no problem")
			}
			if ps[0].Key != tt.wantKey {
				t.Errorf("first problem %q, want it about %s", ps[0], tt.wantKey)
			}
			if strings.Contains(strings.ToLower(err.Error()), redisSecretTail) {
				t.Errorf("problems show (part of) the password:\n%v", err)
			}
		})
	}
}
