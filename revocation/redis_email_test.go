package revocation_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
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
			if _, err := s.Check(ctx, tt.q); err != nil {
				t.Fatal(err)
			}
			admin := srv.NewClient()
			before := commandCalls(t, admin)
			hook := &countingHook{}
			client.AddHook(hook)

			st, err := s.Check(ctx, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if tt.q.Email != "" && !st.EmailMark.Equal(mark) || tt.q.Email == "" && !st.EmailMark.IsZero() {
				t.Fatalf("Check(%+v) = %+v", tt.q, st)
			}
			if got := hook.cmds.Load(); got != tt.wantCmds {
				t.Errorf("Check sent %d single commands, want %d", got, tt.wantCmds)
			}
			if got := hook.pipelines.Load(); got != tt.wantPipeline {
				t.Errorf("Check sent %d pipelines, want %d", got, tt.wantPipeline)
			}
			after := commandCalls(t, admin)
			ran := make(map[string]int64)
			for name, n := range after {
				if d := n - before[name]; d != 0 {
					ran[name] = d
				}
			}
			if diff := cmp.Diff(tt.wantServer, ran); diff != "" {
				t.Errorf("commands the server ran for one Check (-want +got):\n%s", diff)
			}
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
