package event

// Kind is the JSON type a known field must have.
type Kind string

// The kinds of known fields.
const (
	KindString    Kind = "string"
	KindNumber    Kind = "number"
	KindBool      Kind = "boolean"
	KindObject    Kind = "object"
	KindTimestamp Kind = "timestamp" // an RFC 3339 string compared as an instant
)

// knownFields types the canonical event's known top-level fields. Any other
// key is kept as it is and addressable by dotted path, untyped.
var knownFields = map[string]Kind{
	"id":              KindString,
	"type":            KindString,
	"timestamp":       KindTimestamp,
	"account":         KindString,
	"domain":          KindString,
	"environment":     KindString,
	"message_id":      KindString,
	"recipient":       KindString,
	"url":             KindString,
	"user_agent":      KindString,
	"ip":              KindString,
	"heat_score":      KindNumber,
	"intent_category": KindString,
	"urgency":         KindNumber,
	"confidence":      KindNumber,
	"is_human":        KindBool,
	"dwell_seconds":   KindNumber,
	"metadata":        KindObject,
}

// FieldKind returns the kind of a known top-level field; ok is false for any
// other key, whose values are untyped.
func FieldKind(name string) (k Kind, ok bool) {
	k, ok = knownFields[name]
	return k, ok
}

// KnownFields returns the names of the known fields with their kinds. The
// caller may modify the returned map.
func KnownFields() map[string]Kind {
	m := make(map[string]Kind, len(knownFields))
	for name, k := range knownFields {
		m[name] = k
	}
	return m
}
