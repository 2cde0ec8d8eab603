package hook

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPresetsFillWhatTheDocumentLacks(t *testing.T) {
	h, err := Parse([]byte(`{"preset":"slack-hot-lead","url":"https://hooks.slack.example/T1"}`))
	require.NoError(t, err)
	assert.Equal(t, "intent.hot_lead", h.Event)
	assert.Equal(t, "POST", h.Method)
	assert.Equal(t, `{"text": "Hot lead: " + event.recipient + " (heat " + `+
		`string(event.heat_score) + ")"}`, h.Transform)
	require.NotNil(t, h.Conditions)

	h, err = Parse([]byte(`{"preset":"crm-engagement-sync","url":"https://x","method":"PUT",` +
		`"conditions":{"field":"dwell_seconds","op":"gt","value":60}}`))
	require.NoError(t, err)
	assert.Equal(t, "PUT", h.Method, "the request overrides the preset")
	assert.Equal(t, "dwell_seconds", h.Conditions.Field)
	assert.Equal(t, "message.opened", h.Event)

	h, err = Parse([]byte(`{"preset":"zapier-unmasked","url":"https://x",` +
		`"events":["intent.unmasked","intent.engaged"]}`))
	require.NoError(t, err, "a preset supplies event only when the document has no events")
	assert.Empty(t, h.Event)
	assert.Len(t, h.Types(), 2)

	_, err = Parse([]byte(`{"preset":"zapier-unmasked"}`))
	assert.ErrorContains(t, err, "url: required", "presets never supply the destination")
}

func TestEveryPresetIsAValidHook(t *testing.T) {
	require.Len(t, Presets(), 4)
	for _, p := range Presets() {
		t.Run(p.Name, func(t *testing.T) {
			h, err := Parse([]byte(`{"preset":"` + p.Name + `","url":"https://x"}`))
			require.NoError(t, err)
			_, err = Compile(h, 0)
			require.NoError(t, err)
			assert.NotEmpty(t, p.Description)
		})
	}
}

// Each preset meets events that match, and events that fail on each single
// clause of its conditions (DESIGN §4.5): at the threshold, just past it
// (so that > and >= are told apart), with the field missing, and with an
// event type the preset does not take.
func TestPresetsMatchAndFailOnEachClause(t *testing.T) {
	type check struct {
		name  string
		event string
		want  bool
		typ   string // the event type when not the preset's
	}
	for _, tc := range []struct {
		preset string
		checks []check
	}{
		{"slack-hot-lead", []check{
			{"match", `{"heat_score":8,"intent_category":"PURCHASE_INTENT"}`, true, ""},
			{"heat just over 7", `{"heat_score":7.01,"intent_category":"PURCHASE_INTENT"}`,
				true, ""},
			{"heat at threshold", `{"heat_score":7,"intent_category":"PURCHASE_INTENT"}`,
				false, ""},
			{"heat missing", `{"intent_category":"PURCHASE_INTENT"}`, false, ""},
			{"other intent", `{"heat_score":9,"intent_category":"TECHNICAL_ISSUE"}`, false, ""},
			{"intent in lower case", `{"heat_score":9,"intent_category":"purchase_intent"}`,
				false, ""},
			{"intent missing", `{"heat_score":9}`, false, ""},
			{"other type", `{"heat_score":9,"intent_category":"PURCHASE_INTENT"}`, false,
				"intent.engaged"},
		}},
		{"crm-engagement-sync", []check{
			{"match", `{"dwell_seconds":31,"is_human":true}`, true, ""},
			{"dwell just over 30", `{"dwell_seconds":30.5,"is_human":true}`, true, ""},
			{"dwell at threshold", `{"dwell_seconds":30,"is_human":true}`, false, ""},
			{"dwell missing", `{"is_human":true}`, false, ""},
			{"machine open", `{"dwell_seconds":45,"is_human":false}`, false, ""},
			{"is_human unknown", `{"dwell_seconds":45}`, false, ""},
			{"other type", `{"dwell_seconds":45,"is_human":true}`, false, "message.clicked"},
		}},
		{"zapier-unmasked", []check{
			{"match", `{"confidence":0.81}`, true, ""},
			{"certain", `{"confidence":1}`, true, ""},
			{"at threshold", `{"confidence":0.8}`, false, ""},
			{"missing", `{}`, false, ""},
			{"other type", `{"confidence":0.9}`, false, "intent.hot_lead"},
		}},
		{"support-escalation", []check{
			{"match", `{"urgency":4,"intent_category":"TECHNICAL_ISSUE"}`, true, ""},
			{"most urgent", `{"urgency":5,"intent_category":"TECHNICAL_ISSUE"}`, true, ""},
			{"urgency between 3 and 4", `{"urgency":3.5,"intent_category":"TECHNICAL_ISSUE"}`,
				false, ""},
			{"low urgency", `{"urgency":3,"intent_category":"TECHNICAL_ISSUE"}`, false, ""},
			{"urgency missing", `{"intent_category":"TECHNICAL_ISSUE"}`, false, ""},
			{"other intent", `{"urgency":5,"intent_category":"PURCHASE_INTENT"}`, false, ""},
			{"intent missing", `{"urgency":5}`, false, ""},
			{"other type", `{"urgency":5,"intent_category":"TECHNICAL_ISSUE"}`, false,
				"message.opened"},
		}},
	} {
		h, err := Parse([]byte(`{"preset":"` + tc.preset + `","url":"https://x"}`))
		require.NoError(t, err)
		c, err := Compile(h, 0)
		require.NoError(t, err)
		for _, ch := range tc.checks {
			t.Run(tc.preset+"/"+ch.name, func(t *testing.T) {
				typ := h.Event
				if ch.typ != "" {
					typ = ch.typ
				}
				e := mustEvent(t, withBase(ch.event, typ))
				out, err := Evaluate(c, e, false)
				require.NoError(t, err)
				assert.Equal(t, ch.want, out.Matched)
			})
		}
	}
}

// The presets fill event, conditions and request as DESIGN §4.5 lists them.
func TestPresetsFillTheDesignsEventConditionsAndMethod(t *testing.T) {
	for _, tc := range []struct {
		preset, event, expression, method string
		transform                         bool
	}{
		{"slack-hot-lead", "intent.hot_lead",
			`event.?heat_score.orValue(double("NaN")) > 7.0 && ` +
				`event.?intent_category.orValue(null) == "PURCHASE_INTENT"`, "POST", true},
		{"crm-engagement-sync", "message.opened", `event.?dwell_seconds.orValue(double("NaN")) ` +
			`> 30.0 && event.?is_human.orValue(null) == true`, "PATCH", false},
		{"zapier-unmasked", "intent.unmasked",
			`event.?confidence.orValue(double("NaN")) > 0.8`, "POST", false},
		{"support-escalation", "intent.engaged", `event.?urgency.orValue(double("NaN")) >= 4.0 ` +
			`&& event.?intent_category.orValue(null) == "TECHNICAL_ISSUE"`, "POST", false},
	} {
		t.Run(tc.preset, func(t *testing.T) {
			c := compiled(t, `{"preset":"`+tc.preset+`","url":"https://x"}`)
			assert.Equal(t, tc.event, c.Event)
			assert.Equal(t, tc.expression, c.Rule.Expression())
			assert.Equal(t, tc.method, c.Method)
			assert.Equal(t, tc.transform, c.Transform != nil)
		})
	}
}

func TestSlackPresetTransform(t *testing.T) {
	h, err := Parse([]byte(`{"preset":"slack-hot-lead","url":"https://x"}`))
	require.NoError(t, err)
	c, err := Compile(h, 0)
	require.NoError(t, err)
	e := mustEvent(t, withBase(`{"recipient":"jo@acme.example","heat_score":9}`, h.Event))
	body, err := c.Transform.Apply(activation(e))
	require.NoError(t, err)
	assert.Equal(t, `{"text":"Hot lead: jo@acme.example (heat 9)"}`, string(body))
}

// withBase adds an id, a type and a domain to an event's fields.
func withBase(fields, typ string) string {
	base := `{"id":"evt_1","type":"` + typ + `","domain":"mail.acme.example"`
	if fields == "{}" {
		return base + "}"
	}
	return base + "," + fields[1:]
}
