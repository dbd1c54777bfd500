package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/revgate/revgate/internal/testkit"
)

// signalWatch is onSignals running on a channel the test feeds, with an
// exit that records its code.
type signalWatch struct {
	sigs     chan os.Signal
	release  func()
	ctx      context.Context
	exited   chan int
	finished chan struct{}
	logs     *testkit.Buffer
}

func watchSignals(t *testing.T) *signalWatch {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	released := make(chan struct{})
	w := &signalWatch{
		sigs: make(chan os.Signal, 2), release: func() { close(released) }, ctx: ctx,
		exited: make(chan int, 1), finished: make(chan struct{}), logs: &testkit.Buffer{},
	}
	go func() {
		defer close(w.finished)
		onSignals(w.sigs, released, cancel, slog.New(slog.NewTextHandler(w.logs, nil)), func(code int) { w.exited <- code })
	}()
	return w
}

// noExit fails when exit was called within a short while.
func (w *signalWatch) noExit(t *testing.T) {
	t.Helper()
	select {
	case code := <-w.exited:
		t.Fatalf("exit(%d) was called", code)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestTheFirstSignalDrainsAndTheSecondExits(t *testing.T) {
	t.Run("the first signal cancels the context, so serve drains, and does not exit", func(t *testing.T) {
		w := watchSignals(t)
		w.sigs <- syscall.SIGTERM
		select {
		case <-w.ctx.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("the context is not cancelled")
		}
		w.noExit(t)
		w.release()
		<-w.finished
	})
	t.Run("a second signal exits 1 at once and says why", func(t *testing.T) {
		w := watchSignals(t)
		w.sigs <- syscall.SIGTERM
		w.sigs <- syscall.SIGINT
		select {
		case code := <-w.exited:
			if code != 1 {
				t.Errorf("exit(%d), want exit(1)", code)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("exit was not called")
		}
		if !strings.Contains(w.logs.String(), "second signal: exiting without finishing the drain") {
			t.Errorf("the log does not say why it exits:\n%s", w.logs.String())
		}
	})
	t.Run("once released it stops watching and cancels nothing", func(t *testing.T) {
		w := watchSignals(t)
		w.release()
		select {
		case <-w.finished:
		case <-time.After(5 * time.Second):
			t.Fatal("onSignals did not return after the release")
		}
		if w.ctx.Err() != nil {
			t.Error("the context was cancelled")
		}
		w.noExit(t)
	})
}

func TestASecondSIGTERMDuringTheDrainExitsAtOnceWithStatus1(t *testing.T) {
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	upstream := newUpstream(t, func(w http.ResponseWriter, _ *http.Request) {
		arrived <- struct{}{}
		<-release // the request hangs, and with it the drain
		w.WriteHeader(http.StatusOK)
	})
	t.Cleanup(func() { close(release) }) // before the upstream closes
	s := newSigner(t)
	p := startGateway(t, fmt.Sprintf("upstream:\n  url: %q\n  timeout: 5m\njwt:\n  jwks_file: %q\n  algorithms: [ES256]\nrevocation:\n  store: memory\nserver:\n  drain_delay: 0s\n  shutdown_timeout: 5m\n",
		upstream, s.jwksPath))

	req, _ := http.NewRequest("GET", "http://"+p.proxy+"/slow", nil)
	req.Header.Set("Authorization", "Bearer "+s.mint(t, "alice"))
	go func() {
		// It ends with the process, without an answer.
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the request never reached the upstream")
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitLog(t, p, "shutting down: draining")
	time.Sleep(200 * time.Millisecond)
	select {
	case err := <-p.done:
		p.done <- err
		t.Fatalf("revgate exited (%v) with a request in flight and 5m of shutdown_timeout left", err)
	default:
	}

	sent := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		p.done <- err // for the cleanup
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Fatalf("revgate ended with %v, want exit status 1", err)
		}
		t.Logf("exited %v after the second SIGTERM", time.Since(sent).Round(time.Millisecond))
	case <-time.After(5 * time.Second):
		t.Fatal("revgate still runs 5s after the second SIGTERM")
	}
	if !strings.Contains(p.stderr.String(), "second signal: exiting without finishing the drain") {
		t.Errorf("the log does not say why revgate exited:\n%s", p.stderr.String())
	}
}

// waitLog waits until revgate's log holds want.
func waitLog(t *testing.T, p *process, want string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(p.stderr.String(), want); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("revgate's log has no %q after 10s:\n%s", want, p.stderr.String())
		}
	}
}
