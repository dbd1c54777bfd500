package gateway

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/revgate/revgate/config"
	"github.com/revgate/revgate/revocation"
)

// withEmailMarks turns email marks on through Global Token Revocation
// (config.EmailMarkClaim): tokens' "mail" claim is matched.
func withEmailMarks(c *config.Config) {
	withGTR(c)
	c.GlobalRevocation.EmailClaim = "mail"
}

const emailOption = `<option value="email"`

func TestConsoleRevokesAndUnrevokesAnEmail(t *testing.T) {
	backends(t, func(t *testing.T, store func() revocation.Store) {
		h := newHarness(t, store(), withEmailMarks)
		b := signedIn(t, h)
		token := mint(t, tok{sub: "u-1", iat: time.Now().Add(-time.Minute), extra: map[string]any{"mail": "bob@example.com"}})
		wantStatus(t, h.get("/x", token), http.StatusOK)
		if _, page := b.get("/console/lookup"); strings.Count(page, emailOption) != 2 {
			t.Fatalf("the lookup page does not offer email in both forms:\n%s", page)
		}

		resp, _ := b.post("/console/change", url.Values{"kind": {"email"}, "value": {"Bob@Example.com"}, "reason": {"phished"}, "op": {"revoke"}})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/lookup?kind=email&q=Bob%40Example.com" {
			t.Fatalf("revoke: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		wantStatus(t, h.get("/x", token), http.StatusUnauthorized)
		_, page := b.get(resp.Header.Get("Location"))
		for _, want := range []string{"Email bob@example.com revoked", `<strong class="revoked">revoked</strong>`,
			"<dt>Tokens issued before</dt><dd>20", "revoke_email by <strong>ops</strong>", "phished"} {
			if !strings.Contains(page, want) {
				t.Errorf("lookup page lacks %q:\n%s", want, page)
			}
		}

		link := `email <a href="/console/lookup?kind=email&amp;q=bob%40example.com">bob@example.com</a>`
		if _, page = b.get("/console/trail"); !strings.Contains(page, link) || !strings.Contains(page, `<label for="email">Email</label>`) {
			t.Errorf("trail lacks the email event or the email filter:\n%s", page)
		}
		if _, page = b.get("/console/trail?email=BOB%40example.com"); !strings.Contains(page, "phished") {
			t.Errorf("trail filtered by the address lacks its event:\n%s", page)
		}
		if _, page = b.get("/console/trail?email=carol%40example.com"); strings.Contains(page, "phished") {
			t.Error("trail filtered by another address shows bob's event")
		}

		resp, _ = b.post("/console/change", url.Values{"kind": {"email"}, "value": {"bob@example.com"}, "reason": {"false alarm"}, "op": {"unrevoke"}})
		_, page = b.get(resp.Header.Get("Location"))
		if !strings.Contains(page, "Email bob@example.com unrevoked.") || !strings.Contains(page, "<dd>not revoked</dd>") {
			t.Errorf("after unrevoking:\n%s", page)
		}
		wantStatus(t, h.get("/x", token), http.StatusOK)
		logs := h.logs.String()
		for _, want := range []string{`"action":"revoke_email","actor":"ops"`, `"email":"bob@example.com"`, `"action":"unrevoke_email","actor":"ops"`} {
			if !strings.Contains(logs, want) {
				t.Errorf("audit log lacks %s", want)
			}
		}
	})
}

// With no receiver setting email marks the forms do not offer them (the
// admin API would refuse to set one: it would reject no token), and a
// hand-made request gets the API's refusal, with nothing changed.
func TestConsoleOffersEmailOnlyWhileEmailMarksApply(t *testing.T) {
	h := newHarness(t, nil, nil)
	b := signedIn(t, h)
	if _, page := b.get("/console/lookup"); strings.Contains(page, emailOption) {
		t.Error("the lookup page offers email with email marks off")
	}
	if _, page := b.get("/console/trail"); strings.Contains(page, `name="email"`) {
		t.Error("the trail page offers an email filter with email marks off")
	}
	resp, _ := b.post("/console/change", url.Values{"kind": {"email"}, "value": {"bob@example.com"}, "reason": {"phished"}, "op": {"revoke"}})
	_, page := b.get(resp.Header.Get("Location"))
	if !strings.Contains(page, "Nothing was changed") || !strings.Contains(page, "email marks apply only while") {
		t.Errorf("a refused email revoke is not explained:\n%s", page)
	}
	if _, err := h.store.GetEmail(t.Context(), "bob@example.com"); err == nil {
		t.Error("an email mark was set with email marks off")
	}
	// An address's page still reads (an old mark can be found and removed).
	if !strings.Contains(page, "<dd>not revoked</dd>") || !strings.Contains(page, emailOption) {
		t.Errorf("the email lookup page:\n%s", page)
	}
}
