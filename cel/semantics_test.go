package cel

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Event values of each JSON type under the untyped key "x", and the ways a
// field can be missing.
const (
	xString  = `{"x": "abc"}`
	xNumber  = `{"x": 5}`
	xBool    = `{"x": true}`
	xNull    = `{"x": null}`
	xObject  = `{"x": {"k": "abc"}}`
	xArray   = `{"x": ["abc", 5, true]}`
	xMissing = `{}`
)

type semanticsCase struct {
	name  string
	tree  string
	event string
	want  bool
}

func runSemantics(t *testing.T, cases []semanticsCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, evaluate(t, tc.tree, tc.event))
		})
	}
}

func TestEveryOperatorAgainstEveryFieldType(t *testing.T) {
	runSemantics(t, []semanticsCase{
		{"eq string on string", leaf("x", "eq", "abc"), xString, true},
		{"eq string on other string", leaf("x", "eq", "abd"), xString, false},
		{"eq string on number", leaf("x", "eq", "5"), xNumber, false},
		{"eq string on bool", leaf("x", "eq", "true"), xBool, false},
		{"eq string on null", leaf("x", "eq", "abc"), xNull, false},
		{"eq string on object", leaf("x", "eq", "abc"), xObject, false},
		{"eq string on array", leaf("x", "eq", "abc"), xArray, false},
		{"eq string on missing", leaf("x", "eq", "abc"), xMissing, false},
		{"eq number on number", leaf("x", "eq", 5), xNumber, true},
		{"eq number on string", leaf("x", "eq", 5), `{"x": "5"}`, false},
		{"eq number on bool", leaf("x", "eq", 1), `{"x": true}`, false},
		{"eq bool on bool", leaf("x", "eq", true), xBool, true},
		{"eq bool on other bool", leaf("x", "eq", false), xBool, false},
		{"eq bool on string", leaf("x", "eq", true), `{"x": "true"}`, false},

		{"neq string on same string", leaf("x", "neq", "abc"), xString, false},
		{"neq string on other string", leaf("x", "neq", "xyz"), xString, true},
		{"neq string on number", leaf("x", "neq", "5"), xNumber, true},
		{"neq number on string", leaf("x", "neq", 5), `{"x": "5"}`, true},
		{"neq on null", leaf("x", "neq", "abc"), xNull, true},
		{"neq on object", leaf("x", "neq", "abc"), xObject, true},
		{"neq on array", leaf("x", "neq", "abc"), xArray, true},
		{"neq on missing", leaf("x", "neq", "abc"), xMissing, true},

		{"gt on greater number", leaf("x", "gt", 4), xNumber, true},
		{"gt on equal number", leaf("x", "gt", 5), xNumber, false},
		{"gte on equal number", leaf("x", "gte", 5), xNumber, true},
		{"gte on smaller number", leaf("x", "gte", 6), xNumber, false},
		{"lt on smaller number", leaf("x", "lt", 6), xNumber, true},
		{"lt on equal number", leaf("x", "lt", 5), xNumber, false},
		{"lte on equal number", leaf("x", "lte", 5), xNumber, true},
		{"lte on greater number", leaf("x", "lte", 4), xNumber, false},
		{"gt on numeric string", leaf("x", "gt", 4), `{"x": "5"}`, false},
		{"lt on string", leaf("x", "lt", 4), xString, false},
		{"gt on bool", leaf("x", "gt", 0), xBool, false},
		{"gt on null", leaf("x", "gt", -1), xNull, false},
		{"lte on null", leaf("x", "lte", 1), xNull, false},
		{"gt on object", leaf("x", "gt", 0), xObject, false},
		{"gt on array", leaf("x", "gt", 0), `{"x": [9]}`, false},
		{"gt on missing", leaf("x", "gt", 0), xMissing, false},
		{"lt on missing", leaf("x", "lt", 0), xMissing, false},
		{"gt negative", leaf("x", "gt", -2.5), `{"x": -1}`, true},

		{"in with string", leaf("x", "in", []any{"zzz", "abc"}), xString, true},
		{"in without string", leaf("x", "in", []any{"zzz"}), xString, false},
		{"in with number", leaf("x", "in", []any{"abc", 5}), xNumber, true},
		{"in with number spelled as string", leaf("x", "in", []any{"5"}), xNumber, false},
		{"in with bool", leaf("x", "in", []any{false, true}), xBool, true},
		{"in on null", leaf("x", "in", []any{"abc"}), xNull, false},
		{"in on array field", leaf("x", "in", []any{"abc", 5, true}), xArray, false},
		{"in on object", leaf("x", "in", []any{"abc"}), xObject, false},
		{"in on missing", leaf("x", "in", []any{"abc"}), xMissing, false},
		{"nin with string", leaf("x", "nin", []any{"abc"}), xString, false},
		{"nin without string", leaf("x", "nin", []any{"zzz"}), xString, true},
		{"nin on other type", leaf("x", "nin", []any{"5"}), xNumber, true},
		{"nin on null", leaf("x", "nin", []any{"abc"}), xNull, true},
		{"nin on array field", leaf("x", "nin", []any{"abc"}), xArray, true},
		{"nin on missing", leaf("x", "nin", []any{"abc"}), xMissing, true},

		{"contains substring", leaf("x", "contains", "bc"), xString, true},
		{"contains other substring", leaf("x", "contains", "cb"), xString, false},
		{"contains string element", leaf("x", "contains", "abc"), xArray, true},
		{"contains partial element", leaf("x", "contains", "ab"), xArray, false},
		{"contains number element", leaf("x", "contains", 5), xArray, true},
		{"contains bool element", leaf("x", "contains", true), xArray, true},
		{"contains absent element", leaf("x", "contains", false), xArray, false},
		{"contains number on string", leaf("x", "contains", 5), `{"x": "5"}`, false},
		{"contains on number", leaf("x", "contains", "5"), xNumber, false},
		{"contains on object", leaf("x", "contains", "k"), xObject, false},
		{"contains on null", leaf("x", "contains", "abc"), xNull, false},
		{"contains on missing", leaf("x", "contains", "abc"), xMissing, false},
		{"contains on nested array", leaf("x", "contains", "abc"), `{"x": [["abc"]]}`, false},

		{"starts_with prefix", leaf("x", "starts_with", "ab"), xString, true},
		{"starts_with non-prefix", leaf("x", "starts_with", "bc"), xString, false},
		{"starts_with on number", leaf("x", "starts_with", "5"), xNumber, false},
		{"starts_with on array", leaf("x", "starts_with", "abc"), xArray, false},
		{"starts_with on missing", leaf("x", "starts_with", ""), xMissing, false},
		{"starts_with empty on string", leaf("x", "starts_with", ""), xString, true},
		{"ends_with suffix", leaf("x", "ends_with", "bc"), xString, true},
		{"ends_with non-suffix", leaf("x", "ends_with", "ab"), xString, false},
		{"ends_with on bool", leaf("x", "ends_with", "e"), xBool, false},
		{"ends_with on null", leaf("x", "ends_with", "c"), xNull, false},

		{"matches anywhere", leaf("x", "matches", "b"), xString, true},
		{"matches anchored", leaf("x", "matches", "^a.c$"), xString, true},
		{"matches anchored miss", leaf("x", "matches", "^b"), xString, false},
		{"matches on number", leaf("x", "matches", "5"), xNumber, false},
		{"matches on missing", leaf("x", "matches", ".*"), xMissing, false},
		{"matches empty pattern on null", leaf("x", "matches", ""), xNull, false},

		{"exists true on string", leaf("x", "exists", true), xString, true},
		{"exists true on null", leaf("x", "exists", true), xNull, true},
		{"exists true on missing", leaf("x", "exists", true), xMissing, false},
		{"exists false on missing", leaf("x", "exists", false), xMissing, true},
		{"exists false on null", leaf("x", "exists", false), xNull, false},
		{"exists false on object", leaf("x", "exists", false), xObject, false},
	})
}

func TestNumbersCompareByValue(t *testing.T) {
	leafOf := func(op, value string) string {
		return `{"field": "x", "op": "` + op + `", "value": ` + value + `}`
	}
	runSemantics(t, []semanticsCase{
		{"integer rule, decimal event", leafOf("eq", "5"), `{"x": 5.0}`, true},
		{"decimal rule, integer event", leafOf("eq", "5.0"), `{"x": 5}`, true},
		{"exponent rule", leafOf("eq", "5e0"), `{"x": 5}`, true},
		{"exponent event", leafOf("eq", "500"), `{"x": 5e2}`, true},
		{"in with decimal", leafOf("in", "[5.00]"), `{"x": 5}`, true},
		{"contains with decimal", leafOf("contains", "5"), `{"x": [5.0]}`, true},
		{"gte with exponent", leafOf("gte", "1e1"), `{"x": 10}`, true},
		{"negative zero", leafOf("eq", "-0"), `{"x": 0}`, true},
		{"fraction", leafOf("lt", "0.30000000000000004"), `{"x": 0.3}`, true},
		{"different values", leafOf("eq", "5.000001"), `{"x": 5}`, false},
		{"heat_score typed", `{"field": "heat_score", "op": "eq", "value": 8}`,
			`{"heat_score": 8.0}`, true},
		{"heat_score spelled with exponent", `{"field": "heat_score", "op": "eq", "value": 8}`,
			`{"heat_score": 0.8e1}`, true},
	})
}

func TestMissingFieldMakesEveryLeafFalseExceptNeqNinAndNotExists(t *testing.T) {
	// A field is missing when a key on its path is absent or a step of the
	// path is not an object: every leaf is false except neq, nin and
	// exists false.
	missing := map[string]string{
		"absent key":          `{}`,
		"absent nested key":   `{"x": {"other": 1}}`,
		"step is a string":    `{"x": "abc"}`,
		"step is a number":    `{"x": 5}`,
		"step is null":        `{"x": null}`,
		"step is an array":    `{"x": [{"k": "abc"}]}`,
		"step is a bool":      `{"x": true}`,
		"deep step is array":  `{"x": {"k": []}}`,
		"absent parent chain": `{"y": {"x": {"k": "abc"}}}`,
	}
	leaves := []struct {
		op    string
		value any
		want  bool
	}{
		{"eq", "abc", false}, {"neq", "abc", true}, {"gt", 0, false}, {"gte", 0, false},
		{"lt", 0, false}, {"lte", 0, false}, {"in", []any{"abc"}, false},
		{"nin", []any{"abc"}, true}, {"contains", "a", false}, {"starts_with", "a", false},
		{"ends_with", "c", false}, {"matches", ".*", false}, {"exists", true, false},
		{"exists", false, true},
	}
	for name, ev := range missing {
		for _, l := range leaves {
			field := "x.k"
			if name == "deep step is array" {
				field = "x.k.z"
			}
			t.Run(name+"/"+l.op, func(t *testing.T) {
				assert.Equal(t, l.want, evaluate(t, leaf(field, l.op, l.value), ev))
			})
		}
	}
}

func TestNestedAndOddPaths(t *testing.T) {
	runSemantics(t, []semanticsCase{
		{"metadata key", leaf("metadata.campaign", "eq", "spring"),
			`{"metadata": {"campaign": "spring"}}`, true},
		{"metadata missing", leaf("metadata.campaign", "eq", "spring"), `{}`, false},
		{"metadata key missing neq", leaf("metadata.campaign", "neq", "spring"),
			`{"metadata": {}}`, true},
		{"deep path", leaf("data.bounce.kind", "eq", "hard"),
			`{"data": {"bounce": {"kind": "hard"}}}`, true},
		{"dash key", leaf("smtp-id", "eq", "<a@b>"), `{"smtp-id": "<a@b>"}`, true},
		{"space key", leaf("a b", "eq", 1), `{"a b": 1}`, true},
		{"quote key", leaf(`say "hi"`, "eq", 1), `{"say \"hi\"": 1}`, true},
		{"backslash key", leaf(`a\b`, "eq", 1), `{"a\\b": 1}`, true},
		{"reserved word key", leaf("in", "eq", 1), `{"in": 1}`, true},
		{"reserved word nested", leaf("metadata.null", "exists", true),
			`{"metadata": {"null": null}}`, true},
		{"unicode key", leaf("metadata.clé", "eq", "v"), `{"metadata": {"clé": "v"}}`, true},
		{"digit key", leaf("x.1", "eq", "v"), `{"x": {"1": "v"}}`, true},
		{"key with dot is not addressable", leaf("a.b", "exists", true), `{"a.b": 1}`, false},
		{"dollar key", leaf("$ref", "eq", "x"), `{"$ref": "x"}`, true},
	})
}

func TestStringValuesAreQuotedNeverSpliced(t *testing.T) {
	hostile := []string{
		`" || true || "`,
		`\" || true || \"`,
		`abc") || true || ("`,
		"line\nbreak",
		"nul\x00byte",
		"\u2028separator",
		`\u0022`,
		"'single' `back`",
		"emoji 🎉",
	}
	for _, s := range hostile {
		t.Run(s, func(t *testing.T) {
			ev := map[string]any{"x": s}
			eq := leaf("x", "eq", s)
			assert.True(t, evaluate(t, eq, mustJSON(ev)))
			assert.False(t, evaluate(t, eq, `{"x": "other"}`))
			assert.False(t, evaluate(t, leaf("x", "contains", s), `{"x": "other"}`))
			assert.True(t, evaluate(t, leaf(s, "eq", s), mustJSON(map[string]any{s: s})))
		})
	}
}

func TestStringComparisonIsExact(t *testing.T) {
	runSemantics(t, []semanticsCase{
		{"case differs", leaf("x", "eq", "ABC"), xString, false},
		{"starts_with case differs", leaf("x", "starts_with", "A"), xString, false},
		{"matches is case-sensitive", leaf("x", "matches", "ABC"), xString, false},
		{"no unicode normalization", leaf("x", "eq", "e\u0301"), `{"x": "\u00e9"}`, false},
		{"trailing space matters", leaf("x", "eq", "abc "), xString, false},
	})
}

func TestTimestampComparesAsInstant(t *testing.T) {
	const ev = `{"timestamp": "2026-12-03T10:00:00Z"}`
	runSemantics(t, []semanticsCase{
		{"gt earlier instant in other zone", leaf("timestamp", "gt", "2026-12-03T11:00:00+02:00"),
			ev, true},
		{"gt later instant", leaf("timestamp", "gt", "2026-12-03T10:00:01Z"), ev, false},
		{"eq same instant in other zone", leaf("timestamp", "eq", "2026-12-03T12:00:00+02:00"),
			ev, true},
		{"neq same instant", leaf("timestamp", "neq", "2026-12-03T05:00:00-05:00"), ev, false},
		{"gte same instant", leaf("timestamp", "gte", "2026-12-03T10:00:00.000Z"), ev, true},
		{"lt fraction later", leaf("timestamp", "lt", "2026-12-03T10:00:00.5Z"), ev, true},
		{"lte earlier", leaf("timestamp", "lte", "2026-12-03T09:59:59Z"), ev, false},
		{"in instants", leaf("timestamp", "in", []any{"2020-01-01T00:00:00Z",
			"2026-12-03T11:00:00+01:00"}), ev, true},
		{"nin instants", leaf("timestamp", "nin", []any{"2026-12-03T11:00:00+01:00"}), ev, false},
		{"unix seconds event", leaf("timestamp", "gte", "2024-12-03T12:46:40Z"),
			`{"timestamp": 1733230000}`, true},
		{"fractional event", leaf("timestamp", "gt", "2024-12-03T12:46:40Z"),
			`{"timestamp": 1733230000.25}`, true},
		{"missing timestamp gt", leaf("timestamp", "gt", "2000-01-01T00:00:00Z"), `{}`, false},
		{"missing timestamp neq", leaf("timestamp", "neq", "2000-01-01T00:00:00Z"), `{}`, true},
		{"missing timestamp nin", leaf("timestamp", "nin", []any{"2000-01-01T00:00:00Z"}), `{}`,
			true},
		{"timestamp starts_with is textual", leaf("timestamp", "starts_with", "2026-12"), ev,
			true},
		{"timestamp exists", leaf("timestamp", "exists", true), ev, true},
	})
}

func TestKnownFields(t *testing.T) {
	runSemantics(t, []semanticsCase{
		{"heat_score gt", leaf("heat_score", "gt", 5), `{"heat_score": 8}`, true},
		{"heat_score gt equal", leaf("heat_score", "gt", 8), `{"heat_score": 8}`, false},
		{"heat_score gt missing", leaf("heat_score", "gt", 5), `{}`, false},
		{"heat_score lte missing", leaf("heat_score", "lte", 5), `{}`, false},
		{"heat_score neq missing", leaf("heat_score", "neq", 5), `{}`, true},
		{"urgency gte", leaf("urgency", "gte", 4), `{"urgency": 4}`, true},
		{"confidence gt fraction", leaf("confidence", "gt", 0.8), `{"confidence": 0.81}`, true},
		{"dwell_seconds in", leaf("dwell_seconds", "in", []any{30, 60}), `{"dwell_seconds": 60}`,
			true},
		{"is_human eq", leaf("is_human", "eq", true), `{"is_human": true}`, true},
		{"is_human eq false", leaf("is_human", "eq", true), `{"is_human": false}`, false},
		{"is_human missing", leaf("is_human", "eq", false), `{}`, false},
		{"recipient ends_with", leaf("recipient", "ends_with", "@acme.example"),
			`{"recipient": "jo@acme.example"}`, true},
		{"recipient contains", leaf("recipient", "contains", "@"), `{"recipient": "jo@x"}`, true},
		{"recipient contains missing", leaf("recipient", "contains", "@"), `{}`, false},
		{"intent_category nin", leaf("intent_category", "nin", []any{"SPAM"}),
			`{"intent_category": "PURCHASE_INTENT"}`, true},
		{"type eq", leaf("type", "eq", "message.opened"), `{}`, true},
		{"domain eq", leaf("domain", "eq", "mail.example"), `{}`, true},
		{"metadata exists", leaf("metadata", "exists", true), `{"metadata": {}}`, true},
	})
}

func TestGroups(t *testing.T) {
	tr, fa := leaf("x", "eq", "abc"), leaf("x", "eq", "no")
	group := func(op string, rules ...string) string {
		s := `{"operator": "` + op + `", "rules": [`
		for i, r := range rules {
			if i > 0 {
				s += ","
			}
			s += r
		}
		return s + "]}"
	}
	runSemantics(t, []semanticsCase{
		{"AND all true", group("AND", tr, tr), xString, true},
		{"AND one false", group("AND", tr, fa), xString, false},
		{"OR one true", group("OR", fa, tr), xString, true},
		{"OR all false", group("OR", fa, fa), xString, false},
		{"NOT true", group("NOT", tr), xString, false},
		{"NOT false", group("NOT", fa), xString, true},
		{"NOT of missing leaf", group("NOT", leaf("y", "eq", 1)), xString, true},
		{"NOT of neq on missing", group("NOT", leaf("y", "neq", 1)), xString, false},
		{"lower-case operators", group("and", tr, group("or", fa, tr)), xString, true},
		{"single-rule AND", group("AND", tr), xString, true},
		{"nested", group("AND", group("OR", fa, group("NOT", fa)), group("NOT", group("AND",
			tr, fa))), xString, true},
		{"deeply nested", nest(MaxDepth, tr), xString, true},
		{"type mismatch inside OR", group("OR", leaf("x", "gt", 1), tr), xString, true},
		{"GT upper-case op", `{"field": "x", "op": "GT", "value": 1}`, xNumber, true},
	})
}

func TestNoConditionsMatchesEveryEvent(t *testing.T) {
	r, err := Compile(nil)
	assert.NoError(t, err)
	assert.Equal(t, "true", r.Expression())
	ok, err := r.Match(NewActivation(mustEvent(t, `{}`)))
	assert.NoError(t, err)
	assert.True(t, ok)
}

// nest wraps a leaf in depth AND groups.
func nest(depth int, inner string) string {
	for range depth {
		inner = `{"operator": "AND", "rules": [` + inner + `]}`
	}
	return inner
}

// A matrix row is one leaf on the untyped key "x" and its result for each
// JSON type the field may hold, written as T or F in the order of
// matrixEvents: string, number, boolean, null, object, array, missing.
type matrixRow struct {
	op    string
	value any
	want  string
}

var matrixEvents = []struct{ name, event string }{
	{"string", xString}, {"number", xNumber}, {"boolean", xBool}, {"null", xNull},
	{"object", xObject}, {"array", xArray}, {"missing", xMissing},
}

func runMatrix(t *testing.T, rows []matrixRow) {
	t.Helper()
	for _, row := range rows {
		require.Len(t, row.want, len(matrixEvents), "row %s %v", row.op, row.value)
		for i, ev := range matrixEvents {
			name := fmt.Sprintf("%s %s on %s", row.op, mustJSON(row.value), ev.name)
			t.Run(name, func(t *testing.T) {
				want := row.want[i] == 'T'
				assert.Equal(t, want, evaluate(t, leaf("x", row.op, row.value), ev.event))
			})
		}
	}
}

func TestValuesOfDifferentJSONTypesAreNeverEqual(t *testing.T) {
	runMatrix(t, []matrixRow{
		{"eq", "abc", "TFFFFFF"},
		{"eq", 5, "FTFFFFF"},
		{"eq", true, "FFTFFFF"},
		{"neq", "abc", "FTTTTTT"},
		{"neq", 5, "TFTTTTT"},
		{"neq", true, "TTFTTTT"},
		{"in", []any{"abc"}, "TFFFFFF"},
		{"in", []any{5}, "FTFFFFF"},
		{"in", []any{true}, "FFTFFFF"},
		{"nin", []any{"abc"}, "FTTTTTT"},
		{"nin", []any{5}, "TFTTTTT"},
		{"nin", []any{true}, "TTFTTTT"},
	})
}

func TestInAndNinCompareTheWholeValueSoAnArrayIsNeverIn(t *testing.T) {
	// The array field holds exactly the listed values, and still is not in
	// the list.
	runMatrix(t, []matrixRow{
		{"in", []any{"abc", 5, true}, "TTTFFFF"},
		{"nin", []any{"abc", 5, true}, "FFFTTTT"},
	})
}

func TestOrderingTakesOnlyNumbers(t *testing.T) {
	runMatrix(t, []matrixRow{
		{"gt", 4, "FTFFFFF"},
		{"gte", 5, "FTFFFFF"},
		{"lt", 6, "FTFFFFF"},
		{"lte", 5, "FTFFFFF"},
		{"gt", 5, "FFFFFFF"},
		{"lt", 5, "FFFFFFF"},
	})
}

func TestContainsTakesStringsAndArrays(t *testing.T) {
	runMatrix(t, []matrixRow{
		{"contains", "b", "TFFFFFF"},
		{"contains", "abc", "TFFFFTF"},
		{"contains", 5, "FFFFFTF"},
		{"contains", true, "FFFFFTF"},
		{"contains", "k", "FFFFFFF"}, // an object's key is not contained
	})
}

func TestStringOperatorsTakeOnlyStrings(t *testing.T) {
	runMatrix(t, []matrixRow{
		{"starts_with", "a", "TFFFFFF"},
		{"starts_with", "", "TFFFFFF"},
		{"ends_with", "c", "TFFFFFF"},
		{"ends_with", "", "TFFFFFF"},
		{"matches", "b", "TFFFFFF"},
		{"matches", "", "TFFFFFF"},
	})
}

func TestExistsTestsPresenceWhateverTheType(t *testing.T) {
	runMatrix(t, []matrixRow{
		{"exists", true, "TTTTTTF"},
		{"exists", false, "FFFFFFT"},
	})
}

func TestNullIsPresentEqualsNothingAndOrdersNothing(t *testing.T) {
	runSemantics(t, []semanticsCase{
		{"exists", leaf("x", "exists", true), xNull, true},
		{"eq string", leaf("x", "eq", "null"), xNull, false},
		{"eq number", leaf("x", "eq", 0), xNull, false},
		{"eq false", leaf("x", "eq", false), xNull, false},
		{"neq", leaf("x", "neq", false), xNull, true},
		{"in", leaf("x", "in", []any{"", 0, false}), xNull, false},
		{"nin", leaf("x", "nin", []any{"", 0, false}), xNull, true},
		{"gt", leaf("x", "gt", -1e308), xNull, false},
		{"gte", leaf("x", "gte", -1e308), xNull, false},
		{"lt", leaf("x", "lt", 1e308), xNull, false},
		{"lte", leaf("x", "lte", 1e308), xNull, false},
		{"contains", leaf("x", "contains", ""), xNull, false},
		{"null element is not contained", leaf("x", "contains", ""), `{"x": [null]}`, false},
		{"nested null is present", leaf("x.k", "exists", true), `{"x": {"k": null}}`, true},
		{"key under null is missing", leaf("x.k", "neq", 1), xNull, true},
	})
}

func TestMissingFieldMakesNeqAndNinTrue(t *testing.T) {
	runSemantics(t, []semanticsCase{
		{"neq on absent key", leaf("y", "neq", "abc"), xString, true},
		{"nin on absent key", leaf("y", "nin", []any{"abc"}), xString, true},
		{"neq under a string", leaf("x.k", "neq", "abc"), xString, true},
		{"nin under an array", leaf("x.k", "nin", []any{"abc"}), `{"x": [{"k": "abc"}]}`, true},
		{"known number missing neq", leaf("urgency", "neq", 1), `{}`, true},
		{"known string missing nin", leaf("recipient", "nin", []any{"a"}), `{}`, true},
		{"known bool missing neq", leaf("is_human", "neq", true), `{}`, true},
		{"metadata key missing nin", leaf("metadata.tier", "nin", []any{"gold"}),
			`{"metadata": {}}`, true},
	})
}

func TestOperatorsAreCaseInsensitive(t *testing.T) {
	tr := leaf("x", "eq", "abc")
	runSemantics(t, []semanticsCase{
		{"and", `{"operator": "and", "rules": [` + tr + `]}`, xString, true},
		{"Or", `{"operator": "Or", "rules": [` + tr + `]}`, xString, true},
		{"nOt", `{"operator": "nOt", "rules": [` + tr + `]}`, xString, false},
		{"EQ", `{"field": "x", "op": "EQ", "value": "abc"}`, xString, true},
		{"GT", `{"field": "x", "op": "GT", "value": 4}`, xNumber, true},
		{"Starts_With", `{"field": "x", "op": "Starts_With", "value": "a"}`, xString, true},
		{"NIN", `{"field": "x", "op": "NIN", "value": ["z"]}`, xString, true},
		{"EXISTS", `{"field": "x", "op": "EXISTS", "value": false}`, xMissing, true},
	})
}

// Known fields are typed by validation; each applicable operator, on a value
// that passes, one that fails, and the field missing.
func TestKnownFieldsTakeEachApplicableOperator(t *testing.T) {
	const ev = `{"heat_score": 8, "is_human": true, "recipient": "jo@acme.example",` +
		`"metadata": {"campaign": "spring"}, "timestamp": "2026-12-03T10:00:00Z"}`
	cases := []struct {
		field, op         string
		pass, fail        any
		missingIsTrueWhen bool // neq, nin and exists false
	}{
		{"heat_score", "eq", 8, 7, false},
		{"heat_score", "neq", 7, 8, true},
		{"heat_score", "gt", 7.5, 8, false},
		{"heat_score", "gte", 8, 8.5, false},
		{"heat_score", "lt", 9, 8, false},
		{"heat_score", "lte", 8, 7.99, false},
		{"heat_score", "in", []any{1, 8}, []any{1, 2}, false},
		{"heat_score", "nin", []any{1, 2}, []any{8}, true},
		{"heat_score", "exists", true, false, false},
		{"is_human", "eq", true, false, false},
		{"is_human", "neq", false, true, true},
		{"is_human", "in", []any{true}, []any{false}, false},
		{"is_human", "nin", []any{false}, []any{true}, true},
		{"recipient", "eq", "jo@acme.example", "JO@acme.example", false},
		{"recipient", "neq", "x", "jo@acme.example", true},
		{"recipient", "in", []any{"jo@acme.example"}, []any{"jo"}, false},
		{"recipient", "nin", []any{"jo"}, []any{"jo@acme.example"}, true},
		{"recipient", "contains", "@acme", "@other", false},
		{"recipient", "starts_with", "jo@", "acme", false},
		{"recipient", "ends_with", ".example", "jo", false},
		{"recipient", "matches", `^[a-z]+@acme\.example$`, `^acme`, false},
		{"recipient", "exists", true, false, false},
		{"metadata", "exists", true, false, false},
		{"metadata.campaign", "eq", "spring", "fall", false},
		{"timestamp", "gt", "2026-12-03T09:00:00Z", "2026-12-03T10:00:00Z", false},
		{"timestamp", "eq", "2026-12-03T11:00:00+01:00", "2026-12-03T11:00:00Z", false},
		{"timestamp", "contains", "12-03", "12-04", false},
	}
	for _, tc := range cases {
		t.Run(tc.field+" "+tc.op, func(t *testing.T) {
			assert.True(t, evaluate(t, leaf(tc.field, tc.op, tc.pass), ev), "pass")
			assert.False(t, evaluate(t, leaf(tc.field, tc.op, tc.fail), ev), "fail")
			missing := tc.missingIsTrueWhen || tc.op == "exists" && tc.pass == false
			assert.Equal(t, missing, evaluate(t, leaf(tc.field, tc.op, tc.pass), `{}`),
				"missing")
		})
	}
}

func TestNestedGroupsCombineTheirRules(t *testing.T) {
	tr, fa := leaf("x", "eq", "abc"), leaf("x", "eq", "no")
	and := func(rules ...string) string { return group("AND", rules...) }
	or := func(rules ...string) string { return group("OR", rules...) }
	not := func(rule string) string { return group("NOT", rule) }
	runSemantics(t, []semanticsCase{
		{"OR of ANDs, second holds", or(and(tr, fa), and(tr, tr)), xString, true},
		{"OR of ANDs, none holds", or(and(tr, fa), and(fa, tr)), xString, false},
		{"AND of ORs", and(or(fa, tr), or(tr, fa)), xString, true},
		{"AND of ORs, one false", and(or(fa, tr), or(fa, fa)), xString, false},
		{"NOT of OR", not(or(fa, fa)), xString, true},
		{"NOT of AND", not(and(tr, fa)), xString, true},
		{"double NOT", not(not(tr)), xString, true},
		{"triple NOT", not(not(not(tr))), xString, false},
		{"NOT of missing inside AND", and(tr, not(leaf("y", "gt", 1))), xString, true},
		{"mismatch under NOT", not(leaf("x", "gt", 1)), xString, true},
		{"many siblings", or(fa, fa, fa, fa, fa, fa, fa, tr), xString, true},
	})
}

// group writes a group of rules.
func group(op string, rules ...string) string {
	return `{"operator": "` + op + `", "rules": [` + strings.Join(rules, ", ") + "]}"
}
