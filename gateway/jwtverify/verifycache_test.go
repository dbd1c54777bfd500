package jwtverify

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/revgate/revgate/config"
	"github.com/revgate/revgate/internal/testkit"
)

// fakeClock is a settable clock for the verifier.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newCachedVerifier(t *testing.T, mutate func(*config.JWT), now func() time.Time) *Verifier {
	t.Helper()
	cfg := config.Default()
	cfg.JWT.JWKSFile = testkit.JWKSFile(t, testkit.SigningKey(t))
	cfg.JWT.Issuer = config.StringList{testkit.Issuer}
	cfg.JWT.Audience = config.StringList{testkit.Audience}
	if mutate != nil {
		mutate(&cfg.JWT)
	}
	v, err := NewVerifier(t.Context(), VerifierConfig{JWT: cfg.JWT, MaxTokenLifetime: cfg.Revocation.MaxTokenLifetime, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if v.cache == nil {
		t.Fatal("the verify cache is off by default")
	}
	return v
}

func TestTheVerifyCacheNeverOutlivesTheToken(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	v := newCachedVerifier(t, nil, clock.now)
	exp := clock.now().Add(time.Minute)
	token := testkit.Mint(t, testkit.Token{Exp: exp})
	if _, err := v.Verify(context.Background(), token, PurposeAccess); err != nil {
		t.Fatal(err)
	}
	if _, ok := v.cache.get(token, PurposeAccess, v.keys.Load(), clock.now()); !ok {
		t.Fatal("a verified token was not cached")
	}
	clock.add(time.Minute + v.leeway - time.Second)
	if _, err := v.Verify(context.Background(), token, PurposeAccess); err != nil {
		t.Fatalf("within exp plus leeway: %v", err)
	}
	// At exactly exp plus leeway, as an uncached check would, and as its
	// revocation record lapses.
	clock.mu.Lock()
	clock.t = time.Unix(exp.Unix(), 0).Add(v.leeway)
	clock.mu.Unlock()
	if _, err := v.Verify(context.Background(), token, PurposeAccess); err == nil {
		t.Fatal("a cached token was accepted at exp plus leeway")
	}
}

func TestTheVerifyCacheIsPerPurpose(t *testing.T) {
	v := newCachedVerifier(t, func(j *config.JWT) {
		j.RequiredClaims = map[string]any{"token_type": "access"}
		j.RefreshRequiredClaims = map[string]any{"token_type": "refresh"}
	}, nil)
	access := testkit.Mint(t, testkit.Token{Extra: map[string]any{"token_type": "access"}})
	for range 2 {
		if _, err := v.Verify(context.Background(), access, PurposeAccess); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(context.Background(), access, PurposeRefresh); err == nil {
			t.Fatal("an access token verified as access passed as a refresh token")
		}
	}
}

func TestARemovedKeyTakesItsCachedTokensWithIt(t *testing.T) {
	pub, _ := testkit.SigningKey(t).PublicKey()
	set := jwk.NewSet()
	_ = set.AddKey(pub)
	withKey, _ := json.Marshal(set)
	other, _ := jwk.FromRaw(testkit.RSAKey(t))
	otherPub, _ := other.PublicKey()
	_ = otherPub.Set(jwk.KeyIDKey, "rotated")
	set2 := jwk.NewSet()
	_ = set2.AddKey(otherPub)
	withoutKey, _ := json.Marshal(set2)
	var rotated atomic.Bool
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if rotated.Load() {
			_, _ = w.Write(withoutKey)
			return
		}
		_, _ = w.Write(withKey)
	}))
	defer jwks.Close()
	v := newCachedVerifier(t, func(j *config.JWT) {
		j.JWKSFile = ""
		j.JWKSURL = jwks.URL
		j.JWKSRefresh = time.Second
	}, nil)
	token := testkit.Mint(t, testkit.Token{})
	if _, err := v.Verify(context.Background(), token, PurposeAccess); err != nil {
		t.Fatal(err)
	}
	rotated.Store(true)
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, err := v.Verify(context.Background(), token, PurposeAccess); err != nil {
			break // the compromised key is gone, and so is the cached verdict
		}
		if time.Now().After(deadline) {
			t.Fatal("a token signed by a key removed from the JWKS still verified after 15s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestTheVerifyCacheStaysBounded(t *testing.T) {
	c := newVerifyCache(64)
	now := time.Now()
	ks := &keySet{}
	for i := range 1000 {
		c.put(testkit.RandomJTI()+strconv.Itoa(i), PurposeAccess, &Claims{}, ks, now.Add(time.Hour), now)
	}
	n := 0
	for i := range c.shards {
		n += len(c.shards[i].m)
	}
	if n > 64 {
		t.Fatalf("cache holds %d entries, want at most 64", n)
	}
	if c.perShard*cacheShards > 64 {
		t.Fatalf("capacity %d over the configured size", c.perShard*cacheShards)
	}
}

func TestACollidingHashCannotPassForAnotherToken(t *testing.T) {
	c := newVerifyCache(64)
	now := time.Now()
	ks := &keySet{}
	c.put("token-a", PurposeAccess, &Claims{Subject: "a"}, ks, now.Add(time.Hour), now)
	// Force the same slot: the entry must still be refused for another token.
	h := c.hash("token-a", PurposeAccess)
	s := &c.shards[h%cacheShards]
	e := s.m[h]
	e.raw = "token-b"
	s.m[h] = e
	if _, ok := c.get("token-a", PurposeAccess, ks, now); ok {
		t.Fatal("an entry holding another token was returned")
	}
}
