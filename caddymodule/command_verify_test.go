package caddymodule

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The signing test vector of DESIGN §5.1.
const (
	verifySecret   = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	verifyBody     = `{"id":"evt_1","type":"intent.hot_lead","heat_score":8}`
	verifyAt       = "1733230000"
	verifyMailOdds = "X-MailOdds-Signature: t=1733230000," +
		"v1=201eba3ecb00f5cec4dbc796b9f87b1905bd259dd4c9fdc2bb80bab78b8a1f2c"
	verifyID        = "webhook-id: dlv_2Mk7q"
	verifyTimestamp = "webhook-timestamp: 1733230000"
	verifyStandard  = "webhook-signature: v1,hHPfnUcWR2oF3JohA2kTOfrnOCDFpATEMtcpLKCflVg="
	otherSecret     = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
)

// writeBody writes body to a file in a test directory and returns its path.
func writeBody(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "body.json")
	require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
	return path
}

func TestVerifyCommandExitStatus(t *testing.T) {
	body := writeBody(t, verifyBody)
	tampered := writeBody(t, strings.Replace(verifyBody, "8", "9", 1))
	tests := []struct {
		name       string
		args       []string
		stdin      string
		wantStatus int
		wantOut    string
		wantErr    string
	}{
		{
			name: "valid X-MailOdds-Signature",
			args: []string{"--secret", verifySecret, "--body", body, "--header", verifyMailOdds,
				"--at", verifyAt},
			wantStatus: 0,
			wantOut:    "valid: X-MailOdds-Signature (secret 1 of 1, signed 2024-12-03T12:46:40Z)",
		},
		{
			name: "valid Standard Webhooks headers",
			args: []string{"--secret", verifySecret, "--body", body, "--header", verifyID,
				"--header", verifyTimestamp, "--header", verifyStandard,
				"--at", "2024-12-03T12:50:00Z"},
			wantStatus: 0,
			wantOut:    "valid: Standard Webhooks (secret 1 of 1, signed 2024-12-03T12:46:40Z)",
		},
		{
			name: "second secret of a rotation, body on stdin",
			args: []string{"--secret", otherSecret, "--secret", verifySecret, "--body", "-",
				"--header", "x-mailodds-signature:" + strings.SplitN(verifyMailOdds, ":", 2)[1],
				"--at", verifyAt},
			stdin:      verifyBody,
			wantStatus: 0,
			wantOut:    "valid: X-MailOdds-Signature (secret 2 of 2,",
		},
		{
			name: "wide tolerance instead of --at",
			args: []string{"--secret", verifySecret, "--body", body, "--header", verifyMailOdds,
				"--tolerance", "1000000h"},
			wantStatus: 0,
			wantOut:    "valid: X-MailOdds-Signature",
		},
		{
			name: "tampered body",
			args: []string{"--secret", verifySecret, "--body", tampered,
				"--header", verifyMailOdds, "--at", verifyAt},
			wantStatus: 1,
			wantErr:    "invalid: X-MailOdds-Signature: no matching signature",
		},
		{
			name: "wrong secret",
			args: []string{"--secret", otherSecret, "--body", body, "--header", verifyID,
				"--header", verifyTimestamp, "--header", verifyStandard, "--at", verifyAt},
			wantStatus: 1,
			wantErr:    "invalid: webhook-* headers: no matching signature",
		},
		{
			name: "stale signature",
			args: []string{"--secret", verifySecret, "--body", body,
				"--header", verifyMailOdds},
			wantStatus: 1,
			wantErr:    "timestamp outside tolerance: too old",
		},
		{
			name: "signature from the future",
			args: []string{"--secret", verifySecret, "--body", body, "--header", verifyID,
				"--header", verifyTimestamp, "--header", verifyStandard,
				"--at", "2024-12-03T12:40:00Z"},
			wantStatus: 1,
			wantErr: "invalid: webhook-* headers: timestamp outside tolerance: too new " +
				"(signed 6m40s after now, tolerance 5m0s)",
		},
		{
			name: "tampered body, Standard Webhooks headers",
			args: []string{"--secret", verifySecret, "--body", tampered, "--header", verifyID,
				"--header", verifyTimestamp, "--header", verifyStandard, "--at", verifyAt},
			wantStatus: 1,
			wantErr:    "invalid: webhook-* headers: no matching signature",
		},
		{
			name: "malformed webhook-timestamp",
			args: []string{"--secret", verifySecret, "--body", body, "--header", verifyID,
				"--header", "webhook-timestamp: soon", "--header", verifyStandard},
			wantStatus: 1,
			wantErr:    "malformed signature header: webhook-timestamp is not unix seconds",
		},
		{
			name: "no signature header among those given",
			args: []string{"--secret", verifySecret, "--body", body,
				"--header", "Content-Type: application/json"},
			wantStatus: 1,
			wantErr:    "invalid: missing signature header",
		},
		{
			name: "malformed signature value",
			args: []string{"--secret", verifySecret, "--body", body,
				"--header", "X-MailOdds-Signature: v1=abc", "--at", verifyAt},
			wantStatus: 1,
			wantErr:    "malformed signature header: no t=<unix> element",
		},
		{name: "no arguments", args: nil, wantStatus: 2, wantErr: "--secret is required"},
		{
			name:       "no --body",
			args:       []string{"--secret", verifySecret, "--header", verifyMailOdds},
			wantStatus: 2,
			wantErr:    "--body is required",
		},
		{
			name:       "no --header",
			args:       []string{"--secret", verifySecret, "--body", body},
			wantStatus: 2,
			wantErr:    "--header is required",
		},
		{
			name: "unreadable body file",
			args: []string{"--secret", verifySecret, "--body", filepath.Join(t.TempDir(), "none"),
				"--header", verifyMailOdds},
			wantStatus: 2,
			wantErr:    "reading --body: open ",
		},
		{
			name: "--header without a colon",
			args: []string{"--secret", verifySecret, "--body", body,
				"--header", "X-MailOdds-Signature t=1"},
			wantStatus: 2,
			wantErr:    `--header "X-MailOdds-Signature t=1": want 'NAME: VALUE'`,
		},
		{
			name: "--header with an empty name",
			args: []string{"--secret", verifySecret, "--body", body,
				"--header", ": t=1"},
			wantStatus: 2,
			wantErr:    "want 'NAME: VALUE'",
		},
		{
			name: "malformed --secret",
			args: []string{"--secret", verifySecret, "--secret", "whsec_MfKQ9r8GKYqrTwjUPD8I",
				"--body", body, "--header", verifyMailOdds},
			wantStatus: 2,
			wantErr:    "--secret 2: invalid secret: key is 15 bytes; want 24 to 64",
		},
		{
			name: "bad --at",
			args: []string{"--secret", verifySecret, "--body", body, "--header", verifyMailOdds,
				"--at", "yesterday"},
			wantStatus: 2,
			wantErr:    `--at "yesterday": want RFC 3339 or unix seconds`,
		},
		{
			name: "zero --tolerance",
			args: []string{"--secret", verifySecret, "--body", body, "--header", verifyMailOdds,
				"--tolerance", "0s"},
			wantStatus: 2,
			wantErr:    "--tolerance 0s: want a positive duration",
		},
		{
			name:       "unknown flag",
			args:       []string{"--secrets", verifySecret},
			wantStatus: 2,
			wantErr:    "unknown flag: --secrets",
		},
		{
			name: "positional argument",
			args: []string{"--secret", verifySecret, "--body", body, "--header", verifyMailOdds,
				"body.json"},
			wantStatus: 2,
			wantErr:    `unexpected argument "body.json"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer

			status := runVerify(tt.args, strings.NewReader(tt.stdin), &stdout, &stderr)

			assert.Equal(t, tt.wantStatus, status, "stderr: %s", stderr.String())
			if tt.wantStatus == 0 {
				assert.Contains(t, stdout.String(), tt.wantOut)
				assert.Empty(t, stderr.String())
				return
			}
			assert.Empty(t, stdout.String())
			assert.Contains(t, stderr.String(), tt.wantErr)
			assert.NotContains(t, stderr.String(), "MfKQ9r8G", "stderr echoes a secret")
		})
	}
}

// verifyCobraCommand builds the registered verify command as Caddy's CLI
// would.
func verifyCobraCommand(t *testing.T, args []string, stdout, stderr *bytes.Buffer) *cobra.Command {
	t.Helper()
	registered, ok := caddycmd.Commands()["verify"]
	require.True(t, ok, "verify is registered")
	cmd := &cobra.Command{Use: "verify"}
	registered.CobraFunc(cmd)
	cmd.SetArgs(args)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	return cmd
}

func TestVerifyCommandRegisteredWithCaddyMapsStatusToErrors(t *testing.T) {
	body := writeBody(t, verifyBody)
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{
			name: "valid", args: []string{"--secret", verifySecret, "--body", body,
				"--header", verifyMailOdds, "--at", verifyAt},
		},
		{
			name: "invalid", args: []string{"--secret", otherSecret, "--body", body,
				"--header", verifyMailOdds, "--at", verifyAt},
			wantErr: errVerifyInvalid.Error(),
		},
		{name: "unusable", args: []string{"--body", body}, wantErr: "exiting with status 2"},
		{name: "flag error", args: []string{"--nope"}, wantErr: "exiting with status 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := verifyCobraCommand(t, tt.args, &stdout, &stderr).Execute()

			if tt.wantErr == "" {
				require.NoError(t, err)
				assert.Contains(t, stdout.String(), "valid: X-MailOdds-Signature")
				return
			}
			require.EqualError(t, err, tt.wantErr)
			assert.NotEmpty(t, stderr.String(), "the reason is printed")
			assert.NotContains(t, stderr.String(), "Error:", "cobra must not print it again")
		})
	}
}

// TestVerifyCommandThroughCaddyMain runs the test binary again as the
// hookgate command, to check the exit statuses a shell sees.
func TestVerifyCommandThroughCaddyMain(t *testing.T) {
	if args := os.Getenv("HOOKGATE_TEST_VERIFY_ARGS"); args != "" {
		var argv []string
		if err := json.Unmarshal([]byte(args), &argv); err != nil {
			panic(err)
		}
		os.Args = append([]string{"hookgate", "verify"}, argv...)
		caddycmd.Main()
		os.Exit(0)
	}
	if testing.Short() {
		t.Skip("starts a subprocess")
	}

	body := writeBody(t, verifyBody)
	tests := []struct {
		name       string
		args       []string
		wantStatus int
		wantStdout string
		wantStderr string
	}{
		{
			name: "valid", wantStatus: 0, wantStdout: "valid: X-MailOdds-Signature",
			args: []string{"--secret", verifySecret, "--body", body, "--header", verifyMailOdds,
				"--at", verifyAt},
		},
		{
			name: "invalid", wantStatus: 1,
			wantStderr: "invalid: X-MailOdds-Signature: no matching",
			args: []string{"--secret", otherSecret, "--body", body, "--header", verifyMailOdds,
				"--at", verifyAt},
		},
		{
			name: "unusable", wantStatus: 2, wantStderr: "verify: --header is required",
			args: []string{"--secret", verifySecret, "--body", body},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			argv, err := json.Marshal(tt.args)
			require.NoError(t, err)
			cmd := exec.Command(os.Args[0], "-test.run=^TestVerifyCommandThroughCaddyMain$")
			cmd.Env = append(os.Environ(), "HOOKGATE_TEST_VERIFY_ARGS="+string(argv))
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr

			err = cmd.Run()

			status := 0
			if exitErr, ok := errors.AsType[*exec.ExitError](err); ok {
				status = exitErr.ExitCode()
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tt.wantStatus, status, "stderr: %s", stderr.String())
			assert.Contains(t, stdout.String(), tt.wantStdout)
			assert.Contains(t, stderr.String(), tt.wantStderr)
			assert.Equal(t, 1, strings.Count(stdout.String()+stderr.String(), "\n"),
				"one line of output, no log lines: %q %q", stdout.String(), stderr.String())
		})
	}
}
