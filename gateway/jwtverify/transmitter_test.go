package jwtverify

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/revgate/revgate/config"
)

func TestTransmitterConfigIsOffWithoutPushOrPoll(t *testing.T) {
	c := config.Default()
	if _, ok := TransmitterConfig(&c, nil); ok {
		t.Fatal("a transmitter verifier configured with ssf off")
	}
}

func TestTransmitterConfigUsesTheTransmittersKeysWithAsymmetricAlgorithmsOnly(t *testing.T) {
	c := config.Default()
	c.JWT.JWKSFile, c.JWT.HMACSecret = "/jwt/keys.json", strings.Repeat("s", 64)
	c.SSF.PushPath, c.SSF.JWKSURL = "/ssf/events", "https://tx.example/jwks"
	vc, ok := TransmitterConfig(&c, nil)
	if !ok {
		t.Fatal("off with ssf.push_path set")
	}
	if vc.JWT.JWKSURL != c.SSF.JWKSURL || vc.JWT.JWKSFile != "" || vc.JWT.HMACSecret != "" || len(vc.JWT.PublicKeyFiles) != 0 {
		t.Errorf("keys = %+v, want only ssf.jwks_url", vc.JWT)
	}
	for _, a := range vc.JWT.Algorithms {
		if strings.HasPrefix(a, "HS") || strings.EqualFold(a, "none") {
			t.Errorf("algorithm %s allowed for SETs", a)
		}
	}
	for _, want := range []string{"RS256", "PS256", "ES256", "EdDSA"} {
		if !slices.Contains(vc.JWT.Algorithms, want) {
			t.Errorf("%s not allowed for SETs: %v", want, vc.JWT.Algorithms)
		}
	}
}

func TestTransmitterKeyErrorsNameTheSSFSection(t *testing.T) {
	c := config.Default()
	c.SSF.PushPath = "/ssf/events"
	c.SSF.JWKSFile = filepath.Join(t.TempDir(), "tx.json")
	if err := os.WriteFile(c.SSF.JWKSFile, []byte("not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	vc, _ := TransmitterConfig(&c, nil)
	err := CheckVerifier(vc)
	if err == nil || !strings.HasPrefix(err.Error(), "ssf.jwks_file: not a valid JWKS") {
		t.Fatalf("CheckVerifier = %v, want an error naming ssf.jwks_file", err)
	}
}
