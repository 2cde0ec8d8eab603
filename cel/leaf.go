package cel

import (
	"regexp"
	"strings"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/interpreter"
)

// Fused conditions. Leaves compile to a few shapes (Source): a field compared
// with a constant (`event.?heat_score.orValue(double("NaN")) > 5.0`,
// `event.?metadata.?campaign.orValue(null) == "x"`), a field in a list of
// constants, a presence test (`event.?x.hasValue()`), and tests of the
// field's value bound to v (`cel.bind(v, event.?x.orValue(null), type(v) ==
// string && v.startsWith("a"))`). cel-go runs each as four to a dozen nodes,
// each its own allocation, that pass CEL values between them through
// interface calls; the field must first be converted to a CEL value, `<`
// allocates the result of its comparison, and cel.bind pushes a frame. A
// fused node evaluates such leaves, and the `&&`, `||` and `!` over them, in
// one step on the decoded values of the fields, from one tree whose terms
// sit side by side, converting nothing.
//
// A fused node decides only the cases whose outcome is plain: a field that is
// missing, or holds a value the test takes. Anything else (an object or
// array compared with `==`, a null ordered with `<`, a path that steps into a
// non-object without the `type(p) == map` guard) is undecided, and the
// general nodes that the fused one replaced evaluate the whole expression,
// so that a rule's results are those of its CEL expression in every case.
// Tests compare the two paths on every JSON type. fuse.go recognizes the
// shapes in a program's checked AST.

// outcome is what a fused condition makes of an event.
type outcome uint8

const (
	outFalse outcome = iota
	outTrue
	outUndecided // left to the general nodes
)

func outcomeOf(b bool) outcome {
	if b {
		return outTrue
	}
	return outFalse
}

// fieldPath is an event field as a rule's CEL selects it: `event.?key`,
// followed by the steps of a nested path.
type fieldPath struct {
	slot int // slotOf(key)
	key  string
	rest []pathStep
}

// pathStep is a step into an object. A guarded step, written
// `cel.bind(p, ..., type(p) == map ? p.?key : optional.none())`, makes the
// field missing when the value before it is not an object; for an
// unguarded one, `.?key`, cel-go decides what such a step yields.
type pathStep struct {
	key     string
	guarded bool
}

// lookup follows the path through the decoded event. ok is false when the
// field is missing; undecided is true when an unguarded step met a value
// that is not an object.
func (p *fieldPath) lookup(o *object) (v any, ok, undecided bool) {
	v, ok = o.lookup(p.slot, p.key)
	for i := range p.rest {
		if !ok {
			return nil, false, false // a step from none is none
		}
		m, isObject := v.(map[string]any)
		if !isObject {
			return nil, false, !p.rest[i].guarded
		}
		v, ok = m[p.rest[i].key]
	}
	return v, ok, false
}

// testOp is what a valueTest does.
type testOp uint8

const (
	testEq testOp = iota // v == literal
	testNe
	testLt
	testLe
	testGt
	testGe
	testIn     // v in [literals]
	testExists // any value
	testType   // type(v) == kind
	testStartsWith
	testEndsWith
	testContains // a string v contains the literal
	testMatches
	testHas // the literal in a list v
)

// valueKind is the JSON type of a literal, or the type a testType tests.
type valueKind uint8

const (
	kindString valueKind = iota
	kindNumber
	kindBool
	kindList
)

// valueTest is a test of one decoded value against a literal. The literal is
// kept unboxed so that a test reads no memory beyond the node and the event.
type valueTest struct {
	str string
	num float64
	set *literalSet    // of testIn
	re  *regexp.Regexp // of testMatches

	op      testOp
	kind    valueKind
	boolean bool

	// typed is set when the test is the second half of `type(v) == T &&
	// test`, T the type it takes: another value makes it false.
	typed bool
}

// literalSet is the list of an `in` leaf.
type literalSet struct {
	strings           map[string]bool
	numbers           map[float64]bool
	hasTrue, hasFalse bool
}

// test evaluates the test on a value as CEL does.
func (t *valueTest) test(v any) outcome {
	switch t.op {
	case testEq, testNe:
		eq := t.equal(v)
		if eq == outUndecided || t.op == testEq {
			return eq
		}
		return outcomeOf(eq == outFalse)
	case testIn:
		return t.set.contains(v)
	case testExists:
		return outTrue
	case testType:
		k, ok := kindOf(v)
		return outcomeOf(ok && k == t.kind)
	case testHas:
		return t.has(v)
	case testLt, testLe, testGt, testGe:
		return t.order(v)
	}

	s, ok := v.(string)
	if !ok {
		return t.untaken()
	}
	switch t.op {
	case testStartsWith:
		return outcomeOf(strings.HasPrefix(s, t.str))
	case testEndsWith:
		return outcomeOf(strings.HasSuffix(s, t.str))
	case testContains:
		return outcomeOf(strings.Contains(s, t.str))
	}
	return outcomeOf(t.re.MatchString(s))
}

// untaken is the outcome of the test for a value of a type it does not
// take, on which CEL fails (no such overload) unless a type test guards it.
func (t *valueTest) untaken() outcome {
	if t.typed {
		return outFalse
	}
	return outUndecided
}

// takes returns the type of value a test of a string, number or list takes.
func (t *valueTest) takes() (valueKind, bool) {
	switch t.op {
	case testStartsWith, testEndsWith, testContains, testMatches:
		return kindString, true
	case testLt, testLe, testGt, testGe:
		return kindNumber, t.kind == kindNumber
	case testHas:
		return kindList, true
	}
	return 0, false
}

// order compares a number with the literal.
func (t *valueTest) order(v any) outcome {
	x, ok := v.(float64)
	if !ok || t.kind != kindNumber {
		return t.untaken() // CEL orders strings too, and fails on null
	}
	switch t.op { // NaN orders nothing, in Go as in CEL
	case testLt:
		return outcomeOf(x < t.num)
	case testLe:
		return outcomeOf(x <= t.num)
	case testGt:
		return outcomeOf(x > t.num)
	}
	return outcomeOf(x >= t.num)
}

// equal is CEL's equality of a decoded value with the literal: values of
// different types are never equal, and null equals no literal. Objects,
// arrays and anything else a decoded event should not hold are undecided.
func (t *valueTest) equal(v any) outcome {
	switch v := v.(type) {
	case nil:
		return outFalse
	case string:
		return outcomeOf(t.kind == kindString && v == t.str)
	case float64:
		return outcomeOf(t.kind == kindNumber && v == t.num)
	case bool:
		return outcomeOf(t.kind == kindBool && v == t.boolean)
	}
	return outUndecided
}

// has is CEL's `literal in v` for a list v: some item is of the literal's
// type and equal to it. Items of other types, objects and arrays included,
// equal no literal.
func (t *valueTest) has(v any) outcome {
	list, ok := v.([]any)
	if !ok {
		return t.untaken()
	}
	for _, item := range list {
		if t.equal(item) == outTrue {
			return outTrue
		}
	}
	return outFalse
}

// kindOf returns the type of a decoded value as `type(v) == kind` tests it;
// ok is false for values of other types.
func kindOf(v any) (kind valueKind, ok bool) {
	switch v.(type) {
	case string:
		return kindString, true
	case float64:
		return kindNumber, true
	case bool:
		return kindBool, true
	case []any:
		return kindList, true
	}
	return 0, false
}

// contains is CEL's membership of a decoded value in the list, whose items
// are strings, numbers and booleans.
func (s *literalSet) contains(v any) outcome {
	switch v := v.(type) {
	case nil:
		return outFalse
	case string:
		return outcomeOf(s.strings[v])
	case float64:
		return outcomeOf(s.numbers[v]) // NaN, in no map, is in no list
	case bool:
		return outcomeOf(v && s.hasTrue || !v && s.hasFalse)
	}
	return outUndecided
}

// condOp is the operator of a fused condition.
type condOp uint8

const (
	condLeaf condOp = iota
	condAnd
	condOr
	condNot
)

// fusedLeaf is one leaf: a test of a field's value, or, for a leaf written
// with cel.bind, the tests of the bound value combined by && and ||.
type fusedLeaf struct {
	path  fieldPath
	test  valueTest
	bound *boundTest // instead of test

	// missing is the outcome for a missing field, computed from the
	// default of its selection when the leaf is planned.
	missing outcome
}

// eval evaluates the leaf.
func (l *fusedLeaf) eval(o *object) outcome {
	v, ok, undecided := l.path.lookup(o)
	switch {
	case undecided:
		return outUndecided
	case !ok:
		return l.missing
	case l.bound != nil:
		return l.bound.eval(v)
	}
	return l.test.test(v)
}

// boundTest is the test that a cel.bind leaf makes of the bound value.
type boundTest struct {
	op    condOp // condLeaf, condAnd or condOr
	test  valueTest
	terms []boundTest
}

// eval evaluates the test on the bound value.
func (b *boundTest) eval(v any) outcome {
	if b.op == condLeaf {
		return b.test.test(v)
	}
	stop := outcomeOf(b.op == condOr)
	for i := range b.terms {
		switch b.terms[i].eval(v) {
		case stop:
			return stop
		case outUndecided:
			return outUndecided
		}
	}
	return outcomeOf(b.op == condAnd)
}

// fusedCond is a leaf, or a group of fused conditions. A group's terms sit
// side by side in one slice.
type fusedCond struct {
	op    condOp
	leaf  fusedLeaf
	terms []fusedCond
}

// eval evaluates the condition. A group is undecided as soon as one of the
// terms it evaluates is, and the general nodes then evaluate it whole.
func (c *fusedCond) eval(o *object) outcome {
	switch c.op {
	case condLeaf:
		return c.leaf.eval(o)
	case condNot:
		switch c.terms[0].eval(o) {
		case outTrue:
			return outFalse
		case outFalse:
			return outTrue
		}
		return outUndecided
	}
	stop := outcomeOf(c.op == condOr) // the result that ends the group
	for i := range c.terms {
		switch c.terms[i].eval(o) {
		case stop:
			return stop
		case outUndecided:
			return outUndecided
		}
	}
	return outcomeOf(c.op == condAnd)
}

// fusedNode is the program node of a fused condition.
type fusedNode struct {
	id      int64
	cond    fusedCond
	general interpreter.InterpretableV2
}

// ID implements interpreter.Interpretable.
func (n *fusedNode) ID() int64 { return n.id }

// Eval implements interpreter.Interpretable.
func (n *fusedNode) Eval(a interpreter.Activation) ref.Val {
	return n.Exec(interpreter.AsFrame(a))
}

// Exec implements interpreter.InterpretableV2. Given an activation that is
// not an Activation it runs the general nodes.
func (n *fusedNode) Exec(frame *interpreter.ExecutionFrame) ref.Val {
	if a, ok := frame.Activation.(*Activation); ok {
		switch n.cond.eval(&a.event) {
		case outTrue:
			return types.True
		case outFalse:
			return types.False
		}
	}
	return n.general.Exec(frame)
}

// Interface guards
var _ interpreter.InterpretableV2 = (*fusedNode)(nil)
