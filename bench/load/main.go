// Command load fills a benchmark Redis with revocation state through the
// revocation package's own Store methods (RevokeToken, MarkSubject), so the
// key layout, values and TTLs are exactly revgate's by construction, and
// measures what each record costs: Redis's used_memory before and after
// each kind is loaded, divided by the count.
//
//	load -addr 127.0.0.1:PORT -marks 100000 -mark-unix T -jtis 1000000 [-revoke JTI]
//
// Marks are loaded first (for Subject(0) ... Subject(marks-1), all at
// -mark-unix, which run.sh puts before every bench token's iat so the marks
// are read but reject nothing), then -jtis random 32-hex jtis (the form
// `revgate token mint` and most issuers use) expiring 1h to 20h from now,
// then -revoke (a jti a sanity check expects to be rejected). It prints one
// JSON object. The memory figures exclude the loader's own connections:
// used_memory is read on a single connection while no pool is open, once it
// has stopped moving (a growing keyspace leaves Redis rehashing into a
// table twice the size for a few seconds, both tables allocated meanwhile).
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/revgate/revgate/bench/internal/benchdata"
	"github.com/revgate/revgate/revocation"
)

// Result is what load prints.
type Result struct {
	Addr             string  `json:"addr"`
	Marks            int     `json:"marks"`
	JTIs             int     `json:"jtis"`
	UsedMemoryBefore int64   `json:"used_memory_before"`
	UsedMemoryMarks  int64   `json:"used_memory_after_marks"`
	UsedMemoryJTIs   int64   `json:"used_memory_after_jtis"`
	BytesPerMark     float64 `json:"bytes_per_mark"`
	BytesPerJTI      float64 `json:"bytes_per_jti"`
	DBSize           int64   `json:"dbsize"`
	MarkKeyBytes     int     `json:"mark_key_bytes"`
	JTIKeyBytes      int     `json:"jti_key_bytes"`
	Seconds          float64 `json:"seconds"`
}

func main() {
	addr := flag.String("addr", "", "redis host:port (required; never the shared 127.0.0.1:6379)")
	prefix := flag.String("prefix", revocation.DefaultKeyPrefix, "key prefix (revocation.redis.key_prefix)")
	marks := flag.Int("marks", 0, "subject marks to load")
	markUnix := flag.Int64("mark-unix", 0, "the marks' time, unix seconds (default: an hour ago)")
	markTTL := flag.Duration("mark-ttl", 24*time.Hour+30*time.Second, "how long a mark lives past the mark (max_token_lifetime + leeway)")
	jtis := flag.Int("jtis", 0, "revoked jtis to load")
	revoke := flag.String("revoke", "", "one more jti to revoke (not counted)")
	workers := flag.Int("concurrency", 64, "concurrent Store calls")
	flag.Parse()
	if *addr == "" || strings.HasSuffix(*addr, ":6379") {
		log.Fatal("-addr: give the bench's own redis-server (never port 6379)")
	}
	if *markUnix == 0 {
		*markUnix = time.Now().Add(-time.Hour).Unix()
	}
	ctx := context.Background()
	start := time.Now()
	res := Result{Addr: *addr, Marks: *marks, JTIs: *jtis,
		MarkKeyBytes: len(*prefix) + 2 + len(revocation.EncodeKeyPart(benchdata.Subject(0))),
		JTIKeyBytes:  len(*prefix) + 2 + len(revocation.DigestJTI(randomJTI())),
	}
	var err error
	if res.UsedMemoryBefore, err = usedMemory(ctx, *addr); err != nil {
		log.Fatal(err)
	}

	mark := time.Unix(*markUnix, 0)
	err = run(ctx, *addr, *prefix, *workers, *marks, func(s *revocation.Redis, i int) error {
		_, err := s.MarkSubject(ctx, benchdata.Subject(i), mark, *markTTL)
		return err
	})
	if err != nil {
		log.Fatal(err)
	}
	if res.UsedMemoryMarks, err = usedMemory(ctx, *addr); err != nil {
		log.Fatal(err)
	}

	now := time.Now()
	err = run(ctx, *addr, *prefix, *workers, *jtis, func(s *revocation.Redis, i int) error {
		exp := now.Add(time.Hour + time.Duration(i%(19*3600))*time.Second)
		return s.RevokeToken(ctx, randomJTI(), exp)
	})
	if err != nil {
		log.Fatal(err)
	}
	if res.UsedMemoryJTIs, err = usedMemory(ctx, *addr); err != nil {
		log.Fatal(err)
	}
	if *revoke != "" {
		err = run(ctx, *addr, *prefix, 1, 1, func(s *revocation.Redis, _ int) error {
			return s.RevokeToken(ctx, *revoke, time.Now().Add(24*time.Hour))
		})
		if err != nil {
			log.Fatal(err)
		}
	}

	if *marks > 0 {
		res.BytesPerMark = float64(res.UsedMemoryMarks-res.UsedMemoryBefore) / float64(*marks)
	}
	if *jtis > 0 {
		res.BytesPerJTI = float64(res.UsedMemoryJTIs-res.UsedMemoryMarks) / float64(*jtis)
	}
	c := redis.NewClient(&redis.Options{Addr: *addr, PoolSize: 1})
	res.DBSize, err = c.DBSize(ctx).Result()
	_ = c.Close()
	if err != nil {
		log.Fatal(err)
	}
	if want := int64(*marks + *jtis); res.DBSize < want {
		log.Fatalf("dbsize %d after loading %d records: some were not stored", res.DBSize, want)
	}
	res.Seconds = time.Since(start).Seconds()
	_ = json.NewEncoder(os.Stdout).Encode(res)
}

// run calls f(store, i) for i in [0, n) on workers goroutines sharing one
// pool, then closes the pool.
func run(ctx context.Context, addr, prefix string, workers, n int, f func(*revocation.Redis, int) error) error {
	if n == 0 {
		return nil
	}
	client := redis.NewClient(&redis.Options{Addr: addr, PoolSize: workers, ReadTimeout: 10 * time.Second})
	store := revocation.NewRedis(client, revocation.RedisOptions{KeyPrefix: prefix})
	defer store.Close()
	if err := store.Ping(ctx); err != nil {
		return err
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := f(store, i); err != nil {
					errs[w] = fmt.Errorf("record %d: %w", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// usedMemory reads INFO memory's used_memory on a single fresh connection
// once two readings half a second apart agree (at most 15s).
func usedMemory(ctx context.Context, addr string) (int64, error) {
	c := redis.NewClient(&redis.Options{Addr: addr, PoolSize: 1})
	defer c.Close()
	last, err := readUsedMemory(ctx, c)
	for deadline := time.Now().Add(15 * time.Second); err == nil && time.Now().Before(deadline); {
		time.Sleep(500 * time.Millisecond)
		var cur int64
		if cur, err = readUsedMemory(ctx, c); err == nil && cur == last {
			break
		}
		last = cur
	}
	return last, err
}

func readUsedMemory(ctx context.Context, c *redis.Client) (int64, error) {
	info, err := c.Info(ctx, "memory").Result()
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, errors.New("INFO memory has no used_memory")
}

// randomJTI is 128 random bits in hex, as `revgate token mint` makes them.
func randomJTI() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
