package main

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/revgate/revgate/gateway/adminapi"
)

func TestRevokeTokenByJTIWithAPastExpirySaysNothingWasRevoked(t *testing.T) {
	g := startCLIGateway(t)
	hourAgo := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)

	for _, c := range []struct {
		name, jti, at, output string
	}{
		{"an RFC 3339 time an hour ago exits 4 in text", "past-rfc3339", hourAgo.Format(time.RFC3339), "text"},
		{"unix seconds an hour ago exit 4 in text", "past-unix", strconv.FormatInt(hourAgo.Unix(), 10), "text"},
		{"a past time exits 4 with json output too", "past-json", hourAgo.Format(time.RFC3339), "json"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := g.run(t, "revoke", "token", "--jti", c.jti, "--expires-at", c.at, "-o", c.output)
			want(t, r, exitNothingToRevoke)
			if r.stdout != "" || !strings.HasPrefix(r.stderr, "revgate: token jti="+c.jti+" already expired at ") ||
				!strings.Contains(r.stderr, "nothing to revoke") || strings.Count(r.stderr, "\n") != 1 {
				t.Fatalf("output: %s", r)
			}
			// It is true: the gateway holds no record.
			want(t, g.run(t, "status", "token", c.jti), exitNotFound)
		})
	}

	t.Run("a past time still within the gateway's leeway is stored, and says until when", func(t *testing.T) {
		at := time.Now().Add(-5 * time.Second).UTC().Truncate(time.Second)
		r := g.run(t, "revoke", "token", "--jti", "within-leeway", "--expires-at", at.Format(time.RFC3339))
		want(t, r, 0)
		wantLine(t, r, `revoked token jti=within-leeway until `+rfc3339Re)
		want(t, g.run(t, "status", "token", "within-leeway"), 0)
	})
	t.Run("a future time is stored as before", func(t *testing.T) {
		r := g.run(t, "revoke", "token", "--jti", "future", "--expires-at", time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
		want(t, r, 0)
		want(t, g.run(t, "status", "token", "future"), 0)
	})
	t.Run("revoke token --help documents exit code 4", func(t *testing.T) {
		r := runCLIEnv(t, nil, "", "revoke", "token", "--help")
		want(t, r, 0)
		if !strings.Contains(r.stdout, "  4  revoke token --jti only") || !strings.Contains(r.stdout, "already expired: nothing to revoke") {
			t.Fatalf("--help lacks exit code 4:\n%s", r.stdout)
		}
	})
	g.noSecretsPrinted(t)
}

func TestLapsedOnArrivalComparesTheGatewaysOwnTimes(t *testing.T) {
	at := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	for _, c := range []struct {
		name string
		a    adminapi.Token
		want bool
	}{
		{"a record expiring after the revocation was stored", adminapi.Token{ExpiresAt: at.Add(time.Second), RevokedAt: at}, false},
		{"a record expiring in the second of the revocation was not", adminapi.Token{ExpiresAt: at, RevokedAt: at}, true},
		{"a record expiring before the revocation was not", adminapi.Token{ExpiresAt: at.Add(-time.Hour), RevokedAt: at}, true},
		{"an answer without revoked_at is taken at its word", adminapi.Token{ExpiresAt: at.Add(-time.Hour)}, false},
	} {
		if got := lapsedOnArrival(c.a); got != c.want {
			t.Errorf("%s: lapsedOnArrival = %v, want %v", c.name, got, c.want)
		}
	}
}
