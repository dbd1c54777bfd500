package main

import (
	"net/url"

	"github.com/spf13/cobra"
)

// apiEmails is the admin API path of email marks.
const apiEmails = "/v1/revocations/emails/"

// emailPath is the admin API path of an address, path-escaped like a
// subject's.
func emailPath(address string) string { return apiEmails + url.PathEscape(address) }

func newRevokeEmailCommand(o *adminOptions) *cobra.Command {
	var before, reason string
	cmd := &cobra.Command{
		Use:   "email ADDRESS [--before T] [--reason R]",
		Short: "Revoke every token of an email address issued until now",
		Long: `Set the email address's revoked-before mark, as the Shared Signals receiver
and Global Token Revocation do when an identity provider names a user by
email: every token whose email claim (ssf.email_claim, default email, or
global_revocation.email_claim) is ADDRESS and whose iat is at or before the
mark is rejected. The address is matched trimmed and lower-cased, so
Alice@Example.com and alice@example.com are one address. The mark defaults to
now; --before sets it (RFC 3339 or unix seconds). Marks only move forward: an
existing later mark is kept. Email marks apply only while the Shared Signals
receiver (ssf.push_path or ssf.poll_url) or global_revocation.email_claim is
on; otherwise the gateway refuses to set one.

Prints "revoked email ADDRESS: tokens issued at or before TIME are rejected".
` + adminHelp,
		Example: `  revgate revoke email alice@example.com --reason "account disabled at the IdP"`,
		Args:    exactArgs("ADDRESS"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return revokeMark(cmd, o, emailPath(args[0]), "email "+display(args[0]), before, reason)
		},
	}
	cmd.Flags().StringVar(&before, "before", "", "revoke tokens issued at or before this time, RFC 3339 or unix seconds (default now)")
	cmd.Flags().StringVar(&reason, "reason", "", "why, for the audit log")
	return cmd
}

func newStatusEmailCommand(o *adminOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "email ADDRESS",
		Short: "Show an email address's revoked-before mark",
		Long:  "Show an email address's revoked-before mark. Prints \"email ADDRESS: tokens issued\nat or before TIME are rejected\", or exits 1 when the address has no mark.\n" + adminHelp,
		Args:  exactArgs("ADDRESS"),
		RunE: func(cmd *cobra.Command, args []string) error {
			what := "email " + display(args[0])
			return status(cmd, o, emailPath(args[0]), what+" has no revocation mark", func(answer []byte, c *adminClient) (string, error) {
				var a markAnswer
				if err := c.decodeAnswer(answer, &a); err != nil {
					return "", err
				}
				return "email " + display(a.Email) + ": tokens issued at or before " + formatTime(a.RevokedBefore) + " are rejected", nil
			})
		},
	}
}

func newUnrevokeEmailCommand(o *adminOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "email ADDRESS",
		Short: "Remove an email address's revoked-before mark",
		Long:  "Remove an email address's revoked-before mark. Prints \"unrevoked email ADDRESS\".\n" + adminHelp,
		Args:  exactArgs("ADDRESS"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return unrevoke(cmd, o, emailPath(args[0]), map[string]any{"email": args[0], "revoked": false},
				"unrevoked email "+display(args[0]))
		},
	}
}
