package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/revgate/revgate/config"
	"github.com/revgate/revgate/gateway/adminapi"
)

// Exit codes of the admin client commands, on top of exitOK and exitUsage.
// Scripts rely on them; every command's --help lists them.
const (
	exitNotFound = 1
	exitAPI      = 3
)

// defaultAdminURL is where the admin listener binds by default.
const defaultAdminURL = "http://127.0.0.1:9090"

// Environment variables the admin client reads when the flag is not given.
const (
	envAdminURL   = "REVGATE_ADMIN_URL"
	envAdminToken = "REVGATE_ADMIN_TOKEN"
)

// maxAnswerBytes bounds what the client reads of an admin API answer.
const maxAnswerBytes = 1 << 20

// adminHelp ends the --help of every admin client command.
const adminHelp = `
Connection: --admin-url, else $REVGATE_ADMIN_URL, else ` + defaultAdminURL + `.
Admin token: --admin-token or --admin-token-file, else $REVGATE_ADMIN_TOKEN.
The token is sent as "Authorization: Bearer"; it is never printed.

Output: --output text (default) is for people; --output json prints the admin
API's JSON answer unchanged (unrevoke, whose API answer is empty, prints
{"jti"|"subject": ..., "revoked": false}).

Exit codes:
  0  done
  1  not found: nothing is recorded under that name (status only)
  2  usage: bad flags or arguments, an invalid time
  3  the admin API refused the request (bad input, wrong or missing admin
     token, 5xx) or could not be reached in time`

// cliError is a failure with its exit code and a complete, one-line message:
// never a chain of wrapped Go errors, never a token.
type cliError struct {
	code int
	msg  string
}

func (e *cliError) Error() string { return e.msg }

// ExitCode implements exitCoder.
func (e *cliError) ExitCode() int { return e.code }

// usagef is a usage error (exit 2).
func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// subcommandArgs refuses positional arguments on a command that only groups
// subcommands, so a typo exits 2 instead of printing help and exiting 0.
func subcommandArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			return usagef("unknown command %q for %q; did you mean %q? (see %s --help)", args[0], cmd.CommandPath(), s[0], cmd.CommandPath())
		}
		return usagef("unknown command %q for %q (see %s --help)", args[0], cmd.CommandPath(), cmd.CommandPath())
	}
	return nil
}

// needSubcommand is the RunE of a command that only groups subcommands.
func needSubcommand(cmd *cobra.Command, _ []string) error {
	var names []string
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	return usagef("%s needs a subcommand: %s (see %s --help)", shortPath(cmd), strings.Join(names, ", "), cmd.CommandPath())
}

// shortPath is the command path without the binary's name, for messages
// that run prints after "revgate: ".
func shortPath(cmd *cobra.Command) string {
	return strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
}

// exactArgs is cobra.ExactArgs with usage errors and argument names.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(names) == 0 && len(args) > 0:
			return usagef("%s takes no arguments, got %q (see %s --help)", shortPath(cmd), args[0], cmd.CommandPath())
		case len(args) < len(names):
			return usagef("%s needs %s (see %s --help)", shortPath(cmd), strings.Join(names[len(args):], " "), cmd.CommandPath())
		case len(args) > len(names):
			return usagef("%s takes %d argument(s), got %d (see %s --help)", shortPath(cmd), len(names), len(args), cmd.CommandPath())
		}
		for i, a := range args {
			if a == "" {
				return usagef("%s must not be empty", names[i])
			}
		}
		return nil
	}
}

// Output formats.
const (
	outputText = "text"
	outputJSON = "json"
)

// adminOptions are the flags every admin client command shares.
type adminOptions struct {
	url       string
	token     string
	tokenFile string
	output    string
	timeout   time.Duration
}

// addAdminFlags declares the shared flags on a command group. Defaults from
// the environment are resolved after parsing, so --help never shows the
// admin token.
func addAdminFlags(cmd *cobra.Command) *adminOptions {
	o := &adminOptions{}
	f := cmd.PersistentFlags()
	f.StringVar(&o.url, "admin-url", "", "admin API base URL (default $"+envAdminURL+", else "+defaultAdminURL+")")
	f.StringVar(&o.token, "admin-token", "", "admin API bearer token (default $"+envAdminToken+"; the variable and --admin-token-file stay out of ps and shell history)")
	f.StringVar(&o.tokenFile, "admin-token-file", "", "read the admin API bearer token from this file")
	f.StringVarP(&o.output, "output", "o", outputText, "output format: text or json")
	f.DurationVar(&o.timeout, "timeout", 10*time.Second, "give up when the admin API has not answered within this long")
	return o
}

// adminClient calls the admin API.
type adminClient struct {
	base    string // scheme://host[/path], no trailing slash
	shown   string // base for messages, any userinfo redacted
	token   string
	timeout time.Duration
	output  string
	http    *http.Client
}

// client validates the options and builds the client. Every problem is a
// usage error.
func (o *adminOptions) client() (*adminClient, error) {
	if o.output != outputText && o.output != outputJSON {
		return nil, usagef("--output must be text or json, not %q", o.output)
	}
	if o.timeout <= 0 {
		return nil, usagef("--timeout must be positive, not %s", o.timeout)
	}
	raw := o.url
	if raw == "" {
		raw = os.Getenv(envAdminURL)
	}
	if raw == "" {
		raw = defaultAdminURL
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, usagef("admin URL %q: expected http://host:port or https://host:port, optionally with a base path", config.RedactURL(raw))
	}
	token, err := o.adminToken()
	if err != nil {
		return nil, err
	}
	return &adminClient{
		base:    strings.TrimRight(u.String(), "/"),
		shown:   strings.TrimRight(u.Redacted(), "/"),
		token:   token,
		timeout: o.timeout,
		output:  o.output,
		http: &http.Client{
			// A redirect would carry the admin token somewhere the
			// operator did not name; report it instead.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}, nil
}

// adminToken resolves --admin-token, --admin-token-file and the
// environment, in that order. Errors never contain the token.
func (o *adminOptions) adminToken() (string, error) {
	var token string
	switch {
	case o.token != "" && o.tokenFile != "":
		return "", usagef("give --admin-token or --admin-token-file, not both")
	case o.token != "":
		token = o.token
	case o.tokenFile != "":
		t, err := config.ReadSecretFile(o.tokenFile)
		if err != nil {
			return "", usagef("--admin-token-file: %v", err)
		}
		token = t
	default:
		token = os.Getenv(envAdminToken)
	}
	token = strings.TrimSpace(token)
	for _, r := range token {
		if r < 0x20 || r == 0x7f {
			return "", usagef("the admin token contains control characters (a line break?)")
		}
	}
	return token, nil
}

// apiError is a non-2xx answer of the admin API.
type apiError struct {
	status  int
	code    string // the body's "error"
	message string // the body's "message", or a description of the answer
}

func (e *apiError) Error() string { return e.message }

// notFound reports whether err is the admin API's "no revocation recorded"
// (as opposed to a 404 for a path it does not serve: a wrong --admin-url).
func notFound(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.code == adminapi.CodeNotRevoked
}

// do sends a request to the admin API and returns the body of a 2xx
// answer. Other answers are an *apiError; failures to get an answer are a
// *cliError with exit code 3.
func (c *adminClient) do(ctx context.Context, method, path string, body any) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, &cliError{exitAPI, fmt.Sprintf("cannot build a request to the admin API at %s", c.shown)}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "revgate/"+version)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.networkError(ctx, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return nil, c.networkError(ctx, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return answer, nil
	}
	return nil, answerError(resp, answer)
}

// answerError reads a non-2xx answer: the admin API's {"error","message"},
// or a description of whatever else answered.
func answerError(resp *http.Response, body []byte) *apiError {
	ae := &apiError{status: resp.StatusCode}
	var doc struct {
		adminapi.Error
		Description string `json:"error_description"` // the proxy listener's shape
	}
	if json.Unmarshal(body, &doc) == nil && doc.Code != "" {
		ae.code = printable(doc.Code)
		switch {
		case doc.Message != "":
			ae.message = printable(doc.Message)
		case doc.Description != "":
			ae.message = printable(doc.Description) + " (is --admin-url the admin listener?)"
		default:
			ae.message = ae.code
		}
		return ae
	}
	ae.message = "unexpected answer " + resp.Status
	if loc := resp.Header.Get("Location"); loc != "" && resp.StatusCode >= 300 && resp.StatusCode <= 399 {
		ae.message += " redirecting to " + printable(config.RedactURL(loc)) + " (give that as --admin-url)"
	}
	return ae
}

// printable makes text from the network safe for a terminal and short.
func printable(s string) string {
	const max = 300
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= max {
			b.WriteString("...")
			break
		}
		if unicode.IsPrint(r) {
			b.WriteRune(r)
		} else {
			b.WriteRune('?')
		}
	}
	return b.String()
}

// apiFailure turns an error of do into the command's error: the API's own
// message with its status, or the network error as it is.
func (c *adminClient) apiFailure(err error) error {
	var ae *apiError
	if !errors.As(err, &ae) {
		return err
	}
	msg := fmt.Sprintf("admin API: %s (%d)", ae.message, ae.status)
	if ae.code == adminapi.CodeUnauthorized && c.token == "" {
		msg += "; give the admin token with --admin-token-file, --admin-token or $" + envAdminToken
	}
	return &cliError{exitAPI, msg}
}

// networkError is one clear line for a request that got no answer.
func (c *adminClient) networkError(ctx context.Context, err error) error {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) || ctx.Err() != nil {
		return &cliError{exitAPI, fmt.Sprintf("the admin API at %s did not answer within %s", c.shown, c.timeout)}
	}
	return &cliError{exitAPI, fmt.Sprintf("cannot reach the admin API at %s: %s", c.shown, networkReason(err))}
}

// networkReason is the innermost cause of a transport error ("connection
// refused"), without the Go call chain around it.
func networkReason(err error) string {
	var dns *net.DNSError
	if errors.As(err, &dns) {
		if dns.IsNotFound {
			return "no such host " + dns.Name
		}
		return "looking up " + dns.Name + ": " + dns.Err
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "the connection was closed without an answer"
	}
	for {
		inner := errors.Unwrap(err)
		if inner == nil {
			break
		}
		err = inner
	}
	return printable(err.Error())
}

// print writes a 2xx answer: the API's JSON as is, or text.
func (c *adminClient) print(w io.Writer, answer []byte, text func() (string, error)) error {
	if c.output == outputJSON {
		_, err := fmt.Fprintf(w, "%s\n", bytes.TrimSpace(answer))
		return err
	}
	s, err := text()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, s)
	return err
}

// decodeAnswer reads a 2xx answer for text output.
func (c *adminClient) decodeAnswer(answer []byte, v any) error {
	if err := json.Unmarshal(answer, v); err != nil {
		return &cliError{exitAPI, fmt.Sprintf("admin API at %s: the answer is not the expected JSON", c.shown)}
	}
	return nil
}

// parseTimeFlag checks a time flag the way the admin API reads it: an
// RFC 3339 time or a number of unix seconds. It returns the value to send
// and the time it names, in whole seconds.
func parseTimeFlag(flag, s string) (string, time.Time, error) {
	s = strings.TrimSpace(s)
	bad := usagef("invalid %s %q: expected an RFC 3339 time like 2026-01-02T15:04:05Z or unix seconds", flag, s)
	if s == "" {
		return "", time.Time{}, bad
	}
	if strings.Trim(s, "0123456789.") == "" {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f > 253402300799 {
			return "", time.Time{}, bad
		}
		return s, time.Unix(int64(f), 0).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return "", time.Time{}, bad
	}
	return s, t.Truncate(time.Second).UTC(), nil
}

// display shows a jti or subject on one line: as is when that is
// unambiguous, else quoted.
func display(s string) string {
	if s == "" {
		return `""`
	}
	for _, r := range s {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) || r == '"' || r == '\\' {
			return strconv.Quote(s)
		}
	}
	return s
}

// formatTime is how text output shows a time.
func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }
