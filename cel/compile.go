// Package cel compiles hookgate's condition trees to CEL and evaluates them
// against events.
//
// A tree is validated once (ParseConditions), compiled once to CEL source and
// a program (Compile) when a hook is saved or loaded, and then evaluated for
// every event that reaches the hook, all hooks sharing one Activation per
// event. Every leaf evaluates to true or false, never to an error.
package cel

import (
	"errors"
	"fmt"
	"sync"

	celgo "github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/ext"
)

// MaxSourceSize bounds the CEL source a tree compiles to, in bytes. Trees
// within the other limits can still be large (long `in` lists in many
// leaves); this keeps a single rule from costing seconds to compile.
const MaxSourceSize = 1 << 20

// env is the CEL environment of rules and transforms: one variable, `event`,
// a map from string to any JSON value.
var env = sync.OnceValues(func() (*celgo.Env, error) {
	return celgo.NewEnv(
		celgo.Variable("event", celgo.MapType(celgo.StringType, celgo.DynType)),
		celgo.OptionalTypes(),
		ext.Bindings(),
		ext.Strings(),
		celgo.ParserExpressionSizeLimit(MaxSourceSize),
	)
})

// Rule is a compiled condition tree. It is immutable and safe for concurrent
// use.
type Rule struct {
	tree    *Condition
	source  string
	program celgo.Program

	// typed are the leaves on untyped fields that can meet a value of a
	// type they do not take; see Mismatches.
	typed []*Condition

	explainOnce sync.Once
	leaves      map[*Condition]celgo.Program
	explainErr  error
}

// Compile compiles a tree returned by ParseConditions. A nil tree compiles to
// a rule that matches every event.
func Compile(tree *Condition) (*Rule, error) {
	if err := checkParsed(tree); err != nil {
		return nil, err
	}
	src := Source(tree)
	if len(src) > MaxSourceSize {
		return nil, fmt.Errorf("conditions compile to %d bytes of CEL, over the limit of %d",
			len(src), MaxSourceSize)
	}
	e, checked, err := checkTree(tree)
	if err != nil {
		return nil, err
	}
	prg, err := programOf(e, checked, true)
	if err != nil {
		return nil, err
	}
	r := &Rule{tree: tree, source: src, program: prg}
	r.typed = typedLeaves(tree, nil)
	return r, nil
}

// program compiles one boolean CEL expression of a rule. The program reads
// `event.?key` through selectField, and evaluates the conditions that have
// a fused form (leaf.go) with a fused node.
func program(src string) (celgo.Program, error) { return plan(src, true) }

// plan compiles one boolean CEL expression of a rule, with fused nodes or,
// for the tests that compare the two, with cel-go's general nodes only.
func plan(src string, fuse bool) (celgo.Program, error) {
	e, err := env()
	if err != nil {
		return nil, fmt.Errorf("creating CEL environment: %v", err)
	}
	ast, iss := e.Compile(src)
	if iss.Err() != nil {
		return nil, fmt.Errorf("compiling CEL: %v", iss.Err())
	}
	if ast.OutputType() != celgo.BoolType {
		return nil, fmt.Errorf("compiling CEL: result is %v, not bool", ast.OutputType())
	}
	return programOf(e, ast, fuse)
}

// programOf plans the program of a checked rule expression.
func programOf(e *celgo.Env, ast *celgo.Ast, fuse bool) (celgo.Program, error) {
	opts := []celgo.ProgramOption{
		celgo.EvalOptions(celgo.OptOptimize),
		celgo.CustomDecoratorV2(selectFields),
	}
	if fuse {
		opts = append(opts, celgo.CustomDecoratorV2(newFuser(ast.NativeRep().Expr()).decorate))
	}
	prg, err := e.Program(ast, opts...)
	if err != nil {
		return nil, fmt.Errorf("building CEL program: %v", err)
	}
	return prg, nil
}

// checkParsed makes sure every leaf of the tree went through validation.
func checkParsed(c *Condition) error {
	if c == nil {
		return nil
	}
	if !c.IsGroup() && c.path == nil {
		return errors.New("condition tree was not built by ParseConditions")
	}
	for _, r := range c.Rules {
		if err := checkParsed(r); err != nil {
			return err
		}
	}
	return nil
}

// Expression returns the CEL source the rule evaluates.
func (r *Rule) Expression() string { return r.source }

// Conditions returns the tree the rule was compiled from; nil when the rule
// matches every event. The caller must not modify it.
func (r *Rule) Conditions() *Condition { return r.tree }

// Match evaluates the rule against an event. An error means the program
// failed, which a valid tree never does; callers treat it as no match. Match
// compiles nothing and converts each field of the event once per
// Activation, however many rules read it; from the second rule on, it looks
// each known field up once too: the cost of a rule is its evaluation alone.
func (r *Rule) Match(a *Activation) (bool, error) {
	if a.matched++; a.matched == 2 {
		a.event.cache = new(lookupCache) // worth its allocation once rules share it
	}
	out, _, err := r.program.Eval(&a.frame)
	if err != nil {
		return false, fmt.Errorf("evaluating %s: %v", r.source, err)
	}
	return out == types.True, nil
}
