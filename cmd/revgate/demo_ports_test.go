package main

import (
	"net"
	"strings"
	"testing"
)

func TestTheDemoNamesTheFlagOfAPortInUse(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	addr := busy.Addr().String()
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	freeAddr := free.Addr().String() // free again once closed: the demo takes it twice
	free.Close()
	for _, c := range []struct {
		name, flag  string
		listen, adm string
	}{
		{"the proxy port", "--listen", addr, "127.0.0.1:0"},
		{"the admin port", "--admin-listen", "127.0.0.1:0", addr},
		{"one address for both", "--admin-listen", freeAddr, ""},
	} {
		t.Run(c.name+" names "+c.flag, func(t *testing.T) {
			adm := c.adm
			if adm == "" {
				adm = c.listen
			}
			r := runCLIEnv(t, nil, "", "demo", "--listen", c.listen, "--admin-listen", adm)
			want(t, r, 1)
			if !strings.Contains(r.stderr, c.flag+" ") || !strings.Contains(r.stderr, "address already in use") {
				t.Fatalf("stderr does not name %s and the busy address: %s", c.flag, r)
			}
		})
	}
}
