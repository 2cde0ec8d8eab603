package hook

import (
	"fmt"

	"github.com/hookgate/hookgate/cel"
	"github.com/hookgate/hookgate/event"
)

// Compiled is a hook ready to meet events: its rule and transform compiled
// once, when the hook is saved or loaded. It is immutable.
type Compiled struct {
	*Hook

	// Version is the stored version of the hook, 0 for hooks from the
	// configuration.
	Version int64

	// Rule is the compiled condition tree.
	Rule *cel.Rule

	// Transform is the compiled transform; nil when the hook has none.
	Transform *cel.Transform

	types []string
}

// Compile compiles a valid hook.
func Compile(h *Hook, version int64) (*Compiled, error) {
	rule, err := cel.Compile(h.Conditions)
	if err != nil {
		return nil, fmt.Errorf("conditions: %w", err)
	}
	c := &Compiled{Hook: h, Version: version, Rule: rule, types: h.Types()}
	if h.Transform != "" {
		if c.Transform, err = cel.CompileTransform(h.Transform); err != nil {
			return nil, fmt.Errorf("transform: %w", err)
		}
	}
	return c, nil
}

// Takes reports whether the hook's types and scope admit the event, before
// its conditions: the type is one of the hook's, the account is the hook's
// (or the hook has none) and, for a domain hook naming a domain, the domain
// is that one.
func (c *Compiled) Takes(e *event.Event) bool {
	if c.Account != "" && c.Account != e.Account {
		return false
	}
	if c.Domain != "" && c.Domain != e.Domain {
		return false
	}
	for _, t := range c.types {
		if t == e.Type {
			return true
		}
	}
	return false
}

// Match reports whether the event reaches the hook: Takes and the rule.
func (c *Compiled) Match(e *event.Event, a *cel.Activation) (bool, error) {
	if !c.Takes(e) {
		return false, nil
	}
	return c.Rule.Match(a)
}

// Index routes events to hooks: it maps (account, domain, event type) to the
// hooks whose types and scope admit them, so an event only meets the rules
// that can apply to it. An Index is immutable; build a new one when hooks
// change and swap it in atomically.
type Index struct {
	routes map[route][]*Compiled
	hooks  []*Compiled
}

// route is a key of the index. An empty account or domain is a hook's
// "any".
type route struct {
	account, domain, typ string
}

// NewIndex builds the index of the hooks, which must have distinct ids.
func NewIndex(hooks []*Compiled) *Index {
	ix := &Index{routes: make(map[route][]*Compiled), hooks: hooks}
	for _, h := range hooks {
		for _, t := range h.types {
			k := route{h.Account, h.Domain, t}
			ix.routes[k] = append(ix.routes[k], h)
		}
	}
	return ix
}

// Hooks returns every hook of the index. The caller must not modify it.
func (ix *Index) Hooks() []*Compiled { return ix.hooks }

// Candidates calls fn for each hook whose types and scope admit the event,
// each once; their conditions remain to be evaluated.
func (ix *Index) Candidates(e *event.Event, fn func(*Compiled)) {
	keys := [4]route{
		{e.Account, e.Domain, e.Type},
		{e.Account, "", e.Type},
		{"", e.Domain, e.Type},
		{"", "", e.Type},
	}
	for i, k := range keys {
		if repeats(keys[:i], k) {
			continue // an event without account or domain repeats a key
		}
		for _, h := range ix.routes[k] {
			fn(h)
		}
	}
}

// Match calls fn for each hook the event reaches: candidates whose rule
// matches. Rule errors, which valid rules never produce, count as no match
// and are passed to onErr when it is not nil.
func (ix *Index) Match(e *event.Event, a *cel.Activation, fn func(*Compiled),
	onErr func(*Compiled, error),
) {
	ix.Candidates(e, func(h *Compiled) {
		ok, err := h.Rule.Match(a)
		if err != nil && onErr != nil {
			onErr(h, err)
		}
		if ok {
			fn(h)
		}
	})
}

func repeats(keys []route, k route) bool {
	for _, p := range keys {
		if p == k {
			return true
		}
	}
	return false
}
