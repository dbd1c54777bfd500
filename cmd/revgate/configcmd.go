package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/revgate/revgate/config"
)

func newConfigCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Work with the configuration",
	}
	var path string
	check := &cobra.Command{
		Use:   "check",
		Short: "Validate the configuration and print it, secrets redacted",
		Long: `Load the configuration exactly as "revgate serve" would (file, defaults and
REVGATE_* environment overrides), validate it, and print the effective
configuration as YAML with every secret redacted.

Exits 0 when the configuration is valid; otherwise prints every problem, each
naming its key, and exits 1.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(path)
			if err != nil {
				return err
			}
			if err := config.WriteYAML(cmd.OutOrStdout(), cfg.Redacted()); err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.ErrOrStderr(), "configuration is valid")
			return err
		},
	}
	check.Flags().StringVar(&path, "config", "", "configuration file (default: revgate.yaml in the working directory, if present)")
	cmd.AddCommand(check)
	return cmd
}
