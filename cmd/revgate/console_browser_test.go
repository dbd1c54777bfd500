package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/revgate/revgate/internal/redistest"
)

// chromiumPath is Debian's Chromium, which ./test.sh installs.
const chromiumPath = "/usr/bin/chromium"

// screenshotsEnv names a directory to write the README's console
// screenshots into (docs/console-lookup.png and docs/console-trail.png
// come from `REVGATE_SCREENSHOTS=$PWD/docs go test -run ConsoleInABrowser
// ./cmd/revgate/`).
const screenshotsEnv = "REVGATE_SCREENSHOTS"

// chrome is one headless Chromium for a test, with screenshots of every
// page it showed kept for when the test fails.
type chrome struct {
	t     *testing.T
	ctx   context.Context
	shots map[string][]byte
	order []string
}

func newChrome(t *testing.T, width, height int) *chrome {
	t.Helper()
	path, err := exec.LookPath(chromiumPath)
	if err != nil {
		// Not a skip: the console's browser tests are part of the suite.
		t.Fatalf("Chromium not found at %s: run ./test.sh, which installs Debian's chromium", chromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // tests may run as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
		// This network is closed: without these Chromium's own outbound
		// connections stall it.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	c := &chrome{t: t, ctx: ctx, shots: map[string][]byte{}}
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
	})
	// Registered after the browser's cleanup, so it runs first, with the
	// browser still up.
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		c.shoot("at-failure")
		dir, err := os.MkdirTemp("", "revgate-console-screenshots-")
		if err != nil {
			t.Logf("screenshots not saved: %v", err)
			return
		}
		for i, name := range c.order {
			_ = os.WriteFile(filepath.Join(dir, fmt.Sprintf("%02d-%s.png", i, name)), c.shots[name], 0o644)
		}
		t.Logf("screenshots of every page shown: %s", dir)
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return c
}

// run runs steps, failing the test with what was being done.
func (c *chrome) run(what string, steps ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		c.t.Fatalf("%s: %v", what, err)
	}
}

// value runs one action that reads something.
func value[T any](c *chrome, what string, a chromedp.Action[T]) T {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		c.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// shoot keeps a screenshot of the page as it is now.
func (c *chrome) shoot(name string) []byte {
	ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		c.t.Logf("screenshot %s: %v", name, err)
		return nil
	}
	if _, ok := c.shots[name]; !ok {
		c.order = append(c.order, name)
	}
	c.shots[name] = png
	return png
}

// page navigates to url, waits for the main heading and checks the
// page's source holds none of secrets.
func (c *chrome) page(name, url string, secrets ...string) string {
	c.t.Helper()
	c.run("open "+name, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("h1")))
	html := value(c, "source of "+name, chromedp.OuterHTML(chromedp.CSS("html")))
	c.shoot(name)
	c.noSecrets(name, html, secrets...)
	return html
}

func (c *chrome) noSecrets(name, html string, secrets ...string) {
	c.t.Helper()
	for _, s := range secrets {
		if strings.Contains(html, s) {
			c.t.Fatalf("the %s page's source holds a token or secret", name)
		}
	}
}

func (c *chrome) text(sel string) string {
	c.t.Helper()
	// Words separated by single spaces, however the layout breaks them.
	return strings.Join(strings.Fields(value(c, "read "+sel, chromedp.Text(chromedp.CSS(sel)))), " ")
}

// TestConsoleInABrowser drives the console with Debian's Chromium against
// a real revgate process on a real Redis: sign in, revoke a subject with
// a reason, find it in the trail, see the subject's token refused by the
// proxy, unrevoke, sign out.
func TestConsoleInABrowser(t *testing.T) {
	redis := redistest.Start(t, redistest.Options{})
	s := newSigner(t)
	upstream := newUpstream(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(200) })
	gw := startGateway(t, fmt.Sprintf("upstream:\n  url: %q\njwt:\n  jwks_file: %q\n  algorithms: [ES256]\nrevocation:\n  redis:\n    url: %q\nlog:\n  level: warn\n",
		upstream, s.jwksPath, redis.URL()))
	admin, proxy := "http://"+gw.admin, "http://"+gw.proxy
	alice, bob := s.mint(t, "alice"), s.mint(t, "bob")
	secrets := []string{adminToken, alice, bob}
	wantCall(t, 200, "alice before", "GET", proxy+"/orders", alice, "")
	// Some history for the trail: a self-service logout and a session.
	wantCall(t, 200, "bob logs out", "POST", proxy+"/auth/logout", bob, "")
	wantCall(t, 200, "a session revoked", "POST", admin+"/v1/revocations/sessions/3f9c-idp-session", adminToken, `{"reason":"support ticket 4711"}`)

	c := newChrome(t, 1100, 760)

	// Signing in.
	html := c.page("signin", admin+"/console/", secrets...)
	if !strings.Contains(html, `<label for="token">Admin token</label>`) {
		t.Fatal("the console did not ask to sign in")
	}
	c.run("type the token", chromedp.SendKeys(chromedp.ID("token"), adminToken))
	c.run("sign in", chromedp.Click(chromedp.CSS("main button")), chromedp.WaitVisible(chromedp.CSS("nav")))
	if who := c.text(".who"); !strings.Contains(who, "Signed in as ops") {
		t.Fatalf("after sign-in: %q", who)
	}
	c.shoot("lookup-signed-in")

	// Revoking a subject, with a reason.
	const change = `section[aria-labelledby="change"] `
	c.run("revoke alice", chromedp.SetValue(chromedp.CSS(change+"select"), "subject"),
		chromedp.SendKeys(chromedp.CSS(change+"textarea"), "alice"),
		chromedp.SendKeys(chromedp.CSS(change+`input[name="reason"]`), "laptop stolen, INC-2291"),
		chromedp.Click(chromedp.CSS(change+`button[value="revoke"]`)),
		chromedp.WaitVisible(chromedp.CSS(".flash.ok")))
	if msg := c.text(".flash.ok"); !strings.Contains(msg, "Subject alice revoked") {
		t.Fatalf("revoke answered %q", msg)
	}
	wantCall(t, 401, "alice's token after the console revoked her", "GET", proxy+"/orders", alice, "")

	// The lookup names who revoked and why.
	state := c.text(`section[aria-labelledby="state"]`)
	for _, want := range []string{"revoked", "revoke_subject by ops", "laptop stolen, INC-2291"} {
		if !strings.Contains(state, want) {
			t.Fatalf("lookup lacks %q:\n%s", want, state)
		}
	}
	lookupPNG := c.shoot("lookup")
	lookupHTML := value(c, "lookup source", chromedp.OuterHTML(chromedp.CSS("html")))
	c.noSecrets("lookup", lookupHTML, secrets...)

	// The trail shows it, and every other change on this Redis.
	html = c.page("trail", admin+"/console/trail", secrets...)
	for _, want := range []string{"laptop stolen, INC-2291", "<td>ops</td>", "<td>self-service</td>", "support ticket 4711"} {
		if !strings.Contains(html, want) {
			t.Fatalf("trail lacks %q", want)
		}
	}
	trailPNG := c.shots["trail"]
	c.run("filter the trail", chromedp.SendKeys(chromedp.ID("actor"), "self-service"), chromedp.Submit(chromedp.ID("actor")))
	// The trail page's own h1 is visible before the filtered one loads:
	// wait for the filtered address, then for its page.
	for i := 0; !strings.Contains(value(c, "location", chromedp.Location()), "actor=self-service"); i++ {
		if i == 100 {
			t.Fatal("submitting the trail's filter did not load the filtered trail")
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.run("filtered trail", chromedp.WaitVisible(chromedp.CSS("caption")))
	if rows := c.text("tbody"); strings.Contains(rows, "laptop stolen") || !strings.Contains(rows, "self-service") {
		t.Fatalf("trail filtered by actor self-service:\n%s", rows)
	}
	c.shoot("trail-filtered")

	c.page("status", admin+"/console/status", secrets...)
	if st := c.text("main"); !strings.Contains(st, "Reachable yes") {
		t.Errorf("status page:\n%s", st)
	}
	c.page("everything", admin+"/console/everything", secrets...)

	// Unrevoking from the lookup, with a reason.
	c.page("lookup-alice", admin+"/console/lookup?kind=subject&q=alice", secrets...)
	const state2 = `section[aria-labelledby="state"] `
	c.run("unrevoke alice", chromedp.SendKeys(chromedp.CSS(state2+`input[name="reason"]`), "laptop found"),
		chromedp.Click(chromedp.CSS(state2+`button[value="unrevoke"]`)),
		chromedp.WaitVisible(chromedp.CSS(".flash.ok")))
	wantCall(t, 200, "alice's token after unrevoking", "GET", proxy+"/orders", alice, "")

	// Readable at 320px: nothing wider than the screen.
	c.run("narrow", chromedp.EmulateViewport(320, 640))
	for _, p := range []string{"lookup?kind=subject&q=alice", "trail", "status", "everything"} {
		c.run("open "+p+" at 320px", chromedp.Navigate(admin+"/console/"+p), chromedp.WaitVisible(chromedp.CSS("h1")))
		c.shoot(strings.SplitN(p, "?", 2)[0] + "-320px")
		if value(c, "measure", chromedp.Evaluate[bool](`document.documentElement.scrollWidth > document.documentElement.clientWidth`)) {
			t.Errorf("%s scrolls sideways at 320px", p)
		}
	}
	c.run("wide again", chromedp.EmulateViewport(1100, 760))

	// Usable by keyboard: Tab reaches the navigation, Enter follows it.
	c.run("keyboard", chromedp.Navigate(admin+"/console/lookup"), chromedp.WaitVisible(chromedp.CSS("h1")),
		chromedp.KeyEvent("\t"), chromedp.KeyEvent("\t"))
	if focused := value(c, "focus", chromedp.Evaluate[string](`document.activeElement.textContent`)); focused != "Trail" {
		t.Fatalf("two Tabs focus %q, want the Trail link", focused)
	}
	c.run("follow by keyboard", chromedp.KeyEvent("\r"), chromedp.WaitVisible(chromedp.CSS("caption")))
	if h1 := c.text("h1"); h1 != "Trail" {
		t.Fatalf("Enter on the Trail link opened %q", h1)
	}

	// Signing out.
	c.run("sign out", chromedp.Navigate(admin+"/console/lookup"), chromedp.WaitVisible(chromedp.CSS(".who button")),
		chromedp.Click(chromedp.CSS(".who button")), chromedp.WaitVisible(chromedp.ID("token")))
	c.run("after sign-out", chromedp.Navigate(admin+"/console/trail"), chromedp.WaitVisible(chromedp.ID("token")))
	loc := value(c, "location", chromedp.Location())
	if !strings.HasSuffix(loc, "/console/signin") {
		t.Fatalf("after signing out the trail is at %s, want the sign-in", loc)
	}

	if dir := os.Getenv(screenshotsEnv); dir != "" {
		for name, png := range map[string][]byte{"console-lookup.png": lookupPNG, "console-trail.png": trailPNG} {
			if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("README screenshots written to %s", dir)
	}
	if strings.Contains(gw.stderr.String(), adminToken) || strings.Contains(gw.stderr.String(), alice) {
		t.Error("a token appears in the gateway's logs")
	}
}
