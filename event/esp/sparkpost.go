package esp

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/hookgate/hookgate/event"
)

// sparkPost is SparkPost's webhook: a JSON array of {"msys": {<class>:
// event}}. SparkPost signs nothing; the route checks credentials.
type sparkPost struct{ credentialAdapter }

// NewSparkPost returns the SparkPost adapter.
func NewSparkPost(cfg AuthConfig) (Adapter, error) {
	ca, err := newCredentialAdapter(SourceSparkPost, cfg)
	if err != nil {
		return nil, err
	}
	return &sparkPost{ca}, nil
}

// Parse checks the credentials and maps each event of the batch. The empty
// {"msys": {}} SparkPost sends as a ping is unmapped.
func (a *sparkPost) Parse(_ context.Context, r *Request, d event.Defaults) (*Result, error) {
	if err := a.creds.check(SourceSparkPost, r.Header); err != nil {
		return nil, err
	}
	items, err := decodeBatch(SourceSparkPost, r.Body)
	if err != nil {
		return nil, err
	}
	em := newEmitter(d)
	for i, item := range items {
		ev, err := sparkPostUnwrap(item)
		switch {
		case err != nil:
			em.reject(i, err)
		case ev == nil:
			em.unmapped()
		default:
			em.emit(i, sparkPostEvent(ev))
		}
	}
	return em.res, nil
}

// sparkPostUnwrap returns the event inside {"msys": {<class>: event}}; nil
// for an empty msys.
func sparkPostUnwrap(item any) (map[string]any, error) {
	m, ok := item.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("event must be an object, not %s", event.TypeName(item))
	}
	msys, ok := m["msys"].(map[string]any)
	if !ok {
		return nil, &event.FieldError{Path: "msys",
			Msg: fmt.Sprintf("must be an object, not %s", event.TypeName(m["msys"]))}
	}
	for _, class := range slices.Sorted(maps.Keys(msys)) {
		ev, ok := msys[class].(map[string]any)
		if !ok {
			return nil, &event.FieldError{Path: "msys." + class,
				Msg: fmt.Sprintf("must be an object, not %s", event.TypeName(msys[class]))}
		}
		return ev, nil
	}
	return nil, nil
}

// sparkPostEvent maps one SparkPost event.
func sparkPostEvent(ev map[string]any) *canon {
	typ := text(ev["type"])
	c := &canon{
		source:    SourceSparkPost,
		typ:       sparkPostType(typ, str(ev["bounce_class"])),
		time:      ev["timestamp"],
		recipient: text(ev["raw_rcpt_to"]),
		messageID: str(ev["transmission_id"]),
		url:       text(ev["target_link_url"]),
		userAgent: text(ev["user_agent"]),
		domain:    addressDomain(text(ev["friendly_from"])),
		tags:      tagList(ev["rcpt_tags"]),
		original:  ev,
	}
	if c.recipient == "" {
		c.recipient = text(ev["rcpt_to"])
	}
	if c.typ == event.MessageOpened || c.typ == event.MessageClicked {
		c.ip = text(ev["ip_address"]) // on message events it is the MX's
	}
	c.id = str(ev["event_id"])
	if c.id == "" {
		c.id = syntheticID(SourceSparkPost, typ, str(ev["message_id"]), c.recipient,
			str(ev["timestamp"]), c.url)
	}
	c.setMetadata(obj(ev["rcpt_meta"]))
	return c
}

// sparkPostType maps a SparkPost event type, and a bounce's class, to a
// canonical type. SparkPost sends a pixel open at the top of the body
// (initial_open) and one at the bottom (open); both are message.opened.
func sparkPostType(typ, bounceClass string) string {
	switch typ {
	case "injection":
		return event.MessageQueued
	case "delivery":
		return event.MessageDelivered
	case "delay":
		return event.MessageDeferred
	case "bounce", "out_of_band":
		return sparkPostBounceType(bounceClass)
	case "policy_rejection", "generation_failure", "generation_rejection":
		return event.MessageFailed
	case "open", "initial_open", "amp_open", "amp_initial_open":
		return event.MessageOpened
	case "click", "amp_click":
		return event.MessageClicked
	case "spam_complaint":
		return event.InboundComplaint
	case "list_unsubscribe", "link_unsubscribe":
		return event.MessageUnsubscribed
	}
	return "" // relay_*, sms_*, ab_test_*, newer events
}

// sparkPostBounceType maps a bounce by its class. Bounces are final:
// SparkPost reports its retries as delay events.
func sparkPostBounceType(class string) string {
	switch class {
	case "10", "30": // invalid recipient; generic bounce with no RCPT
		return hardBounce
	case "90": // an unsubscribe request sent by mail
		return event.MessageUnsubscribed
	case "60", "80", "100": // auto-reply, subscribe request, challenge-response
		return ""
	case "1", "": // undetermined
		return event.MessageBounced
	}
	return event.MessageFailed // soft (2x, 40, 70) and block (25, 5x) classes
}
