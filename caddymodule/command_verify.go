package caddymodule

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/net/http/httpguts"

	"github.com/hookgate/hookgate/signer"
)

// Exit statuses of the verify subcommand.
const (
	verifyValid   = 0
	verifyInvalid = 1
	verifyUsage   = 2
)

// errVerifyInvalid makes Caddy's main exit with status 1 once verify has
// printed why the signature is invalid.
var errVerifyInvalid = errors.New("signature invalid")

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "verify",
		Usage: "--secret <whsec_...> --body <FILE> --header '<NAME>: <VALUE>' [--header ...]",
		Short: "Verifies the signature of a delivery made by hookgate",
		Long: `
Verifies a delivery's signature as a receiver would: the raw body (FILE, or
- for stdin) against the signature headers, given as they arrived with
repeated --header flags, and the hook's secret.

Either header style verifies: X-MailOdds-Signature, or the Standard Webhooks
trio webhook-id, webhook-timestamp and webhook-signature (also under their
svix-* names). When both are given, one valid signature is enough. Repeat
--secret to check several secrets, as during a rotation overlap.

The signed timestamp must be within --tolerance (default 5m) of now, in the
past or the future. To check a delivery captured earlier, pass its attempt
time with --at.

Exit status: 0 when the signature is valid (a line on stdout says which
header style and secret verified it), 1 when it is not (the reason is on
stderr), 2 when the arguments cannot be used (a missing flag, an unreadable
body file, a malformed --header or --secret).

Example:

	hookgate verify --secret "$SECRET" --body body.json \
		--header 'X-MailOdds-Signature: t=1733230000,v1=201eba3e...'`,
		CobraFunc: func(cmd *cobra.Command) {
			addVerifyFlags(cmd.Flags())
			// verify prints its own reasons, so neither cobra nor Caddy
			// prints the error again.
			cmd.SilenceErrors = true
			cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
				fmt.Fprintf(c.ErrOrStderr(), "verify: %v\n", err)
				return verifyExit(c, verifyUsage)
			})
			cmd.RunE = func(c *cobra.Command, _ []string) error {
				status := verifyWithFlags(c.Flags(), c.InOrStdin(), c.OutOrStdout(),
					c.ErrOrStderr())
				return verifyExit(c, status)
			}
		},
	})
}

// verifyExit turns an exit status into what Caddy's main understands: nil
// exits 0 and any error exits 1, while only WrapCommandFuncForCobra can
// carry a higher status.
func verifyExit(cmd *cobra.Command, status int) error {
	switch status {
	case verifyValid:
		return nil
	case verifyInvalid:
		return errVerifyInvalid
	}
	exit := caddycmd.WrapCommandFuncForCobra(func(caddycmd.Flags) (int, error) {
		return status, nil
	})
	return exit(cmd, nil)
}

func addVerifyFlags(fs *pflag.FlagSet) {
	fs.StringArray("secret", nil, "hook secret, whsec_...; repeat for several")
	fs.String("body", "", "file with the raw request body, or - for stdin")
	fs.StringArray("header", nil, "a received header, 'NAME: VALUE'; repeat for each")
	fs.Duration("tolerance", signer.DefaultTolerance,
		"how far the signed time may lie from now")
	fs.String("at", "", "verify as of this time (RFC 3339 or unix seconds) instead of now")
}

// runVerify is the verify subcommand: it parses args, the command line after
// "verify", and returns the exit status.
func runVerify(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("verify", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	addVerifyFlags(fs)
	if err := fs.Parse(args); err != nil {
		fmt.Fprintf(stderr, "verify: %v\n", err)
		return verifyUsage
	}
	return verifyWithFlags(fs, stdin, stdout, stderr)
}

// verifyWithFlags runs verify on parsed flags and returns the exit status.
func verifyWithFlags(fs *pflag.FlagSet, stdin io.Reader, stdout, stderr io.Writer) int {
	req, err := readVerifyRequest(fs, stdin)
	if err != nil {
		fmt.Fprintf(stderr, "verify: %v\n", err)
		return verifyUsage
	}

	res, err := signer.Verify(req.header, req.body, req.secrets, req.options...)
	if err != nil {
		fmt.Fprintf(stderr, "invalid: %v\n", err)
		return verifyInvalid
	}
	fmt.Fprintf(stdout, "valid: %s (secret %d of %d, signed %s)\n", res.Scheme,
		res.Secret+1, len(req.secrets), res.Timestamp.UTC().Format(time.RFC3339))
	return verifyValid
}

// verifyRequest is what the verify flags describe.
type verifyRequest struct {
	secrets []string
	body    []byte
	header  http.Header
	options []signer.VerifyOption
}

func readVerifyRequest(fs *pflag.FlagSet, stdin io.Reader) (verifyRequest, error) {
	var req verifyRequest
	if fs.NArg() > 0 {
		return req, fmt.Errorf("unexpected argument %q; every input is a flag", fs.Arg(0))
	}

	secrets, _ := fs.GetStringArray("secret")
	if len(secrets) == 0 {
		return req, errors.New("--secret is required")
	}
	for i, s := range secrets {
		if _, err := signer.ParseSecret(s); err != nil {
			return req, fmt.Errorf("--secret %d: %w", i+1, err)
		}
	}
	req.secrets = secrets

	headers, _ := fs.GetStringArray("header")
	if len(headers) == 0 {
		return req, errors.New("--header is required: give the signature headers received")
	}
	req.header = http.Header{}
	for _, line := range headers {
		name, value, err := parseHeaderFlag(line)
		if err != nil {
			return req, err
		}
		req.header.Add(name, value)
	}

	opts, err := verifyOptions(fs)
	if err != nil {
		return req, err
	}
	req.options = opts

	path, _ := fs.GetString("body")
	req.body, err = readBody(path, stdin)
	return req, err
}

// parseHeaderFlag splits a --header value, "NAME: VALUE" as in a raw
// request.
func parseHeaderFlag(line string) (name, value string, err error) {
	name, value, ok := strings.Cut(line, ":")
	name = strings.TrimSpace(name)
	if !ok || !httpguts.ValidHeaderFieldName(name) {
		return "", "", fmt.Errorf("--header %q: want 'NAME: VALUE'", line)
	}
	return name, strings.TrimSpace(value), nil
}

func verifyOptions(fs *pflag.FlagSet) ([]signer.VerifyOption, error) {
	tolerance, _ := fs.GetDuration("tolerance")
	if tolerance <= 0 {
		return nil, fmt.Errorf("--tolerance %s: want a positive duration", tolerance)
	}
	opts := []signer.VerifyOption{signer.WithTolerance(tolerance)}

	at, _ := fs.GetString("at")
	if at != "" {
		now, err := parseVerifyTime(at)
		if err != nil {
			return nil, err
		}
		opts = append(opts, signer.WithClock(func() time.Time { return now }))
	}
	return opts, nil
}

func parseVerifyTime(s string) (time.Time, error) {
	if unix, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(unix, 0), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--at %q: want RFC 3339 or unix seconds", s)
	}
	return t, nil
}

func readBody(path string, stdin io.Reader) ([]byte, error) {
	switch path {
	case "":
		return nil, errors.New("--body is required: give the file with the raw body")
	case "-":
		body, err := io.ReadAll(stdin)
		if err != nil {
			return nil, fmt.Errorf("reading body from stdin: %w", err)
		}
		return body, nil
	}
	body, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading --body: %w", err)
	}
	return body, nil
}
