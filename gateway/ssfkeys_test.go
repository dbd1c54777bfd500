package gateway

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/revgate/revgate/config"
	"github.com/revgate/revgate/gateway/jwtverify"
	"github.com/revgate/revgate/internal/testkit"
	"github.com/revgate/revgate/revocation"
)

// newSigningKey is a fresh ES256 key with kid: the transmitter's key
// after a rotation, or one it never published.
func newSigningKey(t *testing.T, kid string) jwk.Key {
	t.Helper()
	raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := jwk.FromRaw(raw)
	if err != nil {
		t.Fatal(err)
	}
	_ = k.Set(jwk.KeyIDKey, kid)
	return k
}

// signSETWith signs claims as a SET with key, naming its kid.
func signSETWith(t *testing.T, key jwk.Key, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	hdr := typHeader("secevent+jwt")
	_ = hdr.Set(jws.KeyIDKey, key.KeyID())
	b, err := jws.Sign(payload, jws.WithKey(jwa.ES256, key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// publicJWKS is a JWKS of the public halves of keys.
func publicJWKS(t *testing.T, keys ...jwk.Key) []byte {
	t.Helper()
	set := jwk.NewSet()
	for _, k := range keys {
		pub, err := k.PublicKey()
		if err != nil {
			t.Fatal(err)
		}
		_ = set.AddKey(pub)
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withVerifierClock runs the transmitter verifier's unknown-kid cooldown
// (the default 30s) on clock.
func withVerifierClock(clock *manualClock) func(*jwtverify.VerifierConfig) {
	return func(vc *jwtverify.VerifierConfig) { vc.Now = clock.Now }
}

func TestSSFPushOfASETSignedByARotatedKeyDuringAJWKSOutageIsRetriedNotRefused(t *testing.T) {
	tr := newTransmitter(t)
	clock := newManualClock()
	h := newSSFHarnessWith(t, nil, tr, nil, withVerifierClock(clock))
	alice := mint(t, tok{sub: "alice", iat: time.Now().Add(-time.Minute)})
	tx2 := newSigningKey(t, "tx2")
	set := signSETWith(t, tx2, setClaims(eventAccountDisabled, map[string]any{}, issSub("alice")))
	// want503 checks a retryable answer that wrote nothing.
	want503 := func(t *testing.T, resp *http.Response) {
		t.Helper()
		body := wantStatus(t, resp, http.StatusServiceUnavailable)
		if body["error"] != "temporarily_unavailable" || resp.Header.Get("Retry-After") != "30" {
			t.Fatalf("503 body %v, Retry-After %q; want temporarily_unavailable and the 30s cooldown", body, resp.Header.Get("Retry-After"))
		}
		wantNothingApplied(t, h, alice)
	}

	// The transmitter has rotated to tx2; its JWKS endpoint fails.
	tr.jwks.Set(http.StatusServiceUnavailable, []byte(`{}`))
	hits := tr.jwks.Hits.Load()
	want503(t, h.push(set))
	if got := tr.jwks.Hits.Load(); got != hits+1 {
		t.Fatalf("JWKS hits = %d, want %d: the unknown kid should have caused one refetch", got, hits+1)
	}

	t.Run("a bad signature by a known key is still refused during the outage", func(t *testing.T) {
		forged := tr.set(t, setClaims(eventAccountDisabled, map[string]any{}, issSub("alice")))
		wantSETError(t, h.push(forged[:len(forged)-4]+"AAAA"), http.StatusBadRequest, setErrInvalidKey)
		wantNothingApplied(t, h, alice)
	})

	// The JWKS is back with tx2, but the cooldown holds the refetch back:
	// the key set is not known to be current, so the SET is still retried.
	tr.jwks.Set(http.StatusOK, publicJWKS(t, tr.key, tx2))
	want503(t, h.push(set))
	if got := tr.jwks.Hits.Load(); got != hits+1 {
		t.Fatalf("JWKS hits within the cooldown = %d, want %d", got, hits+1)
	}

	// The transmitter's retry after the cooldown is applied.
	clock.Advance(31 * time.Second)
	wantAccepted(t, h.push(set))
	wantStatus(t, h.get("/x", alice), http.StatusUnauthorized)

	series, _ := h.scrape()
	for name, want := range map[string]float64{
		`revgate_ssf_events_total{event="other",result="keys_unavailable"}`:              2,
		`revgate_ssf_events_total{event="account-disabled",result="applied"}`:            1,
		`revgate_requests_total{mode="proxy",outcome="upstream_error",route="ssf_push"}`: 2,
	} {
		if series[name] != want {
			t.Errorf("%s = %v, want %v", name, series[name], want)
		}
	}
	if logs := h.logs.String(); !strings.Contains(logs, "could not be refreshed; it will be delivered again") {
		t.Errorf("no warning about the deferred SET:\n%s", logs)
	}
}

func TestSSFPushRefusesAKidStillUnknownAfterAGoodJWKSFetch(t *testing.T) {
	tr := newTransmitter(t)
	h := newSSFHarness(t, nil, tr, nil)
	alice := mint(t, tok{sub: "alice", jti: "tok-1", iat: time.Now().Add(-time.Minute)})
	hits := tr.jwks.Hits.Load()
	set := signSETWith(t, newSigningKey(t, "never-published"), setClaims(eventAccountDisabled, map[string]any{}, issSub("alice")))
	wantSETError(t, h.push(set), http.StatusBadRequest, setErrInvalidKey)
	if got := tr.jwks.Hits.Load(); got != hits+1 {
		t.Fatalf("JWKS hits = %d, want %d: the refetch that confirmed the kid unknown", got, hits+1)
	}
	wantNothingApplied(t, h, alice)
}

func TestSSFPollRedeliversASETSignedByARotatedKeyDuringAJWKSOutage(t *testing.T) {
	tr := newTransmitter(t)
	p := newPollTransmitter(t)
	clock := newManualClock()
	h := newSSFHarnessWith(t, nil, tr, withPoll(p), withVerifierClock(clock))
	alice := mint(t, tok{sub: "alice", iat: time.Now().Add(-time.Minute)})
	tx2 := newSigningKey(t, "tx2")
	c := setClaims(eventCredentialChange, map[string]any{"credential_type": "password", "change_type": "update"}, issSub("alice"))
	jti := c["jti"].(string)

	tr.jwks.Set(http.StatusServiceUnavailable, []byte(`{}`))
	p.add(jti, signSETWith(t, tx2, c))
	startPoller(t, h)
	waitFor(t, 10*time.Second, "two deliveries while the JWKS is down", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.delivered[jti] >= 2 || len(p.acked) > 0 || len(p.errs) > 0
	})
	p.mu.Lock()
	acked, errs := len(p.acked), len(p.errs)
	p.mu.Unlock()
	if acked != 0 || errs != 0 {
		t.Fatalf("with the JWKS down the SET was acknowledged (%d) or reported in setErrs (%d)", acked, errs)
	}
	wantNothingApplied(t, h, alice)

	tr.jwks.Set(http.StatusOK, publicJWKS(t, tr.key, tx2))
	clock.Advance(31 * time.Second)
	waitFor(t, 15*time.Second, "the SET to be acknowledged once the key can be fetched", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return slices.Contains(p.acked, jti)
	})
	p.mu.Lock()
	errs = len(p.errs)
	p.mu.Unlock()
	if errs != 0 {
		t.Errorf("setErrs reported %d SETs", errs)
	}
	wantStatus(t, h.get("/x", alice), http.StatusUnauthorized)
	series, _ := h.scrape()
	if series[`revgate_ssf_events_total{event="other",result="keys_unavailable"}`] < 2 {
		t.Error("keys_unavailable not counted for each deferred delivery")
	}
	if series[`revgate_ssf_events_total{event="credential-change",result="applied"}`] != 1 {
		t.Error("applied not counted once")
	}
}

// The access-token path keeps its answer: a token whose kid the issuer's
// JWKS cannot be refreshed to find is 401 invalid_token, as before.
func TestAccessTokenWithAnUnknownKidDuringAJWKSOutageIsStill401(t *testing.T) {
	pub, err := testSigningKey(t).PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	set := jwk.NewSet()
	_ = set.AddKey(pub)
	body, _ := json.Marshal(set)
	jwks := testkit.NewJWKSServer(t, body)
	h := newHarness(t, nil, func(c *config.Config) {
		c.JWT.JWKSFile = ""
		c.JWT.JWKSURL = jwks.URL
	})
	jwks.Set(http.StatusServiceUnavailable, []byte(`{}`))
	// Signed by the issuer's new key, which its JWKS cannot serve now.
	hdr := jws.NewHeaders()
	_ = hdr.Set(jws.KeyIDKey, "rotated")
	claims, _ := json.Marshal(map[string]any{"iss": testIssuer, "aud": testAudience, "sub": "alice",
		"iat": time.Now().Unix(), "exp": time.Now().Add(time.Minute).Unix()})
	raw, err := jws.Sign(claims, jws.WithKey(jwa.RS256, mustRSA(t), jws.WithProtectedHeaders(hdr)))
	if err != nil {
		t.Fatal(err)
	}
	got := wantStatus(t, h.get("/x", string(raw)), http.StatusUnauthorized)
	if got["error"] != "invalid_token" || got["error_description"] != jwtverify.ErrUnknownKey.Error() {
		t.Errorf("answer %v, want invalid_token %q", got, jwtverify.ErrUnknownKey.Error())
	}
	if _, err := h.store.GetSubject(context.Background(), "alice"); !errors.Is(err, revocation.ErrNotFound) {
		t.Errorf("subject state changed: %v", err)
	}
}
