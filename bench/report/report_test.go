package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func parse(t *testing.T, lines ...string) []Record {
	t.Helper()
	var recs []Record
	sc := bufio.NewScanner(strings.NewReader(strings.Join(lines, "\n")))
	for sc.Scan() {
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%v: %s", err, sc.Text())
		}
		recs = append(recs, r)
	}
	return recs
}

func wrkLine(id string, round int, requests, failed int) string {
	b, _ := json.Marshal(map[string]any{
		"kind": "wrk", "id": id, "repeat": round,
		"wrk": map[string]any{"requests": requests, "duration_us": 1_000_000, "errors_status": failed, "p50_us": 1000, "p99_us": 5000},
	})
	return string(b)
}

func TestRatiosAreTakenWithinARoundAndFailingRunsAreLeftOut(t *testing.T) {
	recs := parse(t,
		`{"kind":"row","id":"bare","label":"bare"}`,
		`{"kind":"row","id":"rs256","label":"rs256"}`,
		// The machine slows down between rounds; the ratio stays 0.8.
		wrkLine("bare", 1, 10000, 0), wrkLine("rs256", 1, 8000, 0),
		wrkLine("bare", 2, 5000, 0), wrkLine("rs256", 2, 4000, 0),
		wrkLine("bare", 3, 20000, 0), wrkLine("rs256", 3, 16000, 0),
		// Fast 503s must not count as throughput.
		wrkLine("rs256", 4, 90000, 5000), wrkLine("bare", 4, 10000, 0),
	)
	var out bytes.Buffer
	write(&out, recs)
	got := out.String()
	for _, want := range []string{
		"| rs256 | 8 000 | 4 000–16 000 |",
		"repeated token ≥ 0.80 of bare proxy: 0.800 — met",
		"rs256 round 4 (5000 of 90000 requests failed)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
}

func TestMedianOfEvenAndOddCounts(t *testing.T) {
	if got := median([]float64{3, 1, 2}); got != 2 {
		t.Errorf("median(3,1,2) = %v, want 2", got)
	}
	if got := median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Errorf("median(4,1,3,2) = %v, want 2.5", got)
	}
}

func TestDecisionTargetsAreRatiosWithinARoundOrSayWhyNot(t *testing.T) {
	recs := parse(t,
		`{"kind":"row","id":"rs256","label":"revgate RS256"}`,
		`{"kind":"row","id":"nginx","label":"NGINX"}`,
		`{"kind":"row","id":"nginx-authreq","label":"NGINX + auth_request"}`,
		`{"kind":"skip","id":"decision","label":"revgate decision alone","reason":"serve does not listen on decision.listen"}`,
		`{"kind":"skip","id":"grpc-check","label":"gRPC Check alone","reason":"pending: no gRPC load driver"}`,
		wrkLine("nginx", 1, 10000, 0), wrkLine("nginx-authreq", 1, 6000, 0), wrkLine("rs256", 1, 5000, 0),
		wrkLine("nginx", 2, 20000, 0), wrkLine("nginx-authreq", 2, 15000, 0), wrkLine("rs256", 2, 5000, 0),
	)
	var out bytes.Buffer
	write(&out, recs)
	got := out.String()
	for _, want := range []string{
		"- gRPC Check alone (grpc-check): pending: no gRPC load driver",
		// Rounds give 0.60 and 0.75: the median of the ratios, not the
		// ratio of the medians.
		"NGINX + auth_request → revgate RS256, repeated token ≥ 0.70 of NGINX alone: 0.675 — MISSED",
		"revgate decision endpoint alone ≥ 1.3× revgate's proxy path (RS256, same concurrency): not measured (row decision not run: serve does not listen on decision.listen)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
	recs = append(recs, parse(t,
		`{"kind":"row","id":"decision","label":"revgate decision alone"}`,
		wrkLine("decision", 1, 7000, 0), wrkLine("decision", 2, 6600, 0))...)
	out.Reset()
	write(&out, recs)
	if want := "(RS256, same concurrency): 1.360 — met"; !strings.Contains(out.String(), want) {
		t.Errorf("report lacks %q:\n%s", want, out.String())
	}
}

func TestGRPCCheckIsComparedWithTheDecisionEndpoint(t *testing.T) {
	cpu := func(id string, round, requests int, ms float64) string {
		b, _ := json.Marshal(map[string]any{
			"kind": "wrk", "id": id, "repeat": round, "server_cpu_ms": ms,
			"wrk": map[string]any{"requests": requests, "duration_us": 1_000_000, "p50_us": 1000, "p99_us": 5000},
		})
		return string(b)
	}
	recs := parse(t,
		`{"kind":"row","id":"decision","label":"revgate decision alone"}`,
		`{"kind":"row","id":"grpc-check","label":"gRPC Check alone"}`,
		cpu("decision", 1, 10000, 500), cpu("grpc-check", 1, 8000, 480),
		cpu("decision", 2, 20000, 1000), cpu("grpc-check", 2, 18000, 1080),
	)
	var out bytes.Buffer
	write(&out, recs)
	got := out.String()
	for _, want := range []string{
		"| gRPC Check alone | 13 000 | 8 000–18 000 |",
		// Rounds give 0.80 and 0.90; CPU 60 and 50 µs/req in both rounds.
		"gRPC Check alone vs revgate decision alone in the same rounds: 0.850 of its requests/s, 60 vs 50 revgate CPU µs/req",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
}
