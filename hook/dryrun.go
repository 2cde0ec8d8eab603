package hook

import (
	"fmt"

	"github.com/hookgate/hookgate/cel"
	"github.com/hookgate/hookgate/event"
)

// DryRun is the outcome of evaluating a hook document against one event
// without delivering anything.
type DryRun struct {
	// Matched is whether the event would be delivered: the event type,
	// the account and domain scope, and the conditions.
	Matched bool `json:"matched"`

	// Expression is the CEL the conditions compile to.
	Expression string `json:"expression"`

	// Trace is each leaf's and group's value; only when explaining, and
	// absent for a hook without conditions.
	Trace *cel.Trace `json:"trace,omitempty"`

	// Reason says why a hook whose conditions hold still does not take the
	// event (its type or scope); only when explaining.
	Reason string `json:"reason,omitempty"`
}

// Evaluate dry-runs a compiled hook against an event.
func Evaluate(c *Compiled, e *event.Event, explain bool) (*DryRun, error) {
	a := cel.NewActivation(e)
	matched, err := c.Match(e, a)
	if err != nil {
		return nil, err
	}
	out := &DryRun{Matched: matched, Expression: c.Rule.Expression()}
	if !explain {
		return out, nil
	}
	if out.Trace, err = c.Rule.Explain(a); err != nil {
		return nil, err
	}
	if !c.Takes(e) {
		out.Reason = c.refusal(e)
	}
	return out, nil
}

// refusal says why the hook's type or scope does not admit the event.
func (c *Compiled) refusal(e *event.Event) string {
	switch {
	case c.Account != "" && c.Account != e.Account:
		return fmt.Sprintf("the hook is for account %q, the event is of %q", c.Account, e.Account)
	case c.Domain != "" && c.Domain != e.Domain:
		return fmt.Sprintf("the hook listens to domain %q, the event is from %q", c.Domain, e.Domain)
	}
	return fmt.Sprintf("the hook does not take %s events", e.Type)
}

// EvaluateDocuments parses a hook document (a draft: the url may be absent)
// and an event, and dry-runs one against the other. Errors start with
// "rule: " or "event: " and name the JSON path of what is invalid.
func EvaluateDocuments(rule, ev []byte, explain bool) (*DryRun, error) {
	h, err := ParseDraft(rule)
	if err != nil {
		return nil, fmt.Errorf("rule: %w", err)
	}
	c, err := Compile(h, 0)
	if err != nil {
		return nil, fmt.Errorf("rule: %w", err)
	}
	e, err := event.Parse(ev, event.Defaults{})
	if err != nil {
		return nil, fmt.Errorf("event: %w", err)
	}
	return Evaluate(c, e, explain)
}
