package cel

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hookgate/hookgate/event"
)

func TestFieldSlotsCoverEveryKnownField(t *testing.T) {
	assert.Len(t, fieldSlots, numFieldSlots)
	for name := range event.KnownFields() {
		assert.GreaterOrEqual(t, slotOf(name), 0, name)
	}
	assert.Equal(t, -1, slotOf("smtp-id"))
}

func TestSeedRuleAllocatesNothingOnceTheFieldsAreRead(t *testing.T) {
	// Nothing is compiled, converted or wrapped per evaluation: after the
	// first rule has read the fields, the seed rule runs without allocating.
	r := mustRule(t, seedTree)
	a := NewActivation(mustEvent(t, `{"heat_score": 8, "intent_category": "PURCHASE_INTENT",`+
		`"is_human": true}`))
	ok, err := r.Match(a)
	require.NoError(t, err)
	require.True(t, ok)

	allocs := testing.AllocsPerRun(100, func() {
		if _, err := r.Match(a); err != nil {
			t.Fatal(err)
		}
	})

	assert.Zero(t, allocs)
}

func TestSelectFieldAgreesWithTheGeneralAttribute(t *testing.T) {
	// Rule programs read event.?key through selectField when given an
	// Activation and through cel-go's general attribute otherwise.
	e := mustEvent(t, `{"heat_score": 8, "tags": ["a"], "data": {"kind": "hard"}, "n": null}`)
	for _, tree := range []string{
		seedTree,
		leaf("heat_score", "gte", 8),
		leaf("tags", "contains", "a"),
		leaf("data.kind", "eq", "hard"),
		leaf("n", "exists", true),
		leaf("missing", "exists", false),
		leaf("missing", "neq", 1),
	} {
		t.Run(tree, func(t *testing.T) {
			r := mustRule(t, tree)
			special, err := r.Match(NewActivation(e))
			require.NoError(t, err)

			out, _, err := r.program.Eval(map[string]any{"event": e.Fields()})
			require.NoError(t, err)

			assert.Equal(t, out.Value(), special)
		})
	}
}

// seedTree is the conditions of the seed rule of DESIGN §4.1.
const seedTree = `{"operator": "AND", "rules": [` +
	`{"field": "heat_score", "op": "gt", "value": 5},` +
	`{"field": "intent_category", "op": "eq", "value": "PURCHASE_INTENT"},` +
	`{"field": "is_human", "op": "eq", "value": true}]}`
