package cel

import (
	"errors"
	"fmt"
	"math"
	"time"

	celgo "github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"

	"github.com/hookgate/hookgate/event"
)

// Limits on transforms, which users write as CEL themselves.
const (
	// MaxTransformSize is the longest transform source, in bytes.
	MaxTransformSize = 16 << 10

	// TransformCostLimit bounds the work one transform may do per event,
	// in CEL's cost units, so that a comprehension cannot stall delivery.
	TransformCostLimit = 1_000_000
)

// Transform is a compiled transform: a CEL expression over `event` that
// yields the JSON body a hook sends instead of the event. It is immutable and
// safe for concurrent use.
type Transform struct {
	source  string
	program celgo.Program
}

// CompileTransform compiles a transform. The expression must yield a map,
// for example `{"text": "Hot lead: " + event.recipient}`.
func CompileTransform(src string) (*Transform, error) {
	if len(src) > MaxTransformSize {
		return nil, fmt.Errorf("transform is %d bytes, over the limit of %d", len(src),
			MaxTransformSize)
	}
	e, err := env()
	if err != nil {
		return nil, fmt.Errorf("creating CEL environment: %v", err)
	}
	ast, iss := e.Compile(src)
	if iss.Err() != nil {
		return nil, fmt.Errorf("compiling transform: %v", iss.Err())
	}
	out := ast.OutputType()
	if out.Kind() != types.MapKind && out != celgo.DynType {
		return nil, fmt.Errorf("transform yields %v; it must yield a map (the JSON body)", out)
	}
	prg, err := e.Program(ast, celgo.EvalOptions(celgo.OptOptimize),
		celgo.CostLimit(TransformCostLimit))
	if err != nil {
		return nil, fmt.Errorf("building transform: %v", err)
	}
	return &Transform{source: src, program: prg}, nil
}

// Source returns the transform's CEL source.
func (t *Transform) Source() string { return t.source }

// Apply evaluates the transform for an event and returns the JSON body.
func (t *Transform) Apply(a *Activation) ([]byte, error) {
	out, _, err := t.program.Eval(a)
	if err != nil {
		return nil, fmt.Errorf("evaluating transform: %v", err)
	}
	if _, ok := out.(traits.Mapper); !ok {
		return nil, fmt.Errorf("transform yielded %s, not a map", out.Type())
	}
	v, err := native(out)
	if err != nil {
		return nil, fmt.Errorf("transform result: %v", err)
	}
	body, err := event.Encode(v)
	if err != nil {
		return nil, fmt.Errorf("encoding transform result: %v", err)
	}
	return body, nil
}

// native converts a CEL value to the Go value encoding/json writes.
func native(v ref.Val) (any, error) {
	switch v := v.(type) {
	case types.Null:
		return nil, nil
	case types.Bool:
		return bool(v), nil
	case types.String:
		return string(v), nil
	case types.Int:
		return int64(v), nil
	case types.Uint:
		return uint64(v), nil
	case types.Double:
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("%v has no JSON form", v)
		}
		return float64(v), nil
	case types.Timestamp:
		return v.Time.UTC().Format(time.RFC3339Nano), nil
	case types.Duration:
		return v.Duration.String(), nil
	case traits.Mapper:
		return nativeMap(v)
	case traits.Lister:
		return nativeList(v)
	}
	return nil, fmt.Errorf("a %s has no JSON form", v.Type())
}

func nativeMap(m traits.Mapper) (map[string]any, error) {
	out := make(map[string]any)
	for it := m.Iterator(); it.HasNext() == types.True; {
		k := it.Next()
		key, ok := k.(types.String)
		if !ok {
			return nil, errors.New("JSON object keys must be strings")
		}
		v, err := native(m.Get(k))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		out[string(key)] = v
	}
	return out, nil
}

func nativeList(l traits.Lister) ([]any, error) {
	out := make([]any, 0)
	for it := l.Iterator(); it.HasNext() == types.True; {
		v, err := native(it.Next())
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
