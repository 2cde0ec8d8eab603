package cel

import (
	"math"
	"regexp"

	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/interpreter"
)

// fuser is the decorator of one rule program that puts a fused node
// (leaf.go) in place of the general nodes of each condition it recognized in
// the program's checked AST; a planned node carries the id of the expression
// it evaluates. It recognizes the shapes Source writes, exactly: anything
// else keeps its general nodes.
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
	if e.Kind() == celast.ComprehensionKind {
		l, ok := boundLeafOf(e.AsComprehension())
		return fusedCond{op: condLeaf, leaf: l}, ok
	}
	if e.Kind() != celast.CallKind {
		return fusedCond{}, false
	}
	call := e.AsCall()
	op, isGroup := groupOp(call.FunctionName())
	if !isGroup {
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

func groupOp(function string) (condOp, bool) {
	switch function {
	case operators.LogicalAnd:
		return condAnd, true
	case operators.LogicalOr:
		return condOr, true
	case operators.LogicalNot:
		return condNot, true
	}
	return condLeaf, false
}

var comparisonOps = map[string]testOp{
	operators.Equals:        testEq,
	operators.NotEquals:     testNe,
	operators.Less:          testLt,
	operators.LessEquals:    testLe,
	operators.Greater:       testGt,
	operators.GreaterEquals: testGe,
}

// leafOf recognizes `PATH.hasValue()`, `PATH.orValue(DEFAULT) OP LITERAL`
// with a null or NaN default and a string, number or boolean literal, and
// `PATH.orValue(null) in [LITERALS]`.
func leafOf(call celast.CallExpr) (fusedLeaf, bool) {
	args := call.Args()
	if call.IsMemberFunction() {
		if call.FunctionName() != "hasValue" || len(args) != 0 {
			return fusedLeaf{}, false
		}
		path, ok := pathOf(call.Target())
		return fusedLeaf{path: path, test: valueTest{op: testExists}, missing: outFalse}, ok
	}
	if len(args) != 2 {
		return fusedLeaf{}, false
	}
	path, absent, ok := orValueOf(args[0])
	if !ok {
		return fusedLeaf{}, false
	}
	var t valueTest
	if call.FunctionName() == operators.In {
		t.op = testIn
		t.set, ok = literalSetOf(args[1])
	} else if t.op, ok = comparisonOps[call.FunctionName()]; ok {
		ok = t.setLiteral(args[1])
	}
	if !ok {
		return fusedLeaf{}, false
	}
	l := fusedLeaf{path: path, test: t, missing: t.test(absent)}
	return l, l.missing != outUndecided
}

// setLiteral sets the literal of a test from a string, double or bool
// literal expression.
func (t *valueTest) setLiteral(e celast.Expr) bool {
	if e.Kind() != celast.LiteralKind {
		return false
	}
	switch v := e.AsLiteral().(type) {
	case types.String:
		t.kind, t.str = kindString, string(v)
	case types.Double:
		t.kind, t.num = kindNumber, float64(v)
	case types.Bool:
		t.kind, t.boolean = kindBool, bool(v)
	default:
		return false
	}
	return true
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

// boundLeafOf recognizes `cel.bind(v, PATH.orValue(null), TEST)`, where TEST
// combines tests of v with && and ||.
func boundLeafOf(c celast.ComprehensionExpr) (fusedLeaf, bool) {
	if !isBind(c, "v") {
		return fusedLeaf{}, false
	}
	path, absent, ok := orValueOf(c.AccuInit())
	if !ok || absent != nil {
		return fusedLeaf{}, false
	}
	b, ok := boundTestOf(c.Result())
	if !ok {
		return fusedLeaf{}, false
	}
	l := fusedLeaf{path: path, missing: b.eval(nil)}
	if b.op == condLeaf {
		l.test = b.test
	} else {
		l.bound = &b
	}
	return l, l.missing != outUndecided
}

// boundTestOf recognizes the tests of v Source writes: `type(v) == T`,
// `v OP NUMBER`, `v.startsWith(STRING)` (endsWith, contains, matches) and
// `LITERAL in v`, and && and || over them.
func boundTestOf(e celast.Expr) (boundTest, bool) {
	if e.Kind() != celast.CallKind {
		return boundTest{}, false
	}
	call := e.AsCall()
	args := call.Args()
	if op, isGroup := groupOp(call.FunctionName()); isGroup && op != condNot {
		g := boundTest{op: op}
		for _, arg := range args {
			t, ok := boundTestOf(arg)
			if !ok {
				return boundTest{}, false
			}
			g.terms = append(g.terms, t)
		}
		return typedTest(g), true
	}

	var t valueTest
	ok := false
	switch fn := call.FunctionName(); {
	case call.IsMemberFunction():
		ok = isIdent(call.Target(), "v") && len(args) == 1 && t.setStringFunction(fn, args[0])
	case fn == operators.Equals && len(args) == 2:
		t.op = testType
		t.kind, ok = typeTestOf(args[0], args[1])
	case fn == operators.In && len(args) == 2:
		t.op = testHas
		ok = isIdent(args[1], "v") && t.setLiteral(args[0])
	case len(args) == 2:
		t.op, ok = comparisonOps[fn]
		ok = ok && t.op != testEq && t.op != testNe && isIdent(args[0], "v") &&
			t.setLiteral(args[1]) && t.kind == kindNumber
	}
	return boundTest{op: condLeaf, test: t}, ok
}

// typedTest returns `type(v) == T && test`, where test takes values of type
// T, as one test that is false for values of another type.
func typedTest(g boundTest) boundTest {
	if g.op != condAnd || len(g.terms) != 2 {
		return g
	}
	typeTest, test := g.terms[0], g.terms[1]
	if typeTest.op != condLeaf || typeTest.test.op != testType || test.op != condLeaf {
		return g
	}
	if kind, ok := test.test.takes(); !ok || kind != typeTest.test.kind {
		return g
	}
	test.test.typed = true
	return test
}

// setStringFunction sets a test from `v.FUNCTION(STRING)`.
func (t *valueTest) setStringFunction(function string, arg celast.Expr) bool {
	switch function {
	case "startsWith":
		t.op = testStartsWith
	case "endsWith":
		t.op = testEndsWith
	case "contains":
		t.op = testContains
	case "matches":
		t.op = testMatches
	default:
		return false
	}
	if !t.setLiteral(arg) || t.kind != kindString {
		return false
	}
	if t.op == testMatches {
		re, err := regexp.Compile(t.str) // as cel-go compiles a constant pattern
		if err != nil {
			return false // the general nodes report it
		}
		t.re = re
	}
	return true
}

// typeTestOf recognizes `type(v) == T` for the types Source tests.
func typeTestOf(lhs, rhs celast.Expr) (valueKind, bool) {
	if lhs.Kind() != celast.CallKind || rhs.Kind() != celast.IdentKind {
		return 0, false
	}
	typeOf := lhs.AsCall()
	if typeOf.FunctionName() != "type" || typeOf.IsMemberFunction() ||
		len(typeOf.Args()) != 1 || !isIdent(typeOf.Args()[0], "v") {
		return 0, false
	}
	switch rhs.AsIdent() {
	case "string":
		return kindString, true
	case "double":
		return kindNumber, true
	case "list":
		return kindList, true
	}
	return 0, false
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
	if !isBind(c, "p") {
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

// isBind recognizes the comprehension `cel.bind(name, init, result)` expands
// to.
func isBind(c celast.ComprehensionExpr, name string) bool {
	r := c.IterRange()
	return c.AccuVar() == name && r.Kind() == celast.ListKind &&
		len(r.AsList().Elements()) == 0 && isLiteral(c.LoopCondition(), types.False) &&
		isIdent(c.LoopStep(), name)
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
