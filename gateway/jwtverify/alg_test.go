package jwtverify

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/revgate/revgate/config"
)

// TestConfigChecksAndKeyLoadingAgreeOnEveryHMACSecretLength runs every
// HMAC algorithm with secrets one byte short of its minimum and exactly at
// it: the configuration check refuses the short one, and the verifier never
// verifies a token of that algorithm with it (the two once disagreed: keys
// of 32 bytes verified HS512 while the configuration asked for 64).
func TestConfigChecksAndKeyLoadingAgreeOnEveryHMACSecretLength(t *testing.T) {
	for _, name := range []string{"HS256", "HS384", "HS512"} {
		_, minBits, ok := KeyType(name)
		if !ok || minBits == 0 {
			t.Fatalf("KeyType(%s) = %d, %v", name, minBits, ok)
		}
		for _, n := range []int{minBits/8 - 1, minBits / 8} {
			secret := bytes.Repeat([]byte{'k'}, n)
			long := n*8 >= minBits
			t.Run(fmt.Sprintf("%s with a %d-byte secret", name, n), func(t *testing.T) {
				c := config.Default()
				c.JWT.HMACSecret = string(secret)
				c.JWT.Algorithms = []string{"HS256", name}
				problems := CheckAlgorithms(&c)
				if long != (len(problems) == 0) {
					t.Fatalf("CheckAlgorithms = %v, want problems: %v", problems, !long)
				}
				cfg := VerifierConfig{JWT: c.JWT, MaxTokenLifetime: time.Hour, Now: func() time.Time { return vtNow }}
				v, err := NewVerifier(t.Context(), cfg)
				if n < 32 {
					if err == nil {
						t.Fatal("a secret shorter than any HMAC algorithm accepts was loaded")
					}
					return
				}
				if err != nil {
					t.Fatalf("NewVerifier: %v", err)
				}
				raw := vtSign(t, name, secret, nil, vtClaims(map[string]any{"token_type": vtDel, "ver": vtDel, "iss": vtDel, "aud": vtDel}))
				_, err = v.Verify(t.Context(), raw, PurposeAccess)
				if long != (err == nil) {
					t.Fatalf("Verify = %v, want success: %v", err, long)
				}
			})
		}
	}
}

func TestAJWKSSecretTooShortForItsOwnAlgIsRefused(t *testing.T) {
	short := bytes.Repeat([]byte{'s'}, 32)
	jwks := vtWrite(t, "jwks.json", vtJWKS(t, vtJWK(t, short, "h", "HS512")))
	_, err := NewVerifier(t.Context(), VerifierConfig{
		JWT:              config.JWT{JWKSFile: jwks, Algorithms: []string{"HS512"}},
		MaxTokenLifetime: time.Hour,
	})
	if err == nil || !strings.Contains(err.Error(), "shorter than HS512's minimum of 512") {
		t.Fatalf("NewVerifier = %v, want the key refused as too short for HS512", err)
	}
	if strings.Contains(err.Error(), string(short)) {
		t.Fatal("the error shows the secret")
	}
}

func TestEveryAlgorithmHasAKeyTypeAndTheTableIsTheOneList(t *testing.T) {
	names := Algorithms()
	if len(names) != int(numAlgs) {
		t.Fatalf("Algorithms() has %d names, want %d", len(names), numAlgs)
	}
	for _, name := range names {
		typ, _, ok := KeyType(name)
		if !ok || typ == "" || typ == "unknown" {
			t.Errorf("KeyType(%s) = %q, %v", name, typ, ok)
		}
	}
	if _, _, ok := KeyType("none"); ok {
		t.Error(`KeyType("none") is supported`)
	}
	k := vtKeys()
	for _, tt := range []struct {
		key  any
		want string
	}{
		{&k.rsaA.PublicKey, "RS256,RS384,RS512,PS256,PS384,PS512"},
		{&k.ec.PublicKey, "ES256"},
		{&k.ec384.PublicKey, "ES384"},
		{k.ed.Public(), "EdDSA"},
		{k.hmac, "HS256,HS384,HS512"},
		{"not a key", ""},
	} {
		if got := strings.Join(AlgorithmsFor(tt.key), ","); got != tt.want {
			t.Errorf("AlgorithmsFor(%T) = %q, want %q", tt.key, got, tt.want)
		}
	}
}
