package gateway

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/revgate/revgate/config"
	"github.com/revgate/revgate/revocation"
)

// An access token the issuer signed for the endpoint's URL (a client that
// may ask for any audience, e.g. by dynamic client registration and
// client_credentials) is a valid token at the proxy, but it is not the
// identity provider's own client calling the endpoint: refused, whatever
// its typ, and nobody is revoked.
func TestGlobalRevocationRefusesAnAccessTokenForItsURL(t *testing.T) {
	now := time.Now()
	claims := func() map[string]any {
		return map[string]any{
			"iss": testIssuer, "sub": "mallory", "aud": []string{testAudience, gtrAudience},
			"jti": randomJTI(), "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		}
	}
	for _, typ := range []string{"JWT", "", "global-token-revocation+jwt"} {
		t.Run("typ "+typ, func(t *testing.T) {
			st := revocation.NewMemory(time.Now)
			h := newHarness(t, st, withGTR)
			at := signLogout(t, claims(), typ)
			wantStatus(t, h.get("/x", at), http.StatusOK)
			resp := h.postGTR(h.proxy.URL, at, gtrIssSub("victim"))
			got := wantStatus(t, resp, http.StatusUnauthorized)
			desc, _ := got["error_description"].(string)
			if got["error"] != "invalid_token" || !strings.Contains(desc, `"sub"`) || !strings.Contains(desc, "global_revocation.client_ids") {
				t.Errorf("body = %v, want invalid_token naming sub and global_revocation.client_ids", got)
			}
			if strings.Contains(desc, at) || strings.Contains(desc, "mallory") || strings.Contains(resp.Header.Get("WWW-Authenticate"), at) {
				t.Errorf("the refusal echoes the token or its sub: %v / %q", got, resp.Header.Get("WWW-Authenticate"))
			}
			if _, err := st.GetSubject(context.Background(), "victim"); !errors.Is(err, revocation.ErrNotFound) {
				t.Errorf("an access token revoked a subject: %v", err)
			}
			m, _ := h.scrape()
			if v := m[`revgate_global_revocation_requests_total{result="invalid_token"}`]; v != 1 {
				t.Errorf("invalid_token counter = %v, want 1", v)
			}
		})
	}
}

// Only sub names the calling client (Okta documents sub as the app's
// client id); azp and client_id in an access token name the client a
// user's token went to, so an allowed client id there lets nothing in.
func TestGlobalRevocationReadsTheClientFromSubOnly(t *testing.T) {
	h := newHarness(t, nil, withGTR)
	bearer := gtrBearerJWT(t, func(c map[string]any) {
		c["sub"] = "alice"
		c["azp"] = gtrClient
		c["client_id"] = gtrClient
	})
	got := wantStatus(t, h.postGTR(h.proxy.URL, bearer, gtrIssSub("bob")), http.StatusUnauthorized)
	if desc, _ := got["error_description"].(string); !strings.Contains(desc, "global_revocation.client_ids") {
		t.Errorf("body = %v", got)
	}
	if _, err := h.store.GetSubject(context.Background(), "bob"); !errors.Is(err, revocation.ErrNotFound) {
		t.Errorf("subject marked on azp/client_id: %v", err)
	}
}

func TestGlobalRevocationTakesEveryListedClient(t *testing.T) {
	h := newHarness(t, nil, func(c *config.Config) {
		withGTR(c)
		c.GlobalRevocation.ClientIDs = config.StringList{"0oa2second", gtrClient}
	})
	for _, tt := range []struct{ client, subject string }{{"0oa2second", "alice"}, {gtrClient, "bob"}} {
		bearer := gtrBearerJWT(t, func(c map[string]any) { c["sub"] = tt.client })
		wantStatus(t, h.postGTR(h.proxy.URL, bearer, gtrIssSub(tt.subject)), http.StatusNoContent)
		if _, err := h.store.GetSubject(context.Background(), tt.subject); err != nil {
			t.Errorf("client %s: subject %s not marked: %v", tt.client, tt.subject, err)
		}
	}
}

// With several issuers in jwt.issuer, each revokes only its own
// subjects: the body's iss must be the bearer's.
func TestGlobalRevocationRevokesOnlyTheBearerIssuersSubjects(t *testing.T) {
	const partner = "https://partner.example"
	h := newHarness(t, nil, func(c *config.Config) {
		withGTR(c)
		c.JWT.Issuer = config.StringList{testIssuer, partner}
	})
	body := func(iss, sub string) string {
		return `{"sub_id": {"format": "iss_sub", "iss": "` + iss + `", "sub": "` + sub + `"}}`
	}
	fromPartner := func(c map[string]any) { c["iss"] = partner }
	for _, tt := range []struct {
		name   string
		shape  func(c map[string]any)
		body   string
		victim string
	}{
		{"the test issuer names the partner's subject", nil, body(partner, "bob"), "bob"},
		{"the partner names the test issuer's subject", fromPartner, body(testIssuer, "carol"), "carol"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := h.postGTR(h.proxy.URL, gtrBearerJWT(t, tt.shape), tt.body)
			got := wantStatus(t, resp, http.StatusBadRequest)
			desc, _ := got["error_description"].(string)
			if got["error"] != "invalid_request" || !strings.Contains(desc, `sub_id "iss" must equal the bearer JWT's "iss"`) {
				t.Errorf("body = %v", got)
			}
			if _, err := h.store.GetSubject(context.Background(), tt.victim); !errors.Is(err, revocation.ErrNotFound) {
				t.Errorf("another issuer's subject was marked: %v", err)
			}
		})
	}
	t.Run("each issuer revokes its own", func(t *testing.T) {
		wantStatus(t, h.postGTR(h.proxy.URL, gtrBearerJWT(t, fromPartner), body(partner, "dave")), http.StatusNoContent)
		wantStatus(t, h.postGTR(h.proxy.URL, gtrBearerJWT(t, nil), body(testIssuer, "erin")), http.StatusNoContent)
		for _, sub := range []string{"dave", "erin"} {
			if _, err := h.store.GetSubject(context.Background(), sub); err != nil {
				t.Errorf("subject %s not marked: %v", sub, err)
			}
		}
	})
}
