package main

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/revgate/revgate/gateway/adminapi"
)

// apiSessions is the admin API path of revoked sessions.
const apiSessions = "/v1/revocations/sessions/"

// sessionAnswer is the admin API's answer about a session.
type sessionAnswer = adminapi.Session

// sessionPath is the admin API path of a session id, path-escaped like a
// subject's.
func sessionPath(sid string) string { return apiSessions + url.PathEscape(sid) }

func newRevokeSessionCommand(o *adminOptions) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "session SID [--reason R]",
		Short: "Revoke every token of an identity provider session",
		Long: `Revoke the identity provider's session SID: every token whose session claim
(jwt.session_claim, default sid) is SID is rejected, whenever it was issued,
while other sessions of the same user go on working. The gateway keeps the
revocation for its max_token_lifetime plus leeway, by when every token of the
session has expired. SID may hold any characters; it is path-escaped on the
way.

Prints "revoked session SID until TIME".
` + adminHelp,
		Example: `  revgate revoke session 8f1c2e4a-session --reason "user reported a stolen laptop"`,
		Args:    exactArgs("SID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.client()
			if err != nil {
				return err
			}
			var send any
			if reason != "" {
				send = adminapi.RevokeSession{Reason: reason}
			}
			answer, err := c.do(cmd.Context(), http.MethodPost, sessionPath(args[0]), send)
			if err != nil {
				return c.apiFailure(err)
			}
			return c.print(cmd.OutOrStdout(), answer, func() (string, error) {
				var a sessionAnswer
				if err := c.decodeAnswer(answer, &a); err != nil {
					return "", err
				}
				return fmt.Sprintf("revoked session %s until %s", display(a.Session), formatTime(a.ExpiresAt)), nil
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why, for the audit log")
	return cmd
}

func newStatusSessionCommand(o *adminOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "session SID",
		Short: "Show whether an identity provider session is revoked, and until when",
		Long:  "Show whether a session is revoked. Prints \"session SID is revoked until TIME\",\nor exits 1 when it is not revoked.\n" + adminHelp,
		Args:  exactArgs("SID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return status(cmd, o, sessionPath(args[0]), "session "+display(args[0])+" is not revoked", func(answer []byte, c *adminClient) (string, error) {
				var a sessionAnswer
				if err := c.decodeAnswer(answer, &a); err != nil {
					return "", err
				}
				return fmt.Sprintf("session %s is revoked until %s", display(a.Session), formatTime(a.ExpiresAt)), nil
			})
		},
	}
}

func newUnrevokeSessionCommand(o *adminOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "session SID",
		Short: "Remove a session's revocation",
		Long:  "Remove a session's revocation: its tokens are accepted again (unless revoked\nanother way). Prints \"unrevoked session SID\".\n" + adminHelp,
		Args:  exactArgs("SID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return unrevoke(cmd, o, sessionPath(args[0]), map[string]any{"session": args[0], "revoked": false},
				"unrevoked session "+display(args[0]))
		},
	}
}
