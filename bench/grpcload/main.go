// Command grpcload is a closed-loop load driver for Envoy's ext_authz gRPC
// service (envoy.service.auth.v3.Authorization/Check), the gRPC counterpart
// of wrk in bench/run.sh (ghz is not packaged here).
//
//	grpcload -addr 127.0.0.1:PORT -token-file F [-concurrency 32] [-conns 1]
//	         [-duration 10s] [-warmup 0s] [-timeout 2s]
//
// -concurrency goroutines share -conns client connections (HTTP/2 streams
// multiplexed over them, as Envoy does with one connection per worker);
// each sends the same CheckRequest (GET /api/orders/42 with
// "authorization: Bearer <token>") in a loop, one call in flight, until the
// deadline. Calls started before the deadline are waited for and counted;
// none is started after it, so the run stops by itself. A CheckResponse
// whose status is not OK counts as a failure (errors_status: the bench
// token must be allowed), an RPC error as errors_read, a call over -timeout
// as errors_timeout.
//
// It prints one JSON object in the shape of bench/wrk/tokens.lua's WRKJSON
// line (requests, duration_us, errors_*, p50/p90/p99/p99.9/max/mean in
// microseconds), so run.sh records it as a wrk run and bench/report
// tabulates it with the other rows. Latencies go into a log-linear
// histogram per goroutine (1/128 relative precision), merged at the end.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"strings"
	"sync"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/revgate/revgate/bench/internal/latency"
)

// Result is the WRKJSON shape bench/report reads.
type Result struct {
	Requests      int64   `json:"requests"`
	DurationUS    int64   `json:"duration_us"`
	Bytes         int64   `json:"bytes"`
	ErrorsConnect int64   `json:"errors_connect"`
	ErrorsRead    int64   `json:"errors_read"`
	ErrorsWrite   int64   `json:"errors_write"`
	ErrorsStatus  int64   `json:"errors_status"`
	ErrorsTimeout int64   `json:"errors_timeout"`
	P50           float64 `json:"p50_us"`
	P90           float64 `json:"p90_us"`
	P99           float64 `json:"p99_us"`
	P999          float64 `json:"p999_us"`
	Max           float64 `json:"max_us"`
	Mean          float64 `json:"mean_us"`
	Concurrency   int     `json:"concurrency"`
	Conns         int     `json:"conns"`
	// FirstError is one failure's text, to tell why a row failed.
	FirstError string `json:"first_error,omitempty"`
}

func main() {
	addr := flag.String("addr", "", "host:port of the ext_authz gRPC listener (loopback)")
	tokenFile := flag.String("token-file", "", "file whose first line is the bearer token")
	token := flag.String("token", "", "the bearer token (instead of -token-file)")
	concurrency := flag.Int("concurrency", 32, "calls in flight (goroutines); run.sh passes its --connections")
	conns := flag.Int("conns", 1, "gRPC client connections the goroutines share")
	duration := flag.Duration("duration", 10*time.Second, "measured duration")
	warmup := flag.Duration("warmup", 0, "unmeasured load before the measured duration")
	timeout := flag.Duration("timeout", 2*time.Second, "per-call timeout (wrk's --timeout in run.sh)")
	path := flag.String("path", "/api/orders/42", "attributes.request.http.path")
	flag.Parse()
	if *addr == "" || *concurrency < 1 || *conns < 1 || *duration <= 0 {
		flag.Usage()
		os.Exit(2)
	}
	tok := *token
	if *tokenFile != "" {
		b, err := os.ReadFile(*tokenFile)
		if err != nil {
			log.Fatal(err)
		}
		tok, _, _ = strings.Cut(string(b), "\n")
		tok = strings.TrimSpace(tok)
	}
	if tok == "" {
		log.Fatal("grpcload: no token (-token-file or -token)")
	}

	clients := make([]authv3.AuthorizationClient, *conns)
	for i := range clients {
		cc, err := grpc.NewClient(*addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			log.Fatal(err)
		}
		defer cc.Close()
		clients[i] = authv3.NewAuthorizationClient(cc)
	}
	req := &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
			Method:   "GET",
			Path:     *path,
			Host:     "bench.local",
			Scheme:   "http",
			Protocol: "HTTP/1.1",
			Headers:  map[string]string{"authorization": "Bearer " + tok},
		}},
	}}

	if *warmup > 0 {
		run(clients, req, *concurrency, *warmup, *timeout)
	}
	res := run(clients, req, *concurrency, *duration, *timeout)
	res.Concurrency, res.Conns = *concurrency, *conns
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		log.Fatal(err)
	}
}

type worker struct {
	h                         latency.Hist
	ok, status, rpc, timeouts int64
	firstErr                  string
	sumNS                     int64
	_                         [64]byte // keep workers' counters off each other's cache lines
}

// run drives the load for d and returns the counts; the duration is from
// the start to the last call's end.
func run(clients []authv3.AuthorizationClient, req *authv3.CheckRequest, n int, d, timeout time.Duration) Result {
	ws := make([]worker, n)
	start := time.Now()
	end := start.Add(d)
	var wg sync.WaitGroup
	for i := range ws {
		wg.Add(1)
		go func(w *worker, c authv3.AuthorizationClient) {
			defer wg.Done()
			for {
				t0 := time.Now()
				if !t0.Before(end) {
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), timeout)
				resp, err := c.Check(ctx, req)
				cancel()
				el := time.Since(t0)
				switch {
				case err == nil && codes.Code(resp.GetStatus().GetCode()) == codes.OK:
					w.ok++
					w.h.Record(el)
					w.sumNS += int64(el)
					continue
				case err == nil:
					w.status++
					err = fmt.Errorf("denied: code %d %q", resp.GetStatus().GetCode(), resp.GetStatus().GetMessage())
				case status.Code(err) == codes.DeadlineExceeded || errors.Is(err, context.DeadlineExceeded):
					w.timeouts++
				default:
					w.rpc++
				}
				if w.firstErr == "" {
					w.firstErr = err.Error()
				}
			}
		}(&ws[i], clients[i%len(clients)])
	}
	wg.Wait()
	elapsed := time.Since(start)

	var all latency.Hist
	var r Result
	var sum int64
	for i := range ws {
		w := &ws[i]
		all.Merge(&w.h)
		r.ErrorsStatus += w.status
		r.ErrorsRead += w.rpc
		r.ErrorsTimeout += w.timeouts
		r.Requests += w.ok + w.status + w.rpc + w.timeouts
		sum += w.sumNS
		if r.FirstError == "" {
			r.FirstError = w.firstErr
		}
	}
	r.DurationUS = elapsed.Microseconds()
	r.P50, r.P90, r.P99, r.P999 = math.Ceil(all.Quantile(.50)), math.Ceil(all.Quantile(.90)), math.Ceil(all.Quantile(.99)), math.Ceil(all.Quantile(.999))
	r.Max = math.Ceil(float64(all.Max) / 1e3)
	if all.N > 0 {
		r.Mean = float64(sum) / float64(all.N) / 1e3
	}
	return r
}
