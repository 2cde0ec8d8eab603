package cel

import "github.com/hookgate/hookgate/event"

// jsonKind returns the kind of a scalar operand.
func jsonKind(v any) event.Kind {
	switch v.(type) {
	case string:
		return event.KindString
	case bool:
		return event.KindBool
	case float64:
		return event.KindNumber
	}
	return ""
}

// article names a kind with its indefinite article: "a number".
func article(k event.Kind) string {
	switch k {
	case event.KindObject:
		return "an object"
	case event.KindTimestamp:
		return "an RFC 3339 timestamp"
	case event.KindBool:
		return "a boolean"
	}
	return "a " + string(k)
}
