package gateway

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/revgate/revgate/config"
	"github.com/revgate/revgate/revocation"
)

// revokeVia sends an RFC 7009 revocation and checks the 200 with an empty
// body every token gets.
func (h *harness) revokeVia(auth func(*http.Request), token string) {
	h.t.Helper()
	resp := h.oauthPost(revokePath, url.Values{"token": {token}, "token_type_hint": {"access_token"}}, auth)
	if resp.StatusCode != 200 {
		h.t.Fatalf("revocation status %d, want 200 (%s)", resp.StatusCode, readAll(h.t, resp))
	}
	if body := readAll(h.t, resp); body != "" {
		h.t.Errorf("revocation body %q, want none", body)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		h.t.Errorf("Cache-Control = %q, want no-store", cc)
	}
}

func TestRevocationOfAClientsOwnTokenRejectsItEverywhere(t *testing.T) {
	backends(t, func(t *testing.T, store func() revocation.Store) {
		h := newHarness(t, store(), withOAuth(nil))
		exp := time.Now().Add(time.Hour).Truncate(time.Second)
		tests := []struct{ name, claim string }{
			{"by client_id", "client_id"},
			{"by azp", "azp"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				jti := randomJTI()
				token := mint(t, tok{sub: "alice", jti: jti, exp: exp, extra: map[string]any{tt.claim: ordersID}})
				wantStatus(t, h.get("/api/x", token), 200)

				h.revokeVia(ordersBasic, token)

				wantStatus(t, h.get("/api/x", token), 401)
				if _, body := h.introspect(token); body["active"] != false {
					t.Errorf("introspection after revocation: %v", body)
				}
				rec, err := h.store.GetToken(t.Context(), jti)
				if err != nil {
					t.Fatalf("GetToken: %v", err)
				}
				if want := exp.Add(h.cfg.JWT.Leeway); !rec.ExpiresAt.Equal(want) {
					t.Errorf("recorded until %v, want exp plus leeway %v", rec.ExpiresAt, want)
				}
				logs := h.logs.String()
				if !strings.Contains(logs, `"actor":"oauth-client:orders-api"`) || !strings.Contains(logs, `"jti":"`+jti+`"`) {
					t.Errorf("no audit event with the client as actor:\n%s", logs)
				}
				if strings.Contains(logs, token) {
					t.Error("the token is in the log")
				}
			})
		}
	})
}

func TestRevocationAnswers200WithoutRevokingWhatTheClientMayNotRevoke(t *testing.T) {
	h := newHarness(t, nil, withOAuth(nil))
	old := time.Now().Add(-2 * time.Hour)
	tests := []struct {
		name  string
		token string
		jti   string // the jti that must stay unrevoked, if any
	}{
		{"another client's token", mint(t, tok{jti: "foreign-1", extra: map[string]any{"client_id": "billing"}}), "foreign-1"},
		{"a token issued to no client", mint(t, tok{jti: "nobody-1"}), "nobody-1"},
		{"a client_id that only differs in case", mint(t, tok{jti: "case-1", extra: map[string]any{"client_id": "Orders-API"}}), "case-1"},
		{"a token of an unknown key", mint(t, tok{key: otherKey(t), alg: "RS256", jti: "stranger-1", extra: map[string]any{"client_id": ordersID}}), "stranger-1"},
		{"a tampered token", mint(t, tok{jti: "tampered-1", extra: map[string]any{"client_id": ordersID}}) + "x", "tampered-1"},
		{"a token long expired", mint(t, tok{jti: "old-1", iat: old.Add(-time.Hour), exp: old, extra: map[string]any{"client_id": ordersID}}), "old-1"},
		{"a token without jti", mint(t, tok{jti: "-", extra: map[string]any{"client_id": ordersID}}), ""},
		{"something not a JWT", "opaque-reference-token", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.revokeVia(ordersBasic, tt.token)
			if tt.jti == "" {
				return
			}
			if _, err := h.store.GetToken(t.Context(), tt.jti); !errors.Is(err, revocation.ErrNotFound) {
				t.Errorf("GetToken = %v, want ErrNotFound: nothing may be revoked", err)
			}
		})
	}
	t.Run("another client's token stays usable", func(t *testing.T) {
		token := mint(t, tok{extra: map[string]any{"client_id": "billing"}})
		h.revokeVia(ordersBasic, token)
		wantStatus(t, h.get("/api/x", token), 200)
	})
	series, _ := h.scrape()
	for answer, want := range map[string]float64{"not_owner": 4, "invalid_token": 3, "expired": 1, "no_jti": 1} {
		if got := series[`revgate_oauth_requests_total{answer="`+answer+`",client="orders-api",endpoint="revocation"}`]; got != want {
			t.Errorf("answer %s counted %v times, want %v", answer, got, want)
		}
	}
}

func TestRevocationByARevokeAnyClient(t *testing.T) {
	h := newHarness(t, nil, withOAuth(nil))
	token := mint(t, tok{extra: map[string]any{"client_id": "billing"}})
	h.revokeVia(basicAuth(opsID, opsSecret), token)
	wantStatus(t, h.get("/api/x", token), 401)

	t.Run("an expired token within the leeway is still revoked", func(t *testing.T) {
		jti := randomJTI()
		token := mint(t, tok{jti: jti, iat: time.Now().Add(-time.Hour), exp: time.Now().Add(-5 * time.Second)})
		h.revokeVia(basicAuth(opsID, opsSecret), token)
		if _, err := h.store.GetToken(t.Context(), jti); err != nil {
			t.Errorf("GetToken: %v, want the jti recorded until exp plus leeway", err)
		}
	})
	series, _ := h.scrape()
	if got := series[`revgate_oauth_requests_total{answer="revoked",client="ops:console",endpoint="revocation"}`]; got != 2 {
		t.Errorf("revoked count = %v, want 2", got)
	}
	if got := series[`revgate_revocations_total{kind="token",source="oauth"}`]; got != 2 {
		t.Errorf("revgate_revocations_total oauth = %v, want 2", got)
	}
	if got := series[`revgate_requests_total{mode="proxy",outcome="allowed",route="oauth_revocation"}`]; got != 2 {
		t.Errorf("requests_total of the revocation route = %v, want 2", got)
	}
}

func TestRevocationAnswers503WithRetryAfterWhenTheStoreIsDown(t *testing.T) {
	store, srv := redisStore(t)
	h := newHarness(t, store, withOAuth(func(c *config.Config) { c.Revocation.LookupTimeout = 300 * time.Millisecond }))
	jti := randomJTI()
	token := mint(t, tok{jti: jti, extra: map[string]any{"client_id": ordersID}})
	srv.Stop()
	resp := h.oauthPost(revokePath, url.Values{"token": {token}}, ordersBasic)
	if body := wantStatus(t, resp, http.StatusServiceUnavailable); body["error"] != "temporarily_unavailable" {
		t.Errorf("body %v", body)
	}
	if resp.Header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	if strings.Contains(h.logs.String(), `"action":"revoke_token"`) {
		t.Error("an audit event for a revocation that was not written")
	}
	srv.Restart()
	h.revokeVia(ordersBasic, token)
	if _, err := h.store.GetToken(t.Context(), jti); err != nil {
		t.Errorf("after the store is back, GetToken: %v", err)
	}
}
