package cel

import (
	"math"

	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/interpreter"
)

// Fused conditions. Most leaves compile to one of a few shapes: a field
// compared with a constant (`event.?heat_score.orValue(double("NaN")) > 5.0`,
// `event.?metadata.?campaign.orValue(null) == "x"`), a field in a list of
// constants, or a presence test (`event.?x.hasValue()`). cel-go runs each as
// four or five nodes, each its own allocation, that pass CEL values between
// them through interface calls; the field must first be converted to a CEL
// value, and `<` allocates the result of its comparison. A fused node
// evaluates such leaves, and the `&&`, `||` and `!` over them, in one step on
// the decoded values of the fields, from one tree whose terms sit side by
// side, converting nothing.
//
// A fused node decides only the cases whose outcome is plain: a field that is
// missing, or holds a string, number, boolean or null that the operator
// takes. Anything else (an object or array compared with `==`, a null
// ordered with `<`, a path that steps into a non-object without the
// `type(p) == map` guard) is undecided, and the general nodes that the fused
// one replaced evaluate the whole expression, so that a rule's results are
// those of its CEL expression in every case. Tests compare the two paths on
// every JSON type.

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

// leafOp is the operator of a fused leaf.
type leafOp uint8

const (
	leafEq leafOp = iota
	leafNe
	leafLt
	leafLe
	leafGt
	leafGe
	leafIn
	leafExists
)

var comparisonOps = map[string]leafOp{
	operators.Equals:        leafEq,
	operators.NotEquals:     leafNe,
	operators.Less:          leafLt,
	operators.LessEquals:    leafLe,
	operators.Greater:       leafGt,
	operators.GreaterEquals: leafGe,
}

// fusedLeaf is one leaf: `PATH.orValue(DEFAULT) OP LITERAL` with a null or
// NaN default and a string, number or boolean literal; `PATH.orValue(null)
// in [LITERALS]`; or `PATH.hasValue()`. Its operand is kept unboxed so that
// evaluating the leaf reads no memory beyond the node and the event.
type fusedLeaf struct {
	path fieldPath
	str  string
	num  float64
	set  *literalSet // of `in`

	op      leafOp
	kind    litKind // of the literal of a comparison
	boolean bool

	// missing is the outcome for a missing field, computed from the
	// default when the leaf is planned.
	missing outcome
}

// litKind is the JSON type of a literal.
type litKind uint8

const (
	litString litKind = iota
	litNumber
	litBool
)

// literalSet is the list of an `in` leaf.
type literalSet struct {
	strings           map[string]bool
	numbers           map[float64]bool
	hasTrue, hasFalse bool
}

// eval evaluates the leaf.
func (l *fusedLeaf) eval(o *object) outcome {
	v, ok, undecided := l.path.lookup(o)
	switch {
	case undecided:
		return outUndecided
	case !ok:
		return l.missing
	case l.op == leafExists:
		return outTrue
	}
	return l.test(v)
}

// test evaluates the leaf on the value of a present field as CEL does.
func (l *fusedLeaf) test(v any) outcome {
	switch l.op {
	case leafEq, leafNe:
		eq := l.equal(v)
		if eq == outUndecided || l.op == leafEq {
			return eq
		}
		return outcomeOf(eq == outFalse)
	case leafIn:
		return l.set.contains(v)
	}
	x, ok := v.(float64)
	if !ok || l.kind != litNumber {
		return outUndecided // CEL orders strings too, and fails on null
	}
	switch l.op { // NaN orders nothing, in Go as in CEL
	case leafLt:
		return outcomeOf(x < l.num)
	case leafLe:
		return outcomeOf(x <= l.num)
	case leafGt:
		return outcomeOf(x > l.num)
	}
	return outcomeOf(x >= l.num)
}

// equal is CEL's equality of a decoded value with the literal: values of
// different types are never equal, and null equals no literal. Objects,
// arrays and anything else a decoded event should not hold are undecided.
func (l *fusedLeaf) equal(v any) outcome {
	switch v := v.(type) {
	case nil:
		return outFalse
	case string:
		return outcomeOf(l.kind == litString && v == l.str)
	case float64:
		return outcomeOf(l.kind == litNumber && v == l.num)
	case bool:
		return outcomeOf(l.kind == litBool && v == l.boolean)
	}
	return outUndecided
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

// fuser is the decorator of one rule program that puts a fused node in
// place of the general nodes of each condition it recognized in the
// program's checked AST; a planned node carries the id of the expression it
// evaluates.
type fuser struct {
	conds map[int64]fusedCond
	terms []int64 // the terms of fused groups
}

// newFuser recognizes the fusable conditions of a rule's checked AST. Only
// the outermost get a fused node: the terms of a fused group keep their
// general nodes, which run when the group is undecided, so that a large
// group is not copied into a fused node at every level of its `&&`s.
func newFuser(root celast.Expr) *fuser {
	f := &fuser{conds: make(map[int64]fusedCond)}
	celast.PostOrderVisit(root, celast.NewExprVisitor(func(e celast.Expr) {
		if c, ok := f.condOf(e); ok {
			f.conds[e.ID()] = c
		}
	}))
	for _, id := range f.terms {
		delete(f.conds, id)
	}
	return f
}

// decorate implements interpreter.InterpretableDecoratorV2.
func (f *fuser) decorate(i interpreter.InterpretableV2) (interpreter.InterpretableV2, error) {
	if c, ok := f.conds[i.ID()]; ok {
		return &fusedNode{id: i.ID(), cond: c, general: i}, nil
	}
	return i, nil
}

// condOf returns the fused form of an expression. The visit is post-order,
// so the operands of a group were recognized before it.
func (f *fuser) condOf(e celast.Expr) (fusedCond, bool) {
	if e.Kind() != celast.CallKind {
		return fusedCond{}, false
	}
	call := e.AsCall()
	var op condOp
	switch call.FunctionName() {
	case operators.LogicalAnd:
		op = condAnd
	case operators.LogicalOr:
		op = condOr
	case operators.LogicalNot:
		op = condNot
	default:
		l, ok := leafOf(call)
		return fusedCond{op: condLeaf, leaf: l}, ok
	}

	g := fusedCond{op: op}
	for _, arg := range call.Args() {
		c, ok := f.conds[arg.ID()]
		if !ok {
			return fusedCond{}, false
		}
		if c.op == op && op != condNot { // a && (b && c): one group
			g.terms = append(g.terms, c.terms...)
		} else {
			g.terms = append(g.terms, c)
		}
	}
	for _, arg := range call.Args() {
		f.terms = append(f.terms, arg.ID())
	}
	return g, len(g.terms) > 0
}

// leafOf recognizes a fusable leaf.
func leafOf(call celast.CallExpr) (fusedLeaf, bool) {
	args := call.Args()
	if call.IsMemberFunction() {
		if call.FunctionName() != "hasValue" || len(args) != 0 {
			return fusedLeaf{}, false
		}
		path, ok := pathOf(call.Target())
		return fusedLeaf{path: path, op: leafExists, missing: outFalse}, ok
	}
	if len(args) != 2 {
		return fusedLeaf{}, false
	}
	path, absent, ok := orValueOf(args[0])
	if !ok {
		return fusedLeaf{}, false
	}
	if call.FunctionName() == operators.In {
		set, ok := literalSetOf(args[1])
		if !ok {
			return fusedLeaf{}, false
		}
		l := fusedLeaf{path: path, op: leafIn, set: set}
		l.missing = l.test(absent)
		return l, l.missing != outUndecided
	}
	op, ok := comparisonOps[call.FunctionName()]
	if !ok || args[1].Kind() != celast.LiteralKind {
		return fusedLeaf{}, false
	}
	l := fusedLeaf{path: path, op: op}
	switch v := args[1].AsLiteral().(type) {
	case types.String:
		l.kind, l.str = litString, string(v)
	case types.Double:
		l.kind, l.num = litNumber, float64(v)
	case types.Bool:
		l.kind, l.boolean = litBool, bool(v)
	default:
		return fusedLeaf{}, false
	}
	l.missing = l.test(absent)
	return l, l.missing != outUndecided
}

// literalSetOf recognizes a list of string, number and boolean literals.
func literalSetOf(e celast.Expr) (*literalSet, bool) {
	if e.Kind() != celast.ListKind || len(e.AsList().OptionalIndices()) != 0 {
		return nil, false
	}
	s := &literalSet{strings: map[string]bool{}, numbers: map[float64]bool{}}
	for _, item := range e.AsList().Elements() {
		if item.Kind() != celast.LiteralKind {
			return nil, false
		}
		switch v := item.AsLiteral().(type) {
		case types.String:
			s.strings[string(v)] = true
		case types.Double:
			s.numbers[float64(v)] = true
		case types.Bool:
			s.hasTrue = s.hasTrue || bool(v)
			s.hasFalse = s.hasFalse || !bool(v)
		default:
			return nil, false
		}
	}
	return s, true
}

// orValueOf recognizes `PATH.orValue(DEFAULT)`. absent is the default: nil
// for `null` or `dyn(null)`, NaN for `double("NaN")`.
func orValueOf(e celast.Expr) (path fieldPath, absent any, ok bool) {
	if e.Kind() != celast.CallKind {
		return path, nil, false
	}
	call := e.AsCall()
	if call.FunctionName() != "orValue" || !call.IsMemberFunction() || len(call.Args()) != 1 {
		return path, nil, false
	}
	if absent, ok = defaultOf(call.Args()[0]); !ok {
		return path, nil, false
	}
	path, ok = pathOf(call.Target())
	return path, absent, ok
}

// defaultOf recognizes the defaults rule sources write.
func defaultOf(e celast.Expr) (any, bool) {
	if isLiteral(e, types.NullValue) {
		return nil, true
	}
	if e.Kind() != celast.CallKind {
		return nil, false
	}
	call := e.AsCall()
	if call.IsMemberFunction() || len(call.Args()) != 1 {
		return nil, false
	}
	switch arg := call.Args()[0]; call.FunctionName() {
	case "dyn":
		return nil, isLiteral(arg, types.NullValue)
	case "double":
		return math.NaN(), isLiteral(arg, types.String("NaN"))
	}
	return nil, false
}

// pathOf recognizes an optional selection of a field of the event.
func pathOf(e celast.Expr) (fieldPath, bool) {
	if e.Kind() == celast.ComprehensionKind {
		return guardedPathOf(e.AsComprehension())
	}
	operand, key, ok := optionalStep(e)
	if !ok {
		return fieldPath{}, false
	}
	if isIdent(operand, "event") {
		return fieldPath{slot: slotOf(key), key: key}, true
	}
	p, ok := pathOf(operand)
	if !ok {
		return fieldPath{}, false
	}
	return p.then(key, false), true
}

// guardedPathOf recognizes a guarded step,
// `cel.bind(p, PATH.orValue(null), type(p) == map ? p.?key : optional.none())`.
func guardedPathOf(c celast.ComprehensionExpr) (fieldPath, bool) {
	r := c.IterRange()
	if c.AccuVar() != "p" || r.Kind() != celast.ListKind || len(r.AsList().Elements()) != 0 ||
		!isLiteral(c.LoopCondition(), types.False) || !isIdent(c.LoopStep(), "p") {
		return fieldPath{}, false
	}
	inner, absent, ok := orValueOf(c.AccuInit())
	if !ok || absent != nil {
		return fieldPath{}, false
	}

	res := c.Result()
	if res.Kind() != celast.CallKind || res.AsCall().FunctionName() != operators.Conditional {
		return fieldPath{}, false
	}
	args := res.AsCall().Args()
	if len(args) != 3 || !isMapTest(args[0]) || !isNone(args[2]) {
		return fieldPath{}, false
	}
	operand, key, ok := optionalStep(args[1])
	if !ok || !isIdent(operand, "p") {
		return fieldPath{}, false
	}
	return inner.then(key, true), true
}

// then returns the path extended by one step.
func (p fieldPath) then(key string, guarded bool) fieldPath {
	rest := append(p.rest[:len(p.rest):len(p.rest)], pathStep{key: key, guarded: guarded})
	return fieldPath{slot: p.slot, key: p.key, rest: rest}
}

// optionalStep recognizes `operand.?key` and `operand[?"key"]`.
func optionalStep(e celast.Expr) (operand celast.Expr, key string, ok bool) {
	if e.Kind() != celast.CallKind {
		return nil, "", false
	}
	call := e.AsCall()
	fn := call.FunctionName()
	if fn != operators.OptSelect && fn != operators.OptIndex || len(call.Args()) != 2 {
		return nil, "", false
	}
	lit := call.Args()[1]
	if lit.Kind() != celast.LiteralKind {
		return nil, "", false
	}
	k, ok := lit.AsLiteral().(types.String)
	return call.Args()[0], string(k), ok
}

// isMapTest recognizes `type(p) == map`.
func isMapTest(e celast.Expr) bool {
	if e.Kind() != celast.CallKind || e.AsCall().FunctionName() != operators.Equals {
		return false
	}
	args := e.AsCall().Args()
	if len(args) != 2 || !isIdent(args[1], "map") || args[0].Kind() != celast.CallKind {
		return false
	}
	typeOf := args[0].AsCall()
	return typeOf.FunctionName() == "type" && !typeOf.IsMemberFunction() &&
		len(typeOf.Args()) == 1 && isIdent(typeOf.Args()[0], "p")
}

// isNone recognizes `optional.none()`.
func isNone(e celast.Expr) bool {
	return e.Kind() == celast.CallKind && e.AsCall().FunctionName() == "optional.none" &&
		!e.AsCall().IsMemberFunction() && len(e.AsCall().Args()) == 0
}

func isLiteral(e celast.Expr, v ref.Val) bool {
	return e.Kind() == celast.LiteralKind && e.AsLiteral().Type() == v.Type() &&
		e.AsLiteral().Equal(v) == types.True
}

func isIdent(e celast.Expr, name string) bool {
	return e.Kind() == celast.IdentKind && e.AsIdent() == name
}

// Interface guards
var _ interpreter.InterpretableV2 = (*fusedNode)(nil)
