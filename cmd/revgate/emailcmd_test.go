package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lestrrat-go/jwx/v2/jwa"
)

// ssfYAML turns the Shared Signals receiver on (push, with the gateway's
// own key file standing in for the transmitter's), so that email marks
// apply and the admin API sets them.
func ssfYAML(jwksPath string) string {
	return fmt.Sprintf("ssf:\n  issuer: https://transmitter.example\n  jwks_file: %q\n  audience: https://revgate.example\n  push_path: /ssf/events\n  push_authorization: \"Bearer cli-test-push-0123456789\"\n", jwksPath)
}

func TestAdminCLIRevokesEmailAddresses(t *testing.T) {
	g := startCLIGateway(t)
	mintFor := func(t *testing.T, email string, issued time.Time) string {
		t.Helper()
		tok, err := mint(g.signer.key, jwa.ES256, mintRequest{Subject: "alice", TTL: time.Hour, Now: issued, Claims: map[string]any{"email": email}})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	issued := time.Now().Add(-2 * time.Second)
	tok := mintFor(t, "Alice@Example.com", issued)
	other := mintFor(t, "bob@example.com", issued)
	if code := g.proxyStatus(t, tok); code != 200 {
		t.Fatalf("before: %d", code)
	}

	r := g.run(t, "revoke", "email", "alice@EXAMPLE.com", "--reason", "account disabled")
	want(t, r, 0)
	wantLine(t, r, `revoked email alice@EXAMPLE\.com: tokens issued at or before `+rfc3339Re+` are rejected`)
	if code := g.proxyStatus(t, tok); code != 401 {
		t.Fatalf("after revoke: %d, want 401", code)
	}
	if code := g.proxyStatus(t, other); code != 200 {
		t.Fatalf("another address after revoke: %d, want 200", code)
	}
	if later := mintFor(t, "alice@example.com", time.Now().Add(2*time.Second)); g.proxyStatus(t, later) != 200 {
		t.Fatal("a token issued after the mark was refused")
	}

	r = g.run(t, "status", "email", "ALICE@example.com")
	want(t, r, 0)
	wantLine(t, r, `email alice@example\.com: tokens issued at or before `+rfc3339Re+` are rejected`)
	r = g.run(t, "status", "email", "alice@example.com", "-o", "json")
	want(t, r, 0)
	if got := decodeJSON[markAnswer](t, r); got.Email != "alice@example.com" || got.Subject != "" || got.RevokedBefore.Before(issued.Truncate(time.Second)) {
		t.Fatalf("json: %+v", got)
	}

	before := time.Now().Add(-time.Hour).Truncate(time.Second).UTC()
	r = g.run(t, "revoke", "email", "alice@example.com", "--before", before.Format(time.RFC3339))
	want(t, r, 0)
	wantLine(t, r, `revoked email alice@example\.com: tokens issued at or before `+rfc3339Re+` are rejected \(a later mark was already in place and is kept\)`)

	r = g.run(t, "unrevoke", "email", "Alice@Example.com", "-o", "json")
	want(t, r, 0)
	if diff := cmp.Diff(map[string]any{"email": "Alice@Example.com", "revoked": false}, decodeJSON[map[string]any](t, r)); diff != "" {
		t.Fatalf("json (-want +got):\n%s", diff)
	}
	if code := g.proxyStatus(t, tok); code != 200 {
		t.Fatalf("after unrevoke: %d, want 200", code)
	}
	r = g.run(t, "status", "email", "alice@example.com")
	want(t, r, 1)
	if r.stderr != "revgate: email alice@example.com has no revocation mark\n" {
		t.Fatalf("output: %s", r)
	}

	t.Run("an address of odd characters is path-escaped on the way", func(t *testing.T) {
		odd := "a/b c?d#e%f+{g}@Ünïcödé.example"
		want(t, g.run(t, "revoke", "email", odd), 0)
		r := g.run(t, "status", "email", odd)
		want(t, r, 0)
		wantLine(t, r, `email `+regexp.QuoteMeta(display(strings.ToLower(odd)))+`: tokens issued at or before `+rfc3339Re+` are rejected`)
		want(t, g.run(t, "status", "subject", odd), 1)
		want(t, g.run(t, "unrevoke", "email", odd), 0)
		want(t, g.run(t, "status", "email", odd), 1)
	})
	t.Run("a subject of the address's text is not the address", func(t *testing.T) {
		want(t, g.run(t, "revoke", "subject", "carol@example.com"), 0)
		want(t, g.run(t, "status", "email", "carol@example.com"), 1)
		want(t, g.run(t, "unrevoke", "subject", "carol@example.com"), 0)
	})
	g.noSecretsPrinted(t, tok, other)
}
