package cel

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hookgate/hookgate/event"
)

// Limits on a condition tree. Over a limit is a validation error.
const (
	// MaxDepth is how many groups may nest inside each other; the top
	// group is depth 1.
	MaxDepth = 16

	// MaxLeaves is the most leaves a tree may have.
	MaxLeaves = 256

	// MaxListItems is the most items in an `in` or `nin` list.
	MaxListItems = 1024

	// MaxStringValue is the longest string value or field path, in bytes.
	MaxStringValue = 4096

	// MaxPathKeys is the most keys in a field path (`data.bounce.kind` has
	// three). Each key after the first nests the leaf's CEL one level
	// deeper, and CEL bounds how deeply an expression may nest.
	MaxPathKeys = 16
)

// Group operators.
const (
	And = "AND"
	Or  = "OR"
	Not = "NOT"
)

// Leaf operators.
const (
	OpEq         = "eq"
	OpNeq        = "neq"
	OpGt         = "gt"
	OpGte        = "gte"
	OpLt         = "lt"
	OpLte        = "lte"
	OpIn         = "in"
	OpNin        = "nin"
	OpContains   = "contains"
	OpStartsWith = "starts_with"
	OpEndsWith   = "ends_with"
	OpMatches    = "matches"
	OpExists     = "exists"
)

// ops lists the leaf operators in documentation order.
var ops = []string{
	OpEq, OpNeq, OpGt, OpGte, OpLt, OpLte, OpIn, OpNin,
	OpContains, OpStartsWith, OpEndsWith, OpMatches, OpExists,
}

// Condition is a node of a condition tree: a group of rules combined by an
// operator, or a leaf that tests one field of the event.
type Condition struct {
	// Operator is AND, OR or NOT for a group, empty for a leaf.
	Operator string

	// Rules are a group's children. NOT has exactly one.
	Rules []*Condition

	// Field is a leaf's dotted path into the event.
	Field string

	// Op is a leaf's operator, lower case.
	Op string

	// Value is a leaf's operand: a string, a float64, a bool, or for `in`
	// and `nin` a []any of those.
	Value any

	path []string   // Field split on dots
	kind event.Kind // the known kind of Field, empty when untyped
}

// IsGroup reports whether c is a group rather than a leaf.
func (c *Condition) IsGroup() bool { return c.Operator != "" }

// MarshalJSON writes the node in the shape users write it.
func (c *Condition) MarshalJSON() ([]byte, error) {
	if c.IsGroup() {
		return event.Encode(struct {
			Operator string       `json:"operator"`
			Rules    []*Condition `json:"rules"`
		}{c.Operator, c.Rules})
	}
	return event.Encode(struct {
		Field string `json:"field"`
		Op    string `json:"op"`
		Value any    `json:"value"`
	}{c.Field, c.Op, c.Value})
}

// UnmarshalJSON parses and validates a condition tree. Errors name the JSON
// path of the bad node relative to the tree.
func (c *Condition) UnmarshalJSON(data []byte) error {
	v, err := event.Decode(data)
	if err != nil {
		return err
	}
	parsed, err := ParseConditions(v, "")
	if err != nil {
		return err
	}
	*c = *parsed
	return nil
}

// ParseConditions validates a condition tree given as decoded JSON (numbers
// as json.Number or float64) and returns it. path is where the tree sits in
// the enclosing document, e.g. "conditions"; errors are *event.FieldError
// naming the bad node's JSON path.
func ParseConditions(v any, path string) (*Condition, error) {
	p := parser{}
	c, err := p.node(v, path, 1)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// parser carries the counts that limits apply to across the whole tree.
type parser struct {
	leaves int
}

func (p *parser) node(v any, path string, depth int) (*Condition, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fieldErr(path, "must be an object (a group or a leaf), not %s", event.TypeName(v))
	}
	_, isGroup := m["operator"]
	_, hasRules := m["rules"]
	_, isLeaf := m["field"]
	switch {
	case (isGroup || hasRules) && isLeaf:
		return nil, fieldErr(path, "has both a group's operator/rules and a leaf's field")
	case isGroup || hasRules:
		return p.group(m, path, depth)
	case isLeaf:
		return p.leaf(m, path)
	}
	return nil, fieldErr(path,
		`must be a group {"operator", "rules"} or a leaf {"field", "op", "value"}`)
}

func (p *parser) group(m map[string]any, path string, depth int) (*Condition, error) {
	if depth > MaxDepth {
		return nil, fieldErr(path, "groups nest deeper than %d levels", MaxDepth)
	}
	if err := onlyKeys(m, path, "operator", "rules"); err != nil {
		return nil, err
	}
	opPath := join(path, "operator")
	raw, ok := m["operator"].(string)
	if !ok {
		return nil, fieldErr(opPath, "must be AND, OR or NOT")
	}
	op := strings.ToUpper(raw)
	if op != And && op != Or && op != Not {
		return nil, fieldErr(opPath, "must be AND, OR or NOT, not %q", raw)
	}

	rulesPath := join(path, "rules")
	rules, ok := m["rules"].([]any)
	switch {
	case !ok:
		return nil, fieldErr(rulesPath, "must be an array of rules")
	case op == Not && len(rules) != 1:
		return nil, fieldErr(rulesPath, "NOT takes exactly one rule, not %d", len(rules))
	case len(rules) == 0:
		return nil, fieldErr(rulesPath, "%s takes at least one rule", op)
	}

	g := &Condition{Operator: op, Rules: make([]*Condition, len(rules))}
	for i, r := range rules {
		child, err := p.node(r, rulesPath+"["+strconv.Itoa(i)+"]", depth+1)
		if err != nil {
			return nil, err
		}
		g.Rules[i] = child
	}
	return g, nil
}

func (p *parser) leaf(m map[string]any, path string) (*Condition, error) {
	p.leaves++
	if p.leaves > MaxLeaves {
		return nil, fieldErr(path, "the tree has more than %d leaves", MaxLeaves)
	}
	if err := onlyKeys(m, path, "field", "op", "value"); err != nil {
		return nil, err
	}

	l := &Condition{}
	if err := l.parseField(m["field"], join(path, "field")); err != nil {
		return nil, err
	}
	opPath := join(path, "op")
	raw, ok := m["op"].(string)
	if !ok {
		return nil, fieldErr(opPath, "must be one of %s", strings.Join(ops, ", "))
	}
	l.Op = strings.ToLower(raw)
	if !isOp(l.Op) {
		return nil, fieldErr(opPath, "unknown operator %q (want one of %s)",
			raw, strings.Join(ops, ", "))
	}
	if err := l.checkFieldKind(opPath); err != nil {
		return nil, err
	}

	valuePath := join(path, "value")
	v, ok := m["value"]
	if !ok {
		return nil, fieldErr(valuePath, "required")
	}
	value, err := l.parseValue(v, valuePath)
	if err != nil {
		return nil, err
	}
	l.Value = value
	return l, nil
}

// parseField validates a leaf's field path and types it.
func (l *Condition) parseField(v any, path string) error {
	f, ok := v.(string)
	if !ok {
		return fieldErr(path, "must be a dotted path string, not %s", event.TypeName(v))
	}
	if f == "" {
		return fieldErr(path, "must not be empty")
	}
	if len(f) > MaxStringValue {
		return fieldErr(path, "is %d bytes, over the limit of %d", len(f), MaxStringValue)
	}
	segs := strings.Split(f, ".")
	if len(segs) > MaxPathKeys {
		return fieldErr(path, "has %d keys, over the limit of %d", len(segs), MaxPathKeys)
	}
	for _, s := range segs {
		if s == "" {
			return fieldErr(path, "%q has an empty key (two dots, or a dot at an end)", f)
		}
	}
	l.Field, l.path = f, segs
	kind, known := event.FieldKind(segs[0])
	switch {
	case !known:
	case len(segs) == 1:
		l.kind = kind
	case kind != event.KindObject:
		return fieldErr(path, "%s is %s and has no keys", segs[0], article(kind))
	}
	return nil
}

// checkFieldKind rejects operators that can never apply to a known field.
func (l *Condition) checkFieldKind(path string) error {
	if l.kind == "" || l.Op == OpExists {
		return nil
	}
	ok := true
	switch l.kind {
	case event.KindNumber, event.KindBool:
		switch l.Op {
		case OpContains, OpStartsWith, OpEndsWith, OpMatches:
			ok = false
		}
		if l.kind == event.KindBool && isOrdering(l.Op) {
			ok = false
		}
	case event.KindString:
		ok = !isOrdering(l.Op)
	case event.KindObject:
		ok = false
	}
	if !ok {
		return fieldErr(path, "%s does not apply to %s, which is %s", l.Op, l.Field,
			article(l.kind))
	}
	return nil
}

// parseValue validates a leaf's value against its operator and field.
func (l *Condition) parseValue(v any, path string) (any, error) {
	if v == nil {
		return nil, fieldErr(path, "null is never a valid rule value; use the exists operator")
	}
	switch l.Op {
	case OpExists:
		if _, ok := v.(bool); !ok {
			return nil, fieldErr(path, "exists takes true or false, not %s", event.TypeName(v))
		}
		return v, nil
	case OpIn, OpNin:
		return l.parseList(v, path)
	case OpStartsWith, OpEndsWith, OpMatches:
		s, ok := v.(string)
		if !ok {
			return nil, fieldErr(path, "%s takes a string, not %s", l.Op, event.TypeName(v))
		}
		if l.Op == OpMatches {
			if _, err := regexp.Compile(s); err != nil {
				return nil, fieldErr(path, "invalid regular expression: %v", err)
			}
		}
		return l.scalar(s, path)
	case OpContains:
		if l.kind == event.KindTimestamp {
			if _, ok := v.(string); !ok {
				return nil, fieldErr(path, "contains on timestamp takes a string, not %s",
					event.TypeName(v))
			}
		}
	case OpGt, OpGte, OpLt, OpLte:
		if _, isNumber, _ := event.Float(v); l.kind == "" && !isNumber {
			return nil, fieldErr(path, "%s takes a number, not %s", l.Op, event.TypeName(v))
		}
	}
	return l.scalar(v, path)
}

// parseList validates the list operand of in and nin.
func (l *Condition) parseList(v any, path string) (any, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, fieldErr(path, "%s takes an array, not %s", l.Op, event.TypeName(v))
	}
	if len(list) == 0 {
		return nil, fieldErr(path, "%s takes a non-empty array", l.Op)
	}
	if len(list) > MaxListItems {
		return nil, fieldErr(path, "has %d items, over the limit of %d", len(list), MaxListItems)
	}
	out := make([]any, len(list))
	for i, item := range list {
		itemPath := path + "[" + strconv.Itoa(i) + "]"
		if item == nil {
			return nil, fieldErr(itemPath, "null is never a valid rule value")
		}
		x, err := l.scalar(item, itemPath)
		if err != nil {
			return nil, err
		}
		out[i] = x
	}
	return out, nil
}

// scalar validates one string, number or boolean operand against the field's
// known kind and returns it with numbers as float64.
func (l *Condition) scalar(v any, path string) (any, error) {
	var out any
	switch x := v.(type) {
	case string:
		if len(x) > MaxStringValue {
			return nil, fieldErr(path, "is %d bytes, over the limit of %d", len(x),
				MaxStringValue)
		}
		out = x
	case bool:
		out = x
	default:
		f, ok, err := event.Float(v)
		if !ok {
			return nil, fieldErr(path, "must be a string, number or boolean, not %s",
				event.TypeName(v))
		}
		if err != nil {
			return nil, fieldErr(path, "%v", err)
		}
		out = f
	}
	if l.kind == "" || isStringOp(l.Op) && l.kind == event.KindTimestamp {
		return out, nil
	}
	if l.kind == event.KindTimestamp {
		s, ok := out.(string)
		if !ok {
			return nil, fieldErr(path, "timestamp is an RFC 3339 string")
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, fieldErr(path, "timestamp is an RFC 3339 string; %q is not one", s)
		}
		if t.Before(minInstant) || t.After(maxInstant) {
			return nil, fieldErr(path, "%q is outside the years 0001 to 9999 (UTC)", s)
		}
		return out, nil
	}
	if jsonKind(out) != l.kind {
		return nil, fieldErr(path, "%s is %s", l.Field, article(l.kind))
	}
	return out, nil
}

// The instants a timestamp value may name: those CEL's timestamps hold.
var (
	minInstant = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxInstant = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
)

// onlyKeys rejects keys other than the allowed ones, so that a typo never
// silently changes what a rule means.
func onlyKeys(m map[string]any, path string, allowed ...string) error {
	for k := range m {
		found := false
		for _, a := range allowed {
			found = found || k == a
		}
		if !found {
			return fieldErr(path, "unknown key %q (want %s)", k, strings.Join(allowed, ", "))
		}
	}
	return nil
}

func isOp(op string) bool {
	for _, o := range ops {
		if o == op {
			return true
		}
	}
	return false
}

// isStringOp reports whether op only ever applies to strings.
func isStringOp(op string) bool {
	return op == OpContains || op == OpStartsWith || op == OpEndsWith || op == OpMatches
}

func isOrdering(op string) bool {
	return op == OpGt || op == OpGte || op == OpLt || op == OpLte
}

// fieldErr returns a validation error for the JSON path.
func fieldErr(path, format string, args ...any) error {
	return &event.FieldError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// join appends a key to a JSON path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
