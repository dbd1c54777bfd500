package gateway

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/revgate/revgate/config"
	"github.com/revgate/revgate/internal/testkit"
)

// A logout token signed by a key the identity provider has just rotated
// to, while its JWKS endpoint fails, is answered 503 (the provider
// retries: Hydra twice, Keycloak per its policy), not 400 (dropped for
// good). Once the key set can be fetched again the retry is applied.
func TestABackchannelLogoutSignedByARotatedKeyDuringAJWKSOutageIsRetried(t *testing.T) {
	jwks := testkit.NewJWKSServer(t, publicJWKS(t, testSigningKey(t)))
	h := newHarness(t, nil, func(c *config.Config) {
		withBackchannel(c)
		c.JWT.JWKSFile = ""
		c.JWT.JWKSURL = jwks.URL
		c.JWT.Algorithms = []string{"RS256", "ES256"}
		c.JWT.JWKSUnknownKidCooldown = time.Second
	})
	inSession := mint(t, tok{sub: "alice", extra: map[string]any{"sid": "sess-rot"}})
	wantStatus(t, h.get("/x", inSession), http.StatusOK)

	rotated := newSigningKey(t, "k2")
	logout := signES256(t, rotated, logoutClaims("sess-rot"), "")

	jwks.Set(http.StatusServiceUnavailable, []byte(`{}`))
	resp := h.postLogoutToken(logout)
	body := wantStatus(t, resp, http.StatusServiceUnavailable)
	if body["error"] != "temporarily_unavailable" || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("answered %v (Retry-After %q), want temporarily_unavailable with Retry-After", body, resp.Header.Get("Retry-After"))
	}
	wantStatus(t, h.get("/x", inSession), http.StatusOK)

	jwks.Set(http.StatusOK, publicJWKS(t, testSigningKey(t), rotated))
	time.Sleep(1100 * time.Millisecond) // past jwks_unknown_kid_cooldown
	wantStatus(t, h.postLogoutToken(logout), http.StatusOK)
	wantStatus(t, h.get("/x", inSession), http.StatusUnauthorized)

	series, _ := h.scrape()
	for name, want := range map[string]float64{
		`revgate_backchannel_logout_requests_total{result="keys_unavailable"}`: 1,
		`revgate_backchannel_logout_requests_total{result="accepted"}`:         1,
	} {
		if series[name] != want {
			t.Errorf("%s = %v, want %v", name, series[name], want)
		}
	}

	t.Run("a kid still unknown after a good fetch is refused for good", func(t *testing.T) {
		never := signES256(t, newSigningKey(t, "never"), logoutClaims("sess-other"), "")
		time.Sleep(1100 * time.Millisecond)
		body := wantStatus(t, h.postLogoutToken(never), http.StatusBadRequest)
		if body["error"] != "invalid_request" {
			t.Errorf("answered %v, want invalid_request", body)
		}
	})
}

// signES256 signs claims with key, naming its kid, with header typ ("" =
// none).
func signES256(t *testing.T, key jwk.Key, claims map[string]any, typ string) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	hdr := jws.NewHeaders()
	_ = hdr.Set(jws.KeyIDKey, key.KeyID())
	if typ != "" {
		_ = hdr.Set(jws.TypeKey, typ)
	}
	b, err := jws.Sign(payload, jws.WithKey(jwa.ES256, key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The same for a Global Token Revocation bearer JWT: 503, nothing marked,
// then applied once the rotated key can be fetched.
func TestAGlobalRevocationBearerSignedByARotatedKeyDuringAJWKSOutageIsRetried(t *testing.T) {
	jwks := testkit.NewJWKSServer(t, publicJWKS(t, testSigningKey(t)))
	h := newHarness(t, nil, func(c *config.Config) {
		withGTR(c)
		c.JWT.JWKSFile = ""
		c.JWT.JWKSURL = jwks.URL
		c.JWT.Algorithms = []string{"RS256", "ES256"}
		c.JWT.JWKSUnknownKidCooldown = time.Second
	})
	alice := mint(t, tok{sub: "alice", iat: time.Now().Add(-time.Minute)})
	rotated := newSigningKey(t, "k2")
	bearer := signES256(t, rotated, gtrClaims(), "global-token-revocation+jwt")

	jwks.Set(http.StatusServiceUnavailable, []byte(`{}`))
	resp := h.postGTR(h.proxy.URL, bearer, gtrIssSub("alice"))
	if body := wantStatus(t, resp, http.StatusServiceUnavailable); body["error"] != "temporarily_unavailable" {
		t.Fatalf("answered %v, want temporarily_unavailable", body)
	}
	wantStatus(t, h.get("/x", alice), http.StatusOK)

	jwks.Set(http.StatusOK, publicJWKS(t, testSigningKey(t), rotated))
	time.Sleep(1100 * time.Millisecond)
	wantStatus(t, h.postGTR(h.proxy.URL, bearer, gtrIssSub("alice")), http.StatusNoContent)
	wantStatus(t, h.get("/x", alice), http.StatusUnauthorized)
	series, _ := h.scrape()
	if v := series[`revgate_global_revocation_requests_total{result="keys_unavailable"}`]; v != 1 {
		t.Errorf("keys_unavailable = %v, want 1", v)
	}
}
