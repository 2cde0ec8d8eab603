package hook

import (
	"encoding/json"
	"sort"
)

// Preset is a recipe for a common hook: the event, conditions, method and
// transform it fills into a hook document that lacks them.
type Preset struct {
	// Name is what a hook document names in its "preset" field.
	Name string `json:"name"`

	// Description says what the preset is for, for lists and the dashboard.
	Description string `json:"description"`

	// Document holds the fields the preset supplies, as JSON.
	Document json.RawMessage `json:"document"`
}

// presets are the recipes hookgate ships with.
var presets = map[string]Preset{
	"slack-hot-lead": {
		Name:        "slack-hot-lead",
		Description: "Post hot purchase-intent leads to a Slack incoming webhook.",
		Document: json.RawMessage(`{
			"event": "intent.hot_lead",
			"conditions": {"operator": "AND", "rules": [
				{"field": "heat_score", "op": "gt", "value": 7},
				{"field": "intent_category", "op": "eq", "value": "PURCHASE_INTENT"}
			]},
			"method": "POST",
			"transform": "{\"text\": \"Hot lead: \" + event.recipient + ` +
			`\" (heat \" + string(event.heat_score) + \")\"}"
		}`),
	},
	"crm-engagement-sync": {
		Name:        "crm-engagement-sync",
		Description: "Sync long, human opens to a CRM record.",
		Document: json.RawMessage(`{
			"event": "message.opened",
			"conditions": {"operator": "AND", "rules": [
				{"field": "dwell_seconds", "op": "gt", "value": 30},
				{"field": "is_human", "op": "eq", "value": true}
			]},
			"method": "PATCH"
		}`),
	},
	"zapier-unmasked": {
		Name:        "zapier-unmasked",
		Description: "Send confidently unmasked visitors to a Zapier catch hook.",
		Document: json.RawMessage(`{
			"event": "intent.unmasked",
			"conditions": {"operator": "AND", "rules": [
				{"field": "confidence", "op": "gt", "value": 0.8}
			]},
			"method": "POST"
		}`),
	},
	"support-escalation": {
		Name:        "support-escalation",
		Description: "Escalate urgent technical issues to a support queue.",
		Document: json.RawMessage(`{
			"event": "intent.engaged",
			"conditions": {"operator": "AND", "rules": [
				{"field": "urgency", "op": "gte", "value": 4},
				{"field": "intent_category", "op": "eq", "value": "TECHNICAL_ISSUE"}
			]},
			"method": "POST"
		}`),
	},
}

// Presets returns every preset, sorted by name.
func Presets() []Preset {
	out := make([]Preset, 0, len(presets))
	for _, p := range presets {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// LookupPreset returns the preset of that name.
func LookupPreset(name string) (Preset, bool) {
	p, ok := presets[name]
	return p, ok
}

// applyPreset fills the fields of doc that the preset supplies and doc lacks.
// The event comes from the preset only when doc has neither event nor events.
func applyPreset(doc map[string]any, p Preset) error {
	var fill map[string]any
	if err := decodeInto(p.Document, &fill); err != nil {
		return err
	}
	for key, v := range fill {
		if _, ok := doc[key]; ok {
			continue
		}
		if key == "event" {
			if _, ok := doc["events"]; ok {
				continue
			}
		}
		doc[key] = v
	}
	return nil
}
