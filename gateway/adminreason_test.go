package gateway

import (
	"net/http"
	"strings"
	"testing"

	"github.com/revgate/revgate/revocation"
)

// Every unrevoke (DELETE) takes an optional reason, and the audit event
// carries it: un-revoking is as much a decision someone must answer for as
// revoking.
func TestEveryUnrevokeCarriesItsReasonIntoTheAuditEvent(t *testing.T) {
	h := newHarness(t, revocation.NewMemory(nil), withSSF(nil))
	paths := map[string]string{
		"unrevoke_token":   "/v1/revocations/tokens/some-jti",
		"unrevoke_subject": "/v1/revocations/subjects/alice",
		"unrevoke_all":     "/v1/revocations/all",
		"unrevoke_session": "/v1/revocations/sessions/sid-1",
		"unrevoke_email":   emailPath("alice@example.org"),
	}
	for action, path := range paths {
		t.Run(action, func(t *testing.T) {
			reason := "ticket " + action
			if code, body := h.adminCall(http.MethodDelete, path, `{"reason":"`+reason+`"}`); code != http.StatusNoContent {
				t.Fatalf("DELETE %s = %d %v, want 204", path, code, body)
			}
			found := false
			for _, line := range strings.Split(h.logs.String(), "\n") {
				if strings.Contains(line, `"action":"`+action+`"`) && strings.Contains(line, `"reason":"`+reason+`"`) {
					found = true
				}
			}
			if !found {
				t.Errorf("no %s audit event with reason %q in:\n%s", action, reason, h.logs.String())
			}
			if code, body := h.adminCall(http.MethodDelete, path, `{"reason":"x","extra":1}`); code != http.StatusBadRequest {
				t.Errorf("DELETE with an unknown member = %d %v, want 400", code, body)
			}
		})
	}
}
