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
			cmd.RunE = caddycmd.WrapCommandFuncForCobra(func(fl caddycmd.Flags) (int, error) {
				return runEval(fl.String("rule"), fl.String("event"), fl.Bool("explain"),
					os.Stdout, os.Stderr), nil
			})
		},
	})
}

// runEval is the eval subcommand; it returns the exit status.
func runEval(rulePath, eventPath string, explain bool, stdout, stderr io.Writer) int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(stderr, format+"\n", args...)
		return 2
	}
	if rulePath == "" || eventPath == "" {
		return fail("eval needs --rule RULE.json and --event EVENT.json")
	}
	rule, err := os.ReadFile(rulePath)
	if err != nil {
		return fail("reading rule: %v", err)
	}
	ev, err := os.ReadFile(eventPath)
	if err != nil {
		return fail("reading event: %v", err)
	}

	out, err := hook.EvaluateDocuments(rule, ev, explain)
	if err != nil {
		return fail("%v", err)
	}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return fail("writing result: %v", err)
	}
	return 0
}
