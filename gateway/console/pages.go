package console

import (
	"bytes"
	"net/http"
	"strings"
	"time"

	"github.com/revgate/revgate/gateway/adminapi"
	"github.com/revgate/revgate/revocation"
)

// Kinds of record the console looks up and changes.
const (
	kindSubject = "subject"
	kindJTI     = "jti"
	kindSession = "session"
	// kindEmail is an email mark (revocation rule 5).
	kindEmail = "email"
	// kindToken is a pasted JWT: revoked by its jti once verified.
	kindToken = "token"
)

// page is what every template gets.
type page struct {
	Title   string
	Nav     string
	Actor   string
	CSRF    string
	SignOut bool
	Flash   string
	FlashOK bool
	Data    any
}

// render writes a page; templates are executed into a buffer first so a
// template error is a clean 500, never half a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	if k, msg := c.sessions.readFlash(r); msg != "" {
		p.Flash, p.FlashOK = msg, k == "ok"
		http.SetCookie(w, cookie(r, flashCookie, "", -1))
	}
	var buf bytes.Buffer
	if err := c.pages[name].Execute(&buf, p); err != nil {
		c.o.Logger.ErrorContext(r.Context(), "console page failed", "page", name, "error", err.Error())
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (c *Console) page(q request, title, nav string, data any) page {
	return page{Title: title, Nav: nav, Actor: q.ss.actor, CSRF: c.sessions.csrf(q.ss), SignOut: c.o.SignIn != nil, Data: data}
}

func (c *Console) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	c.render(w, r, status, "error", page{Title: http.StatusText(status), Data: msg})
}

// done redirects after a change (post, redirect, get) with a flash
// message.
func (c *Console) done(q request, to string, ok bool, msg string) {
	kind := "error"
	if ok {
		kind = "ok"
	}
	http.SetCookie(q.w, c.sessions.flash(q.r, kind, msg))
	redirect(q.w, q.r, to)
}

func (c *Console) signinPage(w http.ResponseWriter, r *http.Request) {
	if c.o.SignIn == nil {
		redirect(w, r, "/console/lookup")
		return
	}
	c.render(w, r, http.StatusOK, "signin", page{Title: "Sign in"})
}

// signin takes an admin token once: the browser keeps only the signed
// session cookie naming the token's holder, never the token.
func (c *Console) signin(w http.ResponseWriter, r *http.Request) {
	if c.o.SignIn == nil {
		redirect(w, r, "/console/lookup")
		return
	}
	if !sameOrigin(r) {
		c.fail(w, r, http.StatusForbidden, "This form was not sent from the console's own page.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	name, ok := c.o.SignIn(strings.TrimSpace(r.PostFormValue("token")))
	if !ok {
		c.o.Logger.WarnContext(r.Context(), "console sign-in refused: admin token not accepted", "remote_addr", r.RemoteAddr)
		c.render(w, r, http.StatusUnauthorized, "signin", page{Title: "Sign in", Flash: "That admin token is not accepted."})
		return
	}
	ck, _ := c.sessions.issue(r, name)
	http.SetCookie(w, ck)
	c.o.Logger.InfoContext(r.Context(), "console sign-in", "actor", name, "remote_addr", r.RemoteAddr)
	redirect(w, r, "/console/lookup")
}

func (c *Console) signout(q request) {
	c.sessions.end(q.ss)
	http.SetCookie(q.w, cookie(q.r, sessionCookie, "", -1))
	redirect(q.w, q.r, "/console/signin")
}

// lookupData is the lookup page's.
type lookupData struct {
	Kind, Q string
	// Asked is set once something was looked up.
	Asked   bool
	Revoked bool
	// Mark is a subject's revoked-before mark; Expires a record's expiry.
	Mark, Expires time.Time
	Global        time.Time
	Last          *revocation.Event
	Err           string
	// EmailMarks offers the email kind (Options.EmailMarks).
	EmailMarks bool
}

func (c *Console) lookup(q request) {
	d := lookupData{Kind: q.r.FormValue("kind"), Q: q.r.FormValue("q"), EmailMarks: c.o.EmailMarks}
	if d.Kind != kindJTI && d.Kind != kindSession && d.Kind != kindEmail {
		d.Kind = kindSubject
	}
	if d.Q != "" {
		d.Asked = true
		var f revocation.TrailFilter
		var err error
		switch d.Kind {
		case kindSubject:
			var m adminapi.Mark
			err = c.call(q, http.MethodGet, apiPath(d.Kind, d.Q), nil, &m)
			d.Mark, f.Subject = m.RevokedBefore, d.Q
		case kindJTI:
			var t adminapi.Token
			err = c.call(q, http.MethodGet, apiPath(d.Kind, d.Q), nil, &t)
			d.Expires, f.JTI = t.ExpiresAt, d.Q
		case kindSession:
			var s adminapi.Session
			err = c.call(q, http.MethodGet, apiPath(d.Kind, d.Q), nil, &s)
			d.Expires, f.Session = s.ExpiresAt, d.Q
		case kindEmail:
			// The trail names the address as the mark is kept: canonical.
			var m adminapi.Mark
			err = c.call(q, http.MethodGet, apiPath(d.Kind, d.Q), nil, &m)
			d.Mark, f.Email = m.RevokedBefore, revocation.CanonicalEmail(d.Q)
		}
		d.Revoked = err == nil
		if err != nil && !notRevoked(err) {
			d.Err = err.Error()
		}
		if ev, err := c.o.Trail.Recent(q.r.Context(), f, 1); err == nil && len(ev) == 1 {
			d.Last = &ev[0]
		}
	}
	var g adminapi.Mark
	if err := c.call(q, http.MethodGet, "/v1/revocations/all", nil, &g); err == nil {
		d.Global = g.RevokedBefore
	}
	c.render(q.w, q.r, http.StatusOK, "lookup", c.page(q, "Look up and revoke", "lookup", d))
}

// change revokes or unrevokes one record, with a required reason.
func (c *Console) change(q request) {
	kind, value := q.r.PostFormValue("kind"), strings.TrimSpace(q.r.PostFormValue("value"))
	reason, revoke := strings.TrimSpace(q.r.PostFormValue("reason")), q.r.PostFormValue("op") == "revoke"
	back := "/console/lookup"
	if kind != kindToken && value != "" {
		back += "?kind=" + urlQuery(kind) + "&q=" + urlQuery(value)
	}
	switch {
	case kind != kindSubject && kind != kindJTI && kind != kindSession && kind != kindToken && kind != kindEmail:
		c.done(q, back, false, "Choose what to change: a subject, a jti, a session, an email or a token.")
		return
	case value == "":
		c.done(q, back, false, "Give the "+kind+" to change.")
		return
	case reason == "":
		c.done(q, back, false, "A reason is required: it goes to the audit log and the trail.")
		return
	case kind == kindToken && !revoke:
		c.done(q, back, false, "To unrevoke a token, give its jti.")
		return
	}
	var err error
	msg := ""
	switch {
	case kind == kindToken:
		var t adminapi.Token
		err = c.call(q, http.MethodPost, "/v1/revocations/tokens", adminapi.RevokeToken{Token: value, Reason: reason}, &t)
		if err == nil {
			back = "/console/lookup?kind=jti&q=" + urlQuery(t.JTI)
			msg = "Token revoked (jti " + t.JTI + ") until " + fmtTime(t.ExpiresAt) + "."
		}
	case revoke && kind == kindJTI:
		var t adminapi.Token
		err = c.call(q, http.MethodPost, "/v1/revocations/tokens", adminapi.RevokeToken{JTI: value, Reason: reason}, &t)
		msg = "jti " + value + " revoked until " + fmtTime(t.ExpiresAt) + "."
	case revoke && kind == kindSubject:
		var m adminapi.Mark
		err = c.call(q, http.MethodPost, apiPath(kind, value), adminapi.RevokeMark{Reason: reason}, &m)
		msg = "Subject " + value + " revoked: tokens issued before " + fmtTime(m.RevokedBefore) + " are refused."
	case revoke && kind == kindSession:
		var s adminapi.Session
		err = c.call(q, http.MethodPost, apiPath(kind, value), adminapi.RevokeSession{Reason: reason}, &s)
		msg = "Session " + value + " revoked until " + fmtTime(s.ExpiresAt) + "."
	case revoke && kind == kindEmail:
		// Refused (400, shown as is) while no receiver sets email marks.
		var m adminapi.Mark
		err = c.call(q, http.MethodPost, apiPath(kind, value), adminapi.RevokeMark{Reason: reason}, &m)
		msg = "Email " + m.Email + " revoked: tokens naming it issued before " + fmtTime(m.RevokedBefore) + " are refused."
	default:
		err = c.call(q, http.MethodDelete, apiPath(kind, value), adminapi.Unrevoke{Reason: reason}, nil)
		msg = strings.ToUpper(kind[:1]) + kind[1:] + " " + value + " unrevoked."
	}
	if err != nil {
		c.done(q, back, false, "Nothing was changed: "+err.Error())
		return
	}
	c.done(q, back, true, msg)
}

// Typed confirmations of the global mark.
const (
	confirmRevokeAll   = "revoke everything"
	confirmUnrevokeAll = "unrevoke everything"
)

type everythingData struct {
	Global                     time.Time
	Err                        string
	ConfirmRevoke, ConfirmUndo string
}

func (c *Console) everythingPage(q request) {
	d := everythingData{ConfirmRevoke: confirmRevokeAll, ConfirmUndo: confirmUnrevokeAll}
	var g adminapi.Mark
	if err := c.call(q, http.MethodGet, "/v1/revocations/all", nil, &g); err != nil && !notRevoked(err) {
		d.Err = err.Error()
	}
	d.Global = g.RevokedBefore
	c.render(q.w, q.r, http.StatusOK, "everything", c.page(q, "Revoke everything", "everything", d))
}

// everything sets or clears the global mark, behind a typed confirmation.
func (c *Console) everything(q request) {
	const back = "/console/everything"
	reason, revoke := strings.TrimSpace(q.r.PostFormValue("reason")), q.r.PostFormValue("op") == "revoke"
	want := confirmUnrevokeAll
	if revoke {
		want = confirmRevokeAll
	}
	switch {
	case reason == "":
		c.done(q, back, false, "A reason is required: it goes to the audit log and the trail.")
		return
	case strings.TrimSpace(q.r.PostFormValue("confirm")) != want:
		c.done(q, back, false, "Nothing was changed: type \""+want+"\" to confirm.")
		return
	}
	if revoke {
		var m adminapi.Mark
		if err := c.call(q, http.MethodPost, "/v1/revocations/all", adminapi.RevokeMark{Reason: reason}, &m); err != nil {
			c.done(q, back, false, "Nothing was changed: "+err.Error())
			return
		}
		c.done(q, back, true, "Every token issued before "+fmtTime(m.RevokedBefore)+" is now refused.")
		return
	}
	if err := c.call(q, http.MethodDelete, "/v1/revocations/all", adminapi.Unrevoke{Reason: reason}, nil); err != nil {
		c.done(q, back, false, "Nothing was changed: "+err.Error())
		return
	}
	c.done(q, back, true, "The global mark is cleared.")
}

// trailShown is how many events the trail page lists, which keeps it
// well under 50 KB.
const trailShown = 100

type trailData struct {
	Subject, Email, Actor string
	Events                []revocation.Event
	Err                   string
	// EmailMarks offers the email filter (Options.EmailMarks); one given
	// in the address is applied either way.
	EmailMarks bool
}

func (c *Console) trail(q request) {
	d := trailData{Subject: q.r.FormValue("subject"), Email: q.r.FormValue("email"), Actor: q.r.FormValue("actor"), EmailMarks: c.o.EmailMarks}
	f := revocation.TrailFilter{Subject: d.Subject, Email: revocation.CanonicalEmail(d.Email), Actor: d.Actor}
	ev, err := c.o.Trail.Recent(q.r.Context(), f, trailShown)
	if err != nil {
		d.Err = "The trail cannot be read now (the store does not answer); the audit log has every event."
	}
	d.Events = ev
	c.render(q.w, q.r, http.StatusOK, "trail", c.page(q, "Trail", "trail", d))
}

type statusData struct {
	Status
	Now      time.Time
	Requests []Window
	Since    time.Time
}

func (c *Console) status(q request) {
	d := statusData{Now: c.o.Now().UTC()}
	if c.o.Status != nil {
		d.Status = c.o.Status(q.r.Context())
	}
	if c.o.Requests != nil {
		d.Requests, d.Since = c.o.Requests.Windows()
	}
	c.render(q.w, q.r, http.StatusOK, "status", c.page(q, "Status", "status", d))
}
