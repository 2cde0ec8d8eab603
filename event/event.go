// Package event defines hookgate's canonical event: one flat JSON object with
// a known type, validated so that rules can rely on the types of its known
// fields, and parsed from the native ingest format.
package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Limits on what one event may be. A refusal is a clear error, never a silent
// truncation.
const (
	// MaxDepth is how deeply objects and arrays may nest in a request body.
	MaxDepth = 64

	// MaxEventSize is the largest canonical encoding of one event, in bytes.
	MaxEventSize = 1 << 20

	// MaxBatch is the largest number of events in one batch.
	MaxBatch = 10000

	// MaxIDLength is the longest event id, in bytes.
	MaxIDLength = 512
)

// Event is one canonical event, validated and normalized. It is immutable
// once built and safe to share between goroutines.
type Event struct {
	// ID is the event's id, unique per source: the dedupe key.
	ID string

	// Type is one of the known types.
	Type string

	// Category is the category of Type.
	Category Category

	// Account is the account the event belongs to, if any.
	Account string

	// Domain is the sending domain, lower-cased and without a trailing dot.
	Domain string

	// Time is the event's timestamp; zero when it has none.
	Time time.Time

	fields map[string]any
	body   []byte
}

// Fields returns the event as the rules see it: the decoded object with every
// number as a float64. The caller must not modify it.
func (e *Event) Fields() map[string]any { return e.fields }

// Body returns the canonical JSON encoding of the event, the body a hook
// receives. Numbers keep the spelling they arrived with. The caller must not
// modify it.
func (e *Event) Body() []byte { return e.body }

// Defaults is what an ingest route supplies to the events it receives.
type Defaults struct {
	// Account, when set, is the account of every event, overriding any
	// account the event names: a sender never picks another tenant.
	Account string

	// Domain is used for events that carry none.
	Domain string

	// Environment is used for events that carry none.
	Environment string

	// Received, when set, is the timestamp of events that carry none.
	Received time.Time
}

// FieldError is a problem with one field of an event or of a document. Path
// names the field as a JSON path (`metadata.campaign`, `rules[2].value`).
type FieldError struct {
	Path string
	Msg  string
}

func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// errorf returns a FieldError for path.
func errorf(path, format string, args ...any) *FieldError {
	return &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// New validates and normalizes one event given as a decoded JSON object.
// Numbers may be json.Number (kept exactly in the body), float64 or an
// integer type. New takes ownership of m and modifies it.
func New(m map[string]any, d Defaults) (*Event, error) {
	if err := normalize(m, d); err != nil {
		return nil, err
	}
	body, err := Encode(m)
	if err != nil {
		return nil, fmt.Errorf("encoding event: %v", err)
	}
	if len(body) > MaxEventSize {
		return nil, errorf("", "event is %d bytes, over the limit of %d", len(body), MaxEventSize)
	}
	if err := toFloats(m, ""); err != nil {
		return nil, err
	}
	return build(m, body), nil
}

// build makes the Event of a normalized object and its encoding.
func build(m map[string]any, body []byte) *Event {
	e := &Event{fields: m, body: body}
	e.ID, _ = m["id"].(string)
	e.Type, _ = m["type"].(string)
	e.Category, _ = CategoryOf(e.Type)
	e.Account, _ = m["account"].(string)
	e.Domain, _ = m["domain"].(string)
	if ts, ok := m["timestamp"].(string); ok {
		e.Time, _ = time.Parse(time.RFC3339Nano, ts)
	}
	return e
}

// normalize applies the route's defaults and validates the known fields.
func normalize(m map[string]any, d Defaults) error {
	if d.Account != "" {
		m["account"] = d.Account
	}
	if _, ok := m["domain"]; !ok && d.Domain != "" {
		m["domain"] = d.Domain
	}
	if _, ok := m["environment"]; !ok && d.Environment != "" {
		m["environment"] = d.Environment
	}
	if _, ok := m["timestamp"]; !ok && !d.Received.IsZero() {
		m["timestamp"] = d.Received
	}

	if err := validateIDAndType(m); err != nil {
		return err
	}
	for name, kind := range knownFields {
		v, ok := m[name]
		if !ok {
			continue
		}
		nv, err := checkKind(name, kind, v)
		if err != nil {
			return err
		}
		m[name] = nv
	}
	if dom, ok := m["domain"].(string); ok {
		norm := NormalizeDomain(dom)
		if strings.HasSuffix(norm, ".") {
			return errorf("domain", "%q is not a domain name: it ends with more than one dot",
				dom)
		}
		m["domain"] = norm
	}

	c, _ := CategoryOf(m["type"].(string))
	if dom, _ := m["domain"].(string); dom == "" && !c.AccountWide() {
		return errorf("domain", "required for %s events", m["type"])
	}
	return nil
}

// validateIDAndType checks the two required fields.
func validateIDAndType(m map[string]any) error {
	id, ok := m["id"]
	if !ok {
		return errorf("id", "required")
	}
	s, ok := id.(string)
	if !ok {
		return errorf("id", "must be a string, not %s", TypeName(id))
	}
	if s == "" {
		return errorf("id", "must not be empty")
	}
	if len(s) > MaxIDLength {
		return errorf("id", "is %d bytes, over the limit of %d", len(s), MaxIDLength)
	}

	typ, ok := m["type"]
	if !ok {
		return errorf("type", "required")
	}
	s, ok = typ.(string)
	if !ok {
		return errorf("type", "must be a string, not %s", TypeName(typ))
	}
	if !IsType(s) {
		return errorf("type", "unknown event type %q", s)
	}
	return nil
}

// checkKind validates the value of a known field and returns it normalized.
func checkKind(name string, kind Kind, v any) (any, error) {
	switch kind {
	case KindString:
		if _, ok := v.(string); !ok {
			return nil, errorf(name, "must be a string, not %s", TypeName(v))
		}
	case KindNumber:
		if !isNumber(v) {
			return nil, errorf(name, "must be a number, not %s", TypeName(v))
		}
	case KindBool:
		if _, ok := v.(bool); !ok {
			return nil, errorf(name, "must be a boolean, not %s", TypeName(v))
		}
	case KindObject:
		if _, ok := v.(map[string]any); !ok {
			return nil, errorf(name, "must be an object, not %s", TypeName(v))
		}
	case KindTimestamp:
		t, err := ParseTimestamp(v)
		if err != nil {
			return nil, errorf(name, "%v", err)
		}
		return FormatTimestamp(t), nil
	}
	return v, nil
}

// NormalizeDomain returns a domain as hookgate compares it: lower-cased and
// without one trailing dot.
func NormalizeDomain(d string) string {
	return strings.ToLower(strings.TrimSuffix(d, "."))
}

// Encode is json.Marshal without HTML escaping: the canonical JSON hookgate
// writes, with map keys sorted and `<`, `>` and `&` as they are.
func Encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
