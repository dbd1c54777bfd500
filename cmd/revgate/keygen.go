package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// keygenOptions are the flags of `revgate token keygen`.
type keygenOptions struct {
	alg                   string
	outDir                string
	private, public, jwks string
	force                 bool
}

func newTokenKeygenCommand() *cobra.Command {
	var o keygenOptions
	cmd := &cobra.Command{
		Use:   "keygen [--alg ES256|RS256|EdDSA] [--out-dir DIR] [--force]",
		Short: "Make a signing key to try revgate with: private PEM, public PEM and JWKS",
		Long: `Make a new signing key for testing, and write three files:

  private.pem   the private key (PKCS#8 PEM, mode 0600): revgate token mint --key
  public.pem    its public key (PEM): for jwt.public_key_files
  jwks.json     the public key as a JWKS, with kid and alg: for jwt.jwks_file

into --out-dir (default: the working directory, created if missing), or
wherever --private-key, --public-key and --jwks name. The kid is the key's
RFC 7638 thumbprint. It then prints the files, a token mint command and the
configuration lines that make revgate accept the tokens minted with the key.

--alg: ES256 (default, EC P-256), RS256 (RSA 2048 bits) or EdDSA (Ed25519).

Existing files are never overwritten unless --force is given; without it,
nothing is written when any of the three exists.

Exit codes: 0 the key is written; 1 a file exists (without --force) or cannot
be written; 2 bad flags.`,
		Example: `  revgate token keygen --out-dir keys
  revgate token mint --key keys/private.pem --sub alice
  revgate token keygen --alg RS256 --private-key rs.pem --public-key rs.pub.pem --jwks rs.jwks.json`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.alg, "alg", keygenAlgs[0], "signature algorithm: "+strings.Join(keygenAlgs, ", "))
	f.StringVar(&o.outDir, "out-dir", ".", "directory for private.pem, public.pem and jwks.json")
	f.StringVar(&o.private, "private-key", "", "where to write the private key (default: DIR/private.pem)")
	f.StringVar(&o.public, "public-key", "", "where to write the public key (default: DIR/public.pem)")
	f.StringVar(&o.jwks, "jwks", "", "where to write the JWKS (default: DIR/jwks.json)")
	f.BoolVar(&o.force, "force", false, "replace existing files")
	return cmd
}

// paths resolves the three file names.
func (o *keygenOptions) paths() (keyPairPaths, error) {
	if o.outDir == "" {
		return keyPairPaths{}, usagef("--out-dir is empty")
	}
	p := keyPairPathsIn(o.outDir)
	for _, f := range []struct {
		flag, value string
		into        *string
	}{
		{"--private-key", o.private, &p.private},
		{"--public-key", o.public, &p.public},
		{"--jwks", o.jwks, &p.jwks},
	} {
		if f.value != "" {
			*f.into = f.value
		}
	}
	p = keyPairPaths{private: filepath.Clean(p.private), public: filepath.Clean(p.public), jwks: filepath.Clean(p.jwks)}
	if p.private == p.public || p.private == p.jwks || p.public == p.jwks {
		return keyPairPaths{}, usagef("--private-key, --public-key and --jwks must name three different files")
	}
	return p, nil
}

func (o *keygenOptions) run(stdout io.Writer) error {
	if !slices.Contains(keygenAlgs, o.alg) {
		return usagef("--alg %q: keygen makes %s keys", o.alg, strings.Join(keygenAlgs, ", "))
	}
	p, err := o.paths()
	if err != nil {
		return err
	}
	if o.private == "" || o.public == "" || o.jwks == "" {
		if err := os.MkdirAll(o.outDir, 0o700); err != nil {
			return &cliError{exitError, fmt.Sprintf("--out-dir: %v", err)}
		}
	}
	k, err := generateKeyPair(o.alg)
	if err != nil {
		return err
	}
	if err := k.write(p, o.force); err != nil {
		if errors.Is(err, errKeyFileExists) {
			return &cliError{exitError, fmt.Sprintf("%v; nothing was written (give --force to replace the files, or choose another --out-dir)", err)}
		}
		return &cliError{exitError, fmt.Sprintf("writing the key: %v", err)}
	}
	return printKeygen(stdout, k, p)
}

// printKeygen says what was written and how to use it. Paths in the
// configuration lines are absolute: revgate serve may run elsewhere.
func printKeygen(w io.Writer, k *keyPair, p keyPairPaths) error {
	abs := func(path string) string {
		if a, err := filepath.Abs(path); err == nil {
			return a
		}
		return path
	}
	_, err := fmt.Fprintf(w, `Wrote a new %s key (kid %s):
  private key  %s   (mode 0600: it signs tokens, keep it secret)
  public key   %s
  JWKS         %s

Mint a token with it:
  revgate token mint --key %s --sub alice

Make revgate accept those tokens (revgate.yaml):
  jwt:
    public_key_files: [%q]
    algorithms: [%q]
or, with the kid:
  jwt:
    jwks_file: %q
    algorithms: [%q]
`, k.alg, k.kid, p.private, p.public, p.jwks, shellQuote(p.private), abs(p.public), k.alg, abs(p.jwks), k.alg)
	return err
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_./:@%+=,-]+$`)

// shellQuote makes s one word for a POSIX shell, so a printed command can
// be pasted as it is.
func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
