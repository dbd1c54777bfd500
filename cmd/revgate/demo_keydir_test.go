package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

// demoRun is a running `revgate demo` and what it printed before "Press
// Ctrl-C".
type demoRun struct {
	cmd          *exec.Cmd
	proxy, admin string
	vars         map[string]string // the export lines
	output       string
}

// startDemo runs the demo binary on free ports until stop or the end of
// the test.
func startDemo(t *testing.T, args ...string) *demoRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	d := &demoRun{vars: map[string]string{}}
	d.cmd = exec.CommandContext(ctx, binary, append([]string{"demo", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"}, args...)...)
	d.cmd.Env = cleanEnv()
	stdout, _ := d.cmd.StdoutPipe()
	stderr, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	d.cmd.Stderr = stderr
	err = d.cmd.Start()
	stderr.Close() // the demo has its own copy
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { d.stop(); cancel() })

	var out strings.Builder
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	exportRe := regexp.MustCompile(`export (\w+)='([^']+)'`)
	for sc.Scan() {
		line := sc.Text()
		out.WriteString(line + "\n")
		if m := exportRe.FindStringSubmatch(line); m != nil {
			d.vars[m[1]] = m[2]
		}
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "proxy:" {
			d.proxy = f[1]
		}
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "admin:" {
			d.admin = f[1]
		}
		if strings.HasPrefix(line, "Press Ctrl-C") {
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	d.output = out.String()
	if d.proxy == "" || d.admin == "" || d.vars["ALICE"] == "" {
		logged, _ := os.ReadFile(stderr.Name())
		t.Fatalf("demo output incomplete:\n%s\nstderr:\n%s", d.output, logged)
	}
	return d
}

func (d *demoRun) stop() {
	if d.cmd.ProcessState == nil {
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		_ = d.cmd.Wait()
	}
}

// printedMint is the token mint command the demo printed, as arguments.
func (d *demoRun) printedMint(t *testing.T) []string {
	t.Helper()
	m := regexp.MustCompile(`export CAROL=\$\(revgate (token mint [^)]*)\)`).FindStringSubmatch(d.output)
	if m == nil {
		t.Fatalf("the demo printed no token mint command:\n%s", d.output)
	}
	return strings.Fields(m[1])
}

func TestTheDemoAcceptsTokensMintedWithItsKeyDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo-key")
	d := startDemo(t, "--key-dir", dir)
	paths := keyPairPathsIn(dir)

	t.Run("it writes its key as keygen does, the private key 0600", func(t *testing.T) {
		for _, p := range []string{paths.private, paths.public, paths.jwks} {
			if _, err := os.Stat(p); err != nil {
				t.Fatal(err)
			}
		}
		if fi, _ := os.Stat(paths.private); fi.Mode().Perm() != 0o600 {
			t.Fatalf("private.pem has mode %o", fi.Mode().Perm())
		}
	})
	t.Run("its own tokens carry the kid and alg of the written JWKS", func(t *testing.T) {
		b, _ := os.ReadFile(paths.jwks)
		set, err := jwk.Parse(b)
		if err != nil || set.Len() != 1 {
			t.Fatalf("jwks.json: %v", err)
		}
		k, _ := set.Key(0)
		header, _ := jwtParts(t, d.vars["ALICE"])
		if header["kid"] != k.KeyID() || header["alg"] != k.Algorithm().String() || header["alg"] != "ES256" {
			t.Fatalf("the demo's token has kid %v alg %v; jwks.json has kid %q alg %q", header["kid"], header["alg"], k.KeyID(), k.Algorithm())
		}
	})

	mint := d.printedMint(t)
	var carol string
	t.Run("a token minted with the printed command is accepted, and rejected once revoked", func(t *testing.T) {
		r := runCLIEnv(t, nil, "", mint...)
		want(t, r, 0)
		carol = strings.TrimSpace(r.stdout)
		wantCall(t, 200, "carol's minted token", "GET", d.proxy+"/hello", carol, "")
		want(t, runCLIEnv(t, []string{"REVGATE_ADMIN_URL=" + d.admin}, carol, "revoke", "token", "--token", "-"), 0)
		wantCall(t, 401, "carol's revoked token", "GET", d.proxy+"/hello", carol, "")
	})
	t.Run("a token minted with just --key and the demo's issuer and audience is accepted too", func(t *testing.T) {
		r := runCLIEnv(t, nil, "", "token", "mint", "--key", paths.private, "--iss", demoIssuer, "--aud", demoAudience, "--sub", "dave")
		want(t, r, 0)
		wantCall(t, 200, "dave's minted token", "GET", d.proxy+"/hello", strings.TrimSpace(r.stdout), "")
	})

	r := runCLIEnv(t, nil, "", mint...)
	want(t, r, 0)
	beforeRestart := strings.TrimSpace(r.stdout)
	private, _ := os.ReadFile(paths.private)
	d.stop()

	t.Run("a restarted demo reads the key back and accepts the tokens minted before", func(t *testing.T) {
		d := startDemo(t, "--key-dir", dir)
		if !strings.Contains(d.output, "read from "+dir) {
			t.Errorf("the demo does not say it reuses the key:\n%s", d.output)
		}
		if after, _ := os.ReadFile(paths.private); string(after) != string(private) {
			t.Fatal("the restarted demo replaced the key")
		}
		wantCall(t, 200, "a token minted before the restart", "GET", d.proxy+"/hello", beforeRestart, "")
	})
}

func TestTheDemoSignsWithAKeyMadeByKeygen(t *testing.T) {
	for _, alg := range []string{"RS256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			dir := t.TempDir()
			want(t, runCLIEnv(t, nil, "", "token", "keygen", "--alg", alg, "--out-dir", dir), 0)
			d := startDemo(t, "--key-dir", dir)
			if header, _ := jwtParts(t, d.vars["ALICE"]); header["alg"] != alg {
				t.Fatalf("the demo signs with %v, want %s", header["alg"], alg)
			}
			r := runCLIEnv(t, nil, "", d.printedMint(t)...)
			want(t, r, 0)
			wantCall(t, 200, "a token minted with the keygen key", "GET", d.proxy+"/hello", strings.TrimSpace(r.stdout), "")
			wantCall(t, 200, "the demo's own token", "GET", d.proxy+"/hello", d.vars["ALICE"], "")
		})
	}
	t.Run("a key directory with a public key but no private key is refused, and left alone", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "public.pem"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		r := runCLIEnv(t, nil, "", "demo", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--key-dir", dir)
		want(t, r, 1)
		if !strings.Contains(r.stderr, "--key-dir") || !strings.Contains(r.stderr, "public.pem") {
			t.Fatalf("the message does not name --key-dir and the file: %s", r)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 1 {
			t.Fatalf("the directory now holds %d files", len(entries))
		}
	})
}
