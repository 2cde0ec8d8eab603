package hook

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The seed rule, with events that match and events that fail on each clause.
func TestSeedRule(t *testing.T) {
	for _, tc := range []struct {
		name  string
		event string
		want  bool
	}{
		{"hot, purchase, human", `{"heat_score":8,"intent_category":"PURCHASE_INTENT",` +
			`"is_human":true}`, true},
		{"heat at 5", `{"heat_score":5,"intent_category":"PURCHASE_INTENT","is_human":true}`,
			false},
		{"heat 5.5", `{"heat_score":5.5,"intent_category":"PURCHASE_INTENT","is_human":true}`,
			true},
		{"no heat", `{"intent_category":"PURCHASE_INTENT","is_human":true}`, false},
		{"other intent", `{"heat_score":9,"intent_category":"TECHNICAL_ISSUE","is_human":true}`,
			false},
		{"intent lower case", `{"heat_score":9,"intent_category":"purchase_intent",` +
			`"is_human":true}`, false},
		{"no intent", `{"heat_score":9,"is_human":true}`, false},
		{"bot", `{"heat_score":9,"intent_category":"PURCHASE_INTENT","is_human":false}`, false},
		{"human unknown", `{"heat_score":9,"intent_category":"PURCHASE_INTENT"}`, false},
		{"heat 5e0", `{"heat_score":5e0,"intent_category":"PURCHASE_INTENT","is_human":true}`,
			false},
		{"heat 6e0", `{"heat_score":6e0,"intent_category":"PURCHASE_INTENT","is_human":true}`,
			true},
		{"every clause fails", `{"heat_score":1,"intent_category":"x","is_human":false}`,
			false},
		{"extra fields", `{"heat_score":8,"intent_category":"PURCHASE_INTENT",` +
			`"is_human":true,"metadata":{"campaign":"spring"},"smtp-id":"<a@b>"}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := EvaluateDocuments([]byte(seedHook),
				[]byte(withBase(tc.event, "intent.hot_lead")), false)
			require.NoError(t, err)
			assert.Equal(t, tc.want, out.Matched)
		})
	}
}

func TestSeedRuleTakesOnlyHotLeads(t *testing.T) {
	hot := `{"heat_score":8,"intent_category":"PURCHASE_INTENT","is_human":true}`
	for _, typ := range []string{"intent.engaged", "intent.unmasked", "message.opened"} {
		t.Run(typ, func(t *testing.T) {
			out, err := EvaluateDocuments([]byte(seedHook), []byte(withBase(hot, typ)), true)
			require.NoError(t, err)
			assert.False(t, out.Matched)
			assert.True(t, out.Trace.Result, "the conditions hold")
			assert.Equal(t, "the hook does not take "+typ+" events", out.Reason)
		})
	}
}

func TestHookWithoutConditionsMatchesEveryEventOfItsTypes(t *testing.T) {
	rule := []byte(`{"events":["message.*","intent.hot_lead"]}`)
	for _, tc := range []struct {
		typ  string
		want bool
	}{
		{"message.opened", true},
		{"message.bounced", true},
		{"intent.hot_lead", true},
		{"intent.engaged", false},
		{"inbound.complaint", false},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			out, err := EvaluateDocuments(rule, []byte(withBase(`{}`, tc.typ)), true)
			require.NoError(t, err)
			assert.Equal(t, tc.want, out.Matched)
			assert.Equal(t, "true", out.Expression)
			assert.Nil(t, out.Trace, "no conditions, no trace")
		})
	}
}

func TestEvaluateChecksTypeAndDomain(t *testing.T) {
	rule := []byte(`{"event":"intent.hot_lead","domain":"mail.acme.example",` +
		`"conditions":{"field":"heat_score","op":"gt","value":5}}`)
	for _, tc := range []struct {
		name   string
		event  string
		want   bool
		reason string
	}{
		{"match", `{"id":"e","type":"intent.hot_lead","domain":"Mail.Acme.Example",` +
			`"heat_score":6}`, true, ""},
		{"other type", `{"id":"e","type":"intent.engaged","domain":"mail.acme.example",` +
			`"heat_score":6}`, false, "the hook does not take intent.engaged events"},
		{"other domain", `{"id":"e","type":"intent.hot_lead","domain":"news.acme.example",` +
			`"heat_score":6}`, false,
			`the hook listens to domain "mail.acme.example", ` +
				`the event is from "news.acme.example"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := EvaluateDocuments(rule, []byte(tc.event), true)
			require.NoError(t, err)
			assert.Equal(t, tc.want, out.Matched)
			assert.Equal(t, tc.reason, out.Reason)
			require.NotNil(t, out.Trace)
			assert.True(t, out.Trace.Result, "the conditions themselves hold")
		})
	}
}

func TestEvaluateOutputShape(t *testing.T) {
	out, err := EvaluateDocuments([]byte(seedHook), []byte(withBase(`{"heat_score":8,`+
		`"intent_category":"PURCHASE_INTENT","is_human":true}`, "intent.hot_lead")), false)
	require.NoError(t, err)
	b, err := json.Marshal(out)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	assert.Len(t, m, 2, "without explain: matched and expression only")
	assert.Equal(t, true, m["matched"])
	assert.Contains(t, m["expression"], `event.?heat_score.orValue(double("NaN")) > 5.0`)
}

func TestEvaluateErrorsSayWhichDocument(t *testing.T) {
	_, err := EvaluateDocuments([]byte(`{"event":"intent.hot_lead","conditions":{"operator":`+
		`"AND","rules":[{"field":"heat_score","op":"gt","value":"high"}]}}`),
		[]byte(`{"id":"e","type":"intent.hot_lead","domain":"d"}`), false)
	assert.EqualError(t, err, "rule: conditions.rules[0].value: heat_score is a number")

	_, err = EvaluateDocuments([]byte(seedHook), []byte(`{"id":"e","type":"intent.hot_lead",`+
		`"domain":"d","heat_score":"8"}`), false)
	assert.EqualError(t, err, "event: heat_score: must be a number, not a string")

	_, err = EvaluateDocuments([]byte(seedHook), []byte(`[]`), false)
	assert.EqualError(t, err, "event: an event must be a JSON object, not an array")
}
