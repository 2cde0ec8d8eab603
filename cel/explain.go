package cel

import (
	"fmt"

	celgo "github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"

	"github.com/hookgate/hookgate/event"
)

// Trace is the value of every node of a rule for one event: what `explain`
// shows. Leaves carry the CEL they compile to.
type Trace struct {
	Condition  *Condition
	Result     bool
	Expression string   // a leaf's CEL
	Rules      []*Trace // a group's children
}

// MarshalJSON writes the trace in the shape of the tree, each node with its
// result.
func (t *Trace) MarshalJSON() ([]byte, error) {
	c := t.Condition
	if c.IsGroup() {
		return event.Encode(struct {
			Operator string   `json:"operator"`
			Result   bool     `json:"result"`
			Rules    []*Trace `json:"rules"`
		}{c.Operator, t.Result, t.Rules})
	}
	return event.Encode(struct {
		Field      string `json:"field"`
		Op         string `json:"op"`
		Value      any    `json:"value"`
		Result     bool   `json:"result"`
		Expression string `json:"expression"`
	}{c.Field, c.Op, c.Value, t.Result, t.Expression})
}

// Explain evaluates every node of the rule for the event. It returns nil for
// a rule without conditions. Leaves are compiled on the first call, so
// Explain is for dry runs, not for the delivery path; its root result always
// equals Match.
func (r *Rule) Explain(a *Activation) (*Trace, error) {
	if r.tree == nil {
		return nil, nil
	}
	r.explainOnce.Do(func() {
		r.leaves = make(map[*Condition]celgo.Program)
		r.explainErr = r.compileLeaves(r.tree)
	})
	if r.explainErr != nil {
		return nil, r.explainErr
	}
	return r.trace(r.tree, a)
}

func (r *Rule) compileLeaves(c *Condition) error {
	if c.IsGroup() {
		for _, child := range c.Rules {
			if err := r.compileLeaves(child); err != nil {
				return err
			}
		}
		return nil
	}
	prg, err := program(Source(c))
	if err != nil {
		return err
	}
	r.leaves[c] = prg
	return nil
}

func (r *Rule) trace(c *Condition, a *Activation) (*Trace, error) {
	t := &Trace{Condition: c}
	if !c.IsGroup() {
		t.Expression = Source(c)
		out, _, err := r.leaves[c].Eval(&a.frame)
		if err != nil {
			return nil, fmt.Errorf("evaluating %s: %v", t.Expression, err)
		}
		t.Result = out == types.True
		return t, nil
	}

	t.Rules = make([]*Trace, len(c.Rules))
	for i, child := range c.Rules {
		ct, err := r.trace(child, a)
		if err != nil {
			return nil, err
		}
		t.Rules[i] = ct
	}
	switch c.Operator {
	case Not:
		t.Result = !t.Rules[0].Result
	case And:
		t.Result = true
		for _, ct := range t.Rules {
			t.Result = t.Result && ct.Result
		}
	case Or:
		for _, ct := range t.Rules {
			t.Result = t.Result || ct.Result
		}
	}
	return t, nil
}
