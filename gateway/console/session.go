package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Cookie names; both are scoped to /console/.
const (
	sessionCookie = "revgate_console"
	flashCookie   = "revgate_console_flash"
	cookiePath    = "/console/"
)

// session is a signed-in browser: an id, who signed in (the admin
// token's name, never the token) and when the sign-in lapses.
type session struct {
	id      string
	actor   string
	expires time.Time
}

// sessions signs and checks session cookies with a key made at start:
// nothing is stored per session, and a restart signs everyone out.
// Signing out records the id until the session would have lapsed.
type sessions struct {
	key []byte
	ttl time.Duration
	now func() time.Time

	mu        sync.Mutex
	signedOut map[string]time.Time
}

func newSessions(ttl time.Duration, now func() time.Time) *sessions {
	key := make([]byte, 32)
	_, _ = rand.Read(key) // never fails (crypto/rand)
	return &sessions{key: key, ttl: ttl, now: now, signedOut: map[string]time.Time{}}
}

func (s *sessions) mac(parts ...string) []byte {
	m := hmac.New(sha256.New, s.key)
	for _, p := range parts {
		// Length-prefixed, so no two part lists sign the same bytes.
		m.Write([]byte(strconv.Itoa(len(p)) + ":" + p))
	}
	return m.Sum(nil)
}

// issue starts a session for actor and returns its cookie.
func (s *sessions) issue(r *http.Request, actor string) (*http.Cookie, session) {
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	ss := session{id: hex.EncodeToString(id), actor: actor, expires: s.now().Add(s.ttl).Truncate(time.Second)}
	payload := ss.id + "|" + strconv.FormatInt(ss.expires.Unix(), 10) + "|" + ss.actor
	value := b64(payload) + "." + b64(string(s.mac("session", payload)))
	return cookie(r, sessionCookie, value, int(s.ttl/time.Second)), ss
}

// read returns the request's session, if its cookie is valid, unexpired
// and not signed out.
func (s *sessions) read(r *http.Request) (session, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return session{}, false
	}
	p64, m64, ok := strings.Cut(c.Value, ".")
	payload, err1 := base64.RawURLEncoding.DecodeString(p64)
	mac, err2 := base64.RawURLEncoding.DecodeString(m64)
	if !ok || err1 != nil || err2 != nil || !hmac.Equal(mac, s.mac("session", string(payload))) {
		return session{}, false
	}
	parts := strings.SplitN(string(payload), "|", 3)
	if len(parts) != 3 {
		return session{}, false
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || !s.now().Before(time.Unix(exp, 0)) {
		return session{}, false
	}
	s.mu.Lock()
	_, out := s.signedOut[parts[0]]
	s.mu.Unlock()
	if out {
		return session{}, false
	}
	return session{id: parts[0], expires: time.Unix(exp, 0), actor: parts[2]}, true
}

// end signs ss out: its cookie is refused from now on, even if replayed.
func (s *sessions) end(ss session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for id, exp := range s.signedOut {
		if !now.Before(exp) {
			delete(s.signedOut, id)
		}
	}
	s.signedOut[ss.id] = ss.expires
}

// csrf is the session's CSRF token: a MAC of its id, so it needs no
// storage and differs per session.
func (s *sessions) csrf(ss session) string { return b64(string(s.mac("csrf", ss.id))) }

// checkCSRF compares in constant time.
func (s *sessions) checkCSRF(ss session, got string) bool {
	return hmac.Equal([]byte(got), []byte(s.csrf(ss)))
}

// flash is a one-time message shown after a redirect (post, redirect,
// get), signed so that nothing else can put words on the page.
func (s *sessions) flash(r *http.Request, kind, msg string) *http.Cookie {
	payload := kind + "|" + msg
	return cookie(r, flashCookie, b64(payload)+"."+b64(string(s.mac("flash", payload))), 60)
}

func (s *sessions) readFlash(r *http.Request) (kind, msg string) {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return "", ""
	}
	p64, m64, _ := strings.Cut(c.Value, ".")
	payload, err1 := base64.RawURLEncoding.DecodeString(p64)
	mac, err2 := base64.RawURLEncoding.DecodeString(m64)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, s.mac("flash", string(payload))) {
		return "", ""
	}
	kind, msg, _ = strings.Cut(string(payload), "|")
	return kind, msg
}

// cookie makes a console cookie: HttpOnly, SameSite=Strict, and Secure
// unless the browser is on this machine over plain HTTP (a loopback
// listener, or kubectl port-forward), where a Secure cookie would be
// refused by some browsers. A TLS-terminating proxy on loopback (a mesh
// sidecar, nginx or oauth2-proxy beside revgate, cloudflared) also
// connects over plain HTTP from loopback, but says so: X-Forwarded-Proto
// or Forwarded proto=https keeps Secure. When in doubt, Secure: a
// needless Secure costs a sign-in over plain HTTP, a missing one leaks
// the session to any plain-HTTP request to the host. maxAge < 0 deletes
// it.
func cookie(r *http.Request, name, value string, maxAge int) *http.Cookie {
	plainLocal := r.TLS == nil && loopback(r.RemoteAddr) && !forwardedHTTPS(r.Header)
	return &http.Cookie{Name: name, Value: value, Path: cookiePath, MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: !plainLocal}
}

func loopback(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// forwardedHTTPS reports whether any proxy hop says the browser used
// HTTPS: an X-Forwarded-Proto of https (any element of any such
// header), or a Forwarded element with proto=https (RFC 7239, quoted or
// not). The headers are not trusted for anything else: they can only
// make the cookie stricter.
func forwardedHTTPS(h http.Header) bool {
	for _, v := range h.Values("X-Forwarded-Proto") {
		for _, p := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(p), "https") {
				return true
			}
		}
	}
	for _, v := range h.Values("Forwarded") {
		for _, elem := range strings.Split(v, ",") {
			for _, pair := range strings.Split(elem, ";") {
				k, val, _ := strings.Cut(strings.TrimSpace(pair), "=")
				if strings.EqualFold(strings.TrimSpace(k), "proto") && strings.EqualFold(strings.Trim(strings.TrimSpace(val), `"`), "https") {
					return true
				}
			}
		}
	}
	return false
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
