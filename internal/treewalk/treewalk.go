// Package treewalk is a plain Go evaluator of condition trees: a walk over
// the decoded event, written straight from the semantics of the rule
// language. hookgate evaluates rules with CEL; tests use this package as an
// oracle for the CEL programs, and benchmarks as the baseline CEL is measured
// against.
package treewalk

import (
	"encoding/json"
	"regexp"
	"strings"
	"time"

	"github.com/hookgate/hookgate/event"
)

// Tree is a validated condition tree prepared for evaluation.
type Tree struct {
	operator string
	field    []string
	op       string
	value    any
	kind     event.Kind
	re       *regexp.Regexp
	instants []time.Time
	rules    []*Tree
}

// New prepares a tree given in its JSON form (as cel.Condition marshals it),
// which must be valid; nil matches everything.
func New(tree json.Marshaler) (*Tree, error) {
	if tree == nil {
		return nil, nil
	}
	data, err := tree.MarshalJSON()
	if err != nil {
		return nil, err
	}
	var node map[string]any
	if err := json.Unmarshal(data, &node); err != nil {
		return nil, err
	}
	return prepare(node), nil
}

func prepare(node map[string]any) *Tree {
	if op, ok := node["operator"].(string); ok {
		t := &Tree{operator: op}
		for _, r := range node["rules"].([]any) {
			t.rules = append(t.rules, prepare(r.(map[string]any)))
		}
		return t
	}
	t := &Tree{
		field: strings.Split(node["field"].(string), "."),
		op:    node["op"].(string),
		value: node["value"],
	}
	if len(t.field) == 1 {
		t.kind, _ = event.FieldKind(t.field[0])
	}
	if t.op == "matches" {
		t.re = regexp.MustCompile(t.value.(string))
	}
	if t.kind == event.KindTimestamp && !stringOp(t.op) && t.op != "exists" {
		values, ok := t.value.([]any)
		if !ok {
			values = []any{t.value}
		}
		for _, v := range values {
			ts, _ := time.Parse(time.RFC3339Nano, v.(string))
			t.instants = append(t.instants, ts)
		}
	}
	return t
}

// Eval evaluates the tree against an event's fields (numbers as float64).
func (t *Tree) Eval(fields map[string]any) bool {
	if t == nil {
		return true
	}
	switch t.operator {
	case "AND":
		for _, r := range t.rules {
			if !r.Eval(fields) {
				return false
			}
		}
		return true
	case "OR":
		for _, r := range t.rules {
			if r.Eval(fields) {
				return true
			}
		}
		return false
	case "NOT":
		return !t.rules[0].Eval(fields)
	}
	return t.leaf(fields)
}

func (t *Tree) leaf(fields map[string]any) bool {
	v, ok := lookup(fields, t.field)
	if t.op == "exists" {
		return ok == t.value.(bool)
	}
	if !ok {
		return t.op == "neq" || t.op == "nin"
	}
	if t.instants != nil {
		return t.instant(v)
	}
	switch t.op {
	case "eq":
		return equal(v, t.value)
	case "neq":
		return !equal(v, t.value)
	case "in", "nin":
		in := false
		for _, x := range t.value.([]any) {
			in = in || equal(v, x)
		}
		return in == (t.op == "in")
	case "gt", "gte", "lt", "lte":
		f, ok := v.(float64)
		return ok && order(t.op, compareFloat(f, t.value.(float64)))
	case "contains":
		if list, ok := v.([]any); ok {
			for _, x := range list {
				if equal(x, t.value) {
					return true
				}
			}
			return false
		}
		s, ok := v.(string)
		sub, wantString := t.value.(string)
		return ok && wantString && strings.Contains(s, sub)
	}
	s, ok := v.(string)
	if !ok {
		return false
	}
	switch t.op {
	case "starts_with":
		return strings.HasPrefix(s, t.value.(string))
	case "ends_with":
		return strings.HasSuffix(s, t.value.(string))
	}
	return t.re.MatchString(s)
}

// instant evaluates a leaf on the timestamp field.
func (t *Tree) instant(v any) bool {
	s, ok := v.(string)
	if !ok {
		return t.op == "neq" || t.op == "nin"
	}
	ts, _ := time.Parse(time.RFC3339Nano, s)
	switch t.op {
	case "eq", "neq":
		return ts.Equal(t.instants[0]) == (t.op == "eq")
	case "in", "nin":
		in := false
		for _, x := range t.instants {
			in = in || ts.Equal(x)
		}
		return in == (t.op == "in")
	}
	return order(t.op, ts.Compare(t.instants[0]))
}

// lookup follows a field path through nested objects.
func lookup(fields map[string]any, path []string) (v any, ok bool) {
	m := fields
	for i, key := range path {
		v, ok = m[key]
		if !ok || i == len(path)-1 {
			return v, ok
		}
		if m, ok = v.(map[string]any); !ok {
			return nil, false
		}
	}
	return v, ok
}

func stringOp(op string) bool {
	return op == "contains" || op == "starts_with" || op == "ends_with" || op == "matches"
}

// equal is JSON equality: same type and same value; null equals nothing.
func equal(a, b any) bool {
	switch a := a.(type) {
	case string:
		s, ok := b.(string)
		return ok && a == s
	case float64:
		f, ok := b.(float64)
		return ok && a == f
	case bool:
		x, ok := b.(bool)
		return ok && a == x
	case []any:
		l, ok := b.([]any)
		if !ok || len(l) != len(a) {
			return false
		}
		for i := range a {
			if !equal(a[i], l[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		m, ok := b.(map[string]any)
		if !ok || len(m) != len(a) {
			return false
		}
		for k, x := range a {
			y, ok := m[k]
			if !ok || !equal(x, y) {
				return false
			}
		}
		return true
	}
	return false
}

func compareFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func order(op string, cmp int) bool {
	switch op {
	case "gt":
		return cmp > 0
	case "gte":
		return cmp >= 0
	case "lt":
		return cmp < 0
	}
	return cmp <= 0
}
