// Package revocation owns revgate's revocation state: the Store contract the
// gateway checks every request against, its Redis implementation (shared by
// every gateway, any topology), an in-memory implementation for the demo and
// single instances, the Redis key layout, and the Redis client and
// eviction-policy checks the gateway needs at start and in /readyz.
//
// Every record carries its own expiry (a revoked jti lives until the token
// would have expired, a mark until every token it could reject has), so the
// state never needs flushing. storetest holds the conformance suite every
// implementation and topology must pass.
package revocation
