package esp

import (
	"context"

	"github.com/hookgate/hookgate/event"
)

// postmark is Postmark's webhook: one JSON object per event, with a
// RecordType. Postmark signs nothing; the route checks credentials.
type postmark struct{ credentialAdapter }

// NewPostmark returns the Postmark adapter.
func NewPostmark(cfg AuthConfig) (Adapter, error) {
	ca, err := newCredentialAdapter(SourcePostmark, cfg)
	if err != nil {
		return nil, err
	}
	return &postmark{ca}, nil
}

// Parse checks the credentials and maps the event.
func (a *postmark) Parse(_ context.Context, r *Request, d event.Defaults) (*Result, error) {
	if err := a.creds.check(SourcePostmark, r.Header); err != nil {
		return nil, err
	}
	return mapBatch(SourcePostmark, r.Body, d, postmarkEvent)
}

// postmarkEvent maps one Postmark event.
func postmarkEvent(m map[string]any) (*canon, error) {
	record := text(m["RecordType"])
	if record == "" {
		return nil, &event.FieldError{Path: "RecordType",
			Msg: "missing; want a Postmark record type"}
	}
	c := &canon{
		source:    SourcePostmark,
		recipient: text(m["Recipient"]),
		messageID: text(m["MessageID"]),
		userAgent: text(m["UserAgent"]),
		domain:    addressDomain(text(m["From"])),
		tags:      tagList(m["Tag"]),
		original:  m,
	}
	c.setMetadata(obj(m["Metadata"]))

	switch record {
	case "Delivery":
		c.typ, c.time = event.MessageDelivered, m["DeliveredAt"]
	case "Bounce", "SpamComplaint":
		c.typ, c.time, c.recipient = postmarkBounceType(m), m["BouncedAt"], text(m["Email"])
		if record == "SpamComplaint" {
			c.typ = event.InboundComplaint
		}
		c.id = str(m["ID"])
	case "Open":
		c.typ, c.time = event.MessageOpened, m["ReceivedAt"]
		c.ip = text(dig(m, "Geo", "IP"))
		c.dwell = number(m["ReadSeconds"])
	case "Click":
		c.typ, c.time = event.MessageClicked, m["ReceivedAt"]
		c.ip = text(dig(m, "Geo", "IP"))
		c.url = text(m["OriginalLink"])
	case "SubscriptionChange":
		// Suppressions for bounces and complaints repeat those events;
		// a manual suppression is the recipient (or the sender) opting out.
		c.time = m["ChangedAt"]
		suppress, _ := boolish(m["SuppressSending"])
		if suppress && text(m["SuppressionReason"]) == "ManualSuppression" {
			c.typ = event.MessageUnsubscribed
		}
	}
	if c.id == "" {
		c.id = syntheticID(SourcePostmark, record, c.messageID, c.recipient, str(c.time),
			c.url)
	}
	return c, nil
}

// postmarkBounceTypes maps Postmark's bounce types to canonical types; the
// types missing here (AutoResponder, AddressChange, Subscribe,
// ChallengeVerification, OpenRelayTest, InboundError) are not delivery
// outcomes and stay unmapped.
var postmarkBounceTypes = map[string]string{
	"HardBounce":  hardBounce,
	"Unknown":     event.MessageBounced,
	"Transient":   event.MessageDeferred,
	"DnsError":    event.MessageDeferred,
	"Unsubscribe": event.MessageUnsubscribed,

	"SoftBounce":              event.MessageFailed,
	"SpamNotification":        event.MessageFailed,
	"VirusNotification":       event.MessageFailed,
	"BadEmailAddress":         event.MessageFailed,
	"ManuallyDeactivated":     event.MessageFailed,
	"Unconfirmed":             event.MessageFailed,
	"Blocked":                 event.MessageFailed,
	"SMTPApiError":            event.MessageFailed,
	"DMARCPolicy":             event.MessageFailed,
	"TemplateRenderingFailed": event.MessageFailed,
	"SpamComplaint":           event.InboundComplaint,
}

// postmarkBounceCodes names Postmark's bounce TypeCodes, for events that
// carry no Type.
var postmarkBounceCodes = map[string]string{
	"1": "HardBounce", "2": "Transient", "16": "Unsubscribe", "32": "Subscribe",
	"64": "AutoResponder", "128": "AddressChange", "256": "DnsError",
	"512": "SpamNotification", "1024": "OpenRelayTest", "2048": "Unknown",
	"4096": "SoftBounce", "8192": "VirusNotification", "16384": "ChallengeVerification",
	"100000": "BadEmailAddress", "100001": "SpamComplaint", "100002": "ManuallyDeactivated",
	"100003": "Unconfirmed", "100006": "Blocked", "100007": "SMTPApiError",
	"100008": "InboundError", "100009": "DMARCPolicy", "100010": "TemplateRenderingFailed",
}

// postmarkBounceType maps a bounce by its Type, or else its TypeCode.
func postmarkBounceType(m map[string]any) string {
	name := text(m["Type"])
	if name == "" {
		name = postmarkBounceCodes[str(m["TypeCode"])]
	}
	return postmarkBounceTypes[name]
}
