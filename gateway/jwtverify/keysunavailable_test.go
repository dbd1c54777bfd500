package jwtverify

import (
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/revgate/revgate/internal/testkit"
)

// An unknown kid is ErrUnknownKey either way; ErrKeysUnavailable joins it
// only while the key set could not be confirmed current, so a caller that
// can have the token delivered again (the Shared Signals receiver) waits
// for the key instead of refusing the token for good.
func TestUnknownKidIsKeysUnavailableOnlyWhileTheSetCannotBeRefreshed(t *testing.T) {
	k := vtKeys()
	claims := vtClaims(map[string]any{"iss": vtDel, "aud": vtDel})
	onlyA := vtJWKS(t, vtJWK(t, &k.rsaA.PublicKey, "a", "RS256"))
	withB := vtJWKS(t, vtJWK(t, &k.rsaA.PublicKey, "a", "RS256"), vtJWK(t, &k.rsaB.PublicKey, "b", "RS256"))
	rotated := vtSign(t, "RS256", k.rsaB, map[string]any{"kid": "b"}, claims)
	// wantErr checks the sentinels and that the description an access
	// token's refusal shows is the plain sentinel's, whatever the cause.
	wantErr := func(t *testing.T, raw string, v *Verifier, want error, unavailable bool) {
		t.Helper()
		_, err := v.Verify(t.Context(), raw, PurposeAccess)
		vtWantErr(t, raw, err, want)
		if got := errors.Is(err, ErrKeysUnavailable); got != unavailable {
			t.Fatalf("errors.Is(err, ErrKeysUnavailable) = %v, want %v (err %v)", got, unavailable, err)
		}
		var te *TokenError
		if errors.As(err, &te) && te.Description != want.Error() {
			t.Fatalf("description = %q, want %q", te.Description, want.Error())
		}
	}

	t.Run("a kid still unknown right after a good refetch is only ErrUnknownKey", func(t *testing.T) {
		srv := testkit.NewJWKSServer(t, onlyA)
		v := vtNewVerifier(t, vtRemoteConfig(srv.URL, newVTClock(vtNow).Now))
		wantErr(t, rotated, v, ErrUnknownKey, false)
		if got := srv.Hits.Load(); got != 2 {
			t.Fatalf("JWKS hits = %d, want 2 (start and the refetch)", got)
		}
	})

	t.Run("a failed refetch, then the cooldown, then the published key", func(t *testing.T) {
		srv := testkit.NewJWKSServer(t, onlyA)
		clock := newVTClock(vtNow)
		v := vtNewVerifier(t, vtRemoteConfig(srv.URL, clock.Now))
		srv.Set(http.StatusServiceUnavailable, []byte(`{}`))
		wantErr(t, rotated, v, ErrUnknownKey, true)
		hits := srv.Hits.Load()
		// The JWKS is back, but the cooldown holds the refetch back.
		srv.Set(http.StatusOK, withB)
		wantErr(t, rotated, v, ErrUnknownKey, true)
		if got := srv.Hits.Load(); got != hits {
			t.Fatalf("JWKS hits within the cooldown = %d, want %d", got, hits)
		}
		clock.Advance(61 * time.Second)
		_, err := v.Verify(t.Context(), rotated, PurposeAccess)
		vtWantErr(t, rotated, err, nil)
	})

	t.Run("a bad signature by a known key is ErrBadSignature even during an outage", func(t *testing.T) {
		srv := testkit.NewJWKSServer(t, onlyA)
		v := vtNewVerifier(t, vtRemoteConfig(srv.URL, newVTClock(vtNow).Now))
		srv.Set(http.StatusServiceUnavailable, []byte(`{}`))
		forged := vtSign(t, "RS256", k.rsaB, map[string]any{"kid": "a"}, claims)
		wantErr(t, forged, v, ErrBadSignature, false)
	})

	t.Run("before any key set was fetched even a token without kid is ErrKeysUnavailable", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		_ = ln.Close()
		v := vtNewVerifier(t, vtRemoteConfig("http://"+addr+"/jwks", newVTClock(vtNow).Now))
		wantErr(t, rotated, v, ErrUnknownKey, true)
		wantErr(t, vtSign(t, "RS256", k.rsaB, map[string]any{}, claims), v, ErrUnknownKey, true)
	})

	t.Run("keys from a file are never unavailable", func(t *testing.T) {
		v := vtNewVerifier(t, vtStandardConfig(t))
		wantErr(t, vtSign(t, "RS256", k.rsaB, map[string]any{"kid": "nope"}, vtClaims(nil)), v, ErrBadSignature, false)
		wantErr(t, vtSign(t, "ES256", k.ec, map[string]any{"kid": "nope"}, vtClaims(nil)), v, ErrUnknownKey, false)
	})
}
