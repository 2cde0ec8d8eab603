package esp

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hookgate/hookgate/event"
	"github.com/hookgate/hookgate/signer"
)

// ResendConfig configures the Resend adapter.
type ResendConfig struct {
	// Secret is the webhook's signing secret, "whsec_" and base64. Empty
	// accepts unsigned requests.
	Secret string

	// Tolerance bounds the age of the signed timestamp, either way;
	// signer.DefaultTolerance (5 minutes, as in Svix's libraries) when zero.
	// Svix signs each retry afresh.
	Tolerance time.Duration

	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// resend is Resend's webhook: one JSON object {type, created_at, data},
// signed as Standard Webhooks with the svix-* (or webhook-*) headers.
type resend struct {
	verifier *signer.Verifier
}

// NewResend returns the Resend adapter.
func NewResend(cfg ResendConfig) (Adapter, error) {
	c, err := newClock(cfg.Now, cfg.Tolerance, signer.DefaultTolerance)
	if err != nil {
		return nil, err
	}
	a := &resend{}
	secret := strings.TrimSpace(cfg.Secret)
	if secret == "" {
		return a, nil
	}
	if _, err := signer.ParseSecret(secret); err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	a.verifier, err = signer.NewVerifier([]string{secret},
		signer.WithScheme(signer.SchemeStandardWebhooks),
		signer.WithTolerance(c.tolerance), signer.WithClock(c.now))
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	return a, nil
}

// Source names the ESP.
func (a *resend) Source() string { return SourceResend }

// Verifies reports whether a secret is configured.
func (a *resend) Verifies() bool { return a.verifier != nil }

// Parse verifies the Standard Webhooks signature and maps the event, one per
// recipient. The canonical id is the svix-id (or webhook-id) header, which
// Svix keeps across retries.
func (a *resend) Parse(_ context.Context, r *Request, d event.Defaults) (*Result, error) {
	if a.verifier != nil {
		if _, err := a.verifier.Verify(r.Header, r.Body); err != nil {
			return nil, unauthenticated(SourceResend, "%v", err)
		}
	}
	v, err := event.Decode(r.Body)
	if err != nil {
		return nil, malformed(SourceResend, err)
	}
	body, ok := v.(map[string]any)
	if !ok {
		return nil, malformed(SourceResend, fmt.Errorf("want an object, not %s",
			event.TypeName(v)))
	}

	id, err := resendID(r.Header)
	if err != nil {
		if a.verifier != nil {
			return nil, unauthenticated(SourceResend, "%v", err)
		}
		return nil, malformed(SourceResend, err)
	}

	em := newEmitter(d)
	cs, err := resendEvents(body, id)
	if err != nil {
		em.reject(0, err)
		return em.res, nil
	}
	em.emit(0, cs...)
	return em.res, nil
}

// resendID returns the svix-id or webhook-id header, the message id that is
// signed. With both present they must agree: only one of them is checked, and
// the other, unsigned, must not become the dedupe key.
func resendID(h http.Header) (string, error) {
	svix, std := headerValue(h, "Svix-Id"), headerValue(h, "Webhook-Id")
	if svix != "" && std != "" && svix != std {
		return "", errors.New("svix-id and webhook-id differ")
	}
	// Unlike the body's strings, a header is not UTF-8 by construction.
	return strings.ToValidUTF8(cmp.Or(svix, std), "\uFFFD"), nil
}

// resendEvents maps a Resend event: one event per recipient, except for opens
// and clicks of a message to several, which name no recipient.
func resendEvents(body map[string]any, id string) ([]*canon, error) {
	name := text(body["type"])
	if name == "" {
		return nil, &event.FieldError{Path: "type", Msg: "missing; want a Resend event type"}
	}
	data := obj(body["data"])
	recipients := texts(data["to"])
	c := &canon{
		source:    SourceResend,
		id:        id,
		typ:       resendType(name, obj(data["bounce"])),
		time:      body["created_at"],
		messageID: str(data["email_id"]),
		domain:    addressDomain(text(data["from"])),
		original:  body,
	}
	c.setMetadata(resendTags(data["tags"]))
	if c.typ == "" {
		return nil, nil
	}

	if c.typ == event.MessageOpened || c.typ == event.MessageClicked {
		e := obj(data["click"])
		if c.typ == event.MessageOpened {
			e = obj(data["open"])
		}
		c.ip, c.userAgent, c.url = text(e["ipAddress"]), text(e["userAgent"]), text(e["link"])
		if len(recipients) != 1 {
			recipients = nil
		}
	}
	if c.id == "" {
		c.id = syntheticID(SourceResend, name, c.messageID, str(body["created_at"]),
			strings.Join(recipients, ","), c.url)
	}
	return c.forRecipients(recipients), nil
}

// resendType maps a Resend event type, and a bounce, to a canonical type.
// Resend sends through SES and reports bounces in its terms.
func resendType(name string, bounce map[string]any) string {
	switch name {
	case "email.sent":
		return event.MessageQueued
	case "email.delivered":
		return event.MessageDelivered
	case "email.delivery_delayed":
		return event.MessageDeferred
	case "email.bounced":
		return sesBounceType(text(bounce["type"]), text(bounce["subType"]))
	case "email.failed", "email.suppressed":
		return event.MessageFailed
	case "email.opened":
		return event.MessageOpened
	case "email.clicked":
		return event.MessageClicked
	case "email.complained":
		return event.InboundComplaint
	}
	return "" // email.scheduled, email.received, contact.*, domain.*
}

// resendTags returns a message's tags as metadata; Resend sends them as an
// object or as a list of {name, value}.
func resendTags(v any) map[string]any {
	switch v := v.(type) {
	case map[string]any:
		return v
	case []any:
		var meta map[string]any
		for _, t := range v {
			name := text(dig(t, "name"))
			if name == "" {
				continue
			}
			if meta == nil {
				meta = make(map[string]any)
			}
			meta[name] = dig(t, "value")
		}
		return meta
	}
	return nil
}
