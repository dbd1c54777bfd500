package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/spf13/cobra"

	"github.com/revgate/revgate/config"
	"github.com/revgate/revgate/gateway/jwtverify"
)

func newTokenCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Developer helpers for JWTs",
		Args:  subcommandArgs,
		RunE:  needSubcommand,
	}
	cmd.AddCommand(newTokenMintCommand(), newTokenKeygenCommand())
	return cmd
}

// mintOptions are the flags of `revgate token mint`.
type mintOptions struct {
	keyFile        string
	hmacSecret     string
	hmacSecretFile string
	alg            string
	kid            string
	sub            string
	iss            string
	aud            []string
	ttl            time.Duration
	jti            string
	claims         []string
}

func newTokenMintCommand() *cobra.Command {
	var o mintOptions
	cmd := &cobra.Command{
		Use:   "mint (--key FILE | --hmac-secret-file FILE | --hmac-secret S) [flags]",
		Short: "Sign a test token with a local key and print it",
		Long: `Sign a JWT with a local key and print it on standard output, for testing a
gateway (or the API behind it) by hand or in scripts. The token carries iat
(now), exp (now + --ttl) and jti (random unless --jti), plus the claims the
flags name.

Keys:
  --key FILE             a PEM private key (PKCS#8, PKCS#1 RSA or SEC 1 EC):
                         RSA (2048 bits or more), EC P-256/P-384/P-521 or
                         Ed25519; or a JWKS holding private (or "oct") keys,
                         with --kid to choose one when it holds several
  --hmac-secret-file F   an HMAC secret (trailing whitespace is dropped, as
                         revgate's jwt.hmac_secret_file does)
  --hmac-secret S        the same, inline (visible in ps and shell history)

--alg defaults from the key: RS256 (RSA), ES256/ES384/ES512 (by curve), EdDSA
(Ed25519), HS256 (HMAC), or the JWKS key's own alg. An --alg the key cannot
sign with is refused.

--claim k=v adds a claim (repeatable). v is read as JSON when it is valid
JSON (42, true, null, {"a":1}, ["x"], "quoted") and as a string otherwise, so
--claim user_id=42 is a number and --claim token_type=access a string. A
--claim may replace iat, exp, nbf or jti (--claim iat=1700000000 mints a token
issued in the past); it may not repeat what --sub, --iss, --aud or --jti set.

Exit codes: 0 the token is printed; 2 bad flags, key or algorithm.`,
		Example: `  revgate token mint --key private.pem --sub alice --aud my-api --iss https://issuer.example
  revgate token mint --key jwks-private.json --kid 2026-01 --sub alice --ttl 1h
  revgate token mint --hmac-secret-file jwt-secret --claim user_id=42 --claim token_type=access`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			tok, err := o.mint(cmd)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), tok)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.keyFile, "key", "", "PEM private key or JWKS file to sign with")
	f.StringVar(&o.hmacSecretFile, "hmac-secret-file", "", "file holding an HMAC secret to sign with")
	f.StringVar(&o.hmacSecret, "hmac-secret", "", "HMAC secret to sign with (prefer --hmac-secret-file)")
	f.StringVar(&o.alg, "alg", "", "signature algorithm (default: from the key)")
	f.StringVar(&o.kid, "kid", "", "key id: picks the key of a JWKS; with a PEM key or HMAC secret, set as the header's kid")
	f.StringVar(&o.sub, "sub", "", "subject claim")
	f.StringVar(&o.iss, "iss", "", "issuer claim")
	f.StringArrayVar(&o.aud, "aud", nil, "audience claim (repeatable)")
	f.DurationVar(&o.ttl, "ttl", 15*time.Minute, "lifetime: exp = iat + ttl")
	f.StringVar(&o.jti, "jti", "", "jti claim (default: 128 random bits as hex)")
	f.StringArrayVar(&o.claims, "claim", nil, "extra claim k=v, v read as JSON when valid JSON (repeatable)")
	return cmd
}

// mint checks the options and signs the token. Every error is a usage
// error and none contains key material.
func (o *mintOptions) mint(cmd *cobra.Command) (string, error) {
	if o.ttl <= 0 {
		return "", usagef("--ttl must be positive, not %s (to mint an expired token, use --claim exp=UNIX_SECONDS)", o.ttl)
	}
	claims, err := parseClaims(o.claims)
	if err != nil {
		return "", err
	}
	for flag, claim := range map[string]string{"sub": "sub", "iss": "iss", "aud": "aud", "jti": "jti"} {
		if _, ok := claims[claim]; ok && cmd.Flags().Changed(flag) {
			return "", usagef("--claim %s repeats --%s; give one of them", claim, flag)
		}
	}
	key, alg, err := o.signingKey()
	if err != nil {
		return "", err
	}
	tok, err := mint(key, alg, mintRequest{
		Subject:  o.sub,
		Issuer:   o.iss,
		Audience: o.aud,
		TTL:      o.ttl,
		JTI:      o.jti,
		Claims:   claims,
	})
	if err != nil {
		return "", usagef("%v", err)
	}
	return tok, nil
}

// parseClaims reads --claim k=v values.
func parseClaims(kvs []string) (map[string]any, error) {
	claims := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usagef("--claim %q: expected name=value", kv)
		}
		if _, dup := claims[k]; dup {
			return nil, usagef("--claim %s given twice", k)
		}
		claims[k] = claimValue(v)
		if err := checkRegisteredClaim(k, claims[k]); err != nil {
			return nil, err
		}
	}
	return claims, nil
}

// checkRegisteredClaim refuses a --claim value of the wrong type for a
// registered claim (RFC 7519 §4.1), which a verifier would refuse anyway.
func checkRegisteredClaim(name string, v any) error {
	switch name {
	case "exp", "iat", "nbf":
		if n, ok := v.(json.Number); ok {
			if _, err := n.Int64(); err == nil {
				return nil
			}
		}
		return usagef("--claim %s: expected whole unix seconds, like %s=1700000000", name, name)
	case "sub", "iss", "jti":
		if _, ok := v.(string); !ok {
			return usagef("--claim %s: expected a string", name)
		}
	case "aud":
		if _, ok := v.(string); ok {
			return nil
		}
		list, ok := v.([]any)
		for _, a := range list {
			if _, isString := a.(string); !isString {
				ok = false
			}
		}
		if !ok {
			return usagef(`--claim aud: expected a string or a list of strings, like aud='["a","b"]'`)
		}
	}
	return nil
}

// claimValue is v as JSON when it is exactly one valid JSON value, else v
// as a string. Numbers keep their digits (json.Number), so a large user id
// is not rounded through float64.
func claimValue(v string) any {
	dec := json.NewDecoder(strings.NewReader(v))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return v
	}
	if _, err := dec.Token(); err != io.EOF {
		return v
	}
	return x
}

// signingKey loads the one key source given and chooses the algorithm.
func (o *mintOptions) signingKey() (jwk.Key, jwa.SignatureAlgorithm, error) {
	sources := 0
	for _, s := range []string{o.keyFile, o.hmacSecret, o.hmacSecretFile} {
		if s != "" {
			sources++
		}
	}
	if sources != 1 {
		return nil, "", usagef("give exactly one of --key, --hmac-secret-file or --hmac-secret")
	}
	var (
		key    jwk.Key
		keyAlg string // the JWKS key's own alg, if any
		err    error
	)
	switch {
	case o.keyFile != "":
		key, keyAlg, err = loadPrivateKey(o.keyFile, o.kid)
	case o.hmacSecretFile != "":
		// Read as the gateway reads jwt.hmac_secret_file, so the two agree
		// on the secret.
		secret, rerr := config.ReadSecretFile(o.hmacSecretFile)
		if rerr != nil {
			return nil, "", usagef("--hmac-secret-file: %v", rerr)
		}
		key, err = jwk.FromRaw([]byte(secret))
	default:
		key, err = jwk.FromRaw([]byte(o.hmacSecret))
	}
	if err != nil {
		return nil, "", err
	}
	if o.kid != "" && key.KeyID() != o.kid {
		if err := key.Set(jwk.KeyIDKey, o.kid); err != nil {
			return nil, "", usagef("--kid: %v", err)
		}
	}
	kind, algs, err := keyAlgorithms(key)
	if err != nil {
		return nil, "", err
	}
	alg := o.alg
	if alg == "" {
		alg = keyAlg
	}
	if alg == "" {
		alg = algs[0]
	}
	if keyAlg != "" && alg != keyAlg {
		return nil, "", usagef("--alg %s: the JWKS key is for %s only", alg, keyAlg)
	}
	if !slices.Contains(algs, alg) {
		return nil, "", usagef("--alg %s does not fit %s (it signs with %s)", alg, kind, strings.Join(algs, ", "))
	}
	if _, minBits, _ := jwtverify.KeyType(alg); kind == "an HMAC secret" && hmacLen(key)*8 < minBits {
		return nil, "", usagef("the HMAC secret is shorter than %d bytes, the least %s accepts (RFC 7518 §3.2)", minBits/8, alg)
	}
	return key, jwa.SignatureAlgorithm(alg), nil
}

func hmacLen(key jwk.Key) int {
	var raw []byte
	if err := key.Raw(&raw); err != nil {
		return 0
	}
	return len(raw)
}

// keyAlgorithms names a private key's type and the algorithms it signs
// with, the default first. Weak or public keys are refused.
func keyAlgorithms(key jwk.Key) (kind string, algs []string, err error) {
	var raw any
	if err := key.Raw(&raw); err != nil {
		return "", nil, usagef("unusable key: %v", err)
	}
	switch k := raw.(type) {
	case *rsa.PrivateKey:
		if _, minBits, _ := jwtverify.KeyType("RS256"); k.N.BitLen() < minBits {
			return "", nil, usagef("the RSA key has %d bits; revgate accepts %d or more", k.N.BitLen(), minBits)
		}
		return "an RSA key", jwtverify.AlgorithmsFor(&k.PublicKey), nil
	case *ecdsa.PrivateKey:
		algs := jwtverify.AlgorithmsFor(&k.PublicKey)
		if algs == nil {
			return "", nil, usagef("unsupported elliptic curve %s", k.Curve.Params().Name)
		}
		return "a " + k.Curve.Params().Name + " key", algs, nil
	case ed25519.PrivateKey:
		return "an Ed25519 key", jwtverify.AlgorithmsFor(k.Public()), nil
	case []byte:
		return "an HMAC secret", jwtverify.AlgorithmsFor(k), nil
	case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
		return "", nil, usagef("the key is a public key; token mint needs the private key")
	}
	return "", nil, usagef("unsupported key type %T", raw)
}

// readKeyFile reads a key file; errors name the file and the flag, never
// the content.
func readKeyFile(flag, path string) ([]byte, error) {
	b, err := config.ReadFile(path)
	if err != nil {
		return nil, usagef("%s: %v", flag, err)
	}
	return b, nil
}

// loadPrivateKey reads --key: a JWKS (or one JWK) or a PEM private key. It
// returns the key and, for a JWK, its own alg.
func loadPrivateKey(path, kid string) (jwk.Key, string, error) {
	data, err := readKeyFile("--key", path)
	if err != nil {
		return nil, "", err
	}
	if trimmed := bytes.TrimSpace(data); len(trimmed) > 0 && trimmed[0] == '{' {
		return keyFromJWKS(path, data, kid)
	}
	raw, err := parsePEMPrivateKey(path, data)
	if err != nil {
		return nil, "", err
	}
	key, err := jwk.FromRaw(raw)
	if err != nil {
		return nil, "", usagef("--key %q: %v", path, err)
	}
	return key, "", nil
}

// parsePEMPrivateKey finds the private key among a PEM file's blocks.
func parsePEMPrivateKey(path string, data []byte) (any, error) {
	sawPublic := false
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		var (
			raw any
			err error
		)
		switch block.Type {
		case "PRIVATE KEY":
			raw, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			raw, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			raw, err = x509.ParseECPrivateKey(block.Bytes)
		case "ENCRYPTED PRIVATE KEY":
			return nil, usagef("--key %q: the private key is encrypted; decrypt it first (openssl pkey -in KEY -out plain.pem)", path)
		case "OPENSSH PRIVATE KEY":
			return nil, usagef("--key %q: OpenSSH key format; convert it to PKCS#8 first (ssh-keygen -p -m PKCS8 -f KEY)", path)
		case "PUBLIC KEY", "RSA PUBLIC KEY", "CERTIFICATE":
			sawPublic = true
			continue
		default:
			continue
		}
		if err != nil {
			return nil, usagef("--key %q: the %s block does not parse", path, block.Type)
		}
		return raw, nil
	}
	if sawPublic {
		return nil, usagef("--key %q holds a public key or certificate; token mint needs the private key", path)
	}
	return nil, usagef("--key %q: no PEM private key or JWKS found", path)
}

// keyFromJWKS picks the private key named kid (or the only one) of a JWKS.
func keyFromJWKS(path string, data []byte, kid string) (jwk.Key, string, error) {
	set, err := jwk.Parse(data)
	if err != nil {
		return nil, "", usagef("--key %q: not a valid JWKS", path)
	}
	var candidates []jwk.Key
	var kids []string
	for i := range set.Len() {
		k, _ := set.Key(i)
		if use := k.KeyUsage(); use != "" && use != "sig" {
			continue
		}
		private := k.KeyType() == jwa.OctetSeq
		if !private {
			private, _ = jwk.IsPrivateKey(k)
		}
		if !private {
			continue
		}
		candidates = append(candidates, k)
		kids = append(kids, fmt.Sprintf("%q", k.KeyID()))
	}
	switch {
	case len(candidates) == 0:
		return nil, "", usagef("--key %q: the JWKS holds no private signing key (a public JWKS cannot sign)", path)
	case kid != "":
		for _, k := range candidates {
			if k.KeyID() == kid {
				return k, jwkAlg(k), nil
			}
		}
		return nil, "", usagef("--kid %q: no private key with that kid in %q (kids: %s)", kid, path, strings.Join(kids, ", "))
	case len(candidates) > 1:
		return nil, "", usagef("--key %q holds %d private keys; choose one with --kid (kids: %s)", path, len(candidates), strings.Join(kids, ", "))
	}
	return candidates[0], jwkAlg(candidates[0]), nil
}

func jwkAlg(k jwk.Key) string {
	if a := k.Algorithm(); a != nil {
		return a.String()
	}
	return ""
}
