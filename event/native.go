package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// ErrSyntax marks a request body that is not one JSON value.
var ErrSyntax = errors.New("body is not valid JSON")

// ErrTooDeep marks a request body nested deeper than MaxDepth.
var ErrTooDeep = fmt.Errorf("body nests deeper than %d levels", MaxDepth)

// Rejection is an item of a batch that was refused, with the reason.
type Rejection struct {
	Index int
	Err   error
}

// Batch is the outcome of parsing a native ingest body.
type Batch struct {
	// Events are the valid events, in body order.
	Events []*Event

	// Rejected are the invalid items; they never sink the valid ones.
	Rejected []Rejection

	// Array is true when the body was a JSON array, false for a single
	// event object.
	Array bool
}

// ParseNative parses the native ingest format: one event object or a JSON
// array of them. It fails as a whole only when the body is not JSON (ErrSyntax),
// nests too deeply (ErrTooDeep), is neither an object nor an array, or holds
// more than MaxBatch items; an invalid event is a Rejection.
func ParseNative(body []byte, d Defaults) (*Batch, error) {
	v, err := Decode(body)
	if err != nil {
		return nil, err
	}

	var items []any
	b := &Batch{}
	switch v := v.(type) {
	case map[string]any:
		items = []any{v}
	case []any:
		if len(v) > MaxBatch {
			return nil, fmt.Errorf("batch has %d events, over the limit of %d", len(v), MaxBatch)
		}
		items, b.Array = v, true
	default:
		return nil, fmt.Errorf("body must be an event object or an array of them, not %s",
			TypeName(v))
	}

	b.Events = make([]*Event, 0, len(items))
	for i, item := range items {
		m, ok := item.(map[string]any)
		if !ok {
			b.Rejected = append(b.Rejected, Rejection{i,
				fmt.Errorf("event must be an object, not %s", TypeName(item))})
			continue
		}
		e, err := New(m, d)
		if err != nil {
			b.Rejected = append(b.Rejected, Rejection{i, err})
			continue
		}
		b.Events = append(b.Events, e)
	}
	return b, nil
}

// Parse parses one event object.
func Parse(data []byte, d Defaults) (*Event, error) {
	v, err := Decode(data)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("an event must be a JSON object, not %s", TypeName(v))
	}
	return New(m, d)
}

// Decode decodes one JSON value, keeping numbers exact as json.Number. It
// refuses trailing data and nesting deeper than MaxDepth.
func Decode(data []byte) (any, error) {
	if err := checkDepth(data, MaxDepth); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSyntax, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the first value", ErrSyntax)
	}
	return v, nil
}

// checkDepth scans data for brackets outside strings and fails when they nest
// deeper than max. It is cheap compared with decoding and keeps a hostile
// body from costing a deep recursion.
func checkDepth(data []byte, max int) error {
	depth, inString, escaped := 0, false, false
	for _, c := range data {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			if depth > max {
				return ErrTooDeep
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return nil
}
