package revocation

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// trailPage is how many stream entries one XREVRANGE reads.
const trailPage = 500

// RedisTrail is a Trail kept in one capped Redis stream, shared by every
// gateway using the same Redis and key prefix. One key is fine on a
// Cluster: the trail is written once per change, not per request.
type RedisTrail struct {
	client redis.UniversalClient
	key    string
	length int64
}

var _ Trail = (*RedisTrail)(nil)

// NewRedisTrail returns the trail of the stream prefix+"trail", capped
// at about length entries (0 or less: DefaultTrailLength).
func NewRedisTrail(client redis.UniversalClient, prefix string, length int) *RedisTrail {
	if length <= 0 {
		length = DefaultTrailLength
	}
	if prefix == "" {
		prefix = DefaultKeyPrefix
	}
	return &RedisTrail{client: client, key: keys{prefix: prefix}.trail(), length: int64(length)}
}

// Stream entry fields, short to keep entries small; empty
// fields are left out.
const (
	fTime    = "at" // unix milliseconds
	fAction  = "action"
	fActor   = "actor"
	fSubject = "sub"
	fJTI     = "jti"
	fSession = "sid"
	fEmail   = "em"
	fReason  = "reason"
	fUntil   = "until" // unix seconds
	fGateway = "gw"
)

// Append implements Trail with XADD ... MAXLEN ~ length: Redis trims whole
// nodes of the stream, so the trail holds at least length events and a
// little more, at a fraction of exact trimming's cost. The same MULTI (one
// round trip, one key: fine on a Cluster) sets the stream to expire
// TrailRetention after this write, so an idle trail goes away by itself
// like every other key revgate writes.
func (t *RedisTrail) Append(ctx context.Context, e Event) error {
	values := []any{fTime, strconv.FormatInt(e.Time.UnixMilli(), 10), fAction, e.Action, fActor, e.Actor}
	for _, kv := range [][2]string{{fSubject, e.Subject}, {fJTI, e.JTI}, {fSession, e.Session}, {fEmail, e.Email}, {fReason, e.Reason}, {fGateway, e.Gateway}} {
		if kv[1] != "" {
			values = append(values, kv[0], kv[1])
		}
	}
	if !e.Until.IsZero() {
		values = append(values, fUntil, strconv.FormatInt(e.Until.Unix(), 10))
	}
	_, err := t.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.XAdd(ctx, &redis.XAddArgs{Stream: t.key, MaxLen: t.length, Approx: true, Values: values})
		p.Expire(ctx, t.key, TrailRetention)
		return nil
	})
	if err != nil {
		return unavailable("xadd", err)
	}
	return nil
}

// Recent implements Trail, reading the stream newest first a page at a
// time until limit events match, the stream ends, or MaxTrailScan entries
// were read.
func (t *RedisTrail) Recent(ctx context.Context, f TrailFilter, limit int) ([]Event, error) {
	var out []Event
	end := "+"
	for read := 0; len(out) < limit && read < MaxTrailScan; {
		msgs, err := t.client.XRevRangeN(ctx, t.key, end, "-", trailPage).Result()
		if err != nil {
			return nil, unavailable("xrevrange", err)
		}
		for _, m := range msgs {
			if e := eventOf(m); f.Match(e) && len(out) < limit {
				out = append(out, e)
			}
		}
		read += len(msgs)
		if len(msgs) < trailPage {
			break
		}
		// Exclusive range (Redis 6.2): continue below the last id read.
		end = "(" + msgs[len(msgs)-1].ID
	}
	return out, nil
}

func eventOf(m redis.XMessage) Event {
	s := func(k string) string { v, _ := m.Values[k].(string); return v }
	e := Event{ID: m.ID, Action: s(fAction), Actor: s(fActor), Subject: s(fSubject), JTI: s(fJTI),
		Session: s(fSession), Email: s(fEmail), Reason: s(fReason), Gateway: s(fGateway)}
	if ms, err := strconv.ParseInt(s(fTime), 10, 64); err == nil {
		e.Time = time.UnixMilli(ms).UTC()
	}
	if sec, err := strconv.ParseInt(s(fUntil), 10, 64); err == nil {
		e.Until = time.Unix(sec, 0).UTC()
	}
	return e
}
