package main

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

// keygenOutput is what `token keygen` printed, read back: the mint command
// and the two configuration snippets.
type keygenOutput struct {
	mint         []string // the mint command's arguments, without "revgate"
	pemConfig    string   // the jwt: block with public_key_files
	jwksConfig   string   // the jwt: block with jwks_file
	printedFiles []string
}

// parseKeygenOutput reads the printed commands and YAML blocks the way a
// user copies them: the indented lines under each heading, dedented.
func parseKeygenOutput(t *testing.T, out string) keygenOutput {
	t.Helper()
	var o keygenOutput
	var blocks []string
	var cur *strings.Builder
	lines := strings.Split(out, "\n")
	for i, line := range lines {
		switch {
		case strings.HasPrefix(line, "  revgate token mint "):
			o.mint = strings.Fields(strings.TrimPrefix(line, "  revgate "))
		case strings.HasPrefix(line, "  private key  "), strings.HasPrefix(line, "  public key   "), strings.HasPrefix(line, "  JWKS         "):
			o.printedFiles = append(o.printedFiles, strings.Fields(line[15:])[0])
		case line == "  jwt:":
			blocks = append(blocks, "")
			cur = &strings.Builder{}
			for _, l := range lines[i:] {
				if !strings.HasPrefix(l, "  ") {
					break
				}
				cur.WriteString(strings.TrimPrefix(l, "  ") + "\n")
			}
			blocks[len(blocks)-1] = cur.String()
		}
	}
	if len(blocks) != 2 || o.mint == nil || len(o.printedFiles) != 3 {
		t.Fatalf("keygen output lacks the files, the mint command or the two jwt: blocks:\n%s", out)
	}
	o.pemConfig, o.jwksConfig = blocks[0], blocks[1]
	return o
}

// readPEM returns the one PEM block of a file.
func readPEM(t *testing.T, path, wantType string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, rest := pem.Decode(b)
	if block == nil || block.Type != wantType || len(bytes.TrimSpace(rest)) != 0 {
		t.Fatalf("%s: want exactly one %s PEM block:\n%s", path, wantType, b)
	}
	return block.Bytes
}

func TestTokenKeygenWritesAKeyPairTheGatewayAccepts(t *testing.T) {
	upstream := newUpstream(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(200) })
	for _, alg := range []string{"ES256", "RS256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "keys") // created by keygen
			r := runCLIEnv(t, nil, "", "token", "keygen", "--alg", alg, "--out-dir", dir)
			want(t, r, 0)
			out := parseKeygenOutput(t, r.stdout)
			paths := keyPairPathsIn(dir)
			if got := strings.Join(out.printedFiles, " "); got != strings.Join([]string{paths.private, paths.public, paths.jwks}, " ") {
				t.Errorf("printed files %q, want %s, %s, %s", got, paths.private, paths.public, paths.jwks)
			}

			t.Run("the private key file is readable by its owner only", func(t *testing.T) {
				for path, mode := range map[string]os.FileMode{paths.private: 0o600, paths.public: 0o644, paths.jwks: 0o644} {
					fi, err := os.Stat(path)
					if err != nil {
						t.Fatal(err)
					}
					// The umask may narrow the public files, never widen them.
					if got := fi.Mode().Perm(); got&^mode != 0 || (path == paths.private && got != 0o600) {
						t.Errorf("%s has mode %o, want %o", path, got, mode)
					}
				}
			})

			t.Run("the three files hold one key, of the algorithm asked for, with the thumbprint as kid", func(t *testing.T) {
				priv, err := x509.ParsePKCS8PrivateKey(readPEM(t, paths.private, "PRIVATE KEY"))
				if err != nil {
					t.Fatal(err)
				}
				pub, err := x509.ParsePKIXPublicKey(readPEM(t, paths.public, "PUBLIC KEY"))
				if err != nil {
					t.Fatal(err)
				}
				signer, ok := priv.(crypto.Signer)
				if !ok {
					t.Fatalf("private key %T", priv)
				}
				if !signer.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(pub) {
					t.Fatal("public.pem is not the public half of private.pem")
				}
				switch key := priv.(type) {
				case *ecdsa.PrivateKey:
					if alg != "ES256" || key.Curve.Params().Name != "P-256" {
						t.Fatalf("--alg %s wrote an EC key on %s", alg, key.Curve.Params().Name)
					}
				case *rsa.PrivateKey:
					if alg != "RS256" || key.N.BitLen() < 2048 {
						t.Fatalf("--alg %s wrote an RSA key of %d bits", alg, key.N.BitLen())
					}
				case ed25519.PrivateKey:
					if alg != "EdDSA" {
						t.Fatalf("--alg %s wrote an Ed25519 key", alg)
					}
				default:
					t.Fatalf("--alg %s wrote a %T", alg, priv)
				}

				b, _ := os.ReadFile(paths.jwks)
				set, err := jwk.Parse(b)
				if err != nil || set.Len() != 1 {
					t.Fatalf("jwks.json: %v, %d keys", err, set.Len())
				}
				k, _ := set.Key(0)
				if private, _ := jwk.IsPrivateKey(k); private {
					t.Fatal("jwks.json holds the private key")
				}
				var raw any
				if err := k.Raw(&raw); err != nil || !signer.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(raw) {
					t.Fatalf("jwks.json holds another key (%v)", err)
				}
				tp, _ := k.Thumbprint(crypto.SHA256)
				if k.KeyID() != base64.RawURLEncoding.EncodeToString(tp) || k.Algorithm().String() != alg || k.KeyUsage() != "sig" {
					t.Fatalf("jwks.json key: kid %q, alg %q, use %q; want the thumbprint, %s, sig", k.KeyID(), k.Algorithm(), k.KeyUsage(), alg)
				}
				if !strings.Contains(r.stdout, "kid "+k.KeyID()) {
					t.Errorf("the output does not name the kid %s:\n%s", k.KeyID(), r.stdout)
				}
			})

			for name, block := range map[string]string{"public_key_files": out.pemConfig, "jwks_file": out.jwksConfig} {
				t.Run("the printed "+name+" lines make a gateway accept a token minted with the printed command", func(t *testing.T) {
					base := fmt.Sprintf("upstream:\n  url: %q\nrevocation:\n  store: memory\n", upstream)
					cfgPath := filepath.Join(t.TempDir(), "revgate.yaml")
					if err := os.WriteFile(cfgPath, []byte(base+"admin:\n  insecure_no_auth: true\n"+block), 0o600); err != nil {
						t.Fatal(err)
					}
					want(t, runCLIEnv(t, nil, "", "config", "check", "--config", cfgPath), 0)

					p := startGateway(t, base+block)
					mint := runCLIEnv(t, nil, "", out.mint...)
					want(t, mint, 0)
					token := strings.TrimSpace(mint.stdout)
					if header, _ := jwtParts(t, token); header["alg"] != alg {
						t.Fatalf("the printed mint command signs with %v, want %s", header["alg"], alg)
					}
					wantCall(t, 200, "a token minted with the new key", "GET", "http://"+p.proxy+"/x", token, "")
					wantCall(t, 401, "a tampered token", "GET", "http://"+p.proxy+"/x", token[:len(token)-4]+"AAAA", "")
				})
			}
		})
	}
}

func TestTokenKeygenNeverOverwritesWithoutForce(t *testing.T) {
	t.Run("a second keygen into the same directory exits 1 and changes nothing", func(t *testing.T) {
		dir := t.TempDir()
		want(t, runCLIEnv(t, nil, "", "token", "keygen", "--out-dir", dir), 0)
		before, _ := os.ReadFile(filepath.Join(dir, "private.pem"))
		r := runCLIEnv(t, nil, "", "token", "keygen", "--out-dir", dir)
		want(t, r, 1)
		if !strings.Contains(r.stderr, filepath.Join(dir, "private.pem")) || !strings.Contains(r.stderr, "--force") {
			t.Errorf("the message does not name the file and --force: %s", r)
		}
		if after, _ := os.ReadFile(filepath.Join(dir, "private.pem")); !bytes.Equal(before, after) {
			t.Fatal("the private key was replaced")
		}
	})
	t.Run("one existing file of the three means nothing at all is written", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "jwks.json"), []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
		want(t, runCLIEnv(t, nil, "", "token", "keygen", "--out-dir", dir), 1)
		for _, name := range []string{"private.pem", "public.pem"} {
			if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
				t.Errorf("%s was written although jwks.json existed", name)
			}
		}
	})
	t.Run("--force replaces the key, and the private key file is 0600 even when it was wider", func(t *testing.T) {
		dir := t.TempDir()
		want(t, runCLIEnv(t, nil, "", "token", "keygen", "--out-dir", dir), 0)
		priv := filepath.Join(dir, "private.pem")
		before, _ := os.ReadFile(priv)
		if err := os.Chmod(priv, 0o644); err != nil {
			t.Fatal(err)
		}
		want(t, runCLIEnv(t, nil, "", "token", "keygen", "--out-dir", dir, "--force"), 0)
		after, _ := os.ReadFile(priv)
		if bytes.Equal(before, after) {
			t.Fatal("--force did not write a new key")
		}
		if fi, _ := os.Stat(priv); fi.Mode().Perm() != 0o600 {
			t.Fatalf("after --force the private key has mode %o", fi.Mode().Perm())
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 3 {
			t.Fatalf("the directory holds %d entries, want the 3 files (no temporary file left behind)", len(entries))
		}
	})
}

func TestTokenKeygenWritesNamedFiles(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	r := runCLIEnv(t, nil, "", "token", "keygen", "--alg", "EdDSA",
		"--private-key", "signing.pem", "--public-key", "verify.pem", "--jwks", "keys.json")
	want(t, r, 0)
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "keys.json signing.pem verify.pem" {
		t.Fatalf("files written: %v", names)
	}
	out := parseKeygenOutput(t, r.stdout)
	if !strings.Contains(out.pemConfig, filepath.Join(dir, "verify.pem")) || !strings.Contains(out.jwksConfig, filepath.Join(dir, "keys.json")) {
		t.Fatalf("the configuration lines do not name the files by absolute path:\n%s", r.stdout)
	}
}

func TestTokenKeygenRefusesBadFlagsWithExit2(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
	}{
		{"an HMAC algorithm", []string{"--alg", "HS256"}},
		{"an algorithm keygen does not make", []string{"--alg", "RS384"}},
		{"two outputs naming one file", []string{"--private-key", "k.pem", "--public-key", "k.pem"}},
		{"an empty --out-dir", []string{"--out-dir", ""}},
		{"an argument", []string{"keys"}},
	} {
		t.Run(c.name+" exits 2", func(t *testing.T) {
			dir := t.TempDir()
			t.Chdir(dir)
			r := runCLIEnv(t, nil, "", append([]string{"token", "keygen"}, c.args...)...)
			want(t, r, 2)
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Fatalf("a refused keygen wrote %d files", len(entries))
			}
		})
	}
}
