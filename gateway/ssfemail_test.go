package gateway

import (
	"context"
	"testing"
	"time"

	"github.com/revgate/revgate/revocation"
)

func TestSSFPushOfAnEmailSubjectRefusesTokensCarryingThatAddress(t *testing.T) {
	backends(t, func(t *testing.T, store func() revocation.Store) {
		tr := newTransmitter(t)
		h := newHarness(t, store(), withTransmitter(tr))
		old := time.Now().Add(-time.Minute)
		victim := mint(t, tok{sub: "u-1", iat: old, extra: map[string]any{"email": "Jane.Smith@Example.com"}})
		other := mint(t, tok{sub: "u-2", iat: old, extra: map[string]any{"email": "john@example.com"}})
		noEmail := mint(t, tok{sub: "u-3", iat: old})
		wantStatus(t, h.get("/x", victim), 200)
		sub := map[string]any{"format": "email", "email": "jane.smith@example.com"}
		wantAccepted(t, h.push(tr.set(t, setClaims(eventCredentialCompromise, map[string]any{"credential_type": "password"}, sub))))
		if _, err := h.store.GetEmail(context.Background(), "jane.smith@example.com"); err != nil {
			t.Fatalf("email not marked: %v", err)
		}
		wantStatus(t, h.get("/x", victim), 401)
		wantStatus(t, h.get("/x", other), 200)
		wantStatus(t, h.get("/x", noEmail), 200)
	})
}
