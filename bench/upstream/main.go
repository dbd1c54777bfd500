// Command upstream is the API behind every benchmark row: it answers every
// request with 200 and a small JSON body, and does as little else as it
// can, so the rows measure what sits in front of it.
//
//	upstream -listen 127.0.0.1:0 -addr-file FILE
//
// It writes the address it bound to -addr-file (when set) once listening.
package main

import (
	"flag"
	"net/http"
	"strconv"

	"github.com/revgate/revgate/bench/internal/benchdata"
)

var body = []byte(`{"id":42,"status":"ok","items":[{"sku":"A-1","qty":2},{"sku":"B-7","qty":1}]}`)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on (loopback only)")
	addrFile := flag.String("addr-file", "", "write the bound address here once listening")
	flag.Parse()

	length := strconv.Itoa(len(body))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd["Content-Type"] = []string{"application/json"}
		hd["Content-Length"] = []string{length}
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	})
	benchdata.Serve(*listen, *addrFile, h)
}
