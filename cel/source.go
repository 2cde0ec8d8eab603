package cel

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/hookgate/hookgate/event"
)

// Source returns the CEL expression of a condition tree. A nil tree matches
// every event: "true".
//
// Every leaf compiles to an expression that is true or false for any event,
// never an error: fields are read with optional selection, so a missing key
// is `optional.none()`; `.orValue(null)` turns it into null, which equals
// nothing; ordering reads a missing known number as NaN, which orders
// nothing; and operators that take one type guard it with `type(v) == ...`.
func Source(c *Condition) string {
	if c == nil {
		return "true"
	}
	var b strings.Builder
	writeNode(&b, c, false)
	return b.String()
}

// writeNode writes a node; nested groups are parenthesized.
func writeNode(b *strings.Builder, c *Condition, nested bool) {
	if !c.IsGroup() {
		writeLeaf(b, c)
		return
	}
	if c.Operator == Not {
		b.WriteString("!(")
		writeNode(b, c.Rules[0], false)
		b.WriteString(")")
		return
	}
	if len(c.Rules) == 1 {
		writeNode(b, c.Rules[0], nested)
		return
	}
	sep := " && "
	if c.Operator == Or {
		sep = " || "
	}
	if nested {
		b.WriteString("(")
	}
	for i, r := range c.Rules {
		if i > 0 {
			b.WriteString(sep)
		}
		writeNode(b, r, true)
	}
	if nested {
		b.WriteString(")")
	}
}

// writeLeaf writes the expression of one leaf.
func writeLeaf(b *strings.Builder, l *Condition) {
	field, typed := selection(l.path)
	value := orNull(field, typed)

	if l.kind == event.KindTimestamp && !isStringOp(l.Op) && l.Op != OpExists {
		writeTimestampLeaf(b, l, value)
		return
	}
	switch l.Op {
	case OpExists:
		if l.Value == false {
			b.WriteString("!")
		}
		b.WriteString(field + ".hasValue()")
	case OpEq:
		b.WriteString(value + " == " + literal(l.Value))
	case OpNeq:
		b.WriteString(value + " != " + literal(l.Value))
	case OpIn:
		b.WriteString(value + " in " + literal(l.Value))
	case OpNin:
		b.WriteString("!(" + value + " in " + literal(l.Value) + ")")
	case OpGt, OpGte, OpLt, OpLte:
		if l.kind == event.KindNumber {
			b.WriteString(field + `.orValue(double("NaN")) ` + comparison(l.Op) + " " +
				literal(l.Value))
			return
		}
		bind(b, value, "type(v) == double && v "+comparison(l.Op)+" "+literal(l.Value))
	case OpContains:
		bind(b, value, containsTest(l))
	case OpStartsWith:
		bind(b, value, "type(v) == string && v.startsWith("+literal(l.Value)+")")
	case OpEndsWith:
		bind(b, value, "type(v) == string && v.endsWith("+literal(l.Value)+")")
	case OpMatches:
		bind(b, value, "type(v) == string && v.matches("+literal(l.Value)+")")
	}
}

// writeTimestampLeaf writes a leaf on the timestamp field, which compares as
// an instant.
func writeTimestampLeaf(b *strings.Builder, l *Condition, value string) {
	var test string
	switch l.Op {
	case OpEq, OpNeq:
		test = "timestamp(v) == " + timestampLiteral(l.Value.(string))
	case OpIn, OpNin:
		list := l.Value.([]any)
		items := make([]string, len(list))
		for i, x := range list {
			items[i] = timestampLiteral(x.(string))
		}
		test = "timestamp(v) in [" + strings.Join(items, ", ") + "]"
	default:
		test = "timestamp(v) " + comparison(l.Op) + " " + timestampLiteral(l.Value.(string))
	}
	if l.Op == OpNeq || l.Op == OpNin {
		b.WriteString("!")
	}
	bind(b, value, "type(v) == string && "+test)
}

// containsTest is the test of a contains leaf: a substring of a string, or an
// element of an array.
func containsTest(l *Condition) string {
	lit := literal(l.Value)
	_, isString := l.Value.(string)
	switch {
	case l.kind == event.KindString:
		return "type(v) == string && v.contains(" + lit + ")"
	case isString:
		return "(type(v) == string && v.contains(" + lit + ")) || (type(v) == list && " +
			lit + " in v)"
	}
	return "type(v) == list && " + lit + " in v"
}

// bind writes a test of the value bound to v.
func bind(b *strings.Builder, value, test string) {
	b.WriteString("cel.bind(v, " + value + ", " + test + ")")
}

// selection returns the optional selection of a field path from the event.
// Keys after the first are guarded, because selecting a key from a list is an
// error rather than none; `metadata`, known to be an object, needs no guard.
//
// typed is false when the checker cannot infer that the selection holds a
// dyn: its default must then be written dyn(null) rather than null.
func selection(path []string) (expr string, typed bool) {
	expr, typed = "event"+step(path[0]), true
	for i, key := range path[1:] {
		s := step(key)
		if i == 0 && path[0] == "metadata" {
			expr += s
			typed = typed && strings.HasPrefix(s, ".?")
			continue
		}
		expr = "cel.bind(p, " + orNull(expr, typed) + ", type(p) == map ? p" + s +
			" : optional.none())"
		typed = false
	}
	return expr, typed
}

// orNull is the value of a selection, null when it is none.
func orNull(selection string, typed bool) string {
	if typed {
		return selection + ".orValue(null)"
	}
	return selection + ".orValue(dyn(null))"
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// reserved are CEL's reserved words, which cannot follow `.?`.
var reserved = map[string]bool{
	"as": true, "break": true, "const": true, "continue": true, "else": true,
	"false": true, "for": true, "function": true, "if": true, "import": true,
	"in": true, "let": true, "loop": true, "package": true, "namespace": true,
	"null": true, "return": true, "true": true, "var": true, "void": true,
	"while": true,
}

// step is the optional selection of one key: `.?key` when the key is a plain
// identifier, `[?"key"]` otherwise.
func step(key string) string {
	if identifier.MatchString(key) && !reserved[key] {
		return ".?" + key
	}
	return "[?" + strconv.Quote(key) + "]"
}

// literal writes an operand as a CEL literal. Strings are quoted, never
// spliced: Go's quoting produces only escapes CEL accepts.
func literal(v any) string {
	switch v := v.(type) {
	case string:
		return strconv.Quote(v)
	case bool:
		return strconv.FormatBool(v)
	case float64:
		s := strconv.FormatFloat(v, 'g', -1, 64)
		if !strings.ContainsAny(s, ".e") {
			s += ".0"
		}
		return s
	case []any:
		items := make([]string, len(v))
		for i, x := range v {
			items[i] = literal(x)
		}
		return "[" + strings.Join(items, ", ") + "]"
	}
	panic("cel: literal of unexpected type") // validation admits no other type
}

func timestampLiteral(s string) string { return "timestamp(" + strconv.Quote(s) + ")" }

func comparison(op string) string {
	switch op {
	case OpGt:
		return ">"
	case OpGte:
		return ">="
	case OpLt:
		return "<"
	}
	return "<="
}
