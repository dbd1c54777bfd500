package revocation

import (
	"context"
	"errors"
	"fmt"
	"strconv"
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

// Redis is the Store shared by every gateway, on a standalone, Sentinel or
// Cluster Redis. See keys.go for the key layout; every key has a TTL.
type Redis struct {
	client    redis.UniversalClient
	keys      keys
	globalKey string
	// cluster: keys live in different slots, so Check cannot use one MGET.
	cluster bool
	forward *redis.Script
}

var _ Store = (*Redis)(nil)

// NewRedis returns a Store on client, whose keys start with keyPrefix
// (DefaultKeyPrefix when ""). The store owns client: Close closes it.
func NewRedis(client redis.UniversalClient, keyPrefix string) *Redis {
	if keyPrefix == "" {
		keyPrefix = DefaultKeyPrefix
	}
	k := keys{prefix: keyPrefix}
	_, cluster := client.(*redis.ClusterClient)
	return &Redis{
		client:    client,
		keys:      k,
		globalKey: k.global(),
		cluster:   cluster,
		// Script.Run sends EVALSHA and falls back to EVAL when the server
		// does not know the script yet (first use, restart, SCRIPT FLUSH).
		forward: redis.NewScript(forwardSrc),
	}
}

// Check implements Store in exactly one round trip: one MGET, or on a
// Cluster one pipeline of GETs (sent to each node concurrently).
func (r *Redis) Check(ctx context.Context, q Query) (State, error) {
	var buf [4]string
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
	exp := expiresAt.Unix()
	if err := r.forward.Run(ctx, r.client, []string{r.keys.token(jti)}, exp, exp).Err(); err != nil {
		return unavailable("revoke token", err)
	}
	return nil
}

// GetToken implements Store. The value is the expiry, so one GET answers.
func (r *Redis) GetToken(ctx context.Context, jti string) (TokenRevocation, error) {
	v, err := r.client.Get(ctx, r.keys.token(jti)).Result()
	if errors.Is(err, redis.Nil) {
		return TokenRevocation{}, ErrNotFound
	}
	if err != nil {
		return TokenRevocation{}, unavailable("get token", err)
	}
	exp, err := parseUnix(v)
	if err != nil {
		return TokenRevocation{}, unavailable("get token", err)
	}
	return TokenRevocation{JTI: jti, ExpiresAt: exp}, nil
}

// UnrevokeToken implements Store.
func (r *Redis) UnrevokeToken(ctx context.Context, jti string) error {
	if err := r.client.Del(ctx, r.keys.token(jti)).Err(); err != nil {
		return unavailable("unrevoke token", err)
	}
	return nil
}

// MarkSubject implements Store. When mark plus ttl has already passed on
// the server's clock, nothing is stored (the mark could reject no
// unexpired token), but the winning mark is still returned.
func (r *Redis) MarkSubject(ctx context.Context, subject string, mark time.Time, ttl time.Duration) (time.Time, error) {
	t, err := r.markForward(ctx, r.keys.subject(subject), mark, ttl)
	if err != nil {
		return time.Time{}, unavailable("mark subject", err)
	}
	return t, nil
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
	if err := r.client.Del(ctx, r.keys.subject(subject)).Err(); err != nil {
		return unavailable("unmark subject", err)
	}
	return nil
}

// MarkGlobal implements Store, with MarkSubject's rules.
func (r *Redis) MarkGlobal(ctx context.Context, mark time.Time, ttl time.Duration) (time.Time, error) {
	t, err := r.markForward(ctx, r.globalKey, mark, ttl)
	if err != nil {
		return time.Time{}, unavailable("mark global", err)
	}
	return t, nil
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
	if err := r.client.Del(ctx, r.globalKey).Err(); err != nil {
		return unavailable("unmark global", err)
	}
	return nil
}

// MarkUsed implements Store. Marking twice keeps the later expiry.
func (r *Redis) MarkUsed(ctx context.Context, jti string, expiresAt time.Time) error {
	exp := expiresAt.Unix()
	if err := r.forward.Run(ctx, r.client, []string{r.keys.used(jti)}, exp, exp).Err(); err != nil {
		return unavailable("mark used", err)
	}
	return nil
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
// mark, in whole seconds.
func (r *Redis) markForward(ctx context.Context, key string, mark time.Time, ttl time.Duration) (time.Time, error) {
	rec := markRecord(mark, ttl)
	n, err := r.forward.Run(ctx, r.client, []string{key}, rec.value, rec.expiresAt).Int64()
	if err != nil {
		return time.Time{}, err
	}
	return unixTime(n), nil
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
