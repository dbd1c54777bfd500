package jwtverify

import (
	"hash/maphash"
	"sync"
	"time"
)

// verifyCache remembers tokens that verified, so a token seen again skips
// the signature check, by far the largest cost of a request. It caches only
// verification, never a revocation answer: the store is asked on every
// request, so a revocation still applies from the very next one.
//
// An entry is keyed by a hash of the token and holds the token itself, so a
// hash collision can never make one token pass for another. It lives until
// the token's exp plus leeway (when the verifier would stop accepting it
// anyway) and only while the key set that verified it is still the loaded
// one: a key removed from the JWKS takes its tokens' entries with it.
// Entries are per purpose, because access and refresh routes require
// different claims. The cache is bounded; when a shard is full, expired
// entries and then an arbitrary one make room.
type verifyCache struct {
	seed     maphash.Seed
	perShard int
	shards   [cacheShards]cacheShard
}

const cacheShards = 16

type cacheShard struct {
	mu sync.Mutex
	m  map[uint64]cacheEntry
}

type cacheEntry struct {
	raw     string
	purpose Purpose
	claims  *Claims
	keys    *keySet
	until   time.Time
}

// newVerifyCache returns a cache of about size entries, or nil for size 0.
func newVerifyCache(size int) *verifyCache {
	if size <= 0 {
		return nil
	}
	c := &verifyCache{seed: maphash.MakeSeed(), perShard: max(1, size/cacheShards)}
	for i := range c.shards {
		c.shards[i].m = make(map[uint64]cacheEntry)
	}
	return c
}

func (c *verifyCache) hash(raw string, p Purpose) uint64 {
	return maphash.String(c.seed, raw) ^ uint64(p)
}

// get returns the claims of raw verified for p, when an entry is still good
// at now under the current key set.
func (c *verifyCache) get(raw string, p Purpose, keys *keySet, now time.Time) (*Claims, bool) {
	h := c.hash(raw, p)
	s := &c.shards[h%cacheShards]
	s.mu.Lock()
	e, ok := s.m[h]
	if ok && (e.raw != raw || e.purpose != p || e.keys != keys || !now.Before(e.until)) {
		if e.raw == raw {
			delete(s.m, h) // stale: expired or verified under another key set
		}
		ok = false
	}
	s.mu.Unlock()
	return e.claims, ok
}

// put remembers claims verified for raw and p under keys, until until.
func (c *verifyCache) put(raw string, p Purpose, claims *Claims, keys *keySet, until, now time.Time) {
	h := c.hash(raw, p)
	s := &c.shards[h%cacheShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, exists := s.m[h]; !exists && len(s.m) >= c.perShard {
		s.makeRoom(now)
	}
	s.m[h] = cacheEntry{raw: raw, purpose: p, claims: claims, keys: keys, until: until}
}

// makeRoom drops the expired entries it meets, and one arbitrary entry when
// none was expired. It looks at a bounded number of entries, so a put stays
// cheap however full the shard is.
func (s *cacheShard) makeRoom(now time.Time) {
	const scan = 8
	seen, dropped := 0, false
	var victim uint64
	for h, e := range s.m {
		if !now.Before(e.until) {
			delete(s.m, h)
			dropped = true
		} else if seen == 0 {
			victim = h
		}
		if seen++; seen >= scan {
			break
		}
	}
	if !dropped {
		delete(s.m, victim)
	}
}
