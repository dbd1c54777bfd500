package console

import (
	"context"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/revgate/revgate/revocation"
)

//go:embed assets
var assets embed.FS

// Options are the console's collaborators.
type Options struct {
	// API is the admin API's handler; the console calls it in process.
	API http.Handler
	// AsActor returns r marked as made by actor, for the API to accept
	// without an admin token and to name in its audit events.
	AsActor func(r *http.Request, actor string) *http.Request
	// SignIn returns the name of the admin token presented, or false. nil
	// means nobody signs in (admin.insecure_no_auth) and every change is
	// made as Anonymous.
	SignIn    func(token string) (name string, ok bool)
	Anonymous string
	// Trail is read for the trail page and the lookup's last change.
	Trail revocation.Trail
	// EmailMarks offers email marks in the forms: on only while a
	// receiver that sets them is on (config.EmailMarkClaim), as the admin
	// API refuses to set one otherwise. Email pages linked from the trail
	// work either way, so an old mark can still be read and removed.
	EmailMarks bool
	// Status reports the gateway's health for the status page.
	Status func(ctx context.Context) Status
	// Requests is the ring of request counters for the status page; nil
	// shows none.
	Requests *RequestRing
	// SessionTTL is how long a sign-in lasts.
	SessionTTL time.Duration
	Logger     *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Status is the gateway's health as the status page shows it.
type Status struct {
	// StoreOK reports the store answered a ping.
	StoreOK bool
	// Checks are /readyz's checks: name → "ok" or the problem.
	Checks map[string]string
	// EvictionPolicy is Redis's maxmemory-policy, "" with the memory
	// store; EvictionProblem says why it is unsafe or unknown.
	EvictionPolicy  string
	EvictionProblem string
	// Keys are the loaded verification keys.
	Keys []Key
}

// Key is one loaded verification key.
type Key struct {
	KID, Alg, Source string
	FetchedAt        time.Time
}

// Console serves /console/.
type Console struct {
	o        Options
	sessions *sessions
	pages    map[string]*template.Template
	css      []byte
	mux      *http.ServeMux
}

// New builds the console.
func New(o Options) (*Console, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Trail == nil {
		o.Trail = revocation.NewMemoryTrail(0)
	}
	c := &Console{o: o, sessions: newSessions(o.SessionTTL, o.Now), pages: map[string]*template.Template{}}
	var err error
	if c.css, err = fs.ReadFile(assets, "assets/style.css"); err != nil {
		return nil, err
	}
	base := template.Must(template.New("base.html").Funcs(funcs).ParseFS(assets, "assets/base.html"))
	for _, p := range []string{"signin", "lookup", "everything", "trail", "status", "error"} {
		t, err := template.Must(base.Clone()).ParseFS(assets, "assets/"+p+".html")
		if err != nil {
			return nil, err
		}
		c.pages[p] = t
	}
	m := http.NewServeMux()
	m.HandleFunc("GET /console/{$}", func(w http.ResponseWriter, r *http.Request) { redirect(w, r, "/console/lookup") })
	m.HandleFunc("GET /console/style.css", c.style)
	m.HandleFunc("GET /console/signin", c.signinPage)
	m.HandleFunc("POST /console/signin", c.signin)
	m.HandleFunc("POST /console/signout", c.authed(c.signout))
	m.HandleFunc("GET /console/lookup", c.authed(c.lookup))
	m.HandleFunc("POST /console/change", c.authed(c.change))
	m.HandleFunc("GET /console/everything", c.authed(c.everythingPage))
	m.HandleFunc("POST /console/everything", c.authed(c.everything))
	m.HandleFunc("GET /console/trail", c.authed(c.trail))
	m.HandleFunc("GET /console/status", c.authed(c.status))
	c.mux = m
	return c, nil
}

// csp allows the console's own stylesheet and nothing else: no script at
// all, no frames, forms posting only back here.
const csp = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// ServeHTTP implements http.Handler: every answer carries the security
// headers, and a path the console does not serve is a plain 404.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	// Without sign-in, any page that reaches the console gets a session
	// and its CSRF token: a DNS-rebinding page (a name of its attacker's,
	// resolved to 127.0.0.1) could read them and post "revoke everything",
	// as its Origin matches the Host it sends. Such a Host is never
	// loopback-named or an IP literal, so only those are answered. With
	// sign-in no Host rule is needed: a rebinding page has no session
	// (the cookie belongs to the real host's origin) and cannot sign in
	// without an admin token.
	if c.o.SignIn == nil && !RebindSafeHost(r.Host) {
		http.Error(w, hostRefusal, http.StatusForbidden)
		return
	}
	if r.URL.Path == "/console" {
		redirect(w, r, "/console/lookup")
		return
	}
	if _, pattern := c.mux.Handler(r); pattern == "" {
		c.fail(w, r, http.StatusNotFound, "No such page.")
		return
	}
	c.mux.ServeHTTP(w, r)
}

// hostRefusal is the answer, without sign-in, to a request addressed to
// a name other than localhost or an IP address.
const hostRefusal = "Without sign-in (admin.insecure_no_auth) only requests addressed to localhost or an IP address are answered: open http://127.0.0.1:<port>/ or http://localhost:<port>/."

// request is what a signed-in handler gets.
type request struct {
	w  http.ResponseWriter
	r  *http.Request
	ss session
}

// authed admits requests with a valid session; state-changing ones must
// also come from this console's own pages (CSRF token, Origin,
// Sec-Fetch-Site). With no sign-in configured, a browser without a
// session gets one as Anonymous on its first page view.
func (c *Console) authed(next func(request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ss, ok := c.sessions.read(r)
		if !ok && c.o.SignIn == nil && r.Method == http.MethodGet {
			var ck *http.Cookie
			ck, ss = c.sessions.issue(r, c.o.Anonymous)
			http.SetCookie(w, ck)
			ok = true
		}
		if !ok {
			if r.Method == http.MethodGet {
				redirect(w, r, "/console/signin")
				return
			}
			c.fail(w, r, http.StatusUnauthorized, "Not signed in, or the sign-in has expired. Sign in again.")
			return
		}
		if r.Method != http.MethodGet {
			if !sameOrigin(r) {
				c.fail(w, r, http.StatusForbidden, "This form was not sent from the console's own page.")
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, maxForm)
			if !c.sessions.checkCSRF(ss, r.PostFormValue("csrf")) {
				c.fail(w, r, http.StatusForbidden, "The form's CSRF token is missing or wrong. Reload the page and try again.")
				return
			}
		}
		next(request{w: w, r: r, ss: ss})
	}
}

// maxForm bounds a form: a pasted JWT and a reason fit easily.
const maxForm = 64 << 10

// sameOrigin checks, where the browser says, that a form was posted by a
// page of this host: Sec-Fetch-Site is same-origin, Origin names this
// host. Both are absent from old browsers and non-browser clients; the
// CSRF token is the check that always applies. Under Referrer-Policy:
// no-referrer browsers send "Origin: null" even from the page itself, so
// that value says nothing and Sec-Fetch-Site decides.
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return false
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		if err != nil || !strings.EqualFold(u.Host, r.Host) {
			return false
		}
	}
	return true
}

func redirect(w http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func (c *Console) style(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	// The stylesheet is part of the binary: caching it is safe.
	w.Header().Set("Cache-Control", "max-age=3600")
	_, _ = w.Write(c.css)
}
