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

// RefusedAddr returns a loopback address where connections are refused
// until the test ends. The port is held by the client end of a connection
// kept open: nothing listens there, and nothing can start to, where a port
// merely closed could be taken by another test meanwhile.
func RefusedAddr(tb testing.TB) string {
	tb.Helper()
	ln := Listen(tb)
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		tb.Fatalf("testkit: dialing own listener: %v", err)
	}
	server, err := ln.Accept()
	if err != nil {
		tb.Fatalf("testkit: accepting own connection: %v", err)
	}
	tb.Cleanup(func() { _ = client.Close(); _ = server.Close() })
	return client.LocalAddr().String()
}
