package cel

import (
	"fmt"

	celgo "github.com/google/cel-go/cel"
	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/overloads"
	"github.com/google/cel-go/common/types"
)

// checkTree type-checks the expression of a tree, its Source.
//
// CEL's checker takes time in the square of an expression's size: each
// overload it resolves copies every type substitution made so far in the
// expression, and each leaf adds a few. Checked whole, a tree within the
// limits could take minutes (256 leaves on nested paths). The types of the
// leaves are independent of each other, so each leaf is checked on its own
// and the checked leaves are joined with the group operators, as the parser
// would join them: the tree checks in time proportional to its size.
func checkTree(tree *Condition) (*celgo.Env, *celgo.Ast, error) {
	e, err := env()
	if err != nil {
		return nil, nil, fmt.Errorf("creating CEL environment: %v", err)
	}
	if tree == nil {
		a, iss := e.Compile("true")
		return e, a, iss.Err()
	}
	j := &joiner{
		env:   e,
		fac:   celast.NewExprFactory(),
		types: make(map[int64]*types.Type),
		refs:  make(map[int64]*celast.ReferenceInfo),
	}
	root, err := j.node(tree)
	if err != nil {
		return nil, nil, err
	}

	parsed := celast.NewAST(root, celast.NewSourceInfo(nil))
	checked, err := celast.ToProto(celast.NewCheckedAST(parsed, j.types, j.refs))
	if err != nil {
		return nil, nil, fmt.Errorf("joining checked CEL: %v", err)
	}
	a, err := celgo.CheckedExprToAstWithSource(checked, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("joining checked CEL: %v", err)
	}
	return e, a, nil
}

// joiner builds the checked expression of a tree from its checked leaves.
type joiner struct {
	env   *celgo.Env
	fac   celast.ExprFactory
	last  int64 // the highest expression id used so far
	types map[int64]*types.Type
	refs  map[int64]*celast.ReferenceInfo
}

// node returns the checked expression of a node, written as Source writes
// it: NOT is `!`, a group of one rule is that rule.
func (j *joiner) node(c *Condition) (celast.Expr, error) {
	if !c.IsGroup() {
		return j.leaf(c)
	}
	terms := make([]celast.Expr, len(c.Rules))
	for i, r := range c.Rules {
		t, err := j.node(r)
		if err != nil {
			return nil, err
		}
		terms[i] = t
	}
	switch c.Operator {
	case Not:
		return j.call(operators.LogicalNot, overloads.LogicalNot, terms[0]), nil
	case Or:
		return j.balance(operators.LogicalOr, overloads.LogicalOr, terms), nil
	}
	return j.balance(operators.LogicalAnd, overloads.LogicalAnd, terms), nil
}

// balance joins terms with a binary operator in a balanced tree, as CEL's
// parser joins a chain of `&&` or `||`.
func (j *joiner) balance(function, overload string, terms []celast.Expr) celast.Expr {
	if len(terms) == 1 {
		return terms[0]
	}
	mid := (len(terms) + 1) / 2
	return j.call(function, overload, j.balance(function, overload, terms[:mid]),
		j.balance(function, overload, terms[mid:]))
}

// call returns a boolean call of the operator on args.
func (j *joiner) call(function, overload string, args ...celast.Expr) celast.Expr {
	j.last++
	j.types[j.last] = types.BoolType
	j.refs[j.last] = celast.NewFunctionReference(overload)
	return j.fac.NewCall(j.last, function, args...)
}

// leaf checks the expression of a leaf and returns it with its ids moved
// past those already used.
func (j *joiner) leaf(c *Condition) (celast.Expr, error) {
	a, iss := j.env.Compile(Source(c))
	if iss.Err() != nil {
		return nil, fmt.Errorf("compiling CEL: %v", iss.Err())
	}
	if a.OutputType() != celgo.BoolType {
		return nil, fmt.Errorf("compiling CEL: result is %v, not bool", a.OutputType())
	}

	checked := a.NativeRep()
	base, last := j.last, j.last
	moved := func(id int64) int64 {
		last = max(last, base+id)
		return base + id
	}
	e := checked.Expr()
	e.RenumberIDs(moved)
	for id, t := range checked.TypeMap() {
		j.types[moved(id)] = t
	}
	for id, r := range checked.ReferenceMap() {
		j.refs[moved(id)] = r
	}
	j.last = last
	return e, nil
}
