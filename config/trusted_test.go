package config_test

import (
	"net/netip"
	"testing"

	. "github.com/revgate/revgate/config"
)

func TestParseTrustedProxyReadsEntriesAsPeersAreRead(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.0.0/8":               "10.0.0.0/8",
		"10.1.2.3/8":               "10.0.0.0/8", // host bits dropped
		"192.168.1.7":              "192.168.1.7/32",
		"::1":                      "::1/128",
		"fd00::/8":                 "fd00::/8",
		"::ffff:10.0.0.0/104":      "10.0.0.0/8", // peers are unmapped
		"::ffff:192.168.1.7":       "192.168.1.7/32",
		"2001:db8::/32":            "2001:db8::/32",
		"2001:db8:0:0:0:0:0:1/128": "2001:db8::1/128",
	} {
		got, err := ParseTrustedProxy(in)
		if err != nil {
			t.Errorf("ParseTrustedProxy(%q): %v", in, err)
			continue
		}
		if got != netip.MustParsePrefix(want) {
			t.Errorf("ParseTrustedProxy(%q) = %v, want %v", in, got, want)
		}
	}
	for _, in := range []string{"", "localhost", "10.0.0.0/33", "10.0.0.1:80", "fe80::1%eth0", "10.0.0.0/8 "} {
		if got, err := ParseTrustedProxy(in); err == nil {
			t.Errorf("ParseTrustedProxy(%q) = %v, want an error", in, got)
		}
	}
}
