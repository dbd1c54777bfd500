package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/revgate/revgate/config"
	"github.com/revgate/revgate/gateway/jwtverify"
)

func newConfigCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Work with the configuration",
		Long: `Work with the configuration.

  revgate config example                 print a commented configuration to start from
  revgate config check [--config FILE]   validate it, print it with secrets redacted

Exit codes: 0 valid, 1 invalid (every problem printed, each naming its key),
2 bad usage.`,
		Args: subcommandArgs,
		RunE: needSubcommand,
	}
	var path string
	check := &cobra.Command{
		Use:   "check",
		Short: "Validate the configuration and print it, secrets redacted",
		Long: `Load the configuration exactly as "revgate serve" would (file, defaults and
REVGATE_* environment overrides), validate it, and print the effective
configuration as YAML with every secret redacted.

It also reads and parses every local verification key (jwt.jwks_file,
jwt.public_key_files, jwt.hmac_secret, and the Shared Signals transmitter's
ssf.jwks_file) and checks it against the allowed algorithms, as serve does at
start; a jwks_url is not fetched.

Exits 0 when the configuration is valid; otherwise prints every problem, each
naming its key, and exits 1. Exits 2 on bad usage.`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(path)
			if err != nil {
				return err
			}
			// The keys serve would load are read now too, so a missing or
			// bad key file fails here, not at the first deploy.
			if err := jwtverify.CheckVerifier(jwtverify.VerifierConfig{
				JWT: cfg.JWT, MaxTokenLifetime: cfg.Revocation.MaxTokenLifetime,
				Logger: newLogger(cmd.ErrOrStderr(), config.Log{Level: "warn", Format: "text"}),
			}); err != nil {
				return fmt.Errorf("invalid configuration: %w", err)
			}
			if vc, ok := jwtverify.TransmitterConfig(cfg, nil); ok {
				if err := jwtverify.CheckVerifier(vc); err != nil {
					return fmt.Errorf("invalid configuration: %w", err)
				}
			}
			if err := config.WriteYAML(cmd.OutOrStdout(), cfg.Redacted()); err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.ErrOrStderr(), "configuration is valid")
			return err
		},
	}
	check.Flags().StringVar(&path, "config", "", "configuration file (default: revgate.yaml in the working directory, if present)")
	cmd.AddCommand(check, newConfigExampleCommand())
	return cmd
}
