package gateway

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/revgate/revgate/gateway/jwtverify"
	"github.com/revgate/revgate/internal/testkit"
	"github.com/revgate/revgate/revocation"
)

// The transmitter of the tests, with the issuer and audience of the CAEP
// 1.0 examples.
const (
	ssfTestIssuer   = "https://idp.example.com/123456789/"
	ssfTestAudience = "https://sp.example.com/caep"
	ssfTestPath     = "/ssf/events"
	ssfTestAuth     = "Bearer push-secret-0123456789abcdef"
)

// transmitter signs SETs with its own ES256 key, served by a JWKS server.
type transmitter struct {
	key  jwk.Key
	jwks *testkit.JWKSServer
}

var (
	transmitterKeyOnce sync.Once
	transmitterKey     jwk.Key
)

func newTransmitter(t *testing.T) *transmitter {
	t.Helper()
	transmitterKeyOnce.Do(func() {
		raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		k, _ := jwk.FromRaw(raw)
		_ = k.Set(jwk.KeyIDKey, "tx1")
		_ = k.Set(jwk.AlgorithmKey, jwa.ES256)
		transmitterKey = k
	})
	pub, err := transmitterKey.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	set := jwk.NewSet()
	_ = set.AddKey(pub)
	body, _ := json.Marshal(set)
	return &transmitter{key: transmitterKey, jwks: testkit.NewJWKSServer(t, body)}
}

// sign signs claims as a SET with header typ ("" = none).
func (tr *transmitter) sign(t testing.TB, claims map[string]any, typ string) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	return tr.signPayload(t, payload, typ)
}

func (tr *transmitter) signPayload(t testing.TB, payload []byte, typ string) string {
	t.Helper()
	hdr := jws.NewHeaders()
	_ = hdr.Set(jws.KeyIDKey, "tx1")
	if typ != "" {
		_ = hdr.Set(jws.TypeKey, typ)
	}
	b, err := jws.Sign(payload, jws.WithKey(jwa.ES256, tr.key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// set is sign with typ secevent+jwt.
func (tr *transmitter) set(t testing.TB, claims map[string]any) string {
	return tr.sign(t, claims, "secevent+jwt")
}

// setClaims are a valid SET's claims about subID with one event.
func setClaims(event string, body map[string]any, subID map[string]any) map[string]any {
	c := map[string]any{
		"iss":    ssfTestIssuer,
		"aud":    ssfTestAudience,
		"iat":    time.Now().Unix(),
		"jti":    randomJTI(),
		"txn":    "8675309",
		"events": map[string]any{event: body},
	}
	if subID != nil {
		c["sub_id"] = subID
	}
	return c
}

func issSub(sub any) map[string]any {
	return map[string]any{"format": "iss_sub", "iss": testIssuer, "sub": sub}
}

// newSSFHarness is a harness whose gateway receives the transmitter's SETs
// at ssfTestPath; mutate may change the receiver's settings.
func newSSFHarness(t *testing.T, store revocation.Store, tr *transmitter, mutate func(*ssfSettings)) *harness {
	t.Helper()
	return newSSFHarnessWith(t, store, tr, mutate, nil)
}

// newSSFHarnessWith is newSSFHarness whose transmitter verifier's
// configuration mutateVerifier may change (a clock, a cooldown).
func newSSFHarnessWith(t *testing.T, store revocation.Store, tr *transmitter, mutate func(*ssfSettings), mutateVerifier func(*jwtverify.VerifierConfig)) *harness {
	t.Helper()
	h := newHarness(t, store, nil)
	s := ssfSettings{
		issuer:            ssfTestIssuer,
		audience:          []string{ssfTestAudience},
		pushPath:          ssfTestPath,
		pushAuthorization: ssfTestAuth,
		pollInterval:      20 * time.Millisecond,
	}
	if mutate != nil {
		mutate(&s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	cfg := *h.cfg
	cfg.SSF.JWKSURL, cfg.SSF.PushPath = tr.jwks.URL, ssfTestPath
	vc, _ := jwtverify.TransmitterConfig(&cfg, nil)
	if mutateVerifier != nil {
		mutateVerifier(&vc)
	}
	v, err := jwtverify.NewVerifier(ctx, vc)
	if err != nil {
		t.Fatal(err)
	}
	if h.gw.ssf, err = newSSFReceiver(s, h.cfg, v, h.gw.gatherer.(prometheus.Registerer)); err != nil {
		t.Fatal(err)
	}
	return h
}

// push delivers a SET as RFC 8935 describes.
func (h *harness) push(set string) *http.Response {
	h.t.Helper()
	return h.pushWith(set, "application/secevent+jwt", ssfTestAuth)
}

func (h *harness) pushWith(body, contentType, authorization string) *http.Response {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.proxy.URL+ssfTestPath, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Accept", "application/json")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	return h.do(req)
}

func wantAccepted(t *testing.T, resp *http.Response) {
	t.Helper()
	body := decodeBody(t, resp)
	if resp.StatusCode != http.StatusAccepted || body != nil {
		t.Fatalf("push answered %d %v, want 202 with no body", resp.StatusCode, body)
	}
}

// wantSETError checks a 400 answer's RFC 8935 error code.
func wantSETError(t *testing.T, resp *http.Response, status int, code string) {
	t.Helper()
	body := decodeBody(t, resp)
	if resp.StatusCode != status || body["err"] != code {
		t.Fatalf("push answered %d %v, want %d with err %q", resp.StatusCode, body, status, code)
	}
	if d, _ := body["description"].(string); d == "" {
		t.Errorf("no description in %v", body)
	}
}

func TestSSFPushAppliesEachEvent(t *testing.T) {
	old := time.Now().Add(-time.Minute)
	tests := []struct {
		name    string
		event   string
		body    map[string]any
		subID   map[string]any
		inner   map[string]any // the older in-event "subject"
		victim  tok            // refused after the push
		spared  tok            // still accepted
		counted string         // revgate_ssf_events_total event label
	}{
		{"CAEP session-revoked of a complex subject revokes that session",
			eventSessionRevoked, map[string]any{"initiating_entity": "policy", "event_timestamp": time.Now().Unix()},
			map[string]any{"format": "complex",
				"session": map[string]any{"format": "opaque", "id": "dMTlD|1600802906337.16|16008.16"},
				"user":    issSub("alice"),
				"tenant":  map[string]any{"format": "opaque", "id": "123456789"}}, nil,
			tok{sub: "alice", extra: map[string]any{"sid": "dMTlD|1600802906337.16|16008.16"}},
			tok{sub: "alice", iat: old, extra: map[string]any{"sid": "other-session"}}, "session-revoked"},
		{"CAEP session-revoked of a user marks the subject at event_timestamp",
			eventSessionRevoked, map[string]any{"event_timestamp": time.Now().Unix()}, issSub("alice"), nil,
			tok{sub: "alice", iat: old}, tok{sub: "bob", iat: old}, "session-revoked"},
		{"CAEP credential-change update (a password reset) marks the subject",
			eventCredentialChange, map[string]any{"credential_type": "password", "change_type": "update"}, issSub("alice"), nil,
			tok{sub: "alice", iat: old}, tok{sub: "bob", iat: old}, "credential-change"},
		{"CAEP credential-change revoke marks the subject",
			eventCredentialChange, map[string]any{"credential_type": "fido2-roaming", "change_type": "revoke"}, issSub("alice"), nil,
			tok{sub: "alice", iat: old}, tok{sub: "bob", iat: old}, "credential-change"},
		{"CAEP credential-change delete marks the subject",
			eventCredentialChange, map[string]any{"credential_type": "x509", "change_type": "delete"}, issSub("alice"), nil,
			tok{sub: "alice", iat: old}, tok{sub: "bob", iat: old}, "credential-change"},
		{"RISC account-disabled of an opaque subject marks it",
			eventAccountDisabled, map[string]any{"reason": "hijacking"}, map[string]any{"format": "opaque", "id": "alice"}, nil,
			tok{sub: "alice", iat: old}, tok{sub: "bob", iat: old}, "account-disabled"},
		{"RISC credential-compromise with a numeric iss_sub marks the canonical subject",
			eventCredentialCompromise, map[string]any{"credential_type": "password"}, issSub(json.Number("42.0")), nil,
			tok{sub: "42", iat: old}, tok{sub: "43", iat: old}, "credential-compromise"},
		{"RISC sessions-revoked of a jwt_id revokes that token",
			eventSessionsRevoked, map[string]any{}, map[string]any{"format": "jwt_id", "iss": testIssuer, "jti": "f61t6e20zdo3px56gepu8rzlsp4c1dpc0fx7"}, nil,
			tok{sub: "alice", jti: "f61t6e20zdo3px56gepu8rzlsp4c1dpc0fx7"}, tok{sub: "alice", iat: old}, "sessions-revoked"},
		{"account-level events prefer a complex subject's user to its session",
			eventAccountDisabled, map[string]any{},
			map[string]any{"format": "complex", "session": map[string]any{"format": "opaque", "id": "s-9"}, "user": issSub("alice")}, nil,
			tok{sub: "alice", iat: old, extra: map[string]any{"sid": "another"}}, tok{sub: "bob", iat: old}, "account-disabled"},
		{"the older in-event subject of SSF drafts is read",
			eventSessionRevoked, map[string]any{}, nil,
			map[string]any{"user": issSub("alice"), "device": map[string]any{"format": "iss_sub", "iss": ssfTestIssuer, "sub": "e9297990"}},
			tok{sub: "alice", iat: old}, tok{sub: "bob", iat: old}, "session-revoked"},
	}
	backends(t, func(t *testing.T, store func() revocation.Store) {
		tr := newTransmitter(t)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				h := newSSFHarness(t, store(), tr, nil)
				victim, spared := mint(t, tt.victim), mint(t, tt.spared)
				wantStatus(t, h.get("/x", victim), 200)
				hits := h.upstream.hits.Load()
				body := tt.body
				if tt.inner != nil {
					body["subject"] = tt.inner
				}
				wantAccepted(t, h.push(tr.set(t, setClaims(tt.event, body, tt.subID))))
				if h.upstream.hits.Load() != hits {
					t.Fatal("the push reached the upstream")
				}
				got := wantStatus(t, h.get("/x", victim), 401)
				if got["error_description"] != "token has been revoked" {
					t.Errorf("error_description = %v", got["error_description"])
				}
				wantStatus(t, h.get("/x", spared), 200)
				series, _ := h.scrape()
				if v := series[`revgate_ssf_events_total{event="`+tt.counted+`",result="applied"}`]; v != 1 {
					t.Errorf("applied %s = %v, want 1", tt.counted, v)
				}
				if v := series[`revgate_requests_total{mode="proxy",outcome="allowed",route="ssf_push"}`]; v != 1 {
					t.Errorf("ssf_push requests = %v, want 1", v)
				}
				if !strings.Contains(h.logs.String(), `"actor":"ssf:`+ssfTestIssuer+`"`) {
					t.Errorf("no audit event with actor ssf:<iss>:\n%s", h.logs.String())
				}
			})
		}
	})
}

func TestSSFPushAcceptsEventsWithoutEffect(t *testing.T) {
	tr := newTransmitter(t)
	tests := []struct {
		name, event, label string
		body               map[string]any
		subID              map[string]any
	}{
		{"the SSF verification event", eventVerification, "verification",
			map[string]any{"state": "VGhpcyBpcyBhbiBleGFtcGxlIHN0YXRlIHZhbHVlLgo="}, nil},
		{"credential-change create", eventCredentialChange, "credential-change",
			map[string]any{"credential_type": "fido2-roaming", "change_type": "create"}, issSub("alice")},
		{"an unknown event, even about an unknown subject format", "https://schemas.openid.net/secevent/caep/event-type/device-compliance-change", "other",
			map[string]any{"current_status": "not-compliant", "previous_status": "compliant"}, map[string]any{"format": "phone_number", "phone_number": "+12065550100"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newSSFHarness(t, nil, tr, nil)
			token := mint(t, tok{sub: "alice", iat: time.Now().Add(-time.Minute)})
			wantAccepted(t, h.push(tr.set(t, setClaims(tt.event, tt.body, tt.subID))))
			wantStatus(t, h.get("/x", token), 200)
			if _, err := h.store.GetSubject(context.Background(), "alice"); !errors.Is(err, revocation.ErrNotFound) {
				t.Errorf("subject marked: %v", err)
			}
			series, _ := h.scrape()
			if v := series[`revgate_ssf_events_total{event="`+tt.label+`",result="ignored"}`]; v != 1 {
				t.Errorf("ignored %s = %v, want 1", tt.label, v)
			}
		})
	}
}

func TestSSFEventTimestampIsClampedToNow(t *testing.T) {
	tr := newTransmitter(t)
	h := newSSFHarness(t, nil, tr, nil)
	future := time.Now().Add(time.Hour).Unix()
	wantAccepted(t, h.push(tr.set(t, setClaims(eventSessionRevoked, map[string]any{"event_timestamp": future}, issSub("alice")))))
	mark, err := h.store.GetSubject(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if mark.After(time.Now().Add(time.Second)) {
		t.Errorf("mark %v is in the future: a token issued after the push would be refused", mark)
	}
	// A token issued after the event is not touched by it.
	time.Sleep(1100 * time.Millisecond)
	wantStatus(t, h.get("/x", mint(t, tok{sub: "alice", iat: time.Now()})), 200)
}

// rawSET signs a payload given as JSON text, for members Go maps cannot
// repeat.
func rawSET(t *testing.T, tr *transmitter, payload string) string {
	t.Helper()
	if !json.Valid([]byte(payload)) {
		t.Fatalf("test payload is not JSON: %s", payload)
	}
	return tr.signPayload(t, []byte(payload), "secevent+jwt")
}
