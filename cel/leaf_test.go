package cel

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// absent, as a value, leaves the field out of a test event.
var absent = struct{ absent bool }{true}

// jsonValues are a field's values of every JSON type, the field missing, and
// a number as a decoder that keeps numbers exact would give it, which a
// decoded event should not hold.
var jsonValues = []struct {
	name  string
	value any
}{
	{"missing", absent},
	{"null", nil},
	{"string", "abc"},
	{"matching string", "PURCHASE_INTENT"},
	{"empty string", ""},
	{"number", 5.0},
	{"greater number", 8.5},
	{"negative zero", negativeZero()},
	{"true", true},
	{"false", false},
	{"object", map[string]any{"kind": "abc", "campaign": 5.0}},
	{"empty object", map[string]any{}},
	{"timestamp", "2026-01-01T00:00:00Z"},
	{"array", []any{"abc", 5.0, true}},
	{"array of other types", []any{nil, map[string]any{"abc": 5.0}, []any{"abc", 5.0}, "5"}},
	{"empty array", []any{}},
	{"json.Number", json.Number("5")},
}

func negativeZero() float64 {
	zero := 0.0
	return -zero
}

// fieldAt returns the fields of an event that holds v at the path; absent
// leaves the last key out.
func fieldAt(path []string, v any) map[string]any {
	fields := map[string]any{"id": "evt_1", "type": "message.opened"}
	m := fields
	for _, key := range path[:len(path)-1] {
		next := map[string]any{}
		m[key] = next
		m = next
	}
	if v != absent {
		m[path[len(path)-1]] = v
	}
	return fields
}

// fusedCases are leaves of each form Source writes on fields of each kind:
// untyped, known number, string, boolean and timestamp, odd keys, and nested
// paths guarded and not. Combinations validation refuses are skipped.
func fusedCases() []string {
	fields := []string{
		"x", "heat_score", "intent_category", "is_human", "timestamp", "smtp-id",
		"metadata.campaign", "data.kind", "data.a.b", "metadata.crm.stage",
	}
	type opValue struct {
		op    string
		value any
	}
	var ops []opValue
	for _, v := range []any{"abc", 5, true, false, 0} {
		ops = append(ops, opValue{"eq", v}, opValue{"neq", v})
	}
	for _, op := range []string{"gt", "gte", "lt", "lte"} {
		ops = append(ops, opValue{op, 5}, opValue{op, 0})
	}
	list := []any{"abc", 5, true}
	ops = append(ops, opValue{"in", list}, opValue{"nin", list}, opValue{"in", []any{false}},
		opValue{"exists", true}, opValue{"exists", false})
	for _, v := range []any{"ab", "bc", "b", "", 5, true} {
		ops = append(ops, opValue{"contains", v})
	}
	ops = append(ops, opValue{"starts_with", "ab"}, opValue{"starts_with", ""},
		opValue{"ends_with", "bc"}, opValue{"matches", "^a.c$"}, opValue{"matches", "b"})
	for _, op := range []string{"eq", "neq", "gt", "lte"} {
		ops = append(ops, opValue{op, "2026-01-01T00:00:00Z"})
	}
	ops = append(ops, opValue{"in", []any{"2026-01-01T00:00:00Z"}},
		opValue{"nin", []any{"2026-01-01T01:00:00+01:00"}})

	var trees []string
	for _, f := range fields {
		for _, o := range ops {
			trees = append(trees, leaf(f, o.op, o.value))
		}
	}
	return trees
}

// eventsFor returns the fields of events that give the leaf's field each
// JSON type, and, for a nested field, give each step before it each type.
func eventsFor(path []string) []map[string]any {
	var events []map[string]any
	for _, v := range jsonValues {
		events = append(events, fieldAt(path, v.value))
	}
	for i := 1; i < len(path); i++ {
		for _, v := range jsonValues {
			events = append(events, fieldAt(path[:i], v.value))
		}
	}
	return events
}

// evalGeneral evaluates src with cel-go's general nodes only.
func evalGeneral(t *testing.T, src string, fields map[string]any) ref.Val {
	t.Helper()
	prg, err := plan(src, false)
	require.NoError(t, err)
	out, _, _ := prg.Eval(&activationOf(fields).frame)
	return out
}

// requireSameResult requires two results to be the same value, or both
// errors.
func requireSameResult(t *testing.T, want, got ref.Val, msg string) {
	t.Helper()
	if types.IsError(want) || types.IsError(got) {
		require.Equal(t, types.IsError(want), types.IsError(got), "%s: %v, want %v", msg,
			got, want)
		return
	}
	require.Equal(t, want, got, msg)
}

func TestFusedConditionsAgreeWithTheGeneralNodesOnEveryJSONType(t *testing.T) {
	for _, tree := range fusedCases() {
		c, err := parseTree(t, tree)
		if err != nil {
			continue // e.g. heat_score eq "abc"
		}
		r, err := Compile(c)
		require.NoError(t, err)
		src := r.Expression()

		t.Run(src, func(t *testing.T) {
			general, err := plan(src, false)
			require.NoError(t, err)
			for _, fields := range eventsFor(c.path) {
				msg := fmt.Sprintf("event %v", fields)
				want, _, _ := general.Eval(&activationOf(fields).frame)

				// The first rule of an activation reads the fields map; the
				// later ones the lookups it cached.
				a := activationOf(fields)
				for range 2 {
					got, _, _ := r.program.Eval(&a.frame)
					requireSameResult(t, want, got, msg)
					_, _ = r.Match(a)
				}
			}
		})
	}
}

func TestFusedGroupsAgreeWithTheGeneralNodes(t *testing.T) {
	// A group is decided by its fused terms or, as soon as one of them is
	// undecided, by the general nodes: the object x is undecided for eq.
	eq := leaf("x", "eq", "abc")
	gt := leaf("heat_score", "gt", 5)
	for _, tree := range []string{
		group("AND", eq, gt),
		group("AND", gt, eq),
		group("OR", eq, gt),
		group("OR", gt, eq),
		group("NOT", eq),
		group("NOT", group("OR", eq, group("AND", gt, eq))),
		group("AND", group("AND", eq, gt), group("AND", gt, eq)),
	} {
		r := mustRule(t, tree)
		for _, x := range jsonValues {
			for _, heat := range []any{absent, nil, 4.0, 6.0, "abc"} {
				fields := fieldAt([]string{"x"}, x.value)
				if heat != absent {
					fields["heat_score"] = heat
				}
				want := evalGeneral(t, r.Expression(), fields)
				got, _, _ := r.program.Eval(&activationOf(fields).frame)
				requireSameResult(t, want, got, fmt.Sprintf("%s on %v", r.Expression(), fields))
			}
		}
	}
}

// isFused reports whether the whole expression of a tree, as Compile checks
// it, has a fused form.
func isFused(t *testing.T, tree string) bool {
	t.Helper()
	c, err := parseTree(t, tree)
	require.NoError(t, err)
	_, checked, err := checkTree(c)
	require.NoError(t, err)
	root := checked.NativeRep().Expr()
	_, ok := newFuser(root).conds[root.ID()]
	return ok
}

func TestLeavesOnFieldsAndListsAreFused(t *testing.T) {
	for _, tc := range []struct {
		tree  string
		fused bool
	}{
		{seedTree, true},
		{leaf("x", "neq", 1.5), true},
		{leaf("x", "in", []any{"a", 2, true}), true},
		{leaf("x", "nin", []any{"a"}), true},
		{leaf("x", "exists", true), true},
		{leaf("x", "exists", false), true},
		{leaf("smtp-id", "eq", `"q"`), true},
		{leaf("metadata.campaign", "eq", "x"), true},
		{leaf("data.kind", "eq", "x"), true},
		{leaf("data.a.b", "neq", 1), true},
		{group("OR", leaf("x", "eq", 1), group("NOT", leaf("y", "exists", true))), true},
		{leaf("x", "lte", 3), true},
		{leaf("recipient", "starts_with", "a"), true},
		{leaf("recipient", "ends_with", "a"), true},
		{leaf("recipient", "contains", "a"), true},
		{leaf("recipient", "matches", "^a"), true},
		{leaf("tags", "contains", "vip"), true},
		{leaf("codes", "contains", 550), true},
		{leaf("metadata.tags", "contains", "trial"), true},
		{group("AND", leaf("heat_score", "gt", 5), leaf("x", "lte", 3)), true},

		// Timestamps, parsed per event, run on the general nodes.
		{leaf("timestamp", "lt", "2026-01-01T00:00:00Z"), false},
		{leaf("timestamp", "neq", "2026-01-01T00:00:00Z"), false},
		{group("AND", leaf("heat_score", "gt", 5), leaf("timestamp", "lt",
			"2026-01-01T00:00:00Z")), false},
	} {
		t.Run(mustRule(t, tc.tree).Expression(), func(t *testing.T) {
			assert.Equal(t, tc.fused, isFused(t, tc.tree))
		})
	}
}

func TestFusedLeavesOfAGroupSitSideBySideInOneNode(t *testing.T) {
	// a && (b && c) is one group of three terms, and its terms, which only
	// run on their own when the group is undecided, get no fused node.
	src := `event.?a.orValue(null) == 1.0 && (event.?b.orValue(null) == 2.0 && ` +
		`event.?c.orValue(null) == 3.0)`
	e, err := env()
	require.NoError(t, err)
	ast, iss := e.Compile(src)
	require.NoError(t, iss.Err())
	root := ast.NativeRep().Expr()
	f := newFuser(root)

	require.Len(t, f.conds, 1)
	c := f.conds[root.ID()]
	assert.Equal(t, condAnd, c.op)
	assert.Len(t, c.terms, 3)
}

func TestFusedRuleConvertsNoField(t *testing.T) {
	r := mustRule(t, seedTree)
	a := NewActivation(mustEvent(t, `{"heat_score": 8, "intent_category": "PURCHASE_INTENT",`+
		`"is_human": true}`))
	ok, err := r.Match(a)
	require.NoError(t, err)
	require.True(t, ok)

	assert.Nil(t, a.event.converted)
	assert.Nil(t, a.event.others)
}

// fusedCondOf returns the fused condition of the whole expression.
func fusedCondOf(t *testing.T, src string) fusedCond {
	t.Helper()
	e, err := env()
	require.NoError(t, err)
	ast, iss := e.Compile(src)
	require.NoError(t, iss.Err())
	root := ast.NativeRep().Expr()
	c, ok := newFuser(root).conds[root.ID()]
	require.True(t, ok, "not fused: %s", src)
	return c
}

func TestTypeTestsFoldIntoTheTestsTheyGuard(t *testing.T) {
	// type(v) == string && v.startsWith("a") is one test, false for a value
	// that is not a string.
	for _, tree := range []string{
		leaf("recipient", "starts_with", "a"),
		leaf("x", "matches", "^a"),
		leaf("x", "lte", 3),
		leaf("codes", "contains", 550),
	} {
		src := mustRule(t, tree).Expression()
		t.Run(src, func(t *testing.T) {
			l := fusedCondOf(t, src).leaf
			assert.Nil(t, l.bound)
			assert.True(t, l.test.typed)
			assert.Equal(t, outFalse, l.test.test(map[string]any{}))
		})
	}

	// contains with a string takes strings and lists: two tests.
	l := fusedCondOf(t, mustRule(t, leaf("tags", "contains", "vip")).Expression()).leaf
	require.NotNil(t, l.bound)
	require.Len(t, l.bound.terms, 2)
	assert.Equal(t, testContains, l.bound.terms[0].test.op)
	assert.Equal(t, testHas, l.bound.terms[1].test.op)
}
