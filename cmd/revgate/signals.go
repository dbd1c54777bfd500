package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// shutdownContext returns a context cancelled by the first SIGTERM or
// SIGINT, on which serve drains. A second one during the drain means
// whoever sent it will not wait (Ctrl-C pressed again, an orchestrator
// escalating): it is logged and the process exits 1 at once, dropping what
// is still in flight. stop releases the signals; call it when the drain is
// over. The demo can use it as serve does.
func shutdownContext(parent context.Context, logger *slog.Logger) (ctx context.Context, stop func()) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithCancel(parent)
	released, release := context.WithCancel(context.Background())
	go onSignals(sigs, released.Done(), cancel, logger, os.Exit)
	return ctx, func() {
		signal.Stop(sigs)
		release()
		cancel()
	}
}

// onSignals calls cancel at the first signal from sigs and exit(1) at the
// second, unless released first.
func onSignals(sigs <-chan os.Signal, released <-chan struct{}, cancel context.CancelFunc, logger *slog.Logger, exit func(int)) {
	select {
	case sig := <-sigs:
		logger.Info("shutdown signal received; a second one exits without finishing the drain", "signal", sig.String())
		cancel()
	case <-released:
		return
	}
	select {
	case sig := <-sigs:
		logger.Error("second signal: exiting without finishing the drain", "signal", sig.String())
		exit(exitError)
	case <-released:
	}
}
