package cel

import (
	"fmt"
	"math"
	"testing"

	"github.com/google/cel-go/common/types"
	"github.com/stretchr/testify/require"
)

// trickyValues are field values chosen to split fused nodes from cel-go's
// general nodes: float edge cases (NaN and infinities reach rules only
// through an activation built by hand, never through a validated event),
// strings that look like other types or need escaping, and containers
// holding the same.
var trickyValues = []struct {
	name  string
	value any
	json  bool // a validated event can hold it
}{
	{"NaN", math.NaN(), false},
	{"+Inf", math.Inf(1), false},
	{"-Inf", math.Inf(-1), false},
	{"-0", negativeZero(), true},
	{"0", 0.0, true},
	{"2^53+1 as a float", float64(1<<53 + 1), true},
	{"max float", math.MaxFloat64, true},
	{"smallest float", math.SmallestNonzeroFloat64, true},
	{"empty string", "", true},
	{"quote", `"`, true},
	{"backslash quote", `\"`, true},
	{"composed é", "\u00e9", true},
	{"decomposed é", "e\u0301", true},
	{"NUL", "\x00", true},
	{"emoji", "😀", true},
	{"true as a string", "true", true},
	{"5 as a string", "5", true},
	{"timestamp string", "2026-01-01T00:00:00Z", true},
	{"true", true, true},
	{"false", false, true},
	{"null", nil, true},
	{"empty array", []any{}, true},
	{"array of null", []any{nil}, true},
	{"array of NaN", []any{math.NaN()}, false},
	{"array of -0", []any{negativeZero()}, true},
	{"nested array", []any{[]any{"é"}}, true},
	{"array of mixed", []any{"5", 5.0, true, map[string]any{}}, true},
	{"empty object", map[string]any{}, true},
	{"object with null", map[string]any{"k": nil}, true},
	{"object with key", map[string]any{"k": "é"}, true},
}

// trickyLeaves are leaves whose literals meet the tricky values: zeros of
// both signs, a big integer that rounds, strings that need quoting.
func trickyLeaves() []string {
	literals := []any{
		0, negativeZero(), 1<<53 + 1, math.MaxFloat64, "", `"`, "\u00e9", "e\u0301", "\x00",
		"😀", "5", "true", true, false,
	}
	var leaves []string
	for _, field := range []string{"x", "x.k", "metadata.k", "heat_score", "recipient"} {
		for _, lit := range literals {
			for _, op := range []string{"eq", "neq", "contains", "starts_with", "ends_with",
				"matches", "gt", "gte", "lt", "lte"} {
				leaves = append(leaves, leaf(field, op, lit))
			}
			leaves = append(leaves, leaf(field, "in", []any{lit}),
				leaf(field, "nin", []any{lit, "x"}))
		}
		leaves = append(leaves, leaf(field, "exists", true), leaf(field, "exists", false))
	}
	return leaves
}

func TestFusedAndGeneralNodesAgreeOnTrickyValues(t *testing.T) {
	checked := 0
	for _, tree := range trickyLeaves() {
		c, err := parseTree(t, tree)
		if err != nil {
			continue // e.g. heat_score eq "5", or starts_with a number
		}
		for _, wrapped := range []string{tree, group("NOT", tree),
			group("OR", tree, leaf("y", "exists", true)),
			group("AND", group("NOT", tree), leaf("y", "neq", 1))} {
			r := mustRule(t, wrapped)
			general, err := plan(r.Expression(), false)
			require.NoError(t, err)
			walk := baseline(t, r)
			for _, v := range trickyValues {
				for _, ev := range trickyEvents(c, v.value, v.json) {
					msg := fmt.Sprintf("%s on %s: %v", r.Expression(), v.name, ev.fields)
					want, _, _ := general.Eval(&activationOf(ev.fields).frame)

					a := activationOf(ev.fields)
					got, _, _ := r.program.Eval(&a.frame)
					requireSameResult(t, want, got, msg)
					_, _ = r.Match(a)
					_, _ = r.Match(a) // the later rules of an activation
					again, _, _ := r.program.Eval(&a.frame)
					requireSameResult(t, want, again, msg+" (cached lookups)")

					if ev.valid {
						require.False(t, types.IsError(got), "%s: %v", msg, got)
						require.Equal(t, walk.Eval(ev.fields), got == types.True,
							"tree walk: %s", msg)
					}
					checked++
				}
			}
		}
	}
	require.Positive(t, checked)
}

// trickyEvent is the fields of an event; valid when a validated event could
// hold them.
type trickyEvent struct {
	fields map[string]any
	valid  bool
}

// trickyEvents returns events that hold v as the leaf's field and, for a
// nested field, as each step before it.
func trickyEvents(c *Condition, v any, json bool) []trickyEvent {
	valid := json && (c.kind == "" || c.kind == jsonKind(v))
	events := []trickyEvent{{fieldAt(c.path, v), valid}}
	for i := 1; i < len(c.path); i++ {
		_, isObject := v.(map[string]any)
		valid := json && (c.path[0] != "metadata" || isObject)
		events = append(events, trickyEvent{fieldAt(c.path[:i], v), valid})
	}
	return events
}
