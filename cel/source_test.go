package cel

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSourceOfEachLeafForm(t *testing.T) {
	for _, tc := range []struct {
		name string
		tree string
		want string
	}{
		{"seed rule", `{"operator": "AND", "rules": [` +
			`{"field": "heat_score", "op": "gt", "value": 5},` +
			`{"field": "intent_category", "op": "eq", "value": "PURCHASE_INTENT"},` +
			`{"field": "is_human", "op": "eq", "value": true}]}`,
			`event.?heat_score.orValue(double("NaN")) > 5.0 && ` +
				`event.?intent_category.orValue(null) == "PURCHASE_INTENT" && ` +
				`event.?is_human.orValue(null) == true`},
		{"neq", leaf("x", "neq", 1.5), `event.?x.orValue(null) != 1.5`},
		{"in", leaf("x", "in", []any{"a", 2, true}), `event.?x.orValue(null) in ["a", 2.0, true]`},
		{"nin", leaf("x", "nin", []any{"a"}), `!(event.?x.orValue(null) in ["a"])`},
		{"exists", leaf("x", "exists", true), `event.?x.hasValue()`},
		{"not exists", leaf("x", "exists", false), `!event.?x.hasValue()`},
		{"untyped ordering", leaf("x", "lte", 3),
			`cel.bind(v, event.?x.orValue(null), type(v) == double && v <= 3.0)`},
		{"starts_with", leaf("recipient", "starts_with", "a"),
			`cel.bind(v, event.?recipient.orValue(null), type(v) == string && v.startsWith("a"))`},
		{"contains on untyped", leaf("tags", "contains", "vip"),
			`cel.bind(v, event.?tags.orValue(null), (type(v) == string && v.contains("vip")) || ` +
				`(type(v) == list && "vip" in v))`},
		{"contains number", leaf("codes", "contains", 550),
			`cel.bind(v, event.?codes.orValue(null), type(v) == list && 550.0 in v)`},
		{"timestamp", leaf("timestamp", "lt", "2026-01-01T00:00:00Z"),
			`cel.bind(v, event.?timestamp.orValue(null), type(v) == string && ` +
				`timestamp(v) < timestamp("2026-01-01T00:00:00Z"))`},
		{"odd key", leaf("smtp-id", "eq", `"q"`), `event[?"smtp-id"].orValue(null) == "\"q\""`},
		{"metadata key", leaf("metadata.campaign", "eq", "x"),
			`event.?metadata.?campaign.orValue(null) == "x"`},
		{"guarded nested key", leaf("data.kind", "eq", "x"),
			`cel.bind(p, event.?data.orValue(null), type(p) == map ? p.?kind : optional.none())` +
				`.orValue(dyn(null)) == "x"`},
		{"big exponent", leaf("x", "gt", 1e21), `cel.bind(v, event.?x.orValue(null), ` +
			`type(v) == double && v > 1e+21)`},
		{"groups", `{"operator": "OR", "rules": [` + leaf("x", "eq", 1) +
			`, {"operator": "NOT", "rules": [{"operator": "AND", "rules": [` +
			leaf("y", "eq", 1) + `,` + leaf("z", "eq", 1) + `]}]}]}`,
			`event.?x.orValue(null) == 1.0 || !(event.?y.orValue(null) == 1.0 && ` +
				`event.?z.orValue(null) == 1.0)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, mustRule(t, tc.tree).Expression())
		})
	}
}

func TestMismatchesCountTypeMismatchedFalseLeaves(t *testing.T) {
	r := mustRule(t, `{"operator": "OR", "rules": [`+
		leaf("x", "gt", 1)+`,`+ // string: mismatch
		leaf("x", "neq", 1)+`,`+ // neq is true on a mismatch: not counted
		leaf("y", "eq", "5")+`,`+ // number: mismatch
		leaf("z", "starts_with", "a")+`,`+ // missing: not a mismatch
		leaf("n", "eq", "a")+`,`+ // null: mismatch
		leaf("tags", "contains", "a")+`,`+ // list: fits
		leaf("heat_score", "gt", 1)+ // known: never counted
		`]}`)
	e := mustEvent(t, `{"x": "abc", "y": 5, "n": null, "tags": ["b"], "heat_score": 3}`)
	assert.Equal(t, 3, r.Mismatches(NewActivation(e)))
}

func TestExplainGivesEveryNodeAndAgreesWithMatch(t *testing.T) {
	r := mustRule(t, `{"operator": "AND", "rules": [`+
		leaf("heat_score", "gt", 5)+`, {"operator": "NOT", "rules": [`+
		leaf("is_human", "eq", false)+`]}, {"operator": "OR", "rules": [`+
		leaf("x", "eq", 1)+`,`+leaf("y", "exists", false)+`]}]}`)
	for _, ev := range []string{
		`{"heat_score": 8, "is_human": true}`,
		`{"heat_score": 8, "is_human": false}`,
		`{"heat_score": 2, "y": 1}`,
		`{"heat_score": 9, "y": 1, "x": 1}`,
	} {
		a := NewActivation(mustEvent(t, ev))
		tr, err := r.Explain(a)
		require.NoError(t, err)
		matched, err := r.Match(a)
		require.NoError(t, err)
		assert.Equal(t, matched, tr.Result, ev)
		require.Len(t, tr.Rules, 3)
		assert.Equal(t, !tr.Rules[1].Rules[0].Result, tr.Rules[1].Result)
		assert.Equal(t, tr.Rules[2].Rules[0].Result || tr.Rules[2].Rules[1].Result,
			tr.Rules[2].Result)
	}

	tr, err := r.Explain(NewActivation(mustEvent(t, `{"heat_score": 8, "is_human": true}`)))
	require.NoError(t, err)
	out, err := tr.MarshalJSON()
	require.NoError(t, err)
	assert.JSONEq(t, `{"operator": "AND", "result": true, "rules": [
		{"field": "heat_score", "op": "gt", "value": 5, "result": true,
		 "expression": "event.?heat_score.orValue(double(\"NaN\")) > 5.0"},
		{"operator": "NOT", "result": true, "rules": [
			{"field": "is_human", "op": "eq", "value": false, "result": false,
			 "expression": "event.?is_human.orValue(null) == false"}]},
		{"operator": "OR", "result": true, "rules": [
			{"field": "x", "op": "eq", "value": 1, "result": false,
			 "expression": "event.?x.orValue(null) == 1.0"},
			{"field": "y", "op": "exists", "value": false, "result": true,
			 "expression": "!event.?y.hasValue()"}]}]}`, string(out))
}

func TestExplainWithoutConditionsIsNil(t *testing.T) {
	r, err := Compile(nil)
	require.NoError(t, err)
	tr, err := r.Explain(NewActivation(mustEvent(t, "")))
	require.NoError(t, err)
	assert.Nil(t, tr)
}
