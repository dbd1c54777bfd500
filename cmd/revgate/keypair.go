package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// keyPair is a signing key and its public half, as `revgate token keygen`
// writes them and `revgate demo --key-dir` uses them. The kid is the public
// key's RFC 7638 thumbprint, derived from the key alone, so every way of
// reading the pair back (the demo loading private.pem again, the JWKS, a
// config naming public.pem) agrees on it without a file to keep it in.
type keyPair struct {
	alg     jwa.SignatureAlgorithm
	kid     string
	private jwk.Key // kid and alg set
	public  jwk.Key // kid, alg and use "sig" set
}

// keygenAlgs are the algorithms keygen makes keys for, the default first:
// ES256 as the demo uses, with small keys and fast signing.
var keygenAlgs = []string{"ES256", "RS256", "EdDSA"}

// rsaKeygenBits is the size of generated RSA keys, the least revgate accepts
// and what RS256 issuers commonly use.
const rsaKeygenBits = 2048

// generateKeyPair makes a new key for alg, one of keygenAlgs.
func generateKeyPair(alg string) (*keyPair, error) {
	var (
		raw any
		err error
	)
	switch alg {
	case "ES256":
		raw, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "RS256":
		raw, err = rsa.GenerateKey(rand.Reader, rsaKeygenBits)
	case "EdDSA":
		_, raw, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, usagef("--alg %q: keygen makes ES256, RS256 or EdDSA keys", alg)
	}
	if err != nil {
		return nil, fmt.Errorf("generating the key: %w", err)
	}
	return newKeyPair(raw, alg)
}

// newKeyPair wraps the private key raw, to be used with alg.
func newKeyPair(raw any, alg string) (*keyPair, error) {
	priv, err := jwk.FromRaw(raw)
	if err != nil {
		return nil, fmt.Errorf("unusable key: %w", err)
	}
	pub, err := priv.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("unusable key: %w", err)
	}
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("key thumbprint: %w", err)
	}
	k := &keyPair{alg: jwa.SignatureAlgorithm(alg), kid: base64.RawURLEncoding.EncodeToString(tp), private: priv, public: pub}
	for _, key := range []jwk.Key{priv, pub} {
		if err := key.Set(jwk.KeyIDKey, k.kid); err != nil {
			return nil, err
		}
		if err := key.Set(jwk.AlgorithmKey, k.alg); err != nil {
			return nil, err
		}
	}
	if err := pub.Set(jwk.KeyUsageKey, jwk.ForSignature); err != nil {
		return nil, err
	}
	return k, nil
}

// loadKeyPair reads a PEM private key (as keygen writes it, or any key
// `token mint --key` reads) and pairs it with the algorithm mint would use
// for it by default, so the demo accepts what mint signs with it.
func loadKeyPair(path string) (*keyPair, error) {
	key, keyAlg, err := loadPrivateKey(path, "")
	if err != nil {
		return nil, err
	}
	kind, algs, err := keyAlgorithms(key)
	if err != nil {
		return nil, err
	}
	if kind == "an HMAC secret" {
		return nil, usagef("%s holds an HMAC secret; the demo publishes its key as a JWKS, so it needs an RSA, EC or Ed25519 private key", path)
	}
	alg := keyAlg
	if alg == "" {
		alg = algs[0]
	}
	var raw any
	if err := key.Raw(&raw); err != nil {
		return nil, usagef("%s: unusable key", path)
	}
	return newKeyPair(raw, alg)
}

// keyPairPaths names the files of a key pair.
type keyPairPaths struct {
	private, public, jwks string
}

// Names of a key pair's files in a directory.
const (
	privateKeyFile = "private.pem"
	publicKeyFile  = "public.pem"
	jwksFile       = "jwks.json"
)

func keyPairPathsIn(dir string) keyPairPaths {
	return keyPairPaths{
		private: filepath.Join(dir, privateKeyFile),
		public:  filepath.Join(dir, publicKeyFile),
		jwks:    filepath.Join(dir, jwksFile),
	}
}

// encode returns the contents of the three files: the private key as
// PKCS#8 PEM, the public key as PKIX PEM (jwt.public_key_files) and a JWKS
// holding the public key with its kid and alg (jwt.jwks_file).
func (k *keyPair) encode() (private, public, jwks []byte, err error) {
	var priv, pub any
	if err := k.private.Raw(&priv); err != nil {
		return nil, nil, nil, err
	}
	if err := k.public.Raw(&pub); err != nil {
		return nil, nil, nil, err
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, nil, nil, err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, nil, nil, err
	}
	set := jwk.NewSet()
	if err := set.AddKey(k.public); err != nil {
		return nil, nil, nil, err
	}
	jwks, err = json.MarshalIndent(set, "", "  ")
	if err != nil {
		return nil, nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}),
		pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}),
		append(jwks, '\n'), nil
}

// errKeyFileExists is returned, wrapped with the file's name, when write
// would replace a file and force is off.
var errKeyFileExists = errors.New("already exists")

// write writes the pair's three files. Without force it writes nothing
// when any of them exists: a key someone's tokens or config depend on is
// never replaced by accident, and no half-written pair is left behind. The
// private key file has mode 0600; with force an existing file is replaced
// by a new one rather than rewritten in place, so a wider mode it had never
// carries over to the new key.
func (k *keyPair) write(p keyPairPaths, force bool) error {
	private, public, jwks, err := k.encode()
	if err != nil {
		return err
	}
	files := []struct {
		path string
		data []byte
		mode fs.FileMode
	}{
		{p.private, private, 0o600},
		{p.public, public, 0o644},
		{p.jwks, jwks, 0o644},
	}
	if !force {
		for _, f := range files {
			if _, err := os.Lstat(f.path); err == nil {
				return fmt.Errorf("%s %w", f.path, errKeyFileExists)
			} else if !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	for _, f := range files {
		if err := writeNewFile(f.path, f.data, f.mode, force); err != nil {
			return err
		}
	}
	return nil
}

// writeNewFile creates path with mode. Without replace it fails when path
// exists (O_EXCL, so a file created meanwhile is not overwritten either);
// with replace it writes a temporary file next to path and renames it over.
func writeNewFile(path string, data []byte, mode fs.FileMode, replace bool) error {
	if !replace {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s %w", path, errKeyFileExists)
		}
		if err != nil {
			return err
		}
		if _, err := f.Write(data); err != nil {
			f.Close()
			os.Remove(path)
			return err
		}
		return f.Close()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename, a no-op
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
