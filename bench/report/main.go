// Command report turns the records run.sh collects (results.jsonl, one JSON
// object a line) into the benchmark table: per row the median requests/s,
// p50 and p99 over the repeats, and the median of the row's ratio to the
// bare proxy measured in the same round (rows of one round ran back to
// back, so a ratio within a round cancels most of the machine's drift);
// then the open-loop latency rows, Redis memory per record, Redis commands
// per request, and each performance target, met or missed.
//
//	report results.jsonl
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"os"
	"slices"
	"sort"
	"strings"
)

// Record is one line of results.jsonl; Kind says which fields are set.
type Record struct {
	Kind   string `json:"kind"` // row, skip, wrk, latency, memory, cmdstats, param
	ID     string `json:"id"`
	Label  string `json:"label"`
	Repeat int    `json:"repeat"`
	// wrk
	Wrk *struct {
		Requests     int64   `json:"requests"`
		DurationUS   int64   `json:"duration_us"`
		ErrorsConn   int64   `json:"errors_connect"`
		ErrorsRead   int64   `json:"errors_read"`
		ErrorsWrite  int64   `json:"errors_write"`
		ErrorsStatus int64   `json:"errors_status"`
		ErrorsTime   int64   `json:"errors_timeout"`
		P50          float64 `json:"p50_us"`
		P99          float64 `json:"p99_us"`
	} `json:"wrk"`
	// ServerCPUMs and RedisCPUMs are the CPU time (user + system) the
	// process under test and, for rows on Redis, redis-server used during
	// a wrk run.
	ServerCPUMs *float64 `json:"server_cpu_ms"`
	RedisCPUMs  *float64 `json:"redis_cpu_ms"`
	// latency (loadgen's Result)
	Loadgen *struct {
		Rate     float64 `json:"rate"`
		Achieved float64 `json:"achieved_rate"`
		Requests int64   `json:"requests"`
		Errors   int64   `json:"errors"`
		Non200   int64   `json:"non_200"`
		P50      float64 `json:"p50_us"`
		P99      float64 `json:"p99_us"`
		P999     float64 `json:"p999_us"`
		P99Due   float64 `json:"p99_from_due_us"`
		Late     int64   `json:"late"`
	} `json:"loadgen"`
	// memory (load's Result)
	Load *struct {
		Marks        int     `json:"marks"`
		JTIs         int     `json:"jtis"`
		BytesPerMark float64 `json:"bytes_per_mark"`
		BytesPerJTI  float64 `json:"bytes_per_jti"`
		MarkKeyBytes int     `json:"mark_key_bytes"`
		JTIKeyBytes  int     `json:"jti_key_bytes"`
		Seconds      float64 `json:"seconds"`
	} `json:"load"`
	// cmdstats: calls per command during one wrk run of row ID
	Requests int64            `json:"requests"`
	Calls    map[string]int64 `json:"calls"`
	// param
	Name  string `json:"name"`
	Value string `json:"value"`
	// skip: why row ID could not run on this machine or commit
	Reason string `json:"reason"`
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: report results.jsonl")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	var recs []Record
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			log.Fatalf("%s: %v: %s", os.Args[1], err, sc.Text())
		}
		recs = append(recs, r)
	}
	if err := sc.Err(); err != nil {
		log.Fatal(err)
	}
	write(os.Stdout, recs)
}

// maxErrorShare is the share of failed requests above which a wrk run is
// left out of the medians.
const maxErrorShare = 0.001

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(us float64) string { return fmt.Sprintf("%.2f ms", us/1e3) }

// thousands formats n with spaces between groups of three digits.
func thousands(n float64) string {
	s := fmt.Sprintf("%.0f", n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(c)
	}
	return b.String()
}

type rowStats struct {
	rps, p50, p99 []float64
	// cpu and redisCPU are µs of CPU per request, per run.
	cpu, redisCPU []float64
	byRepeat      map[int]float64
	errs          int64
	requests      int64
}

func write(w io.Writer, recs []Record) {
	var order []string
	labels := map[string]string{}
	params := map[string]string{}
	stats := map[string]*rowStats{}
	lat := map[string][]Record{}
	var latOrder []string
	var mems []Record
	var cmds []Record
	var excluded []string
	skipped := map[string]string{}
	var skipOrder []string
	for _, r := range recs {
		switch r.Kind {
		case "skip":
			if _, ok := skipped[r.ID]; !ok {
				skipOrder = append(skipOrder, r.ID)
			}
			skipped[r.ID] = r.Reason
			labels[r.ID] = r.Label
		case "param":
			params[r.Name] = r.Value
		case "row":
			if _, ok := labels[r.ID]; !ok {
				order = append(order, r.ID)
			}
			labels[r.ID] = r.Label
		case "wrk":
			s := stats[r.ID]
			if s == nil {
				s = &rowStats{byRepeat: map[int]float64{}}
				stats[r.ID] = s
			}
			errs := r.Wrk.ErrorsConn + r.Wrk.ErrorsRead + r.Wrk.ErrorsWrite + r.Wrk.ErrorsStatus + r.Wrk.ErrorsTime
			s.errs += errs
			if float64(errs) > maxErrorShare*float64(r.Wrk.Requests) {
				// Fast error answers (a 503 from an open breaker, say)
				// would count as throughput.
				excluded = append(excluded, fmt.Sprintf("%s round %d (%d of %d requests failed)", r.ID, r.Repeat, errs, r.Wrk.Requests))
				continue
			}
			rps := float64(r.Wrk.Requests) / (float64(r.Wrk.DurationUS) / 1e6)
			s.rps = append(s.rps, rps)
			s.p50 = append(s.p50, r.Wrk.P50)
			s.p99 = append(s.p99, r.Wrk.P99)
			s.byRepeat[r.Repeat] = rps
			s.requests += r.Wrk.Requests
			if r.ServerCPUMs != nil && r.Wrk.Requests > 0 {
				s.cpu = append(s.cpu, *r.ServerCPUMs*1e3/float64(r.Wrk.Requests))
			}
			if r.RedisCPUMs != nil && *r.RedisCPUMs > 0 && r.Wrk.Requests > 0 {
				s.redisCPU = append(s.redisCPU, *r.RedisCPUMs*1e3/float64(r.Wrk.Requests))
			}
		case "latency":
			if _, ok := lat[r.ID]; !ok {
				latOrder = append(latOrder, r.ID)
			}
			lat[r.ID] = append(lat[r.ID], r)
		case "memory":
			mems = append(mems, r)
		case "cmdstats":
			cmds = append(cmds, r)
		}
	}

	if len(params) > 0 {
		keys := make([]string, 0, len(params))
		for k := range params {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var ps []string
		for _, k := range keys {
			ps = append(ps, k+"="+params[k])
		}
		fmt.Fprintf(w, "Parameters: %s\n\n", strings.Join(ps, ", "))
	}

	// ratio returns the median over repeats of row/base within a repeat.
	ratio := func(row, base string) (float64, bool) {
		a, b := stats[row], stats[base]
		if a == nil || b == nil {
			return 0, false
		}
		var rs []float64
		for rep, v := range a.byRepeat {
			if bv, ok := b.byRepeat[rep]; ok && bv > 0 {
				rs = append(rs, v/bv)
			}
		}
		return median(rs), len(rs) > 0
	}

	fmt.Fprintln(w, "Throughput (wrk, closed loop; medians over repeats; a ratio is the median over rounds of row / baseline within the round;")
	fmt.Fprintln(w, "CPU µs/req is the CPU time of the process under test per request, Redis CPU that of its redis-server)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| row | requests/s | min–max | p50 | p99 | vs bare proxy | vs bare + pool | CPU µs/req | Redis CPU µs/req | failed requests |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, id := range order {
		s := stats[id]
		if s == nil || len(s.rps) == 0 {
			continue
		}
		rs := [2]string{"–", "–"}
		for i, base := range []string{"bare", "bare-pool"} {
			if r, ok := ratio(id, base); ok {
				rs[i] = fmt.Sprintf("%.2f", r)
			}
		}
		cpu, rcpu := "–", "–"
		if len(s.cpu) > 0 {
			cpu = fmt.Sprintf("%.0f", median(s.cpu))
		}
		if len(s.redisCPU) > 0 {
			rcpu = fmt.Sprintf("%.0f", median(s.redisCPU))
		}
		fmt.Fprintf(w, "| %s | %s | %s–%s | %s | %s | %s | %s | %s | %s | %d |\n", labels[id], thousands(median(s.rps)),
			thousands(slices.Min(s.rps)), thousands(slices.Max(s.rps)), ms(median(s.p50)), ms(median(s.p99)), rs[0], rs[1], cpu, rcpu, s.errs)
	}

	if len(skipOrder) > 0 {
		fmt.Fprintln(w, "\nRows not run:")
		for _, id := range skipOrder {
			fmt.Fprintf(w, "- %s (%s): %s\n", labels[id], id, skipped[id])
		}
	}

	if len(excluded) > 0 {
		fmt.Fprintf(w, "\nRuns left out of the medians (over %.1f%% of requests failed): %s\n", maxErrorShare*100, strings.Join(excluded, "; "))
	}

	var latDelta float64
	var haveLat bool
	if len(latOrder) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Latency at a fixed rate (loadgen, open loop, measured from each request's release by the pacer; medians over repeats)")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| row | rate | achieved | p50 | p99 | p99.9 | p99 from due time | p99 − bare p99 | late starts | errors |")
		fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
		baseP99 := map[int]float64{}
		for _, r := range lat["bare"] {
			baseP99[r.Repeat] = r.Loadgen.P99
		}
		for _, id := range latOrder {
			var rate, ach, p50, p99, p999, p99due, deltas []float64
			var late, errs int64
			for _, r := range lat[id] {
				l := r.Loadgen
				rate, ach = append(rate, l.Rate), append(ach, l.Achieved)
				p50, p99, p999 = append(p50, l.P50), append(p99, l.P99), append(p999, l.P999)
				p99due = append(p99due, l.P99Due)
				late += l.Late
				errs += l.Errors + l.Non200
				if b, ok := baseP99[r.Repeat]; ok {
					deltas = append(deltas, l.P99-b)
				}
			}
			d := "–"
			if id != "bare" && len(deltas) > 0 {
				d = fmt.Sprintf("%+.2f ms", median(deltas)/1e3)
				if id == "rs256" {
					latDelta, haveLat = median(deltas), true
				}
			}
			fmt.Fprintf(w, "| %s | %s/s | %s/s | %s | %s | %s | %s | %s | %d | %d |\n", labels[id], thousands(median(rate)),
				thousands(median(ach)), ms(median(p50)), ms(median(p99)), ms(median(p999)), ms(median(p99due)), d, late, errs)
		}
	}

	var perJTI, perMark float64
	var maxJTIs, maxMarks int
	if len(mems) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Redis memory (INFO memory used_memory before/after loading, through revocation.Redis)")
		fmt.Fprintln(w)
		for _, m := range mems {
			l := m.Load
			fmt.Fprintf(w, "- %s: %s marks at %.1f B/mark (key %d B), %s jtis at %.1f B/jti (key %d B), loaded in %.1fs\n",
				m.Label, thousands(float64(l.Marks)), l.BytesPerMark, l.MarkKeyBytes, thousands(float64(l.JTIs)), l.BytesPerJTI, l.JTIKeyBytes, l.Seconds)
			// The largest load is the figure of record.
			if l.JTIs > maxJTIs {
				maxJTIs, perJTI = l.JTIs, l.BytesPerJTI
			}
			if l.Marks > maxMarks {
				maxMarks, perMark = l.Marks, l.BytesPerMark
			}
		}
	}

	var cmdsPerReq float64
	var haveCmds bool
	if len(cmds) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Redis commands per authenticated request (INFO commandstats calls delta / wrk requests, INFO itself excluded)")
		fmt.Fprintln(w)
		var per []float64
		for _, c := range cmds {
			var total int64
			var parts []string
			names := make([]string, 0, len(c.Calls))
			for k := range c.Calls {
				names = append(names, k)
			}
			sort.Strings(names)
			for _, k := range names {
				if k == "info" || c.Calls[k] == 0 {
					continue
				}
				total += c.Calls[k]
				parts = append(parts, fmt.Sprintf("%s %s", k, thousands(float64(c.Calls[k]))))
			}
			p := float64(total) / float64(max(c.Requests, 1))
			per = append(per, p)
			fmt.Fprintf(w, "- %s, round %d: %s requests, %s commands (%s): %.3f per request\n", labels[c.ID], c.Repeat,
				thousands(float64(c.Requests)), thousands(float64(total)), strings.Join(parts, ", "), p)
		}
		cmdsPerReq, haveCmds = median(per), true
	}

	if r, ok := ratio("rs256-variant", "rs256"); ok {
		fmt.Fprintf(w, "\n%s vs revgate RS256 in the same rounds: %.3f of its requests/s", labels["rs256-variant"], r)
		if v, b := stats["rs256-variant"], stats["rs256"]; len(v.cpu) > 0 && len(b.cpu) > 0 {
			fmt.Fprintf(w, ", %.0f vs %.0f CPU µs/req", median(v.cpu), median(b.cpu))
		}
		fmt.Fprintln(w)
	}

	// gRPC ext_authz Check against the HTTP decision endpoint: the same
	// revgate and check, no target. The gRPC client (bench/grpcload) costs
	// the shared CPUs more per request than wrk does, which weighs on its
	// requests/s; CPU µs/req of revgate is the fairer comparison.
	if r, ok := ratio("grpc-check", "decision"); ok {
		fmt.Fprintf(w, "\n%s vs %s in the same rounds: %.3f of its requests/s", labels["grpc-check"], labels["decision"], r)
		if g, d := stats["grpc-check"], stats["decision"]; len(g.cpu) > 0 && len(d.cpu) > 0 {
			fmt.Fprintf(w, ", %.0f vs %.0f revgate CPU µs/req", median(g.cpu), median(d.cpu))
		}
		fmt.Fprintln(w, " (client CPU differs: read the CPU figures first)")
	}

	fmt.Fprintln(w)
	fmt.Fprintln(w, "Performance targets")
	fmt.Fprintln(w)
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "MISSED"
	}
	if r, ok := ratio("rs256", "bare"); ok {
		fmt.Fprintf(w, "- RS256 + Redis, repeated token ≥ 0.80 of bare proxy: %.3f — %s\n", r, verdict(r >= .80))
	}
	if r, ok := ratio("rs256-distinct", "bare"); ok {
		note := ""
		if s := stats["rs256-distinct"]; s != nil && params["distinct_tokens"] != "" {
			var n float64
			fmt.Sscan(params["distinct_tokens"], &n)
			if n > 0 {
				note = fmt.Sprintf(" (%s tokens sent from a file of %s: each token %.1f times in all; no token repeats within %s requests)",
					thousands(float64(s.requests)), thousands(n), float64(s.requests)/n, thousands(n))
			}
			var size float64
			if _, err := fmt.Sscan(params["verify_cache_size"], &size); err == nil && n > 0 && n <= size {
				note += fmt.Sprintf("; NOT an uncached measurement: jwt.verify_cache_size %s can hold every token (use --distinct above it)", thousands(size))
			}
		}
		fmt.Fprintf(w, "- RS256 + Redis, every token distinct ≥ 0.60 of bare proxy: %.3f — %s%s\n", r, verdict(r >= .60), note)
	}
	// Decision mode: the ingress's cost of asking revgate, and what not
	// forwarding saves revgate. A target whose rows did not run says why.
	for _, tg := range []struct {
		row, base, text string
		min             float64
	}{
		{"nginx-authreq", "nginx", "NGINX + auth_request → revgate RS256, repeated token ≥ 0.70 of NGINX alone", .70},
		{"decision", "rs256", "revgate decision endpoint alone ≥ 1.3× revgate's proxy path (RS256, same concurrency)", 1.3},
	} {
		if r, ok := ratio(tg.row, tg.base); ok {
			fmt.Fprintf(w, "- %s: %.3f — %s\n", tg.text, r, verdict(r >= tg.min))
			continue
		}
		for _, id := range []string{tg.row, tg.base} {
			if why, ok := skipped[id]; ok {
				fmt.Fprintf(w, "- %s: not measured (row %s not run: %s)\n", tg.text, id, why)
				break
			}
		}
	}
	if haveLat {
		fmt.Fprintf(w, "- p99 at half the bare proxy's peak ≤ bare p99 + 1.5 ms: %+.2f ms — %s\n", latDelta/1e3, verdict(latDelta <= 1500))
	}
	if haveCmds {
		fmt.Fprintf(w, "- one Redis command round trip per authenticated request: %.3f — %s\n", cmdsPerReq, verdict(cmdsPerReq <= 1.01))
	}
	if perJTI > 0 {
		fmt.Fprintf(w, "- Redis ≤ 120 B per revoked jti: %.1f B — %s\n", perJTI, verdict(perJTI <= 120))
	}
	if perMark > 0 {
		fmt.Fprintf(w, "- Redis ≤ 120 B per subject mark: %.1f B — %s\n", perMark, verdict(perMark <= 120))
	}
	for _, id := range order {
		if strings.HasPrefix(id, "rs256-jti") && id != "rs256-jti0" {
			if r, ok := ratio(id, "rs256"); ok {
				fmt.Fprintf(w, "- %s vs 0 revoked jtis ≥ 0.95: %.3f — %s\n", labels[id], r, verdict(r >= .95))
			}
		}
	}
}
