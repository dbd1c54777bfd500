package gateway

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/revgate/revgate/config"
)

func b64(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestBadTokensAreRefusedWithAReasonAndNeverForwarded(t *testing.T) {
	h := newHarness(t, nil, func(c *config.Config) {
		c.JWT.RequiredClaims = map[string]any{"token_type": "access"}
		c.Revocation.MaxTokenLifetime = 2 * time.Hour
	})
	good := func(c tok) string {
		if c.extra == nil {
			c.extra = map[string]any{}
		}
		if _, ok := c.extra["token_type"]; !ok {
			c.extra["token_type"] = "access"
		}
		return mint(t, c)
	}
	valid := good(tok{})
	parts := strings.Split(valid, ".")

	pub, _ := testSigningKey(t).PublicKey()
	pemBytes, err := jwk.EncodePEM(pub)
	if err != nil {
		t.Fatal(err)
	}
	hmacWithPublicKey, _ := jwk.FromRaw(pemBytes)
	ecRaw, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	stranger, _ := jwk.FromRaw(ecRaw)
	_ = stranger.Set(jwk.KeyIDKey, "k1")
	strangerPub, _ := stranger.PublicKey()
	otherRSA, _ := jwk.FromRaw(mustRSA(t))
	_ = otherRSA.Set(jwk.KeyIDKey, "unknown-kid")

	embeddedJWK := func() string {
		hdr := map[string]any{"alg": "ES256", "kid": "k1", "jwk": strangerPub}
		payload := strings.Split(good(tok{key: stranger, alg: jwa.ES256}), ".")
		return b64(hdr) + "." + payload[1] + "." + payload[2]
	}()

	now := time.Now()
	cases := []struct {
		name     string
		token    string
		describe string // a part of error_description
	}{
		{"alg none", b64(map[string]any{"alg": "none"}) + "." + parts[1] + ".", "algorithm"},
		{"an HS256 token signed with the RSA public key as the secret", good(tok{key: hmacWithPublicKey, alg: jwa.HS256}), "algorithm"},
		{"an unknown kid", good(tok{key: otherRSA, alg: jwa.RS256}), "key"},
		{"a tampered payload", parts[0] + "." + b64(map[string]any{"sub": "root", "exp": now.Add(time.Hour).Unix()}) + "." + parts[2], "signature"},
		{"an expired token", good(tok{iat: now.Add(-2 * time.Hour), exp: now.Add(-time.Hour)}), "expired"},
		{"a token not yet valid", good(tok{extra: map[string]any{"nbf": now.Add(time.Hour).Unix()}}), "not yet valid"},
		{"a wrong issuer", good(tok{extra: map[string]any{"iss": "https://evil.test"}}), "issuer"},
		{"a wrong audience", good(tok{extra: map[string]any{"aud": "other-api"}}), "audience"},
		{"a missing required claim", mint(t, tok{}), "token_type"},
		{"a wrong required claim", good(tok{extra: map[string]any{"token_type": "refresh"}}), "token_type"},
		{"a lifetime over max_token_lifetime", good(tok{iat: now.Add(-time.Minute), exp: now.Add(3 * time.Hour)}), "lifetime"},
		{"a JWE", "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a.b.c.d", ""},
		{"JSON serialization", `{"payload":"` + parts[1] + `","signatures":[]}`, ""},
		{"garbage", "not-a-token", ""},
		{"an embedded jwk header", embeddedJWK, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hits := h.upstream.hits.Load()
			resp := h.get("/x", c.token)
			body := wantStatus(t, resp, http.StatusUnauthorized)
			desc, _ := body["error_description"].(string)
			if body["error"] != "invalid_token" || desc == "" {
				t.Fatalf("body = %v, want invalid_token with a description", body)
			}
			if !strings.Contains(strings.ToLower(desc), c.describe) {
				t.Errorf("error_description %q does not mention %q", desc, c.describe)
			}
			www := resp.Header.Get("WWW-Authenticate")
			if !strings.HasPrefix(www, `Bearer error="invalid_token", error_description="`) {
				t.Errorf("WWW-Authenticate = %q", www)
			}
			if strings.Contains(desc, c.token) || strings.Contains(www, c.token) {
				t.Error("the response echoes the token")
			}
			if h.upstream.hits.Load() != hits {
				t.Error("the request reached the upstream")
			}
		})
	}
	t.Run("an empty bearer", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, h.proxy.URL+"/x", nil)
		req.Header.Set("Authorization", "Bearer ")
		wantStatus(t, h.do(req), 401)
	})
	t.Run("two Authorization headers", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, h.proxy.URL+"/x", nil)
		req.Header.Add("Authorization", "Bearer "+valid)
		req.Header.Add("Authorization", "Bearer "+valid)
		body := wantStatus(t, h.do(req), 401)
		if body["error"] != "invalid_token" {
			t.Errorf("body = %v", body)
		}
	})
	t.Run("the valid token itself is accepted", func(t *testing.T) {
		wantStatus(t, h.get("/x", valid), 200)
	})
	if strings.Contains(h.logs.String(), valid) {
		t.Error("a token appears in the logs")
	}
}
