package caddymodule

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/hookgate/hookgate/hook"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "eval",
		Usage: "--rule <RULE.json> --event <EVENT.json> [--explain]",
		Short: "Evaluates a hook's rule against an event without delivering",
		Long: `
Evaluates a hook document (RULE.json, as written to the admin API, its url
optional) against one canonical event (EVENT.json) and prints

	{"matched": true|false, "expression": "<the compiled CEL>"}

"matched" includes the hook's event types and, when the document names a
domain or an account, that scope. With --explain the output also has a
"trace" giving the value of every leaf and group of the conditions.

Exit status: 0 when the evaluation ran (whether or not it matched), 2 when
the rule or the event is invalid; the reason, naming the JSON path of what is
wrong, is printed to stderr.`,
		CobraFunc: func(cmd *cobra.Command) {
			cmd.Flags().String("rule", "", "hook document to evaluate (JSON file)")
			cmd.Flags().String("event", "", "event to evaluate it against (JSON file)")
			cmd.Flags().Bool("explain", false, "also print the value of every node")
			// eval prints its own reasons, so cobra does not add an
			// "Error: exiting with status 2" line to them.
			cmd.SilenceErrors = true
			cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
				return evalExit(c, evalFail(c.ErrOrStderr(), "eval: %v", err))
			})
			cmd.RunE = func(c *cobra.Command, _ []string) error {
				fl := caddycmd.Flags{FlagSet: c.Flags()}
				return evalExit(c, runEval(fl.String("rule"), fl.String("event"),
					fl.Bool("explain"), c.OutOrStdout(), c.ErrOrStderr()))
			}
		},
	})
}

// runEval is the eval subcommand; it returns the exit status.
func runEval(rulePath, eventPath string, explain bool, stdout, stderr io.Writer) int {
	if rulePath == "" || eventPath == "" {
		return evalFail(stderr, "eval needs --rule RULE.json and --event EVENT.json")
	}
	rule, err := os.ReadFile(rulePath)
	if err != nil {
		return evalFail(stderr, "reading rule: %v", err)
	}
	ev, err := os.ReadFile(eventPath)
	if err != nil {
		return evalFail(stderr, "reading event: %v", err)
	}

	out, err := hook.EvaluateDocuments(rule, ev, explain)
	if err != nil {
		return evalFail(stderr, "%v", err)
	}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return evalFail(stderr, "writing result: %v", err)
	}
	return 0
}

// evalFail prints the reason eval cannot evaluate and returns its exit status.
func evalFail(stderr io.Writer, format string, args ...any) int {
	fmt.Fprintf(stderr, format+"\n", args...)
	return 2
}

// evalExit makes cobra end the command with the exit status, which only
// WrapCommandFuncForCobra can carry to Caddy's main.
func evalExit(cmd *cobra.Command, status int) error {
	exit := caddycmd.WrapCommandFuncForCobra(func(caddycmd.Flags) (int, error) {
		return status, nil
	})
	return exit(cmd, nil)
}
