package cel

// Mismatches counts the leaves of the rule that are false for the event
// because the field holds a value of a type the leaf does not take (`gt` on a
// string, `starts_with` on a number, `eq "5"` on a number, a null). Such a
// leaf is a likely mistake in the rule or in the sender; the gateway exposes
// the count as a metric. Only leaves on untyped fields can mismatch: the
// known fields are typed by validation.
func (r *Rule) Mismatches(a *Activation) int {
	n := 0
	for _, l := range r.typed {
		v, ok := lookup(a.event.fields, l.path)
		if ok && !takes(l, v) {
			n++
		}
	}
	return n
}

// typedLeaves collects the leaves on untyped fields whose result is false
// when the value's type does not fit. neq and nin are true then, and exists
// takes any type.
func typedLeaves(c *Condition, acc []*Condition) []*Condition {
	if c == nil {
		return acc
	}
	if c.IsGroup() {
		for _, r := range c.Rules {
			acc = typedLeaves(r, acc)
		}
		return acc
	}
	if c.kind == "" && c.Op != OpNeq && c.Op != OpNin && c.Op != OpExists {
		acc = append(acc, c)
	}
	return acc
}

// takes reports whether a leaf can compare the field value v at all.
func takes(l *Condition, v any) bool {
	switch l.Op {
	case OpEq:
		return sameKind(v, l.Value)
	case OpIn:
		for _, x := range l.Value.([]any) {
			if sameKind(v, x) {
				return true
			}
		}
		return false
	case OpGt, OpGte, OpLt, OpLte:
		_, ok := v.(float64)
		return ok
	case OpContains:
		_, isList := v.([]any)
		_, isString := v.(string)
		_, wantString := l.Value.(string)
		return isList || isString && wantString
	}
	_, ok := v.(string) // starts_with, ends_with, matches
	return ok
}

// sameKind reports whether two decoded JSON values are scalars of one type.
func sameKind(a, b any) bool {
	k := jsonKind(a)
	return k != "" && k == jsonKind(b)
}

// lookup follows a field path through nested objects. ok is false when a
// key is absent or a step is not an object: the field is missing.
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
