package caddymodule

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEvalCommand(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
	cold := write("cold.json", `{"id":"evt_2","type":"intent.hot_lead",`+
		`"domain":"mail.acme.example","heat_score":3,"intent_category":"PURCHASE_INTENT",`+
		`"is_human":true}`)
	badEvent := write("bad-event.json", `{"id":"evt_3","type":"intent.hot_lead"}`)
	notJSON := write("not.json", `{"event":`)
	engaged := write("engaged.json", `{"id":"evt_4","type":"intent.engaged",`+
		`"domain":"mail.acme.example","heat_score":8,"intent_category":"PURCHASE_INTENT",`+
		`"is_human":true}`)
	domainRule := write("domain-rule.json", `{"event":"intent.hot_lead",`+
		`"domain":"news.acme.example","conditions":{"field":"heat_score","op":"gt","value":5}}`)
	presetRule := write("preset-rule.json", `{"preset":"slack-hot-lead"}`)
	badEventType := write("bad-type.json", `{"id":"evt_5","type":"intent.hot","domain":"d"}`)

	for _, tc := range []struct {
		name    string
		rule    string
		event   string
		explain bool
		status  int
		stdout  string // JSON, compared as JSON; empty for none
		stderr  string // substring
	}{
		{"match", "testdata/eval/seed-rule.json", "testdata/eval/hot-lead.json", false, 0,
			`{"matched":true,"expression":"event.?heat_score.orValue(double(\"NaN\")) > 5.0 && ` +
				`event.?intent_category.orValue(null) == \"PURCHASE_INTENT\" && ` +
				`event.?is_human.orValue(null) == true"}`, ""},
		{"no match", "testdata/eval/seed-rule.json", cold, false, 0,
			`{"matched":false,"expression":"event.?heat_score.orValue(double(\"NaN\")) > 5.0 && ` +
				`event.?intent_category.orValue(null) == \"PURCHASE_INTENT\" && ` +
				`event.?is_human.orValue(null) == true"}`, ""},
		{"other event type", "testdata/eval/seed-rule.json", engaged, false, 0,
			`{"matched":false,"expression":"event.?heat_score.orValue(double(\"NaN\")) > 5.0 && ` +
				`event.?intent_category.orValue(null) == \"PURCHASE_INTENT\" && ` +
				`event.?is_human.orValue(null) == true"}`, ""},
		{"other domain", domainRule, "testdata/eval/hot-lead.json", false, 0,
			`{"matched":false,"expression":"event.?heat_score.orValue(double(\"NaN\")) > 5.0"}`,
			""},
		{"other domain explained", domainRule, "testdata/eval/hot-lead.json", true, 0,
			`{"matched":false,"expression":"event.?heat_score.orValue(double(\"NaN\")) > 5.0",` +
				`"trace":{"field":"heat_score","op":"gt","value":5,"result":true,` +
				`"expression":"event.?heat_score.orValue(double(\"NaN\")) > 5.0"},` +
				`"reason":"the hook listens to domain \"news.acme.example\", ` +
				`the event is from \"mail.acme.example\""}`, ""},
		{"preset fills the document", presetRule, "testdata/eval/hot-lead.json", false, 0,
			`{"matched":true,"expression":"event.?heat_score.orValue(double(\"NaN\")) > 7.0 && ` +
				`event.?intent_category.orValue(null) == \"PURCHASE_INTENT\""}`, ""},
		{"unknown event type", "testdata/eval/seed-rule.json", badEventType, false, 2, "",
			`event: type: unknown event type "intent.hot"`},
		{"invalid rule", "testdata/eval/bad-rule.json", "testdata/eval/hot-lead.json", false, 2,
			"", "rule: conditions.rules[0].value: heat_score is a number"},
		{"invalid event", "testdata/eval/seed-rule.json", badEvent, false, 2, "",
			"event: domain: required for intent.hot_lead events"},
		{"rule not JSON", notJSON, "testdata/eval/hot-lead.json", false, 2, "",
			"rule: body is not valid JSON"},
		{"missing file", filepath.Join(dir, "nope.json"), "testdata/eval/hot-lead.json", false, 2,
			"", "reading rule: open"},
		{"missing flag", "", "testdata/eval/hot-lead.json", false, 2, "",
			"eval needs --rule RULE.json and --event EVENT.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			status := runEval(tc.rule, tc.event, tc.explain, &stdout, &stderr)
			assert.Equal(t, tc.status, status)
			if tc.stdout != "" {
				assert.JSONEq(t, tc.stdout, stdout.String())
			} else {
				assert.Empty(t, stdout.String())
			}
			assert.Contains(t, stderr.String(), tc.stderr)
		})
	}
}

func TestEvalCommandExplain(t *testing.T) {
	var stdout, stderr bytes.Buffer
	status := runEval("testdata/eval/seed-rule.json", "testdata/eval/hot-lead.json", true,
		&stdout, &stderr)
	require.Equal(t, 0, status, stderr.String())

	var out struct {
		Matched bool `json:"matched"`
		Trace   struct {
			Operator string `json:"operator"`
			Result   bool   `json:"result"`
			Rules    []struct {
				Field  string `json:"field"`
				Result bool   `json:"result"`
			} `json:"rules"`
		} `json:"trace"`
	}
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &out))
	assert.True(t, out.Matched)
	assert.Equal(t, "AND", out.Trace.Operator)
	assert.True(t, out.Trace.Result)
	require.Len(t, out.Trace.Rules, 3)
	assert.Equal(t, "heat_score", out.Trace.Rules[0].Field)
	assert.NotContains(t, stdout.String(), `\u003e`, "no HTML escaping in CLI output")
}

func TestEvalCommandPrintsOnlyItsOwnReasons(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		stderr string
	}{
		{"invalid rule", []string{"--rule", "testdata/eval/bad-rule.json",
			"--event", "testdata/eval/hot-lead.json"},
			"rule: conditions.rules[0].value: heat_score is a number\n"},
		{"unknown flag", []string{"--rule", "testdata/eval/seed-rule.json", "--evnt", "x"},
			"eval: unknown flag: --evnt\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eval, ok := caddycmd.Commands()["eval"]
			require.True(t, ok)
			cmd := &cobra.Command{Use: eval.Name}
			eval.CobraFunc(cmd)
			var stdout, stderr bytes.Buffer
			cmd.SetOut(&stdout)
			cmd.SetErr(&stderr)
			cmd.SetArgs(tc.args)

			err := cmd.Execute()

			assert.EqualError(t, err, "exiting with status 2", "Caddy's main exits 2")
			assert.Equal(t, tc.stderr, stderr.String())
		})
	}
}
