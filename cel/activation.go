package cel

import (
	"reflect"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"github.com/google/cel-go/interpreter"

	"github.com/hookgate/hookgate/event"
)

// Activation is one event as the rules see it. Build it once per event and
// share it among all the rules evaluated against that event: the fields a
// rule reads are converted to CEL values on first use and kept for the next
// rule. An Activation is not safe for concurrent use.
type Activation struct {
	fields map[string]any
	event  *object
}

// NewActivation returns the activation of an event.
func NewActivation(e *event.Event) *Activation {
	f := e.Fields()
	return &Activation{fields: f, event: &object{fields: f}}
}

// ResolveName implements interpreter.Activation.
func (a *Activation) ResolveName(name string) (any, bool) {
	if name == "event" {
		return a.event, true
	}
	return nil, false
}

// Parent implements interpreter.Activation.
func (a *Activation) Parent() interpreter.Activation { return nil }

// object is the event as a CEL map that converts each top-level field the
// first time it is read. The operations rules do not use are delegated to a
// map of the raw fields.
type object struct {
	fields map[string]any
	cache  map[string]ref.Val
	whole  traits.Mapper
}

// Find implements traits.Mapper.
func (o *object) Find(key ref.Val) (ref.Val, bool) {
	k, ok := key.(types.String)
	if !ok {
		return o.mapper().Find(key)
	}
	if v, ok := o.cache[string(k)]; ok {
		return v, true
	}
	raw, ok := o.fields[string(k)]
	if !ok {
		return nil, false
	}
	v := value(raw)
	if o.cache == nil {
		o.cache = make(map[string]ref.Val, 8)
	}
	o.cache[string(k)] = v
	return v, true
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

// Interface guards
var (
	_ interpreter.Activation = (*Activation)(nil)
	_ traits.Mapper          = (*object)(nil)
)
