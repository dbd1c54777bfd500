package tests

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// configDir is where the chart mounts its ConfigMap.
const configDir = "/etc/revgate"

// TestRenderedConfigPassesConfigCheck runs `revgate config check` on the
// revgate.yaml of every render, with the container's literal environment.
//
// revgate.yaml names files that exist only in a pod (/etc/revgate/...,
// /var/run/secrets/revgate/...). The test rewrites every *_file and
// public_key_files path to a file in a temporary directory: files from the
// chart's ConfigMap get the ConfigMap's content, Secret files get a random
// placeholder (a generated CA certificate for ca_file), so revgate reads
// real, well-formed files. The placeholders must not appear in what config
// check prints: it redacts secrets.
func TestRenderedConfigPassesConfigCheck(t *testing.T) {
	bin := revgateBinary(t)
	type configCase struct {
		name string
		r    *rendered
	}
	var cases []configCase
	for _, c := range chartCases {
		cases = append(cases, configCase{c.name, render(t, chartDir, c.args()...)})
	}
	cases = append(cases, configCase{"sidecar example", render(t, exampleChart(t))})

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var env []corev1.EnvVar
			if deps := all[appsv1.Deployment](c.r); len(deps) == 1 {
				for _, ctr := range deps[0].Spec.Template.Spec.Containers {
					if ctr.Name == "revgate" {
						env = ctr.Env
					}
				}
			}
			for _, cm := range all[corev1.ConfigMap](c.r) {
				if _, ok := cm.Data["revgate.yaml"]; ok {
					configCheck(t, bin, cm, env)
				}
			}
		})
	}
}

func configCheck(t *testing.T, bin string, cm *corev1.ConfigMap, env []corev1.EnvVar) {
	t.Helper()
	stdout, stderr, text, secrets, err := runConfigCheck(t, bin, cm, env)
	if err != nil {
		t.Fatalf("revgate config check of ConfigMap %s: %v\nstdout:\n%s\nstderr:\n%s\nconfig (file paths rewritten):\n%s", cm.Name, err, stdout, stderr, text)
	}
	for _, s := range secrets {
		if strings.Contains(stdout, s) || strings.Contains(stderr, s) {
			t.Errorf("revgate config check printed a secret read from a *_file key; it must redact secrets")
		}
	}
}

// configCheckOutput runs config check on a revgate.yaml it must refuse and
// returns what it printed.
func configCheckOutput(t *testing.T, cm *corev1.ConfigMap) string {
	t.Helper()
	stdout, stderr, text, _, err := runConfigCheck(t, revgateBinary(t), cm, nil)
	if err == nil {
		t.Fatalf("revgate config check accepted ConfigMap %s, want a refusal:\n%s", cm.Name, text)
	}
	return stdout + stderr
}

// runConfigCheck runs `revgate config check` on cm's revgate.yaml with the
// file paths rewritten (see TestRenderedConfigPassesConfigCheck), and
// returns its output, the config it checked, and the placeholder secrets
// it wrote.
func runConfigCheck(t *testing.T, bin string, cm *corev1.ConfigMap, env []corev1.EnvVar) (stdout, stderr string, text []byte, secrets []string, err error) {
	t.Helper()
	dir := t.TempDir()
	cfg := parseConfig(t, cm)
	rewrites := map[string]string{}
	for _, ref := range cfg.fileRefs() {
		local := filepath.Join(dir, "files", strings.NewReplacer("/", "_", ".", "_").Replace(ref.Path))
		var content []byte
		switch key := path.Base(strings.ReplaceAll(ref.Key, ".", "/")); {
		case strings.HasPrefix(ref.Path, configDir+"/"):
			data, ok := cm.Data[strings.TrimPrefix(ref.Path, configDir+"/")]
			if !ok {
				t.Fatalf("%s: %s is not in ConfigMap %s", ref.Key, ref.Path, cm.Name)
			}
			content = []byte(data)
		case key == "ca_file":
			content = testCACert(t)
		case key == "jwks_file" || strings.HasPrefix(key, "public_key_files"):
			t.Fatalf("%s: %s should come from the chart's ConfigMap", ref.Key, ref.Path)
		default: // password_file, token_file, hmac_secret_file
			secret := "placeholder-secret-" + randomHex(t, 32)
			secrets = append(secrets, secret)
			content = []byte(secret)
		}
		if err := os.MkdirAll(filepath.Dir(local), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(local, content, 0o644); err != nil {
			t.Fatal(err)
		}
		rewrites[ref.Path] = local
	}
	rewritePaths(cfg, rewrites)
	text, err = yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "revgate.yaml")
	if err := os.WriteFile(file, text, 0o644); err != nil {
		t.Fatal(err)
	}

	var out, errOut bytes.Buffer
	cmd := exec.Command(bin, "config", "check", "--config", file)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH")}
	for _, e := range env {
		if e.ValueFrom == nil {
			cmd.Env = append(cmd.Env, e.Name+"="+e.Value)
		}
	}
	err = cmd.Run()
	return out.String(), errOut.String(), text, secrets, err
}

// rewritePaths replaces every string value of cfg that is a key of rewrites.
func rewritePaths(v any, rewrites map[string]string) {
	switch v := v.(type) {
	case revgateConfig:
		rewritePaths(map[string]any(v), rewrites)
	case map[string]any:
		for k, child := range v {
			if s, ok := child.(string); ok {
				if r, ok := rewrites[s]; ok {
					v[k] = r
				}
				continue
			}
			rewritePaths(child, rewrites)
		}
	case []any:
		for i, child := range v {
			if s, ok := child.(string); ok {
				if r, ok := rewrites[s]; ok {
					v[i] = r
				}
				continue
			}
			rewritePaths(child, rewrites)
		}
	}
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// testCACert returns a freshly generated self-signed CA certificate, PEM.
func testCACert(t testing.TB) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "revgate chart test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
