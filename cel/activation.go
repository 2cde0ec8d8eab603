package cel

import (
	"reflect"
	"sort"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"github.com/google/cel-go/interpreter"

	"github.com/hookgate/hookgate/event"
)

// Activation is one event as the rules see it. Build it once per event and
// share it among all the rules evaluated against that event: the fields a
// rule reads are looked up, and converted to CEL values where a rule needs
// them, on first use and kept for the next rule. Building one costs a small
// allocation; what a single rule does not read costs nothing. An
// Activation is not safe for concurrent use.
type Activation struct {
	event object

	// matched counts the rules Match evaluated, so that the first one does
	// not pay for caching lookups that only later rules reuse.
	matched int

	// frame is the execution frame rules run in, built once per event
	// rather than taken from cel-go's pool on every evaluation.
	frame interpreter.ExecutionFrame
}

// NewActivation returns the activation of an event.
func NewActivation(e *event.Event) *Activation { return activationOf(e.Fields()) }

// activationOf returns the activation of an event's decoded fields.
func activationOf(fields map[string]any) *Activation {
	a := &Activation{event: object{fields: fields}}
	a.frame.Activation = a
	return a
}

// ResolveName implements interpreter.Activation.
func (a *Activation) ResolveName(name string) (any, bool) {
	if name == "event" {
		return &a.event, true
	}
	return nil, false
}

// Parent implements interpreter.Activation.
func (a *Activation) Parent() interpreter.Activation { return nil }

// fieldSlots numbers the known top-level fields, which most rules read, so
// that an object keeps their values in an array rather than a map.
var fieldSlots = func() map[string]int {
	names := make([]string, 0, numFieldSlots)
	for name := range event.KnownFields() {
		names = append(names, name)
	}
	sort.Strings(names)
	slots := make(map[string]int, len(names))
	for i, name := range names {
		slots[name] = i
	}
	return slots
}()

// numFieldSlots is the number of known fields; a test keeps it in step.
const numFieldSlots = 18

// slotOf returns the slot of a known field, -1 for any other key.
func slotOf(key string) int {
	if slot, ok := fieldSlots[key]; ok {
		return slot
	}
	return -1
}

// object is the event as a CEL map that reads each top-level field the
// first time a rule needs it. Fused conditions (leaf.go) need the decoded
// value alone, which the cache keeps for the known fields; the general
// program nodes need a CEL value, which object converts once. The
// operations rules do not use are delegated to a map of the raw fields.
type object struct {
	fields map[string]any

	// cache holds the known fields looked up; nil until the second rule,
	// the first reading the fields map directly.
	cache *lookupCache

	// converted are the known fields as CEL values, allocated when a
	// general node first reads one: a rule of fused conditions never does.
	converted *[numFieldSlots]field
	others    map[string]*field
	whole     traits.Mapper
}

// lookupCache holds the decoded values of the known fields looked up.
type lookupCache struct {
	raw   [numFieldSlots]any
	state [numFieldSlots]lookupState
}

// lookupState records whether a known field was looked up.
type lookupState uint8

const (
	notLookedUp lookupState = iota
	lookedUpMissing
	lookedUpPresent
)

// field is one top-level field converted to CEL.
type field struct {
	// present is optional.of(value), or optional.none() for a missing
	// field; nil until the field is converted.
	present *types.Optional
	value   ref.Val // nil for a missing field
}

// lookup returns the decoded value of the top-level field key, whose slot
// (from slotOf) is slot. Once the cache is there, known fields are looked up
// once per event; other keys, rarer in rules, cost a map lookup each time.
func (o *object) lookup(slot int, key string) (any, bool) {
	if slot < 0 || o.cache == nil {
		v, ok := o.fields[key]
		return v, ok
	}
	c := o.cache
	if c.state[slot] == notLookedUp {
		v, ok := o.fields[key]
		c.raw[slot], c.state[slot] = v, lookedUpMissing
		if ok {
			c.state[slot] = lookedUpPresent
		}
	}
	return c.raw[slot], c.state[slot] == lookedUpPresent
}

// field returns the top-level field key, whose slot (from slotOf) is slot,
// converted to a CEL value.
func (o *object) field(slot int, key string) *field {
	var f *field
	if slot >= 0 {
		if o.converted == nil {
			o.converted = new([numFieldSlots]field)
		}
		f = &o.converted[slot]
	} else if f = o.others[key]; f == nil {
		if o.others == nil {
			o.others = make(map[string]*field, 4)
		}
		f = &field{}
		o.others[key] = f
	}
	if f.present == nil {
		f.present = types.OptionalNone
		if raw, ok := o.lookup(slot, key); ok {
			f.value = value(raw)
			f.present = types.OptionalOf(f.value)
		}
	}
	return f
}

// Find implements traits.Mapper.
func (o *object) Find(key ref.Val) (ref.Val, bool) {
	k, ok := key.(types.String)
	if !ok {
		return o.mapper().Find(key)
	}
	f := o.field(slotOf(string(k)), string(k))
	return f.value, f.value != nil
}

// Get implements traits.Indexer.
func (o *object) Get(key ref.Val) ref.Val {
	if v, ok := o.Find(key); ok {
		return v
	}
	return o.mapper().Get(key) // the map's own "no such key" error
}

// mapper returns the fields as a plain CEL map, for the rarer operations.
func (o *object) mapper() traits.Mapper {
	if o.whole == nil {
		o.whole = value(o.fields).(traits.Mapper)
	}
	return o.whole
}

func (o *object) Contains(key ref.Val) ref.Val { return o.mapper().Contains(key) }
func (o *object) Iterator() traits.Iterator    { return o.mapper().Iterator() }
func (o *object) Size() ref.Val                { return o.mapper().Size() }
func (o *object) Equal(other ref.Val) ref.Val  { return o.mapper().Equal(other) }
func (o *object) Type() ref.Type               { return types.MapType }
func (o *object) Value() any                   { return o.fields }

func (o *object) ConvertToNative(t reflect.Type) (any, error) {
	return o.mapper().ConvertToNative(t)
}

func (o *object) ConvertToType(t ref.Type) ref.Val { return o.mapper().ConvertToType(t) }

// value converts a decoded JSON value (numbers as float64) to a CEL value.
func value(v any) ref.Val {
	switch v := v.(type) {
	case string:
		return types.String(v)
	case float64:
		return types.Double(v)
	case bool:
		return types.Bool(v)
	case map[string]any:
		// Keyed by string, the map hashes faster than one keyed by CEL
		// values; its values, already CEL values, pass the adapter unchanged.
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = value(x)
		}
		return types.NewStringInterfaceMap(types.DefaultTypeAdapter, m)
	case []any:
		l := make([]ref.Val, len(v))
		for i, x := range v {
			l[i] = value(x)
		}
		return types.NewRefValList(types.DefaultTypeAdapter, l)
	}
	return types.NullValue
}

// selectField is the program node of `event.?key`, the selection every leaf
// starts with. It returns the optional value the Activation keeps for the
// key, where cel-go's general attribute would resolve `event`, qualify it
// through the map interface and wrap the value in a new optional, in every
// leaf of every rule. Its result is the same; with an activation that is not
// an Activation it runs that general attribute.
type selectField struct {
	key     string
	slot    int
	general interpreter.InterpretableV2
}

// ID implements interpreter.Interpretable.
func (s *selectField) ID() int64 { return s.general.ID() }

// Eval implements interpreter.Interpretable.
func (s *selectField) Eval(a interpreter.Activation) ref.Val {
	return s.Exec(interpreter.AsFrame(a))
}

// Exec implements interpreter.InterpretableV2.
func (s *selectField) Exec(frame *interpreter.ExecutionFrame) ref.Val {
	if a, ok := frame.Activation.(*Activation); ok {
		return a.event.field(s.slot, s.key).present
	}
	if v, ok := frame.ResolveName("event"); ok { // inside cel.bind
		if o, ok := v.(*object); ok {
			return o.field(s.slot, s.key).present
		}
	}
	return s.general.Exec(frame)
}

// selectFields is the decorator of rule programs that puts a selectField in
// place of each `event.?key` attribute. Transforms, which users write, keep
// the general attributes: there a local variable may be named `event`.
func selectFields(i interpreter.InterpretableV2) (interpreter.InterpretableV2, error) {
	ia, ok := i.(interpreter.InterpretableAttribute)
	if !ok {
		return i, nil
	}
	attr, ok := ia.Attr().(interpreter.NamespacedAttribute)
	if !ok {
		return i, nil
	}
	names, quals := attr.CandidateVariableNames(), attr.Qualifiers()
	if len(names) != 1 || names[0] != "event" || len(quals) != 1 || !quals[0].IsOptional() {
		return i, nil
	}
	q, ok := quals[0].(interpreter.ConstantQualifier)
	if !ok {
		return i, nil
	}
	key, ok := q.Value().(types.String)
	if !ok {
		return i, nil
	}
	return &selectField{key: string(key), slot: slotOf(string(key)), general: i}, nil
}

// Interface guards
var (
	_ interpreter.Activation      = (*Activation)(nil)
	_ traits.Mapper               = (*object)(nil)
	_ interpreter.InterpretableV2 = (*selectField)(nil)
)
