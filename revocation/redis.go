package revocation

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// forwardSrc moves a record forward, atomically. The mark rule ("a later
// stored mark is kept") and the jti rule ("revoking twice keeps the later
// expiry") are the same rule once a jti record's value is its expiry.
//
// KEYS[1] is the record, ARGV[1] the new value and ARGV[2] when the new
// value expires, both unix seconds. A stored value that is not earlier is
// kept, with its own expiry. Otherwise the new value is stored with EXAT,
// unless its expiry has already passed on the server's clock: such a value
// could reject no unexpired token, so there is nothing worth storing (and
// EXAT in the past is not something to rely on). It returns the winning
// value either way.
//
// TIME in a script is fine: Redis 7 (and 5 and 6 by default) replicates a
// script's effects, not the script.
const forwardSrc = `
local cur = tonumber(redis.call('GET', KEYS[1]))
local new = tonumber(ARGV[1])
if cur and cur >= new then
	return cur
end
if tonumber(ARGV[2]) > tonumber(redis.call('TIME')[1]) then
	redis.call('SET', KEYS[1], ARGV[1], 'EXAT', ARGV[2])
end
return new
`

// expirySrc is forwardSrc for revoked jti records, whose value is 1 and
// whose expiry is their key's: a record that already expires no earlier is
// kept, otherwise 1 is stored with EXAT, unless that expiry has passed.
// KEYS[1] is the record, ARGV[1] its expiry in unix seconds. It returns
// nothing useful.
const expirySrc = `
local ms = redis.call('PTTL', KEYS[1])
local t = redis.call('TIME')
local now = tonumber(t[1])
local exp = tonumber(ARGV[1])
if ms == -1 or (ms >= 0 and now + ms / 1000 >= exp) then
	return 0
end
if exp > now then
	redis.call('SET', KEYS[1], 1, 'EXAT', exp)
end
return 0
`

// usedSrc records a used refresh jti and answers whether another request
// recorded it first. KEYS[1] is the record, ARGV[1] its expiry in unix
// seconds, ARGV[2] a nonce of this call, stored as the value: go-redis
// retries a command whose answer was lost, and the retry must find its own
// nonce, not mistake its own first run for another use. Marking twice keeps
// the later expiry. It returns 1 when another call recorded the jti, else 0.
const usedSrc = `
local cur = redis.call('GET', KEYS[1])
local t = redis.call('TIME')
local now = tonumber(t[1])
local exp = tonumber(ARGV[1])
if cur then
	local ms = redis.call('PTTL', KEYS[1])
	if ms >= 0 and now + ms / 1000 < exp then
		redis.call('SET', KEYS[1], cur, 'EXAT', exp)
	end
	if cur == ARGV[2] then
		return 0
	end
	return 1
end
if exp > now then
	redis.call('SET', KEYS[1], ARGV[2], 'EXAT', exp)
end
return 0
`

// expiryOfSrc answers a record's expiry in unix seconds, from the server's
// clock and the key's remaining time to live (so the answer is the second
// EXAT set); -2 when the key does not exist.
const expiryOfSrc = `
local ms = redis.call('PTTL', KEYS[1])
if ms < 0 then
	return ms
end
local t = redis.call('TIME')
return math.floor((tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + ms + 500) / 1000)
`

// DefaultMinReplicasTimeout is RedisOptions.MinReplicasTimeout when zero.
const DefaultMinReplicasTimeout = 500 * time.Millisecond

// RedisOptions configure a Redis store. The zero value is a store with the
// default key prefix whose writes do not wait for replicas.
type RedisOptions struct {
	// KeyPrefix starts every key the store reads and writes. Default
	// DefaultKeyPrefix.
	KeyPrefix string
	// MinReplicasAck, when above 0, makes every write wait (Redis WAIT)
	// until that many replicas of the key's master hold it, and fail with
	// ErrNotReplicated when fewer do within MinReplicasTimeout. Redis
	// replication is asynchronous: without it an acknowledged revocation
	// can be lost if the master dies before a replica has it. Default 0:
	// a write returns once the master has it.
	MinReplicasAck int
	// MinReplicasTimeout bounds that wait. Default
	// DefaultMinReplicasTimeout.
	MinReplicasTimeout time.Duration
}

// Redis is the Store shared by every gateway, on a standalone, Sentinel or
// Cluster Redis. See keys.go for the key layout; every key has a TTL.
type Redis struct {
	client    redis.UniversalClient
	keys      keys
	globalKey string
	// cluster: keys live in different slots, so Check cannot use one MGET.
	cluster bool
	forward *redis.Script
	// expiry and expiryOf write and read jti and session records (expirySrc,
	// expiryOfSrc).
	expiry   *redis.Script
	expiryOf *redis.Script
	used     *redis.Script
	// minAck and ackTimeout are RedisOptions.MinReplicasAck and
	// MinReplicasTimeout; minAck 0 means writes do not WAIT.
	minAck     int
	ackTimeout time.Duration
}

var _ Store = (*Redis)(nil)

// NewRedis returns a Store on client configured by opts. The store owns
// client: Close closes it.
func NewRedis(client redis.UniversalClient, opts RedisOptions) *Redis {
	if opts.KeyPrefix == "" {
		opts.KeyPrefix = DefaultKeyPrefix
	}
	if opts.MinReplicasTimeout <= 0 {
		// WAIT with a timeout of 0 would block until enough replicas
		// answer, possibly forever.
		opts.MinReplicasTimeout = DefaultMinReplicasTimeout
	}
	k := keys{prefix: opts.KeyPrefix}
	_, cluster := client.(*redis.ClusterClient)
	return &Redis{
		client:    client,
		keys:      k,
		globalKey: k.global(),
		cluster:   cluster,
		// Script.Run sends EVALSHA and falls back to EVAL when the server
		// does not know the script yet (first use, restart, SCRIPT FLUSH).
		forward:    redis.NewScript(forwardSrc),
		expiry:     redis.NewScript(expirySrc),
		expiryOf:   redis.NewScript(expiryOfSrc),
		used:       redis.NewScript(usedSrc),
		minAck:     max(opts.MinReplicasAck, 0),
		ackTimeout: opts.MinReplicasTimeout,
	}
}

// Check implements Store in exactly one round trip: one MGET, or on a
// Cluster one pipeline of GETs (sent to each node concurrently).
func (r *Redis) Check(ctx context.Context, q Query) (State, error) {
	email := CanonicalEmail(q.Email)
	var buf [6]string
	ks := buf[:0]
	if q.JTI != "" {
		ks = append(ks, r.keys.token(q.JTI))
		if q.Used {
			ks = append(ks, r.keys.used(q.JTI))
		}
	}
	if q.Subject != "" {
		ks = append(ks, r.keys.subject(q.Subject))
	}
	if q.Session != "" {
		ks = append(ks, r.keys.session(q.Session))
	}
	if email != "" {
		ks = append(ks, r.keys.email(email))
	}
	ks = append(ks, r.globalKey)

	vals, err := r.getAll(ctx, ks)
	if err != nil {
		return State{}, unavailable("check", err)
	}

	var st State
	i := 0
	if q.JTI != "" {
		st.JTIRevoked = vals[i] != nil
		i++
		if q.Used {
			st.JTIUsed = vals[i] != nil
			i++
		}
	}
	if q.Subject != "" {
		if st.SubjectMark, err = parseMark(vals[i]); err != nil {
			return State{}, unavailable("check: subject mark", err)
		}
		i++
	}
	if q.Session != "" {
		st.SessionRevoked = vals[i] != nil
		i++
	}
	if email != "" {
		if st.EmailMark, err = parseMark(vals[i]); err != nil {
			return State{}, unavailable("check: email mark", err)
		}
		i++
	}
	if st.GlobalMark, err = parseMark(vals[i]); err != nil {
		return State{}, unavailable("check: global mark", err)
	}
	return st, nil
}

// getAll reads ks, one element per key: nil when the key does not exist,
// else its string value.
func (r *Redis) getAll(ctx context.Context, ks []string) ([]any, error) {
	if !r.cluster {
		return r.client.MGet(ctx, ks...).Result()
	}
	pipe := r.client.Pipeline()
	cmds := make([]*redis.StringCmd, len(ks))
	for i, k := range ks {
		cmds[i] = pipe.Get(ctx, k)
	}
	// Exec's error is the first command's error, and redis.Nil is an
	// answer here, not a failure: look at each command instead.
	_, _ = pipe.Exec(ctx)
	vals := make([]any, len(ks))
	for i, c := range cmds {
		switch v, err := c.Result(); {
		case err == nil:
			vals[i] = v
		case !errors.Is(err, redis.Nil):
			return nil, err
		}
	}
	return vals, nil
}

// parseMark reads a mark value from MGET: nil (no mark) or unix seconds.
func parseMark(v any) (time.Time, error) {
	if v == nil {
		return time.Time{}, nil
	}
	s, ok := v.(string)
	if !ok {
		return time.Time{}, fmt.Errorf("unexpected reply type %T", v)
	}
	return parseUnix(s)
}

func parseUnix(s string) (time.Time, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// The value is ours (a number we wrote), never a secret, but say
		// no more than needed.
		return time.Time{}, errors.New("stored value is not unix seconds")
	}
	return unixTime(n), nil
}

// RevokeToken implements Store. An expiry that has already passed records
// nothing: the token is expired anyway.
func (r *Redis) RevokeToken(ctx context.Context, jti string, expiresAt time.Time) error {
	key := r.keys.token(jti)
	return r.write(ctx, "revoke token", key, func(c redis.Cmdable) error {
		return r.expiry.Run(ctx, c, []string{key}, ceilUnix(expiresAt)).Err()
	})
}

// GetToken implements Store. The record's expiry is its key's, read in one
// script call.
func (r *Redis) GetToken(ctx context.Context, jti string) (TokenRevocation, error) {
	exp, err := r.expiryOf.Run(ctx, r.client, []string{r.keys.token(jti)}).Int64()
	if err != nil {
		return TokenRevocation{}, unavailable("get token", err)
	}
	if exp < 0 {
		return TokenRevocation{}, ErrNotFound
	}
	return TokenRevocation{JTI: jti, ExpiresAt: unixTime(exp)}, nil
}

// UnrevokeToken implements Store.
func (r *Redis) UnrevokeToken(ctx context.Context, jti string) error {
	return r.del(ctx, "unrevoke token", r.keys.token(jti))
}

// RevokeSession implements Store, with RevokeToken's rules and record
// shape: the value 1, expiring at until.
func (r *Redis) RevokeSession(ctx context.Context, sid string, until time.Time) error {
	key := r.keys.session(sid)
	return r.write(ctx, "revoke session", key, func(c redis.Cmdable) error {
		return r.expiry.Run(ctx, c, []string{key}, ceilUnix(until)).Err()
	})
}

// GetSession implements Store.
func (r *Redis) GetSession(ctx context.Context, sid string) (SessionRevocation, error) {
	exp, err := r.expiryOf.Run(ctx, r.client, []string{r.keys.session(sid)}).Int64()
	if err != nil {
		return SessionRevocation{}, unavailable("get session", err)
	}
	if exp < 0 {
		return SessionRevocation{}, ErrNotFound
	}
	return SessionRevocation{Session: sid, ExpiresAt: unixTime(exp)}, nil
}

// UnrevokeSession implements Store.
func (r *Redis) UnrevokeSession(ctx context.Context, sid string) error {
	return r.del(ctx, "unrevoke session", r.keys.session(sid))
}

// MarkSubject implements Store. When mark plus ttl has already passed on
// the server's clock, nothing is stored (the mark could reject no
// unexpired token), but the winning mark is still returned.
func (r *Redis) MarkSubject(ctx context.Context, subject string, mark time.Time, ttl time.Duration) (time.Time, error) {
	return r.markForward(ctx, "mark subject", r.keys.subject(subject), mark, ttl)
}

// GetSubject implements Store.
func (r *Redis) GetSubject(ctx context.Context, subject string) (time.Time, error) {
	t, err := r.getMark(ctx, r.keys.subject(subject))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return time.Time{}, unavailable("get subject", err)
	}
	return t, err
}

// UnmarkSubject implements Store.
func (r *Redis) UnmarkSubject(ctx context.Context, subject string) error {
	return r.del(ctx, "unmark subject", r.keys.subject(subject))
}

// MarkEmail implements Store, with MarkSubject's rules.
func (r *Redis) MarkEmail(ctx context.Context, address string, mark time.Time, ttl time.Duration) (time.Time, error) {
	return r.markForward(ctx, "mark email", r.keys.email(CanonicalEmail(address)), mark, ttl)
}

// GetEmail implements Store.
func (r *Redis) GetEmail(ctx context.Context, address string) (time.Time, error) {
	t, err := r.getMark(ctx, r.keys.email(CanonicalEmail(address)))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return time.Time{}, unavailable("get email", err)
	}
	return t, err
}

// UnmarkEmail implements Store.
func (r *Redis) UnmarkEmail(ctx context.Context, address string) error {
	return r.del(ctx, "unmark email", r.keys.email(CanonicalEmail(address)))
}

// MarkGlobal implements Store, with MarkSubject's rules.
func (r *Redis) MarkGlobal(ctx context.Context, mark time.Time, ttl time.Duration) (time.Time, error) {
	return r.markForward(ctx, "mark global", r.globalKey, mark, ttl)
}

// GetGlobal implements Store.
func (r *Redis) GetGlobal(ctx context.Context) (time.Time, error) {
	t, err := r.getMark(ctx, r.globalKey)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return time.Time{}, unavailable("get global", err)
	}
	return t, err
}

// UnmarkGlobal implements Store.
func (r *Redis) UnmarkGlobal(ctx context.Context) error {
	return r.del(ctx, "unmark global", r.globalKey)
}

// MarkUsed implements Store. Marking twice keeps the later expiry. The
// answer is kept when the write succeeded but too few replicas acknowledged
// it (an error wrapping ErrNotReplicated).
func (r *Redis) MarkUsed(ctx context.Context, jti string, expiresAt time.Time) (alreadyUsed bool, err error) {
	var nonce [12]byte
	_, _ = rand.Read(nonce[:])
	key := r.keys.used(jti)
	err = r.write(ctx, "mark used", key, func(c redis.Cmdable) error {
		n, err := r.used.Run(ctx, c, []string{key}, ceilUnix(expiresAt), nonce[:]).Int64()
		alreadyUsed = n == 1
		return err
	})
	return alreadyUsed, err
}

// Ping implements Store.
func (r *Redis) Ping(ctx context.Context) error {
	if err := r.client.Ping(ctx).Err(); err != nil {
		return unavailable("ping", err)
	}
	return nil
}

// Close implements Store by closing the client.
func (r *Redis) Close() error { return r.client.Close() }

// markForward runs the forward script for a mark that lives ttl past the
// mark, in whole seconds, and returns the mark in force.
func (r *Redis) markForward(ctx context.Context, op, key string, mark time.Time, ttl time.Duration) (time.Time, error) {
	rec := markRecord(mark, ttl)
	var n int64
	err := r.write(ctx, op, key, func(c redis.Cmdable) (err error) {
		n, err = r.forward.Run(ctx, c, []string{key}, rec.value, rec.expiresAt).Int64()
		return err
	})
	if err != nil {
		return time.Time{}, err
	}
	return unixTime(n), nil
}

// del deletes key.
func (r *Redis) del(ctx context.Context, op, key string) error {
	return r.write(ctx, op, key, func(c redis.Cmdable) error { return c.Del(ctx, key).Err() })
}

// write runs do, which writes key through c, and wraps its failure in
// ErrUnavailable. With MinReplicasAck set it then sends WAIT.
//
// WAIT counts the replicas that have acknowledged the last write made on
// the same connection, so both go over one dedicated connection to the
// key's master (on a Cluster, the master of the key's slot: WAIT works per
// shard). A go-redis Conn never silently reconnects: if the connection
// breaks between the two, WAIT fails rather than answering for a fresh
// connection that wrote nothing.
//
// A write that changed nothing (a later mark already stored, a key already
// absent) propagates nothing, so WAIT has nothing new to wait for and
// answers at once: the state in force came from another write, which its
// writer's own WAIT covers.
func (r *Redis) write(ctx context.Context, op, key string, do func(c redis.Cmdable) error) error {
	if r.minAck == 0 {
		if err := do(r.client); err != nil {
			return unavailable(op, err)
		}
		return nil
	}
	node, err := r.masterFor(ctx, key)
	if err != nil {
		return unavailable(op, err)
	}
	conn := node.Conn()
	defer conn.Close()
	if err := do(conn); err != nil {
		if cc, ok := r.client.(*redis.ClusterClient); ok && isRedirect(err) {
			// The slot moved (resharding or a failover the client has not
			// seen yet): refresh the slot map so that a retry finds the
			// new master.
			cc.ReloadState(ctx)
		}
		return unavailable(op, err)
	}
	n, err := conn.Wait(ctx, r.minAck, r.ackTimeout).Result()
	if err != nil {
		return unavailable(op+": wait for replicas", err)
	}
	if n < int64(r.minAck) {
		return fmt.Errorf("%w: %w: redis %s: applied on the master but acknowledged by %d of %d replicas within %s; it may not survive a failover, retrying is safe",
			ErrUnavailable, ErrNotReplicated, op, n, r.minAck, r.ackTimeout)
	}
	return nil
}

// masterFor returns the client of the master that holds key.
func (r *Redis) masterFor(ctx context.Context, key string) (*redis.Client, error) {
	switch c := r.client.(type) {
	case *redis.Client:
		// Standalone, or Sentinel: a failover client always talks to the
		// current master.
		return c, nil
	case *redis.ClusterClient:
		return c.MasterForKey(ctx, key)
	default:
		return nil, fmt.Errorf("waiting for replicas (MinReplicasAck) needs a standalone, Sentinel or Cluster client, not %T", r.client)
	}
}

// isRedirect reports a Cluster MOVED or ASK reply.
func isRedirect(err error) bool {
	var rerr redis.Error
	if !errors.As(err, &rerr) {
		return false
	}
	msg := rerr.Error()
	return strings.HasPrefix(msg, "MOVED ") || strings.HasPrefix(msg, "ASK ")
}

// getMark reads one mark; ErrNotFound when there is none. Other errors are
// the caller's to wrap.
func (r *Redis) getMark(ctx context.Context, key string) (time.Time, error) {
	v, err := r.client.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		return time.Time{}, ErrNotFound
	}
	if err != nil {
		return time.Time{}, err
	}
	return parseUnix(v)
}

// unavailable wraps a failure of operation op in ErrUnavailable, keeping
// the cause for errors.Is (a context deadline, say). go-redis errors name
// addresses and Redis replies, never the password or a key's value.
func unavailable(op string, err error) error {
	return fmt.Errorf("%w: redis %s: %w", ErrUnavailable, op, err)
}
