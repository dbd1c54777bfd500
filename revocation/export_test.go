package revocation

import "github.com/redis/go-redis/v9"

// NewRedisPipelined returns a Redis store that reads with Cluster's
// pipeline of GETs even on a standalone client, so that path runs the
// conformance suite before a Cluster is available to the tests.
func NewRedisPipelined(client redis.UniversalClient, opts RedisOptions) *Redis {
	r := NewRedis(client, opts)
	r.cluster = true
	return r
}

// UsedSrc is the script behind MarkUsed, for the retry test.
const UsedSrc = usedSrc
