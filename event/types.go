package event

import "strings"

// Category groups event types. It decides a hook's scope: account hooks take
// account-wide types, domain hooks take the others.
type Category string

// The event categories of hookgate's event model.
const (
	CategoryMessage Category = "message"
	CategoryInbound Category = "inbound"
	CategoryIntent  Category = "intent"
	CategoryJob     Category = "job"
)

// AccountWide reports whether events of the category belong to an account as
// a whole rather than to one of its sending domains.
func (c Category) AccountWide() bool { return c == CategoryJob }

// Event types, one constant per known type.
const (
	MessageQueued       = "message.queued"
	MessageDelivered    = "message.delivered"
	MessageBounced      = "message.bounced"
	MessageDeferred     = "message.deferred"
	MessageFailed       = "message.failed"
	MessageOpened       = "message.opened"
	MessageClicked      = "message.clicked"
	MessageUnsubscribed = "message.unsubscribed"
	InboundHardBounce   = "inbound.hard_bounce"
	InboundComplaint    = "inbound.complaint"
	IntentImpression    = "intent.impression"
	IntentEngaged       = "intent.engaged"
	IntentHotLead       = "intent.hot_lead"
	IntentUnmasked      = "intent.unmasked"
	JobCompleted        = "job.completed"
	JobFailed           = "job.failed"
)

// allTypes lists the known types in documentation order.
var allTypes = []string{
	MessageQueued, MessageDelivered, MessageBounced, MessageDeferred,
	MessageFailed, MessageOpened, MessageClicked, MessageUnsubscribed,
	InboundHardBounce, InboundComplaint,
	IntentImpression, IntentEngaged, IntentHotLead, IntentUnmasked,
	JobCompleted, JobFailed,
}

// Types returns every known event type in documentation order. The caller
// may modify the returned slice.
func Types() []string { return append([]string(nil), allTypes...) }

// CategoryOf returns the category of a known event type; ok is false for
// unknown types.
func CategoryOf(typ string) (c Category, ok bool) {
	if !IsType(typ) {
		return "", false
	}
	prefix, _, _ := strings.Cut(typ, ".")
	return Category(prefix), true
}

// IsType reports whether typ is a known event type.
func IsType(typ string) bool {
	for _, t := range allTypes {
		if t == typ {
			return true
		}
	}
	return false
}

// Expand resolves an event selector as hooks write it to the known types it
// names: a type itself, a category wildcard ("message.*") or "*", which means
// every message, inbound and intent type (not the account-wide job types).
// ok is false when the selector names nothing known.
func Expand(selector string) (types []string, ok bool) {
	if selector == "*" {
		for _, t := range allTypes {
			if c, _ := CategoryOf(t); !c.AccountWide() {
				types = append(types, t)
			}
		}
		return types, true
	}
	if prefix, found := strings.CutSuffix(selector, ".*"); found {
		for _, t := range allTypes {
			if c, _ := CategoryOf(t); string(c) == prefix {
				types = append(types, t)
			}
		}
		return types, len(types) > 0
	}
	if IsType(selector) {
		return []string{selector}, true
	}
	return nil, false
}
