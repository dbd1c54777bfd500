package gateway

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/revgate/revgate/config"
	"github.com/revgate/revgate/revocation"
)

// trailWhat is what the trail says an event changed.
type trailWhat struct{ Action, Subject, JTI, Session, Email string }

// lastTrailEvent is the newest event of h's trail matching f.
func lastTrailEvent(t *testing.T, h *harness, f revocation.TrailFilter) trailWhat {
	t.Helper()
	ev, err := h.gw.trail.Recent(context.Background(), f, 1)
	if err != nil || len(ev) != 1 {
		t.Fatalf("trail = %+v, %v; want an event", ev, err)
	}
	e := ev[0]
	return trailWhat{e.Action, e.Subject, e.JTI, e.Session, e.Email}
}

// The trail names what a change was about: the revoked token's jti, never
// the jti of the logout token or request JWT that asked for the change
// (those stay in the audit log, named for what they are), and an email
// mark's address, so its event is not taken for the global mark's.
func TestTrailNamesWhatChangedNotTheRequestThatAskedForIt(t *testing.T) {
	t.Run("back-channel logout", func(t *testing.T) {
		h := newHarness(t, nil, withBackchannel)
		claims := logoutClaims("sess-1")
		claims["sub"] = "alice"
		wantStatus(t, h.postLogoutToken(signLogout(t, claims, "logout+jwt")), 200)
		want := trailWhat{Action: "revoke_session", Subject: "alice", Session: "sess-1"}
		if diff := cmp.Diff(want, lastTrailEvent(t, h, revocation.TrailFilter{})); diff != "" {
			t.Errorf("trail event (-want +got):\n%s", diff)
		}
		if !strings.Contains(h.logs.String(), `"logout_jti":"`+claims["jti"].(string)+`"`) {
			t.Errorf("the audit event lacks the logout token's jti as logout_jti:\n%s", h.logs.String())
		}
	})
	t.Run("global token revocation", func(t *testing.T) {
		h := newHarness(t, nil, func(c *config.Config) {
			withGTR(c)
			c.GlobalRevocation.EmailClaim = "mail"
		})
		jtis := []string{randomJTI(), randomJTI()}
		bearer := func(i int) string { return gtrBearerJWT(t, func(c map[string]any) { c["jti"] = jtis[i] }) }
		wantStatus(t, h.postGTR(h.proxy.URL, bearer(0), gtrIssSub("alice")), http.StatusNoContent)
		if diff := cmp.Diff(trailWhat{Action: "revoke_subject", Subject: "alice"}, lastTrailEvent(t, h, revocation.TrailFilter{})); diff != "" {
			t.Errorf("subject event (-want +got):\n%s", diff)
		}
		body := `{"sub_id": {"format": "email", "email": "Alice@Example.com"}}`
		wantStatus(t, h.postGTR(h.proxy.URL, bearer(1), body), http.StatusNoContent)
		if diff := cmp.Diff(trailWhat{Action: "revoke_email", Email: "alice@example.com"}, lastTrailEvent(t, h, revocation.TrailFilter{})); diff != "" {
			t.Errorf("email event (-want +got):\n%s", diff)
		}
		for _, j := range jtis {
			if !strings.Contains(h.logs.String(), `"request_jti":"`+j+`"`) {
				t.Errorf("the audit log lacks request_jti %s:\n%s", j, h.logs.String())
			}
			if ev, _ := h.gw.trail.Recent(context.Background(), revocation.TrailFilter{JTI: j}, 1); len(ev) != 0 {
				t.Errorf("the trail has the request JWT's jti %s as what changed: %+v", j, ev)
			}
		}
		if ev, _ := h.gw.trail.Recent(context.Background(), revocation.TrailFilter{Global: true}, 10); len(ev) != 0 {
			t.Errorf("the global mark's events = %+v, want none", ev)
		}
	})
	t.Run("shared signals", func(t *testing.T) {
		tr := newTransmitter(t)
		h := newHarness(t, nil, withTransmitter(tr))
		sub := map[string]any{"format": "email", "email": "Jane@Example.com"}
		wantAccepted(t, h.push(tr.set(t, setClaims(eventCredentialCompromise, map[string]any{"credential_type": "password"}, sub))))
		if diff := cmp.Diff(trailWhat{Action: "revoke_email", Email: "jane@example.com"}, lastTrailEvent(t, h, revocation.TrailFilter{})); diff != "" {
			t.Errorf("email event (-want +got):\n%s", diff)
		}
		if !strings.Contains(h.logs.String(), `"set_jti":"`) {
			t.Errorf("the audit event lacks the SET's jti:\n%s", h.logs.String())
		}
	})
	t.Run("the admin API", func(t *testing.T) {
		tr := newTransmitter(t)
		h := newHarness(t, nil, withTransmitter(tr))
		h.mustAdmin(http.MethodPost, "/v1/revocations/emails/bob@example.com", `{"reason":"phished"}`)
		h.mustAdmin(http.MethodPost, "/v1/revocations/tokens", `{"jti":"j-7"}`)
		if diff := cmp.Diff(trailWhat{Action: "revoke_email", Email: "bob@example.com"},
			lastTrailEvent(t, h, revocation.TrailFilter{Email: "bob@example.com"})); diff != "" {
			t.Errorf("email event (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(trailWhat{Action: "revoke_token", JTI: "j-7"}, lastTrailEvent(t, h, revocation.TrailFilter{JTI: "j-7"})); diff != "" {
			t.Errorf("token event (-want +got):\n%s", diff)
		}
		if code, _ := h.adminCall(http.MethodDelete, "/v1/revocations/emails/bob@example.com", `{"reason":"false alarm"}`); code != http.StatusNoContent {
			t.Fatalf("DELETE email = %d", code)
		}
		if got := lastTrailEvent(t, h, revocation.TrailFilter{}); got != (trailWhat{Action: "unrevoke_email", Email: "bob@example.com"}) {
			t.Errorf("unrevoke event = %+v", got)
		}
		if ev, _ := h.gw.trail.Recent(context.Background(), revocation.TrailFilter{Global: true}, 10); len(ev) != 0 {
			t.Errorf("the global mark's events = %+v, want none", ev)
		}
	})
}
