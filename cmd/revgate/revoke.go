package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/revgate/revgate/gateway/adminapi"
)

// Admin API paths.
const (
	apiTokens   = "/v1/revocations/tokens"
	apiSubjects = "/v1/revocations/subjects/"
	apiAll      = "/v1/revocations/all"
)

// The admin API's answers about a token and a mark.
type (
	tokenAnswer = adminapi.Token
	markAnswer  = adminapi.Mark
)

// subjectPath is the admin API path of a subject: path-escaped, so a
// subject may hold '/', '?', '%', spaces or anything else.
func subjectPath(subject string) string { return apiSubjects + url.PathEscape(subject) }

func tokenPath(jti string) string { return apiTokens + "/" + url.PathEscape(jti) }

func newRevokeCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "revoke",
		Short: "Revoke a token, a session, every token of a subject or an email address, or every token (admin API client)",
		Long: `Revoke through the admin API of a running gateway. Every gateway sharing the
revocation store rejects the revoked tokens from the very next request.

  revgate revoke token --token JWT        one token (it may already be expired)
  revgate revoke token --jti ID           one token by its jti
  revgate revoke session SID              every token of an identity provider session
  revgate revoke subject SUB              every token of a user issued until now
  revgate revoke email ADDRESS            every token of an email address issued until now
  revgate revoke all                      every token issued until now
` + adminHelp,
		Args: subcommandArgs,
		RunE: needSubcommand,
	}
	o := addAdminFlags(cmd)
	cmd.AddCommand(newRevokeTokenCommand(o), newRevokeSessionCommand(o), newRevokeSubjectCommand(o), newRevokeEmailCommand(o), newRevokeAllCommand(o))
	return cmd
}

func newRevokeTokenCommand(o *adminOptions) *cobra.Command {
	var token, jti, expiresAt, reason string
	cmd := &cobra.Command{
		Use:   "token (--token JWT | --jti ID [--expires-at T]) [--reason R]",
		Short: "Revoke one token, given whole or by its jti",
		Long: `Revoke one token. With --token the gateway verifies the token's signature
(an expired token is accepted) and keeps the revocation until the token's own
expiry; "--token -" reads the token from standard input, which keeps it out of
ps and shell history. With --jti, --expires-at (an RFC 3339 time or unix
seconds) says how long to keep the revocation; without it the gateway keeps it
for its max_token_lifetime.

Prints "revoked token jti=ID until TIME". With --jti, an --expires-at that has
already passed, even with the gateway's jwt.leeway added, stores nothing: it
prints "already expired: nothing to revoke" and exits 4 (see below).
` + adminHelp + `
  4  revoke token --jti only: --expires-at (plus the gateway's leeway) has
     already passed, so nothing was stored; if a token with that jti is
     still accepted, its real expiry is later than --expires-at`,
		Example: `  JWT=$(revgate token mint --key private.pem --sub alice)   # or any token your issuer gave out
  revgate revoke token --token "$JWT" --reason "laptop stolen"
  echo "$JWT" | revgate revoke token --token -
  revgate revoke token --jti 3f2a9c --expires-at $(( $(date +%s) + 3600 ))   # exp: unix seconds or RFC 3339`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := o.client()
			if err != nil {
				return err
			}
			body := map[string]string{}
			tokenGiven, jtiGiven := cmd.Flags().Changed("token"), cmd.Flags().Changed("jti")
			switch {
			case tokenGiven && jtiGiven:
				return usagef("give --token or --jti, not both")
			case tokenGiven:
				if cmd.Flags().Changed("expires-at") {
					return usagef("--expires-at goes with --jti; with --token the token's own exp is used")
				}
				if token == "-" {
					token, err = readTokenFromStdin(cmd.InOrStdin())
					if err != nil {
						return err
					}
				}
				token = strings.TrimSpace(token)
				if scheme, rest, ok := strings.Cut(token, " "); ok && strings.EqualFold(scheme, "Bearer") {
					token = strings.TrimSpace(rest)
				}
				if token == "" {
					return usagef("--token is empty")
				}
				body["token"] = token
			case jtiGiven:
				if jti == "" {
					return usagef("--jti is empty")
				}
				body["jti"] = jti
				if cmd.Flags().Changed("expires-at") {
					v, _, err := parseTimeFlag("--expires-at", expiresAt)
					if err != nil {
						return err
					}
					body["expires_at"] = v
				}
			default:
				return usagef("give --token JWT or --jti ID (see %s --help)", cmd.CommandPath())
			}
			if reason != "" {
				body["reason"] = reason
			}
			answer, err := c.do(cmd.Context(), http.MethodPost, apiTokens, body)
			if err != nil {
				return c.apiFailure(err)
			}
			if jtiGiven {
				if err := c.nothingStored(answer); err != nil {
					return err
				}
			}
			return c.print(cmd.OutOrStdout(), answer, func() (string, error) {
				var a tokenAnswer
				if err := c.decodeAnswer(answer, &a); err != nil {
					return "", err
				}
				return fmt.Sprintf("revoked token jti=%s until %s", display(a.JTI), formatTime(a.ExpiresAt)), nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&token, "token", "", `the token (a JWT, "Bearer JWT" also works; "-" reads it from standard input)`)
	f.StringVar(&jti, "jti", "", "the token's jti claim, when the token itself is not at hand")
	f.StringVar(&expiresAt, "expires-at", "", "with --jti: the token's expiry, RFC 3339 or unix seconds (default: the gateway's max_token_lifetime from now)")
	f.StringVar(&reason, "reason", "", "why, for the audit log")
	return cmd
}

// readTokenFromStdin reads "--token -".
func readTokenFromStdin(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxAnswerBytes))
	if err != nil {
		return "", usagef("--token -: reading standard input: %v", err)
	}
	return string(b), nil
}

func newRevokeSubjectCommand(o *adminOptions) *cobra.Command {
	var before, reason string
	cmd := &cobra.Command{
		Use:   "subject SUB [--before T] [--reason R]",
		Short: "Revoke every token of a subject issued until now (log out everywhere)",
		Long: `Set the subject's revoked-before mark: every token whose subject claim is SUB
and whose iat is at or before the mark is rejected (times in whole seconds, so
a token issued in the same second counts as revoked). The mark defaults to now;
--before sets it (RFC 3339 or unix seconds). Marks only move forward: an
existing later mark is kept. Log in again in a later second to get a token that
passes. SUB may hold any characters; it is path-escaped on the way.

Prints "revoked subject SUB: tokens issued at or before TIME are rejected".
` + adminHelp,
		Example: `  revgate revoke subject alice --reason "password changed"
  revgate revoke subject 42 --before 2026-01-02T15:04:05Z`,
		Args: exactArgs("SUB"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return revokeMark(cmd, o, subjectPath(args[0]), "subject "+display(args[0]), before, reason)
		},
	}
	cmd.Flags().StringVar(&before, "before", "", "revoke tokens issued at or before this time, RFC 3339 or unix seconds (default now)")
	cmd.Flags().StringVar(&reason, "reason", "", "why, for the audit log")
	return cmd
}

func newRevokeAllCommand(o *adminOptions) *cobra.Command {
	var before, reason string
	cmd := &cobra.Command{
		Use:   "all [--before T] [--reason R]",
		Short: "Revoke every token issued until now, of every subject",
		Long: `Set the global revoked-before mark: every token whose iat is at or before the
mark is rejected, whoever it names (after a signing key leak, say). The mark
defaults to now; --before sets it (RFC 3339 or unix seconds). Marks only move
forward: an existing later mark is kept.

Prints "revoked all tokens issued at or before TIME".
` + adminHelp,
		Example: `  revgate revoke all --reason "signing key rotated after a leak"`,
		Args:    exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return revokeMark(cmd, o, apiAll, "", before, reason)
		},
	}
	cmd.Flags().StringVar(&before, "before", "", "revoke tokens issued at or before this time, RFC 3339 or unix seconds (default now)")
	cmd.Flags().StringVar(&reason, "reason", "", "why, for the audit log")
	return cmd
}

// revokeMark sets a subject mark (what names the subject) or the global
// mark (what is "").
func revokeMark(cmd *cobra.Command, o *adminOptions, path, what, before, reason string) error {
	c, err := o.client()
	if err != nil {
		return err
	}
	body := map[string]string{}
	var asked time.Time
	if cmd.Flags().Changed("before") {
		v, t, err := parseTimeFlag("--before", before)
		if err != nil {
			return err
		}
		body["before"], asked = v, t
	}
	if reason != "" {
		body["reason"] = reason
	}
	var send any
	if len(body) > 0 {
		send = body
	}
	answer, err := c.do(cmd.Context(), http.MethodPost, path, send)
	if err != nil {
		return c.apiFailure(err)
	}
	return c.print(cmd.OutOrStdout(), answer, func() (string, error) {
		var a markAnswer
		if err := c.decodeAnswer(answer, &a); err != nil {
			return "", err
		}
		var s string
		if what == "" {
			s = "revoked all tokens issued at or before " + formatTime(a.RevokedBefore)
		} else {
			s = fmt.Sprintf("revoked %s: tokens issued at or before %s are rejected", what, formatTime(a.RevokedBefore))
		}
		if !asked.IsZero() && a.RevokedBefore.After(asked) {
			s += " (a later mark was already in place and is kept)"
		}
		return s, nil
	})
}

func newStatusCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the revocation state of a token, a session, a subject, an email address or all tokens (admin API client)",
		Long: `Show what the revocation store holds, through the admin API:

  revgate status token JTI       is this jti revoked, and until when
  revgate status session SID     is this session revoked, and until when
  revgate status subject SUB     the subject's revoked-before mark
  revgate status email ADDRESS   the email address's revoked-before mark
  revgate status all             the global revoked-before mark

Exits 1 when nothing is recorded, so scripts can test it directly.
` + adminHelp,
		Args: subcommandArgs,
		RunE: needSubcommand,
	}
	o := addAdminFlags(cmd)
	cmd.AddCommand(
		newStatusSessionCommand(o),
		newStatusEmailCommand(o),
		&cobra.Command{
			Use:   "token JTI",
			Short: "Show whether a token's jti is revoked, and until when",
			Long:  "Show whether a token's jti is revoked. Prints \"token jti=JTI is revoked until\nTIME\", or exits 1 when it is not revoked.\n" + adminHelp,
			Args:  exactArgs("JTI"),
			RunE: func(cmd *cobra.Command, args []string) error {
				return status(cmd, o, tokenPath(args[0]), "token jti="+display(args[0])+" is not revoked", func(answer []byte, c *adminClient) (string, error) {
					var a tokenAnswer
					if err := c.decodeAnswer(answer, &a); err != nil {
						return "", err
					}
					return fmt.Sprintf("token jti=%s is revoked until %s", display(a.JTI), formatTime(a.ExpiresAt)), nil
				})
			},
		},
		&cobra.Command{
			Use:   "subject SUB",
			Short: "Show a subject's revoked-before mark",
			Long:  "Show a subject's revoked-before mark. Prints \"subject SUB: tokens issued at or\nbefore TIME are rejected\", or exits 1 when the subject has no mark.\n" + adminHelp,
			Args:  exactArgs("SUB"),
			RunE: func(cmd *cobra.Command, args []string) error {
				what := "subject " + display(args[0])
				return status(cmd, o, subjectPath(args[0]), what+" has no revocation mark", func(answer []byte, c *adminClient) (string, error) {
					var a markAnswer
					if err := c.decodeAnswer(answer, &a); err != nil {
						return "", err
					}
					return fmt.Sprintf("%s: tokens issued at or before %s are rejected", what, formatTime(a.RevokedBefore)), nil
				})
			},
		},
		&cobra.Command{
			Use:   "all",
			Short: "Show the global revoked-before mark",
			Long:  "Show the global revoked-before mark. Prints \"all tokens issued at or before TIME\nare rejected\", or exits 1 when there is no global mark.\n" + adminHelp,
			Args:  exactArgs(),
			RunE: func(cmd *cobra.Command, _ []string) error {
				return status(cmd, o, apiAll, "there is no global revocation mark", func(answer []byte, c *adminClient) (string, error) {
					var a markAnswer
					if err := c.decodeAnswer(answer, &a); err != nil {
						return "", err
					}
					return fmt.Sprintf("all tokens issued at or before %s are rejected", formatTime(a.RevokedBefore)), nil
				})
			},
		},
	)
	return cmd
}

// status shows one record; notRevoked is the message when there is none.
func status(cmd *cobra.Command, o *adminOptions, path, notRevoked string, text func([]byte, *adminClient) (string, error)) error {
	c, err := o.client()
	if err != nil {
		return err
	}
	answer, err := c.do(cmd.Context(), http.MethodGet, path, nil)
	if notFound(err) {
		return &cliError{exitNotFound, notRevoked}
	}
	if err != nil {
		return c.apiFailure(err)
	}
	return c.print(cmd.OutOrStdout(), answer, func() (string, error) { return text(answer, c) })
}

func newUnrevokeCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "unrevoke",
		Short: "Undo a mistaken revocation (admin API client)",
		Long: `Remove a revocation through the admin API:

  revgate unrevoke token JTI     the token is accepted again
  revgate unrevoke session SID   the session's tokens are accepted again
  revgate unrevoke subject SUB   the subject's mark is removed
  revgate unrevoke email ADDRESS the email address's mark is removed
  revgate unrevoke all           the global mark is removed

Each removes only its own record: unrevoking a subject does not undo the
revocation of one of its tokens by jti, nor the global mark. Removing what is
not there succeeds, so a retry is safe.
` + adminHelp,
		Args: subcommandArgs,
		RunE: needSubcommand,
	}
	o := addAdminFlags(cmd)
	cmd.AddCommand(
		newUnrevokeSessionCommand(o),
		newUnrevokeEmailCommand(o),
		&cobra.Command{
			Use:   "token JTI",
			Short: "Remove a token's revocation",
			Long:  "Remove a token's revocation: it is accepted again (unless its subject or all\ntokens are revoked too). Prints \"unrevoked token jti=JTI\".\n" + adminHelp,
			Args:  exactArgs("JTI"),
			RunE: func(cmd *cobra.Command, args []string) error {
				return unrevoke(cmd, o, tokenPath(args[0]), map[string]any{"jti": args[0], "revoked": false},
					"unrevoked token jti="+display(args[0]))
			},
		},
		&cobra.Command{
			Use:   "subject SUB",
			Short: "Remove a subject's revoked-before mark",
			Long:  "Remove a subject's revoked-before mark. Tokens revoked one by one stay revoked.\nPrints \"unrevoked subject SUB\".\n" + adminHelp,
			Args:  exactArgs("SUB"),
			RunE: func(cmd *cobra.Command, args []string) error {
				return unrevoke(cmd, o, subjectPath(args[0]), map[string]any{"subject": args[0], "revoked": false},
					"unrevoked subject "+display(args[0]))
			},
		},
		&cobra.Command{
			Use:   "all",
			Short: "Remove the global revoked-before mark",
			Long:  "Remove the global revoked-before mark. Prints \"unrevoked all (the global mark is\nremoved)\".\n" + adminHelp,
			Args:  exactArgs(),
			RunE: func(cmd *cobra.Command, _ []string) error {
				return unrevoke(cmd, o, apiAll, map[string]any{"revoked": false}, "unrevoked all (the global mark is removed)")
			},
		},
	)
	return cmd
}

// unrevoke deletes one record. The API answers 204 with no body, so json
// output is asJSON.
func unrevoke(cmd *cobra.Command, o *adminOptions, path string, asJSON map[string]any, text string) error {
	c, err := o.client()
	if err != nil {
		return err
	}
	if _, err := c.do(cmd.Context(), http.MethodDelete, path, nil); err != nil {
		return c.apiFailure(err)
	}
	b, err := json.Marshal(asJSON)
	if err != nil {
		return err
	}
	return c.print(cmd.OutOrStdout(), b, func() (string, error) { return text, nil })
}
