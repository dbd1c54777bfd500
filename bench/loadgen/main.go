// Command loadgen is an open-loop load driver: it sends requests at a
// fixed rate whatever the server's latency, and measures each request from
// the moment the pacer released it, not from when a free connection sent
// it, so a server that falls behind shows it in the tail (no coordinated
// omission, the flaw of closed-loop tools such as wrk). It stands in for
// wrk2, which Debian does not package.
//
// Timers here fire with about 1ms granularity (a sleep of 300µs lasts
// about 1ms), so the pacer releases requests in small bursts, each at the
// right average rate. Latency is counted from the release: counting from
// the ideal due time would add up to a millisecond of the client's own
// timer lag to every row alike. The p99 from the due time is reported too
// (p99_from_due_us).
//
//	loadgen -url URL -rate 5000 -duration 10s [-connections 32] [-token-file F]
//
// Like wrk it speaks just enough HTTP/1.1 over keep-alive connections of its
// own (requests formatted once, responses framed by Content-Length or
// chunked encoding), so the client costs the shared CPUs a few microseconds
// a request rather than net/http's tens. Latencies go into a log-linear
// histogram (HDR-style, 1/128 relative precision). It prints one JSON
// object: requests, errors, the achieved rate and p50/p90/p99/p99.9/max in
// microseconds.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/revgate/revgate/bench/internal/latency"
)

// Result is what loadgen prints.
type Result struct {
	Rate       float64 `json:"rate"`
	Achieved   float64 `json:"achieved_rate"`
	Requests   int64   `json:"requests"`
	Errors     int64   `json:"errors"`
	Non200     int64   `json:"non_200"`
	DurationUS int64   `json:"duration_us"`
	P50        float64 `json:"p50_us"`
	P90        float64 `json:"p90_us"`
	P99        float64 `json:"p99_us"`
	P999       float64 `json:"p999_us"`
	Max        float64 `json:"max_us"`
	P99Due     float64 `json:"p99_from_due_us"`
	// Late counts requests that a connection started more than 1ms after
	// their release (every connection busy).
	Late int64 `json:"late"`
}

func main() {
	target := flag.String("url", "", "http:// URL to request (loopback only)")
	rate := flag.Float64("rate", 1000, "requests per second")
	duration := flag.Duration("duration", 10*time.Second, "how long to send")
	warmup := flag.Duration("warmup", time.Second, "send at the rate this long first, unrecorded")
	conns := flag.Int("connections", 32, "connections, and so most requests in flight")
	tokenFile := flag.String("token-file", "", "bearer tokens, one a line, cycled through")
	timeout := flag.Duration("timeout", 5*time.Second, "per-request timeout")
	flag.Parse()
	u, err := url.Parse(*target)
	if err != nil || u.Scheme != "http" || u.Host == "" || *rate <= 0 || *conns < 1 {
		flag.Usage()
		os.Exit(2)
	}
	tokens, err := readTokens(*tokenFile)
	if err != nil {
		log.Fatal(err)
	}
	reqs := make([][]byte, len(tokens))
	for i, tok := range tokens {
		var b bytes.Buffer
		fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\n", u.RequestURI(), u.Host)
		if tok != "" {
			fmt.Fprintf(&b, "Authorization: Bearer %s\r\n", tok)
		}
		b.WriteString("\r\n")
		reqs[i] = b.Bytes()
	}
	l := &loader{addr: u.Host, reqs: reqs, timeout: *timeout, conns: make([]*conn, *conns)}
	if *warmup > 0 {
		l.drive(*rate, *warmup)
	}
	res := l.drive(*rate, *duration)
	_ = json.NewEncoder(os.Stdout).Encode(res)
}

func readTokens(path string) ([]string, error) {
	if path == "" {
		return []string{""}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	for sc.Scan() {
		if t := sc.Text(); t != "" {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no tokens", path)
	}
	return out, sc.Err()
}

type loader struct {
	addr    string
	reqs    [][]byte
	timeout time.Duration
	// conns are kept across drive calls, so the warmup opens them.
	conns []*conn
}

// conn is one keep-alive connection; nil or broken ones are redialled.
type conn struct {
	c net.Conn
	r *bufio.Reader
}

// drive sends rate requests a second for d: a pacer enqueues each
// request's due time, one worker per connection sends them.
func (l *loader) drive(rate float64, d time.Duration) Result {
	total := int(rate * d.Seconds())
	due := make(chan release, total)
	n := len(l.conns)
	hists, dueHists := make([]latency.Hist, n), make([]latency.Hist, n)
	stats := make([]struct{ errs, non200, late int64 }, n)
	var wg sync.WaitGroup
	for w := range n {
		wg.Go(func() {
			h, hd, st := &hists[w], &dueHists[w], &stats[w]
			i := w
			for rel := range due {
				if time.Since(rel.at) > time.Millisecond {
					st.late++
				}
				status, err := l.do(w, l.reqs[i%len(l.reqs)])
				i += n
				switch {
				case err != nil:
					st.errs++
				case status != 200:
					st.non200++
				}
				now := time.Now()
				h.Record(now.Sub(rel.at))
				hd.Record(now.Sub(rel.due))
			}
		})
	}
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	for sent := 0; sent < total; {
		// Catch up on every request due by now, then sleep to the next.
		now := time.Now()
		k := min(int(now.Sub(start)/interval)+1, total)
		for ; sent < k; sent++ {
			due <- release{due: start.Add(time.Duration(sent) * interval), at: now}
		}
		if sent < total {
			time.Sleep(time.Until(start.Add(time.Duration(sent) * interval)))
		}
	}
	close(due)
	wg.Wait()
	elapsed := time.Since(start)

	var all, fromDue latency.Hist
	res := Result{Rate: rate, DurationUS: elapsed.Microseconds()}
	for w := range hists {
		all.Merge(&hists[w])
		fromDue.Merge(&dueHists[w])
		res.Errors += stats[w].errs
		res.Non200 += stats[w].non200
		res.Late += stats[w].late
	}
	res.Requests = all.N
	res.Achieved = float64(all.N) / elapsed.Seconds()
	res.P50, res.P90, res.P99, res.P999 = all.Quantile(.5), all.Quantile(.9), all.Quantile(.99), all.Quantile(.999)
	res.Max = float64(all.Max) / 1e3
	res.P99Due = fromDue.Quantile(.99)
	return res
}

// release is one request: when it was due at the exact rate, and when the
// pacer let it go (at or after due).
type release struct{ due, at time.Time }

// do sends one request on worker w's connection and reads the response.
// A failed connection is closed and redialled by the next request.
func (l *loader) do(w int, req []byte) (int, error) {
	c := l.conns[w]
	if c == nil {
		nc, err := net.DialTimeout("tcp", l.addr, l.timeout)
		if err != nil {
			return 0, err
		}
		c = &conn{c: nc, r: bufio.NewReaderSize(nc, 16<<10)}
		l.conns[w] = c
	}
	_ = c.c.SetDeadline(time.Now().Add(l.timeout))
	status, keep, err := exchange(c, req)
	if err != nil || !keep {
		_ = c.c.Close()
		l.conns[w] = nil
	}
	return status, err
}

var errFraming = errors.New("response without Content-Length or chunked encoding")

// exchange writes req and reads one response: the status code and whether
// the connection may be reused.
func exchange(c *conn, req []byte) (status int, keep bool, err error) {
	if _, err := c.c.Write(req); err != nil {
		return 0, false, err
	}
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return 0, false, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, false, fmt.Errorf("bad status line %q", line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, false, fmt.Errorf("bad status line %q", line)
	}
	length, chunked, keep := int64(-1), false, true
	for {
		h, err := c.r.ReadSlice('\n')
		if err != nil {
			return status, false, err
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		name, value, _ := bytes.Cut(h, []byte(":"))
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.ParseInt(string(value), 10, 64); err != nil {
				return status, false, err
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			keep = !bytes.EqualFold(value, []byte("close"))
		}
	}
	switch {
	case chunked:
		err = discardChunked(c.r)
	case length >= 0:
		_, err = c.r.Discard(int(length))
	default:
		err = errFraming
	}
	return status, keep && err == nil, err
}

func discardChunked(r *bufio.Reader) error {
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(";"))
		n, err := strconv.ParseInt(string(size), 16, 64)
		if err != nil {
			return err
		}
		if n == 0 {
			// Trailers, then the empty line.
			for {
				t, err := r.ReadSlice('\n')
				if err != nil {
					return err
				}
				if len(bytes.TrimRight(t, "\r\n")) == 0 {
					return nil
				}
			}
		}
		if _, err := r.Discard(int(n) + 2); err != nil {
			return err
		}
	}
}
