package cel

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hookgate/hookgate/event"
)

func TestValidationNamesTheJSONPath(t *testing.T) {
	for _, tc := range []struct {
		name string
		tree string
		err  string
	}{
		{"wrong value type for known number",
			`{"operator": "AND", "rules": [{"field": "heat_score", "op": "gt", "value": "high"}]}`,
			"conditions.rules[0].value: heat_score is a number"},
		{"eq string on known number", leaf("heat_score", "eq", "8"),
			"conditions.value: heat_score is a number"},
		{"eq number on known string", leaf("intent_category", "eq", 1),
			"conditions.value: intent_category is a string"},
		{"in with wrong item type", leaf("is_human", "in", []any{true, "yes"}),
			"conditions.value[1]: is_human is a boolean"},
		{"gt on known string", leaf("recipient", "gt", 1),
			"conditions.op: gt does not apply to recipient, which is a string"},
		{"contains on known number", leaf("urgency", "contains", 1),
			"conditions.op: contains does not apply to urgency, which is a number"},
		{"ordering on bool", leaf("is_human", "lt", 1),
			"conditions.op: lt does not apply to is_human, which is a boolean"},
		{"eq on metadata", leaf("metadata", "eq", "x"),
			"conditions.op: eq does not apply to metadata, which is an object"},
		{"key under a number", leaf("heat_score.x", "eq", 1),
			"conditions.field: heat_score is a number and has no keys"},
		{"timestamp not RFC 3339", leaf("timestamp", "gt", "yesterday"),
			`conditions.value: timestamp is an RFC 3339 string; "yesterday" is not one`},
		{"timestamp number", leaf("timestamp", "gt", 1733230000),
			"conditions.value: timestamp is an RFC 3339 string"},
		{"gt string on untyped", leaf("x", "gt", "5"),
			"conditions.value: gt takes a number, not a string"},
		{"null value", `{"field": "x", "op": "eq", "value": null}`,
			"conditions.value: null is never a valid rule value; use the exists operator"},
		{"null in list", leaf("x", "in", []any{"a", nil}),
			"conditions.value[1]: null is never a valid rule value"},
		{"missing value", `{"field": "x", "op": "eq"}`, "conditions.value: required"},
		{"object value", leaf("x", "eq", map[string]any{}),
			"conditions.value: must be a string, number or boolean, not an object"},
		{"array value for eq", leaf("x", "eq", []any{1}),
			"conditions.value: must be a string, number or boolean, not an array"},
		{"nested list in in", leaf("x", "in", []any{[]any{1}}),
			"conditions.value[0]: must be a string, number or boolean, not an array"},
		{"empty in list", leaf("x", "in", []any{}),
			"conditions.value: in takes a non-empty array"},
		{"nin scalar", leaf("x", "nin", "a"),
			"conditions.value: nin takes an array, not a string"},
		{"exists not bool", leaf("x", "exists", "yes"),
			"conditions.value: exists takes true or false, not a string"},
		{"starts_with number", leaf("x", "starts_with", 1),
			"conditions.value: starts_with takes a string, not a number"},
		{"bad regexp", leaf("x", "matches", "a("),
			"conditions.value: invalid regular expression: error parsing regexp"},
		{"unknown op", leaf("x", "like", "a"), `conditions.op: unknown operator "like"`},
		{"op not a string", `{"field": "x", "op": 1, "value": 1}`,
			"conditions.op: must be one of"},
		{"unknown group operator", `{"operator": "XOR", "rules": [` + leaf("x", "eq", 1) + `]}`,
			`conditions.operator: must be AND, OR or NOT, not "XOR"`},
		{"NOT with two rules", `{"operator": "NOT", "rules": [` + leaf("x", "eq", 1) + `,` +
			leaf("x", "eq", 2) + `]}`, "conditions.rules: NOT takes exactly one rule, not 2"},
		{"NOT with none", `{"operator": "NOT", "rules": []}`,
			"conditions.rules: NOT takes exactly one rule, not 0"},
		{"AND with none", `{"operator": "AND", "rules": []}`,
			"conditions.rules: AND takes at least one rule"},
		{"OR with none", `{"operator": "OR", "rules": []}`,
			"conditions.rules: OR takes at least one rule"},
		{"operator not a string", `{"operator": 1, "rules": [` + leaf("x", "eq", 1) + `]}`,
			"conditions.operator: must be AND, OR or NOT"},
		{"rules without operator", `{"rules": [` + leaf("x", "eq", 1) + `]}`,
			"conditions.operator: must be AND, OR or NOT"},
		{"empty nin list", leaf("x", "nin", []any{}),
			"conditions.value: nin takes a non-empty array"},
		{"ends_with bool", leaf("x", "ends_with", true),
			"conditions.value: ends_with takes a string, not a boolean"},
		{"matches number", leaf("x", "matches", 1),
			"conditions.value: matches takes a string, not a number"},
		{"gt bool on untyped", leaf("x", "lte", false),
			"conditions.value: lte takes a number, not a boolean"},
		{"contains array value", leaf("x", "contains", []any{"a"}),
			"conditions.value: must be a string, number or boolean, not an array"},
		{"contains object value", leaf("x", "contains", map[string]any{"a": 1}),
			"conditions.value: must be a string, number or boolean, not an object"},
		{"exists null", `{"field": "x", "op": "exists", "value": null}`,
			"conditions.value: null is never a valid rule value"},
		{"in object item", leaf("x", "in", []any{"a", map[string]any{}}),
			"conditions.value[1]: must be a string, number or boolean, not an object"},
		{"rules not array", `{"operator": "OR", "rules": {}}`,
			"conditions.rules: must be an array of rules"},
		{"leaf and group keys", `{"operator": "AND", "field": "x"}`,
			"conditions: has both a group's operator/rules and a leaf's field"},
		{"neither", `{"op": "eq"}`, "conditions: must be a group"},
		{"not an object", `[1]`,
			"conditions: must be an object (a group or a leaf), not an array"},
		{"unknown leaf key", `{"field": "x", "op": "eq", "value": 1, "values": 2}`,
			`conditions: unknown key "values"`},
		{"unknown group key", `{"operator": "AND", "rules": [` + leaf("x", "eq", 1) +
			`], "rule": []}`, `conditions: unknown key "rule"`},
		{"empty field", leaf("", "eq", 1), "conditions.field: must not be empty"},
		{"empty key in path", leaf("a..b", "eq", 1), `conditions.field: "a..b" has an empty key`},
		{"trailing dot", leaf("a.", "eq", 1), `conditions.field: "a." has an empty key`},
		{"field not string", `{"field": 1, "op": "eq", "value": 1}`,
			"conditions.field: must be a dotted path string, not a number"},
		{"huge number", `{"field": "x", "op": "eq", "value": 1e400}`,
			"conditions.value: number 1e400 is out of range"},
		{"invalid leaf skipped at evaluation is still invalid",
			`{"operator": "OR", "rules": [` + leaf("x", "exists", false) + `,` +
				leaf("x", "matches", "(") + `]}`,
			"conditions.rules[1].value: invalid regular expression"},
		{"deep path to a bad leaf",
			`{"operator": "AND", "rules": [` + leaf("x", "eq", 1) +
				`, {"operator": "or", "rules": [` + leaf("x", "eq", 1) + `,` +
				leaf("heat_score", "gt", true) + `]}]}`,
			"conditions.rules[1].rules[1].value: heat_score is a number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseTree(t, tc.tree)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.err)
		})
	}
}

func TestLimits(t *testing.T) {
	x := leaf("x", "eq", 1)
	many := func(n int, item string) string {
		return strings.TrimSuffix(strings.Repeat(item+",", n), ",")
	}
	list := func(op string, n int) string {
		items := make([]any, n)
		for i := range items {
			items[i] = i
		}
		return leaf("x", op, items)
	}
	for _, tc := range []struct {
		name string
		tree string
		err  string // empty when valid
	}{
		{"16 nested groups", nest(16, x), ""},
		{"17 nested groups", nest(17, x), "groups nest deeper than 16 levels"},
		{"256 leaves", `{"operator": "OR", "rules": [` + many(256, x) + `]}`, ""},
		{"257 leaves", `{"operator": "OR", "rules": [` + many(257, x) + `]}`,
			"conditions.rules[256]: the tree has more than 256 leaves"},
		{"1024 list items", list("in", 1024), ""},
		{"1025 list items", list("in", 1025),
			"conditions.value: has 1025 items, over the limit of 1024"},
		{"1024 nin items", list("nin", 1024), ""},
		{"1025 nin items", list("nin", 1025),
			"conditions.value: has 1025 items, over the limit of 1024"},
		{"256 leaves across nested groups", `{"operator": "AND", "rules": [` +
			`{"operator": "OR", "rules": [` + many(128, x) + `]},` +
			`{"operator": "NOT", "rules": [{"operator": "OR", "rules": [` + many(128, x) +
			`]}]}]}`, ""},
		{"257 leaves across nested groups", `{"operator": "AND", "rules": [` +
			`{"operator": "OR", "rules": [` + many(128, x) + `]},` +
			`{"operator": "OR", "rules": [` + many(129, x) + `]}]}`,
			"conditions.rules[1].rules[128]: the tree has more than 256 leaves"},
		{"17 groups nested inside OR and NOT", nestMixed(17, x),
			"groups nest deeper than 16 levels"},
		{"16 groups nested inside OR and NOT", nestMixed(16, x), ""},
		{"16 keys in a path", leaf(keys(16), "contains", "x"), ""},
		{"17 keys in a path", leaf(keys(17), "exists", true),
			"conditions.field: has 17 keys, over the limit of 16"},
		{"16 keys in a path 16 groups deep", nestMixed(16, leaf(keys(16), "contains", "x")),
			""},
		{"earliest timestamp", leaf("timestamp", "gte", "0001-01-01T00:00:00Z"), ""},
		{"latest timestamp", leaf("timestamp", "lte", "9999-12-31T23:59:59.999999999Z"), ""},
		{"timestamp before year 1", leaf("timestamp", "gt", "0000-12-31T23:59:59Z"),
			`conditions.value: "0000-12-31T23:59:59Z" is outside the years 0001 to 9999`},
		{"timestamp offset before year 1", leaf("timestamp", "eq", "0001-01-01T00:30:00+01:00"),
			`conditions.value: "0001-01-01T00:30:00+01:00" is outside the years 0001 to 9999`},
		{"timestamp offset after year 9999", leaf("timestamp", "in", []any{
			"2026-01-01T00:00:00Z", "9999-12-31T23:00:00-01:30"}),
			`conditions.value[1]: "9999-12-31T23:00:00-01:30" is outside the years 0001 to 9999`},
		{"long field path", leaf(strings.Repeat("a", MaxStringValue+1), "exists", true),
			"conditions.field: is 4097 bytes, over the limit of 4096"},
		{"long list item", leaf("x", "in", []any{strings.Repeat("a", MaxStringValue+1)}),
			"conditions.value[0]: is 4097 bytes, over the limit of 4096"},
		{"long string", leaf("x", "eq", strings.Repeat("a", MaxStringValue+1)),
			"conditions.value: is 4097 bytes, over the limit of 4096"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseTree(t, tc.tree)
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			_, err = Compile(c)
			assert.NoError(t, err)
		})
	}
}

func TestLargestTreeCompiles(t *testing.T) {
	// 256 leaves, each an `in` over 1,024 strings, is within every limit of
	// the tree but over the size bound of the compiled source.
	items := make([]any, MaxListItems)
	for i := range items {
		items[i] = strings.Repeat("v", 8) + string(rune('a'+i%26))
	}
	l := leaf("x", "in", items)
	c, err := parseTree(t, `{"operator": "AND", "rules": [`+
		strings.TrimSuffix(strings.Repeat(l+",", MaxLeaves), ",")+`]}`)
	require.NoError(t, err)
	_, err = Compile(c)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "over the limit of 1048576")
}

func TestHandBuiltTreeIsRefused(t *testing.T) {
	_, err := Compile(&Condition{Field: "x", Op: OpEq, Value: 1.0})
	assert.ErrorContains(t, err, "not built by ParseConditions")
}

func TestConditionRoundTripsThroughJSON(t *testing.T) {
	src := `{"operator":"AND","rules":[{"field":"heat_score","op":"gt","value":5},` +
		`{"operator":"NOT","rules":[{"field":"x","op":"in","value":["a",1,false]}]}]}`
	var c Condition
	require.NoError(t, c.UnmarshalJSON([]byte(src)))
	out, err := c.MarshalJSON()
	require.NoError(t, err)
	assert.JSONEq(t, src, string(out))

	lower := `{"operator":"or","rules":[{"field":"x","op":"GTE","value":1}]}`
	require.NoError(t, c.UnmarshalJSON([]byte(lower)))
	out, _ = c.MarshalJSON()
	assert.JSONEq(t, `{"operator":"OR","rules":[{"field":"x","op":"gte","value":1}]}`, string(out))
}

// keys returns a field path of n keys.
func keys(n int) string { return strings.TrimSuffix(strings.Repeat("k.", n), ".") }

// nestMixed wraps a leaf in depth groups, cycling through NOT, OR and AND.
func nestMixed(depth int, inner string) string {
	ops := []string{"NOT", "OR", "AND"}
	for i := range depth {
		inner = `{"operator": "` + ops[i%3] + `", "rules": [` + inner + `]}`
	}
	return inner
}

// A rule value that can never match a known field's type is refused, for
// every known field, with the JSON path of the leaf.
func TestEveryKnownFieldRefusesValuesOfAnotherType(t *testing.T) {
	samples := map[event.Kind]any{
		event.KindString: "s", event.KindNumber: 1.5, event.KindBool: true,
	}
	for name, kind := range event.KnownFields() {
		for valueKind, v := range samples {
			if valueKind == kind || kind == event.KindTimestamp && valueKind == event.KindString {
				continue // a timestamp is a string; TestValidationNamesTheJSONPath has more
			}
			t.Run(name+" eq "+string(valueKind), func(t *testing.T) {
				tree := `{"operator": "OR", "rules": [` + leaf("x", "exists", true) + `,` +
					leaf(name, "eq", v) + `]}`
				_, err := parseTree(t, tree)
				require.Error(t, err)
				switch kind {
				case event.KindObject:
					assert.EqualError(t, err, "conditions.rules[1].op: eq does not apply to "+
						name+", which is an object")
				case event.KindTimestamp:
					assert.EqualError(t, err,
						"conditions.rules[1].value: timestamp is an RFC 3339 string")
				default:
					assert.EqualError(t, err, fmt.Sprintf("conditions.rules[1].value: %s is a %s",
						name, article(kind)[2:]))
				}
			})
		}
	}
}

func TestEveryKnownFieldTakesValuesOfItsType(t *testing.T) {
	samples := map[event.Kind]any{
		event.KindString: "s", event.KindNumber: 1.5, event.KindBool: true,
		event.KindTimestamp: "2026-12-03T10:00:00Z",
	}
	for name, kind := range event.KnownFields() {
		op, v := "eq", samples[kind]
		if kind == event.KindObject {
			op, v = "exists", true
		}
		t.Run(name, func(t *testing.T) {
			_, err := parseTree(t, leaf(name, op, v))
			assert.NoError(t, err)
		})
	}
}
