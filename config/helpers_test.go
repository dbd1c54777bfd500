package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// equateEmpty treats nil and empty lists and maps as equal: YAML's "[]"
// and an absent key mean the same.
var equateEmpty = cmpopts.EquateEmpty()

// cleanEnv unsets every REVGATE_ variable for the test, so the
// environment the tests run in cannot change what they load.
func cleanEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, envPrefix) {
			t.Setenv(name, "")
			os.Unsetenv(name)
		}
	}
}

// writeFile writes content to name in a new temporary directory and
// returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// loadYAML loads content as a config file.
func loadYAML(t *testing.T, content string) (*Config, error) {
	t.Helper()
	return Load(writeFile(t, "revgate.yaml", content))
}

// mustLoadYAML loads content and fails the test on error.
func mustLoadYAML(t *testing.T, content string) *Config {
	t.Helper()
	c, err := loadYAML(t, content)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}

// problemsOf returns the problems of a *ValidationError, failing the test
// for any other error.
func problemsOf(t *testing.T, err error) []Problem {
	t.Helper()
	if err == nil {
		return nil
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error is %T, not *ValidationError: %v", err, err)
	}
	return ve.Problems
}

// validConfig is a minimal valid configuration.
func validConfig() Config {
	c := Default()
	c.Upstream.URL = "http://127.0.0.1:3000"
	c.JWT.JWKSURL = "https://issuer.example/.well-known/jwks.json"
	c.Admin.Tokens = []AdminToken{{Name: "ops", Token: "ops-token-0123456789"}}
	return c
}

func diff(want, got any) string {
	return cmp.Diff(want, got, equateEmpty)
}
