package cel

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookgate/hookgate/event"
	"github.com/hookgate/hookgate/internal/treewalk"
)

// parseTree parses a condition tree written as JSON at the path "conditions".
func parseTree(t testing.TB, src string) (*Condition, error) {
	t.Helper()
	v, err := event.Decode([]byte(src))
	require.NoError(t, err, "test tree is not JSON: %s", src)
	return ParseConditions(v, "conditions")
}

// mustRule parses and compiles a tree.
func mustRule(t testing.TB, src string) *Rule {
	t.Helper()
	c, err := parseTree(t, src)
	require.NoError(t, err)
	r, err := Compile(c)
	require.NoError(t, err)
	return r
}

// mustEvent builds an event from the JSON of its extra fields; id, type and
// domain are filled in when absent.
func mustEvent(t testing.TB, fields string) *event.Event {
	t.Helper()
	m := map[string]any{}
	if fields != "" {
		v, err := event.Decode([]byte(fields))
		require.NoError(t, err, "test event is not JSON: %s", fields)
		m = v.(map[string]any)
	}
	defaults := map[string]any{"id": "evt_1", "type": "message.opened", "domain": "mail.example"}
	for k, v := range defaults {
		if _, ok := m[k]; !ok {
			m[k] = v
		}
	}
	e, err := event.New(m, event.Defaults{})
	require.NoError(t, err)
	return e
}

// evaluate runs a tree against an event with the CEL program and with the
// plain Go evaluator, requires them to agree, and returns the result.
func evaluate(t testing.TB, tree, fields string) bool {
	t.Helper()
	r := mustRule(t, tree)
	e := mustEvent(t, fields)
	got, err := r.Match(NewActivation(e))
	require.NoError(t, err, "expression: %s", r.Expression())
	want := baseline(t, r).Eval(e.Fields())
	require.Equal(t, want, got, "CEL and the Go evaluator disagree on %s", r.Expression())
	return got
}

// leaf writes a one-leaf tree.
func leaf(field, op string, value any) string {
	b, err := json.Marshal(map[string]any{"field": field, "op": op, "value": value})
	if err != nil {
		panic(err)
	}
	return string(b)
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// baseline prepares the rule's tree for the plain Go evaluator.
func baseline(t testing.TB, r *Rule) *treewalk.Tree {
	t.Helper()
	var tree json.Marshaler
	if c := r.Conditions(); c != nil {
		tree = c
	}
	b, err := treewalk.New(tree)
	require.NoError(t, err)
	return b
}
