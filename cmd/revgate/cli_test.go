package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/revgate/revgate/internal/redistest"
	"github.com/revgate/revgate/internal/testkit"
)

// cliResult is one run of the revgate binary.
type cliResult struct {
	stdout, stderr string
	code           int
}

func (r cliResult) String() string {
	return fmt.Sprintf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
}

// runCLIEnv runs the binary with extra environment variables and standard
// input, keeping stdout and stderr apart.
func runCLIEnv(t *testing.T, env []string, stdin string, args ...string) cliResult {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(cleanEnv(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return cliResult{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// cliGateway is a gateway process with the memory store, and the way to
// run admin commands against it.
type cliGateway struct {
	*process
	signer signer
	// outputs collects everything the CLI printed, to check that no token
	// ever appears in it.
	outputs []string
}

func startCLIGateway(t *testing.T) *cliGateway {
	t.Helper()
	s := newSigner(t)
	upstream := newUpstream(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(200) })
	p := startGateway(t, fmt.Sprintf("upstream:\n  url: %q\njwt:\n  jwks_file: %q\n  algorithms: [ES256]\nrevocation:\n  store: memory\n",
		upstream, s.jwksPath)+ssfYAML(s.jwksPath))
	return &cliGateway{process: p, signer: s}
}

// run runs a command with REVGATE_ADMIN_URL and REVGATE_ADMIN_TOKEN set
// for this gateway.
func (g *cliGateway) run(t *testing.T, args ...string) cliResult {
	t.Helper()
	return g.runIn(t, "", args...)
}

func (g *cliGateway) runIn(t *testing.T, stdin string, args ...string) cliResult {
	t.Helper()
	r := runCLIEnv(t, []string{"REVGATE_ADMIN_URL=http://" + g.admin, "REVGATE_ADMIN_TOKEN=" + adminToken}, stdin, args...)
	g.outputs = append(g.outputs, r.stdout, r.stderr)
	return r
}

// proxyStatus is the proxy's answer to a request with token.
func (g *cliGateway) proxyStatus(t *testing.T, token string) int {
	t.Helper()
	return call(t, "GET", "http://"+g.proxy+"/x", token, "")
}

// mint signs a token for sub with a known jti, issued two seconds ago so
// that a mark set now covers it.
func (g *cliGateway) mint(t *testing.T, sub, jti string) string {
	t.Helper()
	tok, err := mint(g.signer.key, jwa.ES256, mintRequest{Subject: sub, JTI: jti, TTL: time.Hour, Now: time.Now().Add(-2 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// noSecretsPrinted fails when any output or the gateway's log holds one of
// the secrets.
func (g *cliGateway) noSecretsPrinted(t *testing.T, secrets ...string) {
	t.Helper()
	all := strings.Join(g.outputs, "\n") + g.stderr.String()
	for _, s := range append(secrets, adminToken) {
		if strings.Contains(all, s) {
			t.Errorf("a token or secret (%.12s...) appears in the CLI output or the gateway log", s)
		}
	}
}

func want(t *testing.T, r cliResult, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("want exit %d, got %s", code, r)
	}
}

func wantLine(t *testing.T, r cliResult, pattern string) {
	t.Helper()
	if !regexp.MustCompile(`^` + pattern + `\n$`).MatchString(r.stdout) {
		t.Fatalf("stdout does not match %q:\n%s", pattern, r)
	}
}

func decodeJSON[T any](t *testing.T, r cliResult) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, r)
	}
	return v
}

const rfc3339Re = `\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`

func TestAdminCLIRevokesChecksAndUnrevokesTokens(t *testing.T) {
	g := startCLIGateway(t)
	alice := g.mint(t, "alice", "jti-alice-1")
	alice2 := g.mint(t, "alice", "jti-alice-2")
	expired, err := mint(g.signer.key, jwa.ES256, mintRequest{Subject: "alice", JTI: "jti-expired", TTL: time.Hour, Now: time.Now().Add(-3 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	stdinToken := g.mint(t, "alice", "jti-stdin")

	t.Run("revoke token --token prints the jti and expiry, and the gateway then rejects the token", func(t *testing.T) {
		if code := g.proxyStatus(t, alice); code != 200 {
			t.Fatalf("before: %d", code)
		}
		r := g.run(t, "revoke", "token", "--token", alice, "--reason", "laptop stolen")
		want(t, r, 0)
		wantLine(t, r, `revoked token jti=jti-alice-1 until `+rfc3339Re)
		if code := g.proxyStatus(t, alice); code != 401 {
			t.Fatalf("after: %d, want 401", code)
		}
		if code := g.proxyStatus(t, alice2); code != 200 {
			t.Fatalf("her other token: %d, want 200", code)
		}
	})
	t.Run("revoke token --output json prints the API's JSON", func(t *testing.T) {
		r := g.run(t, "revoke", "token", "--token", alice2, "--output", "json")
		want(t, r, 0)
		got := decodeJSON[map[string]string](t, r)
		if got["jti"] != "jti-alice-2" || got["expires_at"] == "" || got["revoked_at"] == "" {
			t.Fatalf("answer: %v", got)
		}
		if _, err := time.Parse(time.RFC3339, got["expires_at"]); err != nil {
			t.Fatalf("expires_at: %v", err)
		}
	})
	t.Run("an expired token can be revoked", func(t *testing.T) {
		r := g.run(t, "revoke", "token", "--token", expired)
		want(t, r, 0)
		wantLine(t, r, `revoked token jti=jti-expired until `+rfc3339Re)
	})
	t.Run("--token - reads the token from standard input", func(t *testing.T) {
		r := g.runIn(t, stdinToken+"\n", "revoke", "token", "--token", "-")
		want(t, r, 0)
		wantLine(t, r, `revoked token jti=jti-stdin until `+rfc3339Re)
	})
	t.Run("revoke token --jti with --expires-at as RFC 3339 and as unix seconds", func(t *testing.T) {
		at := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
		r := g.run(t, "revoke", "token", "--jti", "by-jti-1", "--expires-at", at.Format(time.RFC3339))
		want(t, r, 0)
		wantLine(t, r, `revoked token jti=by-jti-1 until `+rfc3339Re)
		r = g.run(t, "revoke", "token", "--jti", "by-jti-2", "--expires-at", strconv.FormatInt(at.Unix(), 10), "-o", "json")
		want(t, r, 0)
		got := decodeJSON[tokenAnswer](t, r)
		// The gateway keeps a jti until exp plus its leeway (30s).
		if got.JTI != "by-jti-2" || got.ExpiresAt.Before(at) || got.ExpiresAt.After(at.Add(time.Minute)) {
			t.Fatalf("answer %+v for expiry %s", got, at)
		}
	})
	t.Run("status token shows a revoked jti in text and JSON", func(t *testing.T) {
		r := g.run(t, "status", "token", "jti-alice-1")
		want(t, r, 0)
		wantLine(t, r, `token jti=jti-alice-1 is revoked until `+rfc3339Re)
		r = g.run(t, "status", "token", "jti-alice-1", "--output", "json")
		want(t, r, 0)
		got := decodeJSON[map[string]any](t, r)
		if got["jti"] != "jti-alice-1" || got["revoked"] != true {
			t.Fatalf("answer: %v", got)
		}
	})
	t.Run("status token of a jti never revoked exits 1", func(t *testing.T) {
		for _, output := range []string{"text", "json"} {
			r := g.run(t, "status", "token", "never-revoked", "-o", output)
			want(t, r, 1)
			if r.stdout != "" || r.stderr != "revgate: token jti=never-revoked is not revoked\n" {
				t.Fatalf("output: %s", r)
			}
		}
	})
	t.Run("unrevoke token lets the token pass again, in text and JSON", func(t *testing.T) {
		r := g.run(t, "unrevoke", "token", "jti-alice-1")
		want(t, r, 0)
		wantLine(t, r, `unrevoked token jti=jti-alice-1`)
		if code := g.proxyStatus(t, alice); code != 200 {
			t.Fatalf("after unrevoke: %d, want 200", code)
		}
		want(t, g.run(t, "status", "token", "jti-alice-1"), 1)

		r = g.run(t, "unrevoke", "token", "jti-alice-2", "-o", "json")
		want(t, r, 0)
		if diff := cmp.Diff(map[string]any{"jti": "jti-alice-2", "revoked": false}, decodeJSON[map[string]any](t, r)); diff != "" {
			t.Fatalf("json (-want +got):\n%s", diff)
		}
		want(t, g.run(t, "unrevoke", "token", "jti-alice-2"), 0) // again: nothing left, still done
	})
	t.Run("the API's message is shown as is, with exit 3", func(t *testing.T) {
		r := g.run(t, "revoke", "token", "--jti", strings.Repeat("x", 1025))
		want(t, r, 3)
		if r.stderr != "revgate: admin API: jti: longer than 1024 bytes (400)\n" || r.stdout != "" {
			t.Fatalf("output: %s", r)
		}
		tampered := alice[:len(alice)-4] + "AAAA"
		r = g.run(t, "revoke", "token", "--token", tampered)
		want(t, r, 3)
		if !strings.HasPrefix(r.stderr, "revgate: admin API: token: ") || !strings.HasSuffix(r.stderr, " (400)\n") || strings.Contains(r.stderr, tampered) {
			t.Fatalf("output: %s", r)
		}
	})
	g.noSecretsPrinted(t, alice, alice2, expired, stdinToken)
}

func TestAdminCLIRevokesSubjectsOfAnyCharacters(t *testing.T) {
	g := startCLIGateway(t)
	subjects := []string{
		"alice",
		"42",
		"a/b c?d#e%f:{g}",
		"../..",
		"..",
		"emoji 🎉 and Ünïcödé",
		strings.Repeat("ü", 512), // 1 KiB
	}
	for i, sub := range subjects {
		t.Run(fmt.Sprintf("subject %.20q", sub), func(t *testing.T) {
			tok := g.mint(t, sub, fmt.Sprintf("subject-%d", i))
			if code := g.proxyStatus(t, tok); code != 200 {
				t.Fatalf("before: %d", code)
			}
			r := g.run(t, "revoke", "subject", sub, "--reason", "password changed")
			want(t, r, 0)
			wantLine(t, r, `revoked subject `+regexp.QuoteMeta(display(sub))+`: tokens issued at or before `+rfc3339Re+` are rejected`)
			if code := g.proxyStatus(t, tok); code != 401 {
				t.Fatalf("after revoke: %d, want 401", code)
			}

			r = g.run(t, "status", "subject", sub)
			want(t, r, 0)
			wantLine(t, r, `subject `+regexp.QuoteMeta(display(sub))+`: tokens issued at or before `+rfc3339Re+` are rejected`)
			r = g.run(t, "status", "subject", sub, "-o", "json")
			want(t, r, 0)
			if got := decodeJSON[markAnswer](t, r); got.Subject != sub || got.RevokedBefore.IsZero() {
				t.Fatalf("json: %+v", got)
			}

			r = g.run(t, "unrevoke", "subject", sub, "-o", "json")
			want(t, r, 0)
			if diff := cmp.Diff(map[string]any{"subject": sub, "revoked": false}, decodeJSON[map[string]any](t, r)); diff != "" {
				t.Fatalf("json (-want +got):\n%s", diff)
			}
			if code := g.proxyStatus(t, tok); code != 200 {
				t.Fatalf("after unrevoke: %d, want 200", code)
			}
			r = g.run(t, "status", "subject", sub)
			want(t, r, 1)
			if r.stderr != "revgate: subject "+display(sub)+" has no revocation mark\n" {
				t.Fatalf("output: %s", r)
			}
		})
	}
	t.Run("another subject is untouched", func(t *testing.T) {
		r := g.run(t, "revoke", "subject", "a/b")
		want(t, r, 0)
		want(t, g.run(t, "status", "subject", "a"), 1)
		want(t, g.run(t, "status", "subject", "a%2Fb"), 1)
		want(t, g.run(t, "unrevoke", "subject", "a/b"), 0)
	})
	t.Run("revoke subject --output json prints the API's JSON", func(t *testing.T) {
		r := g.run(t, "revoke", "subject", "bob", "--output", "json")
		want(t, r, 0)
		got := decodeJSON[map[string]string](t, r)
		if got["subject"] != "bob" || got["revoked_before"] == "" {
			t.Fatalf("json: %v", got)
		}
	})
	t.Run("an earlier --before keeps the later mark and says so", func(t *testing.T) {
		r := g.run(t, "revoke", "subject", "bob", "--before", time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))
		want(t, r, 0)
		if !strings.HasSuffix(r.stdout, " are rejected (a later mark was already in place and is kept)\n") {
			t.Fatalf("output: %s", r)
		}
	})
	t.Run("--before sets the mark, as unix seconds too", func(t *testing.T) {
		before := time.Now().Add(-10 * time.Minute).Truncate(time.Second).UTC()
		r := g.run(t, "revoke", "subject", "carol", "--before", strconv.FormatInt(before.Unix(), 10), "-o", "json")
		want(t, r, 0)
		if got := decodeJSON[markAnswer](t, r); !got.RevokedBefore.Equal(before) {
			t.Fatalf("mark %s, want %s", got.RevokedBefore, before)
		}
		tok := g.mint(t, "carol", "carol-now")
		if code := g.proxyStatus(t, tok); code != 200 {
			t.Fatalf("a token issued after the mark: %d, want 200", code)
		}
	})
	g.noSecretsPrinted(t)
}

func TestAdminCLIRevokesSessionsOfAnyCharacters(t *testing.T) {
	g := startCLIGateway(t)
	mintIn := func(t *testing.T, sid string) string {
		t.Helper()
		tok, err := mint(g.signer.key, jwa.ES256, mintRequest{Subject: "alice", TTL: time.Hour, Claims: map[string]any{"sid": sid}})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	other := mintIn(t, "the-other-session")
	sessions := []string{"sess-1", "a/b c?d#e%f:{g}", "..", "emoji 🎉 and Ünïcödé", strings.Repeat("ü", 512)}
	for _, sid := range sessions {
		t.Run(fmt.Sprintf("session %.20q", sid), func(t *testing.T) {
			tok := mintIn(t, sid)
			if code := g.proxyStatus(t, tok); code != 200 {
				t.Fatalf("before: %d", code)
			}
			r := g.run(t, "revoke", "session", sid, "--reason", "idp logout")
			want(t, r, 0)
			wantLine(t, r, `revoked session `+regexp.QuoteMeta(display(sid))+` until `+rfc3339Re)
			if code := g.proxyStatus(t, tok); code != 401 {
				t.Fatalf("after revoke: %d, want 401", code)
			}
			if code := g.proxyStatus(t, other); code != 200 {
				t.Fatalf("another session of the same user after revoke: %d, want 200", code)
			}

			r = g.run(t, "status", "session", sid)
			want(t, r, 0)
			wantLine(t, r, `session `+regexp.QuoteMeta(display(sid))+` is revoked until `+rfc3339Re)
			r = g.run(t, "status", "session", sid, "-o", "json")
			want(t, r, 0)
			if got := decodeJSON[sessionAnswer](t, r); got.Session != sid || !got.Revoked || got.ExpiresAt.Before(time.Now().Add(23*time.Hour)) {
				t.Fatalf("json: %+v, want the session revoked for max_token_lifetime (24h)", got)
			}

			r = g.run(t, "unrevoke", "session", sid, "-o", "json")
			want(t, r, 0)
			if diff := cmp.Diff(map[string]any{"session": sid, "revoked": false}, decodeJSON[map[string]any](t, r)); diff != "" {
				t.Fatalf("json (-want +got):\n%s", diff)
			}
			if code := g.proxyStatus(t, tok); code != 200 {
				t.Fatalf("after unrevoke: %d, want 200", code)
			}
			r = g.run(t, "status", "session", sid)
			want(t, r, 1)
			if r.stderr != "revgate: session "+display(sid)+" is not revoked\n" {
				t.Fatalf("output: %s", r)
			}
		})
	}
	t.Run("a subject or jti of the session's text is not the session", func(t *testing.T) {
		want(t, g.run(t, "revoke", "session", "shared-text"), 0)
		want(t, g.run(t, "status", "subject", "shared-text"), 1)
		want(t, g.run(t, "status", "token", "shared-text"), 1)
		want(t, g.run(t, "unrevoke", "session", "shared-text"), 0)
	})
	g.noSecretsPrinted(t)
}

func TestAdminCLIRevokesAll(t *testing.T) {
	g := startCLIGateway(t)
	bob := g.mint(t, "bob", "bob-1")

	r := g.run(t, "revoke", "all", "--reason", "signing key leaked")
	want(t, r, 0)
	wantLine(t, r, `revoked all tokens issued at or before `+rfc3339Re)
	if code := g.proxyStatus(t, bob); code != 401 {
		t.Fatalf("after revoke all: %d, want 401", code)
	}
	r = g.run(t, "status", "all")
	want(t, r, 0)
	wantLine(t, r, `all tokens issued at or before `+rfc3339Re+` are rejected`)
	r = g.run(t, "status", "all", "-o", "json")
	want(t, r, 0)
	if got := decodeJSON[map[string]string](t, r); got["revoked_before"] == "" || len(got) != 1 {
		t.Fatalf("json: %v", got)
	}

	r = g.run(t, "unrevoke", "all")
	want(t, r, 0)
	wantLine(t, r, `unrevoked all \(the global mark is removed\)`)
	if code := g.proxyStatus(t, bob); code != 200 {
		t.Fatalf("after unrevoke all: %d, want 200", code)
	}
	r = g.run(t, "status", "all")
	want(t, r, 1)
	if r.stderr != "revgate: there is no global revocation mark\n" {
		t.Fatalf("output: %s", r)
	}

	before := time.Now().Add(-time.Hour).Truncate(time.Second).UTC()
	r = g.run(t, "revoke", "all", "--before", before.Format(time.RFC3339), "-o", "json")
	want(t, r, 0)
	if got := decodeJSON[markAnswer](t, r); !got.RevokedBefore.Equal(before) {
		t.Fatalf("mark %s, want %s", got.RevokedBefore, before)
	}
	if code := g.proxyStatus(t, bob); code != 200 {
		t.Fatalf("a token issued after the mark: %d, want 200", code)
	}
	r = g.run(t, "unrevoke", "all", "-o", "json")
	want(t, r, 0)
	if r.stdout != `{"revoked":false}`+"\n" {
		t.Fatalf("output: %s", r)
	}
	g.noSecretsPrinted(t, bob)
}

// allAdminCommands is one valid call of every admin client command.
var allAdminCommands = [][]string{
	{"revoke", "token", "--jti", "j1"},
	{"revoke", "subject", "s1"},
	{"revoke", "all"},
	{"revoke", "session", "sid1"},
	{"revoke", "email", "e1@example.com"},
	{"status", "token", "j1"},
	{"status", "subject", "s1"},
	{"status", "all"},
	{"status", "session", "sid1"},
	{"status", "email", "e1@example.com"},
	{"unrevoke", "token", "j1"},
	{"unrevoke", "subject", "s1"},
	{"unrevoke", "all"},
	{"unrevoke", "session", "sid1"},
	{"unrevoke", "email", "e1@example.com"},
}

func TestAdminCLIExitCodesOfEveryCommand(t *testing.T) {
	g := startCLIGateway(t)
	down := testkit.RefusedAddr(t) // nothing listens there
	const wrongToken = "wrong-admin-token-0123456789"

	for _, args := range allAdminCommands {
		name := strings.Join(args[:2], " ")
		t.Run(name+" succeeds with 0", func(t *testing.T) {
			for _, output := range []string{"text", "json"} {
				r := g.run(t, append(args, "-o", output)...)
				want(t, r, 0)
				if r.stderr != "" || r.stdout == "" {
					t.Fatalf("output: %s", r)
				}
			}
		})
		t.Run(name+" against an unreachable admin API exits 3 with one line", func(t *testing.T) {
			r := runCLIEnv(t, nil, "", append(args, "--admin-url", "http://"+down, "--admin-token", adminToken)...)
			want(t, r, 3)
			if r.stderr != "revgate: cannot reach the admin API at http://"+down+": connection refused\n" || r.stdout != "" {
				t.Fatalf("output: %s", r)
			}
		})
		t.Run(name+" with a wrong admin token exits 3 and never prints it", func(t *testing.T) {
			r := runCLIEnv(t, []string{"REVGATE_ADMIN_URL=http://" + g.admin, "REVGATE_ADMIN_TOKEN=" + wrongToken}, "", args...)
			want(t, r, 3)
			if r.stderr != "revgate: admin API: admin token not accepted (401)\n" {
				t.Fatalf("output: %s", r)
			}
		})
		t.Run(name+" without an admin token exits 3 and says how to give one", func(t *testing.T) {
			r := runCLIEnv(t, []string{"REVGATE_ADMIN_URL=http://" + g.admin}, "", args...)
			want(t, r, 3)
			if !strings.Contains(r.stderr, "(401); give the admin token with --admin-token-file, --admin-token or $REVGATE_ADMIN_TOKEN") {
				t.Fatalf("output: %s", r)
			}
		})
		t.Run(name+" with bad usage exits 2", func(t *testing.T) {
			for _, extra := range [][]string{{"--output", "yaml"}, {"--no-such-flag"}, {"extra-argument"}, {"--timeout", "0s"}} {
				r := g.run(t, append(append([]string{}, args...), extra...)...)
				want(t, r, 2)
				if r.stdout != "" || !strings.HasPrefix(r.stderr, "revgate: ") || strings.Count(r.stderr, "\n") != 1 {
					t.Fatalf("%v: output: %s", extra, r)
				}
			}
		})
		t.Run(name+" documents its exit codes in --help", func(t *testing.T) {
			r := runCLIEnv(t, nil, "", append(args[:2:2], "--help")...)
			want(t, r, 0)
			for _, s := range []string{"Exit codes:", "0  done", "1  not found", "2  usage", "3  the admin API", "REVGATE_ADMIN_URL", "REVGATE_ADMIN_TOKEN"} {
				if !strings.Contains(r.stdout, s) {
					t.Errorf("--help lacks %q:\n%s", s, r.stdout)
				}
			}
		})
	}

	usage := []struct {
		name string
		args []string
	}{
		{"a group without its subcommand", []string{"revoke"}},
		{"an unknown subcommand", []string{"status", "tokens", "x"}},
		{"revoke token with neither --token nor --jti", []string{"revoke", "token"}},
		{"revoke token with both --token and --jti", []string{"revoke", "token", "--token", "a.b.c", "--jti", "x"}},
		{"revoke token --token with --expires-at", []string{"revoke", "token", "--token", "a.b.c", "--expires-at", "1700000000"}},
		{"an invalid --expires-at", []string{"revoke", "token", "--jti", "x", "--expires-at", "tomorrow"}},
		{"an invalid --before", []string{"revoke", "subject", "x", "--before", "2026-13-01"}},
		{"an invalid --before on all", []string{"revoke", "all", "--before", "-5"}},
		{"an empty subject", []string{"status", "subject", ""}},
		{"a missing subject", []string{"revoke", "subject"}},
		{"a missing session", []string{"revoke", "session"}},
		{"an empty session", []string{"status", "session", ""}},
		{"a missing address", []string{"revoke", "email"}},
		{"an empty address", []string{"status", "email", ""}},
		{"an admin URL that is not http(s)", []string{"status", "all", "--admin-url", "ftp://host"}},
		{"both --admin-token and --admin-token-file", []string{"status", "all", "--admin-token", "x", "--admin-token-file", "/dev/null"}},
		{"an unreadable --admin-token-file", []string{"status", "all", "--admin-token-file", "/no/such/file"}},
	}
	for _, u := range usage {
		t.Run(u.name+" exits 2", func(t *testing.T) {
			r := g.run(t, u.args...)
			want(t, r, 2)
			if r.stdout != "" || !strings.HasPrefix(r.stderr, "revgate: ") {
				t.Fatalf("output: %s", r)
			}
		})
	}

	t.Run("--admin-url and --admin-token-file win over the environment", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "admin-token")
		if err := os.WriteFile(file, []byte(adminToken+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		env := []string{"REVGATE_ADMIN_URL=http://" + down, "REVGATE_ADMIN_TOKEN=" + wrongToken}
		r := runCLIEnv(t, env, "", "revoke", "subject", "dave", "--admin-url", "http://"+g.admin+"/", "--admin-token-file", file)
		want(t, r, 0)
		r = runCLIEnv(t, env, "", "status", "subject", "dave", "--admin-url", "http://"+g.admin, "--admin-token", adminToken)
		want(t, r, 0)
	})
	t.Run("a wrong --admin-url path is an API error, not a not-found", func(t *testing.T) {
		r := g.run(t, "status", "all", "--admin-url", "http://"+g.admin+"/prefix")
		want(t, r, 3)
		if r.stderr != "revgate: admin API: no such endpoint (404)\n" {
			t.Fatalf("output: %s", r)
		}
	})
	t.Run("pointing at the proxy listener is an API error that says so", func(t *testing.T) {
		r := g.run(t, "status", "all", "--admin-url", "http://"+g.proxy)
		want(t, r, 3)
		if !strings.Contains(r.stderr, "(is --admin-url the admin listener?) (401)") {
			t.Fatalf("output: %s", r)
		}
	})
	t.Run("an admin API that does not answer in time exits 3", func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		slow := newUpstream(t, func(w http.ResponseWriter, _ *http.Request) { <-release })
		start := time.Now()
		r := runCLIEnv(t, nil, "", "status", "all", "--admin-url", slow, "--timeout", "300ms")
		want(t, r, 3)
		if r.stderr != "revgate: the admin API at "+slow+" did not answer within 300ms\n" {
			t.Fatalf("output: %s", r)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("took %s", d)
		}
	})
	t.Run("credentials in the admin URL are never printed", func(t *testing.T) {
		r := runCLIEnv(t, nil, "", "status", "all", "--admin-url", "http://user:hunter2-password@"+down)
		want(t, r, 3)
		if strings.Contains(r.stderr, "hunter2-password") {
			t.Fatalf("output: %s", r)
		}
	})
	g.noSecretsPrinted(t, wrongToken)
}

func TestAdminCLIReportsA5xxAsExit3(t *testing.T) {
	redis := redistest.Start(t, redistest.Options{})
	s := newSigner(t)
	upstream := newUpstream(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(200) })
	p := startGateway(t, fmt.Sprintf("upstream:\n  url: %q\njwt:\n  jwks_file: %q\n  algorithms: [ES256]\nrevocation:\n  redis:\n    url: %q\n",
		upstream, s.jwksPath, redis.URL())+ssfYAML(s.jwksPath))
	g := &cliGateway{process: p, signer: s}

	want(t, g.run(t, "revoke", "subject", "erin"), 0)
	want(t, g.run(t, "status", "subject", "erin"), 0)
	redis.Stop()
	t.Run("every command", func(t *testing.T) {
		for _, args := range allAdminCommands {
			t.Run(strings.Join(args[:2], " ")+" exits 3 with the API's message", func(t *testing.T) {
				t.Parallel() // each waits for the store's timeout
				r := runCLIEnv(t, []string{"REVGATE_ADMIN_URL=http://" + p.admin, "REVGATE_ADMIN_TOKEN=" + adminToken}, "", args...)
				want(t, r, 3)
				if r.stderr != "revgate: admin API: revocation store unavailable; nothing was changed, retry (503)\n" || r.stdout != "" {
					t.Fatalf("output: %s", r)
				}
			})
		}
	})
	g.noSecretsPrinted(t)
}

// keyFiles writes PEM private keys of every supported kind, their public
// halves, and an HMAC secret.
type keyFiles struct {
	dir                        string
	rsaPKCS1, rsaPKCS8         string
	ecP256, ecP384, ed25519Key string
	publics                    []string
	hmacFile, hmacSecret       string
	rsaRaw                     *rsa.PrivateKey
	ecRaw                      *ecdsa.PrivateKey
}

func writeKeyFiles(t *testing.T) keyFiles {
	t.Helper()
	dir := t.TempDir()
	k := keyFiles{dir: dir}
	write := func(name, typ string, der []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	pkcs8 := func(key any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	public := func(name string, key any) {
		der, err := x509.MarshalPKIXPublicKey(key)
		if err != nil {
			t.Fatal(err)
		}
		k.publics = append(k.publics, write(name, "PUBLIC KEY", der))
	}

	var err error
	if k.rsaRaw, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	k.rsaPKCS1 = write("rsa-pkcs1.pem", "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k.rsaRaw))
	k.rsaPKCS8 = write("rsa-pkcs8.pem", "PRIVATE KEY", pkcs8(k.rsaRaw))
	public("rsa.pub.pem", &k.rsaRaw.PublicKey)

	if k.ecRaw, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	sec1, err := x509.MarshalECPrivateKey(k.ecRaw)
	if err != nil {
		t.Fatal(err)
	}
	k.ecP256 = write("ec256.pem", "EC PRIVATE KEY", sec1)
	public("ec256.pub.pem", &k.ecRaw.PublicKey)

	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	k.ecP384 = write("ec384.pem", "PRIVATE KEY", pkcs8(ec384))
	public("ec384.pub.pem", &ec384.PublicKey)

	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	k.ed25519Key = write("ed25519.pem", "PRIVATE KEY", pkcs8(edPriv))
	public("ed25519.pub.pem", edPub)

	k.hmacSecret = "hmac-secret-for-tests-" + randomID() // 54 bytes
	k.hmacFile = filepath.Join(dir, "hmac-secret")
	if err := os.WriteFile(k.hmacFile, []byte(k.hmacSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return k
}

// jwtParts decodes a token's header and payload, numbers kept exact.
func jwtParts(t *testing.T, tok string) (header, payload map[string]any) {
	t.Helper()
	parts := strings.Split(strings.TrimSpace(tok), ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS compact token: %q", tok)
	}
	decode := func(s string) map[string]any {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	return decode(parts[0]), decode(parts[1])
}

func TestTokenMintSignsWithEveryKeyKindAndTheGatewayAcceptsIt(t *testing.T) {
	k := writeKeyFiles(t)
	var mu sync.Mutex
	var lastSubject string
	upstream := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		lastSubject = r.Header.Get("X-Revgate-Subject")
		mu.Unlock()
		w.WriteHeader(200)
	})
	quoted := make([]string, len(k.publics))
	for i, p := range k.publics {
		quoted[i] = strconv.Quote(p)
	}
	p := startGateway(t, fmt.Sprintf("upstream:\n  url: %q\njwt:\n  public_key_files: [%s]\n  hmac_secret: %q\n  algorithms: [RS256, PS384, ES256, ES384, EdDSA, HS256, HS384]\n  issuer: https://issuer.test\n  audience: api\nrevocation:\n  store: memory\n",
		upstream, strings.Join(quoted, ", "), k.hmacSecret))

	cases := []struct {
		name    string
		args    []string
		wantAlg string
	}{
		{"an RSA PKCS#1 key defaults to RS256", []string{"--key", k.rsaPKCS1}, "RS256"},
		{"an RSA PKCS#8 key with --alg PS384", []string{"--key", k.rsaPKCS8, "--alg", "PS384"}, "PS384"},
		{"an EC P-256 SEC 1 key defaults to ES256", []string{"--key", k.ecP256}, "ES256"},
		{"an EC P-384 key defaults to ES384", []string{"--key", k.ecP384}, "ES384"},
		{"an Ed25519 key defaults to EdDSA", []string{"--key", k.ed25519Key}, "EdDSA"},
		{"an HMAC secret file defaults to HS256", []string{"--hmac-secret-file", k.hmacFile}, "HS256"},
		{"an inline HMAC secret with --alg HS384", []string{"--hmac-secret", k.hmacSecret, "--alg", "HS384"}, "HS384"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sub := fmt.Sprintf("user-%d", i)
			args := append([]string{"token", "mint", "--sub", sub, "--iss", "https://issuer.test", "--aud", "api", "--ttl", "5m"}, c.args...)
			r := runCLIEnv(t, nil, "", args...)
			want(t, r, 0)
			if r.stderr != "" || !strings.HasSuffix(r.stdout, "\n") || strings.Count(r.stdout, "\n") != 1 {
				t.Fatalf("output: %s", r)
			}
			header, payload := jwtParts(t, r.stdout)
			if header["alg"] != c.wantAlg {
				t.Fatalf("alg %v, want %s", header["alg"], c.wantAlg)
			}
			iat, _ := payload["iat"].(json.Number).Int64()
			exp, _ := payload["exp"].(json.Number).Int64()
			if exp-iat != 300 {
				t.Fatalf("exp-iat = %d, want 300", exp-iat)
			}
			if code := call(t, "GET", "http://"+p.proxy+"/x", strings.TrimSpace(r.stdout), ""); code != 200 {
				t.Fatalf("the gateway answered %d, want 200\n%s", code, p.stderr.String())
			}
			mu.Lock()
			got := lastSubject
			mu.Unlock()
			if got != sub {
				t.Fatalf("the upstream saw subject %q, want %q", got, sub)
			}
			if strings.Contains(r.stdout+r.stderr, k.hmacSecret) {
				t.Fatal("the HMAC secret was printed")
			}
		})
	}
}

func TestTokenMintFromAJWKSWithPrivateKeys(t *testing.T) {
	k := writeKeyFiles(t)
	set := jwk.NewSet()
	for kid, raw := range map[string]any{"rsa-1": k.rsaRaw, "ec-1": k.ecRaw} {
		key, err := jwk.FromRaw(raw)
		if err != nil {
			t.Fatal(err)
		}
		_ = key.Set(jwk.KeyIDKey, kid)
		_ = set.AddKey(key)
	}
	withAlg, _ := jwk.FromRaw(k.rsaRaw)
	_ = withAlg.Set(jwk.KeyIDKey, "rsa-ps")
	_ = withAlg.Set(jwk.AlgorithmKey, jwa.PS256)
	single := jwk.NewSet()
	_ = single.AddKey(withAlg)
	publicOnly := jwk.NewSet()
	pub, _ := withAlg.PublicKey()
	_ = publicOnly.AddKey(pub)
	files := map[string]jwk.Set{"two.json": set, "single.json": single, "public.json": publicOnly}
	paths := map[string]string{}
	for name, s := range files {
		b, _ := json.Marshal(s)
		paths[name] = filepath.Join(k.dir, name)
		if err := os.WriteFile(paths[name], b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	verify := func(t *testing.T, tok string, alg jwa.SignatureAlgorithm, key any) {
		t.Helper()
		if _, err := jwt.Parse([]byte(strings.TrimSpace(tok)), jwt.WithKey(alg, key)); err != nil {
			t.Fatalf("the token does not verify with the public key: %v", err)
		}
	}

	t.Run("--kid chooses the key, and the header names it", func(t *testing.T) {
		r := runCLIEnv(t, nil, "", "token", "mint", "--key", paths["two.json"], "--kid", "ec-1", "--sub", "alice")
		want(t, r, 0)
		header, _ := jwtParts(t, r.stdout)
		if header["kid"] != "ec-1" || header["alg"] != "ES256" {
			t.Fatalf("header: %v", header)
		}
		verify(t, r.stdout, jwa.ES256, &k.ecRaw.PublicKey)
	})
	t.Run("the key's own alg is the default", func(t *testing.T) {
		r := runCLIEnv(t, nil, "", "token", "mint", "--key", paths["single.json"])
		want(t, r, 0)
		header, _ := jwtParts(t, r.stdout)
		if header["kid"] != "rsa-ps" || header["alg"] != "PS256" {
			t.Fatalf("header: %v", header)
		}
		verify(t, r.stdout, jwa.PS256, &k.rsaRaw.PublicKey)
	})
	refused := []struct {
		name, wantErr string
		args          []string
	}{
		{"several keys and no --kid", `holds 2 private keys; choose one with --kid`, []string{"--key", paths["two.json"]}},
		{"an unknown --kid", `--kid "nope": no private key with that kid`, []string{"--key", paths["two.json"], "--kid", "nope"}},
		{"a public JWKS", `holds no private signing key`, []string{"--key", paths["public.json"]}},
		{"an --alg other than the key's own", `the JWKS key is for PS256 only`, []string{"--key", paths["single.json"], "--alg", "RS256"}},
	}
	for _, c := range refused {
		t.Run(c.name+" is refused with exit 2", func(t *testing.T) {
			r := runCLIEnv(t, nil, "", append([]string{"token", "mint"}, c.args...)...)
			want(t, r, 2)
			if r.stdout != "" || !strings.Contains(r.stderr, c.wantErr) {
				t.Fatalf("want %q in: %s", c.wantErr, r)
			}
		})
	}
}

func TestTokenMintRefusesBadKeysAndFlagsClearly(t *testing.T) {
	k := writeKeyFiles(t)
	garbage := filepath.Join(k.dir, "garbage.pem")
	_ = os.WriteFile(garbage, []byte("not a key at all"), 0o600)
	weak, _ := rsa.GenerateKey(rand.Reader, 1024)
	weakPath := filepath.Join(k.dir, "weak.pem")
	_ = os.WriteFile(weakPath, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(weak)}), 0o600)
	shortSecret := "short-secret-1234"

	cases := []struct {
		name, wantErr string
		args          []string
	}{
		{"no key", "give exactly one of --key, --hmac-secret-file or --hmac-secret", nil},
		{"two keys", "give exactly one of", []string{"--key", k.rsaPKCS1, "--hmac-secret-file", k.hmacFile}},
		{"an alg that does not fit an RSA key", "--alg ES256 does not fit an RSA key (it signs with RS256, RS384, RS512, PS256, PS384, PS512)", []string{"--key", k.rsaPKCS1, "--alg", "ES256"}},
		{"an alg that does not fit a P-256 key", "--alg ES384 does not fit a P-256 key", []string{"--key", k.ecP256, "--alg", "ES384"}},
		{"an HMAC alg with an Ed25519 key", "--alg HS256 does not fit an Ed25519 key", []string{"--key", k.ed25519Key, "--alg", "HS256"}},
		{"alg none", "--alg none does not fit an HMAC secret", []string{"--hmac-secret-file", k.hmacFile, "--alg", "none"}},
		{"a public key", "holds a public key or certificate; token mint needs the private key", []string{"--key", k.publics[0]}},
		{"a file that is no key", "no PEM private key or JWKS found", []string{"--key", garbage}},
		{"a missing file", "cannot read", []string{"--key", filepath.Join(k.dir, "missing.pem")}},
		{"a weak RSA key", "the RSA key has 1024 bits", []string{"--key", weakPath}},
		{"a short HMAC secret", "the HMAC secret is shorter than 32 bytes", []string{"--hmac-secret", shortSecret}},
		{"an HMAC secret too short for HS512", "shorter than 64 bytes, the least HS512 accepts", []string{"--hmac-secret-file", k.hmacFile, "--alg", "HS512"}},
		{"a claim without =", `--claim "role": expected name=value`, []string{"--hmac-secret-file", k.hmacFile, "--claim", "role"}},
		{"a claim given twice", "--claim role given twice", []string{"--hmac-secret-file", k.hmacFile, "--claim", "role=a", "--claim", "role=b"}},
		{"a claim repeating --sub", "--claim sub repeats --sub", []string{"--hmac-secret-file", k.hmacFile, "--sub", "a", "--claim", "sub=b"}},
		{"an exp that is no number", "--claim exp: expected whole unix seconds", []string{"--hmac-secret-file", k.hmacFile, "--claim", "exp=tomorrow"}},
		{"an aud that is no string", "--claim aud: expected a string or a list of strings", []string{"--hmac-secret-file", k.hmacFile, "--claim", "aud=5"}},
		{"a sub that is no string", "--claim sub: expected a string", []string{"--hmac-secret-file", k.hmacFile, "--claim", "sub=42"}},
		{"a zero ttl", "--ttl must be positive", []string{"--hmac-secret-file", k.hmacFile, "--ttl", "0s"}},
		{"an argument", "takes no arguments", []string{"--hmac-secret-file", k.hmacFile, "extra"}},
	}
	for _, c := range cases {
		t.Run(c.name+" exits 2", func(t *testing.T) {
			r := runCLIEnv(t, nil, "", append([]string{"token", "mint"}, c.args...)...)
			want(t, r, 2)
			if r.stdout != "" || !strings.Contains(r.stderr, c.wantErr) || strings.Count(r.stderr, "\n") != 1 {
				t.Fatalf("want %q in: %s", c.wantErr, r)
			}
			for _, secret := range []string{k.hmacSecret, shortSecret, "PRIVATE KEY"} {
				if strings.Contains(r.stderr, secret) {
					t.Fatalf("stderr holds key material: %s", r)
				}
			}
		})
	}
}

func TestTokenMintSetsClaimsFromFlags(t *testing.T) {
	k := writeKeyFiles(t)
	r := runCLIEnv(t, nil, "", "token", "mint", "--hmac-secret-file", k.hmacFile,
		"--sub", "alice", "--iss", "https://issuer.test", "--aud", "api-1", "--aud", "api-2",
		"--ttl", "1h", "--jti", "fixed-jti", "--kid", "key-2026",
		"--claim", "user_id=42",
		"--claim", "big=12345678901234567890",
		"--claim", "ratio=1.5",
		"--claim", "admin=true",
		"--claim", "nothing=null",
		"--claim", `nested={"a":1,"b":["x"]}`,
		"--claim", `list=[1,"two"]`,
		"--claim", "token_type=access",
		"--claim", `quoted="42"`,
		"--claim", "empty=",
		"--claim", "equation=a=b",
		"--claim", "not_json={oops",
		"--claim", "two_values=1 2",
	)
	want(t, r, 0)
	header, payload := jwtParts(t, r.stdout)
	if header["kid"] != "key-2026" || header["alg"] != "HS256" {
		t.Errorf("header: %v", header)
	}
	iat, _ := payload["iat"].(json.Number).Int64()
	exp, _ := payload["exp"].(json.Number).Int64()
	if exp-iat != 3600 || time.Since(time.Unix(iat, 0)).Abs() > time.Minute {
		t.Errorf("iat %d, exp %d", iat, exp)
	}
	delete(payload, "iat")
	delete(payload, "exp")
	wantPayload := map[string]any{
		"sub":        "alice",
		"iss":        "https://issuer.test",
		"aud":        []any{"api-1", "api-2"},
		"jti":        "fixed-jti",
		"user_id":    json.Number("42"),
		"big":        json.Number("12345678901234567890"),
		"ratio":      json.Number("1.5"),
		"admin":      true,
		"nothing":    nil,
		"nested":     map[string]any{"a": json.Number("1"), "b": []any{"x"}},
		"list":       []any{json.Number("1"), "two"},
		"token_type": "access",
		"quoted":     "42",
		"empty":      "",
		"equation":   "a=b",
		"not_json":   "{oops",
		"two_values": "1 2",
	}
	if diff := cmp.Diff(wantPayload, payload); diff != "" {
		t.Errorf("payload (-want +got):\n%s", diff)
	}

	t.Run("the jti is random by default", func(t *testing.T) {
		seen := map[any]bool{}
		for range 2 {
			r := runCLIEnv(t, nil, "", "token", "mint", "--hmac-secret-file", k.hmacFile)
			want(t, r, 0)
			_, payload := jwtParts(t, r.stdout)
			jti, _ := payload["jti"].(string)
			if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(jti) || seen[jti] {
				t.Fatalf("jti %q", jti)
			}
			seen[jti] = true
		}
	})
	t.Run("--claim aud takes a list", func(t *testing.T) {
		r := runCLIEnv(t, nil, "", "token", "mint", "--hmac-secret-file", k.hmacFile, "--claim", `aud=["a","b"]`)
		want(t, r, 0)
		_, payload := jwtParts(t, r.stdout)
		if diff := cmp.Diff([]any{"a", "b"}, payload["aud"]); diff != "" {
			t.Fatalf("aud (-want +got):\n%s", diff)
		}
	})
	t.Run("--claim iat mints a token issued in the past", func(t *testing.T) {
		r := runCLIEnv(t, nil, "", "token", "mint", "--hmac-secret-file", k.hmacFile, "--claim", "iat=1700000000")
		want(t, r, 0)
		_, payload := jwtParts(t, r.stdout)
		if payload["iat"] != json.Number("1700000000") {
			t.Fatalf("iat %v", payload["iat"])
		}
	})
}
