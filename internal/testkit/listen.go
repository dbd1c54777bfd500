package testkit

import (
	"net"
	"testing"
)

// Listen opens a TCP listener on a free loopback port and closes it when
// the test ends. Hand the listener itself to the server under test: a port
// closed and then bound again can be taken by another test in between.
func Listen(tb testing.TB) net.Listener {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("testkit: listening on loopback: %v", err)
	}
	tb.Cleanup(func() { _ = ln.Close() })
	return ln
}
