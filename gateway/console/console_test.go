package console

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/revgate/revgate/revocation"
)

// clock is a settable time for tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTestConsole(t *testing.T, clk *clock) *Console {
	t.Helper()
	c, err := New(Options{
		API:        http.NotFoundHandler(),
		AsActor:    func(r *http.Request, _ string) *http.Request { return r },
		SignIn:     func(tok string) (string, bool) { return "ops", tok == "the-admin-token-0123" },
		Trail:      revocation.NewMemoryTrail(10),
		SessionTTL: time.Hour,
		Now:        clk.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// signIn returns the session cookie of a sign-in from remote.
func signIn(t *testing.T, c *Console, remote string) *http.Cookie {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/console/signin", strings.NewReader("token=the-admin-token-0123"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.RemoteAddr = remote
	w := httptest.NewRecorder()
	c.ServeHTTP(w, req)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", w.Code)
	}
	for _, k := range w.Result().Cookies() {
		if k.Name == sessionCookie {
			return k
		}
	}
	t.Fatal("no session cookie")
	return nil
}

func getWith(c *Console, path string, ck *http.Cookie) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.AddCookie(ck)
	w := httptest.NewRecorder()
	c.ServeHTTP(w, req)
	return w
}

func TestSessionsExpireAfterTheirTTL(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	c := newTestConsole(t, clk)
	ck := signIn(t, c, "127.0.0.1:5000")
	if w := getWith(c, "/console/status", ck); w.Code != http.StatusOK {
		t.Fatalf("fresh session: %d", w.Code)
	}
	clk.add(time.Hour - time.Second)
	if w := getWith(c, "/console/status", ck); w.Code != http.StatusOK {
		t.Fatalf("a second before expiry: %d", w.Code)
	}
	clk.add(time.Second)
	if w := getWith(c, "/console/status", ck); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/console/signin" {
		t.Fatalf("at expiry: %d to %q, want 303 to the sign-in", w.Code, w.Header().Get("Location"))
	}
}

func TestAnotherProcessesCookieIsNoSession(t *testing.T) {
	clk := &clock{t: time.Now()}
	ck := signIn(t, newTestConsole(t, clk), "127.0.0.1:5000")
	// A restart makes a new signing key: every session ends.
	if w := getWith(newTestConsole(t, clk), "/console/status", ck); w.Code != http.StatusSeeOther {
		t.Fatalf("a cookie signed by another process: %d, want 303", w.Code)
	}
}

func TestCookieIsSecureUnlessFromLoopback(t *testing.T) {
	clk := &clock{t: time.Now()}
	c := newTestConsole(t, clk)
	for remote, secure := range map[string]bool{"127.0.0.1:5000": false, "[::1]:5000": false, "10.1.2.3:5000": true} {
		if ck := signIn(t, c, remote); ck.Secure != secure {
			t.Errorf("sign-in from %s: Secure = %v, want %v", remote, ck.Secure, secure)
		}
	}
}

func TestAForgedFlashIsNotShown(t *testing.T) {
	clk := &clock{t: time.Now()}
	c := newTestConsole(t, clk)
	ck := signIn(t, c, "127.0.0.1:5000")
	req := httptest.NewRequest(http.MethodGet, "/console/status", nil)
	req.AddCookie(ck)
	req.AddCookie(&http.Cookie{Name: flashCookie, Value: b64("ok|Everything is fine, go home") + "." + b64("not a mac")})
	w := httptest.NewRecorder()
	c.ServeHTTP(w, req)
	if strings.Contains(w.Body.String(), "go home") {
		t.Fatal("a flash message without a valid MAC was shown")
	}
}

func TestRequestRingCountsEachWindow(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var mu sync.Mutex
	total := map[string]float64{}
	read := func() map[string]float64 {
		mu.Lock()
		defer mu.Unlock()
		out := map[string]float64{}
		for k, v := range total {
			out[k] = v
		}
		return out
	}
	rr := NewRequestRing(read, clk.now)
	if rows, _ := rr.Windows(); rows != nil {
		t.Fatalf("no samples yet: %v", rows)
	}
	// 20 minutes of 6 allowed requests every 10 seconds (36 a minute),
	// and one revoked request in the last minute only.
	for range 120 {
		rr.Sample()
		clk.add(SampleEvery)
		mu.Lock()
		total["allowed"] += 6
		mu.Unlock()
	}
	mu.Lock()
	total["revoked_subject"]++
	mu.Unlock()
	rows, since := rr.Windows()
	if want := clk.now().Add(-15*time.Minute - SampleEvery); !since.Equal(want) {
		t.Errorf("since = %v, want %v (15 minutes kept)", since, want)
	}
	want := []Window{{"allowed", [3]float64{36, 180, 540}}, {"revoked_subject", [3]float64{1, 1, 1}}}
	if len(rows) != len(want) {
		t.Fatalf("rows = %v, want %v", rows, want)
	}
	for i := range want {
		if rows[i] != want[i] {
			t.Errorf("row %d = %v, want %v", i, rows[i], want[i])
		}
	}
}
