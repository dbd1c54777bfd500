package testkit_test

import (
	"errors"
	"net"
	"syscall"
	"testing"

	"github.com/revgate/revgate/internal/testkit"
)

func TestRefusedAddrRefusesConnectionsAndCannotBeListenedOn(t *testing.T) {
	addr := testkit.RefusedAddr(t)
	if c, err := net.Dial("tcp", addr); !errors.Is(err, syscall.ECONNREFUSED) {
		if err == nil {
			c.Close()
		}
		t.Errorf("dialing %s: %v, want connection refused", addr, err)
	}
	if ln, err := net.Listen("tcp", addr); err == nil {
		ln.Close()
		t.Errorf("another listener could take %s", addr)
	}
}
