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
	assert.Contains(t, h.Transform, `"Hot lead: "`)
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

// Each preset meets an event that matches, and events that fail on each
// single clause.
func TestPresetsMatchAndFailOnEachClause(t *testing.T) {
	type check struct {
		name  string
		event string
		want  bool
	}
	for _, tc := range []struct {
		preset string
		checks []check
	}{
		{"slack-hot-lead", []check{
			{"match", `{"heat_score":8,"intent_category":"PURCHASE_INTENT"}`, true},
			{"heat at threshold", `{"heat_score":7,"intent_category":"PURCHASE_INTENT"}`, false},
			{"other intent", `{"heat_score":9,"intent_category":"TECHNICAL_ISSUE"}`, false},
			{"heat missing", `{"intent_category":"PURCHASE_INTENT"}`, false},
		}},
		{"crm-engagement-sync", []check{
			{"match", `{"dwell_seconds":31,"is_human":true}`, true},
			{"short dwell", `{"dwell_seconds":30,"is_human":true}`, false},
			{"machine open", `{"dwell_seconds":45,"is_human":false}`, false},
			{"is_human unknown", `{"dwell_seconds":45}`, false},
		}},
		{"zapier-unmasked", []check{
			{"match", `{"confidence":0.81}`, true},
			{"at threshold", `{"confidence":0.8}`, false},
			{"missing", `{}`, false},
		}},
		{"support-escalation", []check{
			{"match", `{"urgency":4,"intent_category":"TECHNICAL_ISSUE"}`, true},
			{"low urgency", `{"urgency":3,"intent_category":"TECHNICAL_ISSUE"}`, false},
			{"other intent", `{"urgency":5,"intent_category":"PURCHASE_INTENT"}`, false},
		}},
	} {
		h, err := Parse([]byte(`{"preset":"` + tc.preset + `","url":"https://x"}`))
		require.NoError(t, err)
		c, err := Compile(h, 0)
		require.NoError(t, err)
		for _, ch := range tc.checks {
			t.Run(tc.preset+"/"+ch.name, func(t *testing.T) {
				e := mustEvent(t, withBase(ch.event, h.Event))
				out, err := Evaluate(c, e, false)
				require.NoError(t, err)
				assert.Equal(t, ch.want, out.Matched)
			})
		}
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
