package benchdata

import (
	"log"
	"net"
	"net/http"
	"os"
	"time"
)

// Serve serves h on listen and, when addrFile is set, writes the bound
// address there once listening (run.sh waits for that file). The upstream
// and the bare proxy serve through it with the same server settings, so
// they differ only in their handlers. It returns only by exiting.
func Serve(listen, addrFile string, h http.Handler) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		log.Fatal(err)
	}
	if addrFile != "" {
		if err := os.WriteFile(addrFile, []byte(ln.Addr().String()), 0o600); err != nil {
			log.Fatal(err)
		}
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	log.Fatal(srv.Serve(ln))
}
