package redistest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TLSFiles are the PEM files of a TLS server: a CA made for the test, the
// server's certificate (for 127.0.0.1 and localhost) and a client
// certificate, all signed by that CA.
type TLSFiles struct {
	// CAFile is what a client passes as revocation.redis.ca_file.
	CAFile string
	// CertFile and KeyFile are the server's.
	CertFile string
	KeyFile  string
	// ClientCertFile and ClientKeyFile are a client certificate the
	// server accepts (it does not require one).
	ClientCertFile string
	ClientKeyFile  string

	caPool *x509.CertPool
	client tls.Certificate
}

// clientConfig trusts only the test CA and presents the client
// certificate.
func (f *TLSFiles) clientConfig() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		RootCAs:      f.caPool,
		Certificates: []tls.Certificate{f.client},
	}
}

// NewTLSFiles generates a CA and certificates for a test that needs the
// files without a server (a client's ca_file, say), in a directory removed
// when the test ends.
func NewTLSFiles(tb testing.TB) *TLSFiles {
	tb.Helper()
	files, err := writeTLSFiles(tb.TempDir())
	if err != nil {
		tb.Fatalf("redistest: generating TLS certificates: %v", err)
	}
	return files
}

// certLifetime is generous: a certificate must not expire during a slow
// run, and NotBefore is backdated for clock skew between Go and OpenSSL.
const certLifetime = 24 * time.Hour

// writeTLSFiles generates the CA and certificates into dir. ECDSA P-256
// keeps generation fast under -race.
func writeTLSFiles(dir string) (*TLSFiles, error) {
	f := &TLSFiles{
		CAFile:         filepath.Join(dir, "ca.crt"),
		CertFile:       filepath.Join(dir, "server.crt"),
		KeyFile:        filepath.Join(dir, "server.key"),
		ClientCertFile: filepath.Join(dir, "client.crt"),
		ClientKeyFile:  filepath.Join(dir, "client.key"),
	}
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "redistest CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(certLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	if err := writePEM(f.CAFile, "CERTIFICATE", caDER); err != nil {
		return nil, err
	}
	f.caPool = x509.NewCertPool()
	f.caPool.AddCert(ca)

	leaf := func(serial int64, name string, usage x509.ExtKeyUsage, certFile, keyFile string) (tls.Certificate, error) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return tls.Certificate{}, err
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: name},
			NotBefore:    now.Add(-time.Hour),
			NotAfter:     now.Add(certLifetime),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		}
		if usage == x509.ExtKeyUsageServerAuth {
			tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
			tmpl.DNSNames = []string{"localhost"}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			return tls.Certificate{}, err
		}
		keyDER, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return tls.Certificate{}, err
		}
		if err := writePEM(certFile, "CERTIFICATE", der); err != nil {
			return tls.Certificate{}, err
		}
		if err := writePEM(keyFile, "PRIVATE KEY", keyDER); err != nil {
			return tls.Certificate{}, err
		}
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
	}
	if _, err := leaf(2, "redistest server", x509.ExtKeyUsageServerAuth, f.CertFile, f.KeyFile); err != nil {
		return nil, err
	}
	if f.client, err = leaf(3, "redistest client", x509.ExtKeyUsageClientAuth, f.ClientCertFile, f.ClientKeyFile); err != nil {
		return nil, err
	}
	return f, nil
}

func writePEM(path, typ string, der []byte) error {
	b := pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", filepath.Base(path), err)
	}
	return nil
}
