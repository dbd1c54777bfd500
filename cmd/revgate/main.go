// Command revgate is the JWT revocation gateway: a reverse proxy that
// verifies every JWT, rejects revoked ones and forwards the rest, plus the
// admin client and developer helpers around it.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// Exit codes. Scripts can rely on them.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// usageError marks an error in how the command was called.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line and returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRootCommand(stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(stderr, "revgate: %v\n", err)
	var ce exitCoder
	if errors.As(err, &ce) {
		return ce.ExitCode()
	}
	var ue usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	return exitError
}

// exitCoder is an error that chooses the process exit code.
type exitCoder interface{ ExitCode() int }

func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "revgate",
		Short: "JWT revocation gateway",
		Long: `revgate is a reverse proxy that verifies every JWT, rejects tokens that have
been revoked (by jti, by subject or all at once) and forwards the rest to the
API behind it. Revocation state lives in Redis with TTLs matching token
expiry, so nothing ever needs flushing and the gateways stay stateless.

Start with "revgate demo": it runs everything on this machine with no setup.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// Args makes an unknown command a usage error (exit 2); with no
		// command at all, the help is the answer.
		Args: subcommandArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w (see %s --help)", err, cmd.CommandPath())}
	})
	root.AddCommand(
		newServeCommand(),
		newDemoCommand(),
		newConfigCommand(),
		newVersionCommand(),
		newRevokeCommand(),
		newStatusCommand(),
		newUnrevokeCommand(),
		newTokenCommand(),
	)
	return root
}
