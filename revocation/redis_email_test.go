package revocation_test

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/revgate/revgate/internal/redistest"
	"github.com/revgate/revgate/revocation"
)

// Asking about an email address adds one key to Check's one round trip,
// never a second one; not asking (Email "") adds nothing.
func TestRedisCheckWithAnEmailIsStillOneRoundTrip(t *testing.T) {
	t.Parallel()
	full := revocation.Query{JTI: "j1", Subject: "alice", Session: "sid-1", Used: true, Email: "Alice@Example.com"}
	tests := []struct {
		name         string
		newStore     func(redis.UniversalClient, revocation.RedisOptions) *revocation.Redis
		q            revocation.Query
		wantCmds     int64
		wantPipeline int64
		wantServer   map[string]int64
	}{
		{"standalone sends one MGET", revocation.NewRedis, full, 1, 0, map[string]int64{"mget": 1}},
		{"cluster mode sends one pipeline of GETs, one more for the address", revocation.NewRedisPipelined,
			full, 0, 1, map[string]int64{"get": 6}},
		{"cluster mode without an address reads no email key", revocation.NewRedisPipelined,
			revocation.Query{Subject: "alice"}, 0, 1, map[string]int64{"get": 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			srv := redistest.Start(t, redistest.Options{})
			client := newRedisClient(t, srv)
			s := tt.newStore(client, revocation.RedisOptions{})
			mark := time.Now().Truncate(time.Second)
			if _, err := s.MarkEmail(ctx, "alice@example.COM", mark, time.Hour); err != nil {
				t.Fatal(err)
			}
			st, cost := countedCheck(t, srv, client, s, tt.q)
			if tt.q.Email != "" && !st.EmailMark.Equal(mark) || tt.q.Email == "" && !st.EmailMark.IsZero() {
				t.Fatalf("Check(%+v) = %+v", tt.q, st)
			}
			cost.want(t, tt.wantCmds, tt.wantPipeline, tt.wantServer)
		})
	}
}

// An email mark is one key under the prefix, the address not readable in
// it, holding the mark and expiring ttl after it.
func TestRedisEmailRecord(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv := redistest.Start(t, redistest.Options{})
	const prefix = "email-record:"
	s := revocation.NewRedis(newRedisClient(t, srv), revocation.RedisOptions{KeyPrefix: prefix})
	mark := time.Now().Truncate(time.Second)
	if _, err := s.MarkEmail(ctx, " Alice@Example.com", mark, time.Hour); err != nil {
		t.Fatal(err)
	}
	admin := srv.NewClient()
	key := prefix + "e:" + revocation.DigestEmail("alice@example.com")
	keys, err := admin.Keys(ctx, prefix+"*").Result()
	if err != nil || len(keys) != 1 || keys[0] != key {
		t.Fatalf("keys after one email mark: %q, %v; want just %q", keys, err, key)
	}
	if v, err := admin.Get(ctx, key).Int64(); err != nil || v != mark.Unix() {
		t.Errorf("GET = %d, %v; want the mark %d", v, err, mark.Unix())
	}
	if exp, err := admin.ExpireTime(ctx, key).Result(); err != nil || exp != time.Duration(mark.Add(time.Hour).Unix())*time.Second {
		t.Errorf("EXPIRETIME = %v, %v; want the mark plus an hour", exp, err)
	}
}
