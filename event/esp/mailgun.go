package esp

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hookgate/hookgate/event"
)

// MailgunConfig configures the Mailgun adapter.
type MailgunConfig struct {
	// SigningKey is the HTTP webhook signing key. Empty accepts unsigned
	// requests.
	SigningKey string

	// Tolerance bounds the age of the signed timestamp, and so how long a
	// token is remembered; DefaultTolerance when zero.
	Tolerance time.Duration

	// ReplayCacheSize is how many used tokens are remembered at most;
	// DefaultReplayCacheSize when zero.
	ReplayCacheSize int

	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// mailgun is Mailgun's webhook: one JSON object per event whose "signature"
// block holds an HMAC-SHA256 of its timestamp and a random token. The body
// itself is not signed, so each token is accepted with one body only: a
// captured signature cannot carry another event.
//
// TODO: the form-encoded webhooks of before 2018 (timestamp, token and
// signature as form fields) are not read; such requests are refused.
type mailgun struct {
	key    []byte
	clock  clock
	replay *replayCache
}

// NewMailgun returns the Mailgun adapter.
func NewMailgun(cfg MailgunConfig) (Adapter, error) {
	c, err := newClock(cfg.Now, cfg.Tolerance, DefaultTolerance)
	if err != nil {
		return nil, err
	}
	if cfg.ReplayCacheSize < 0 {
		return nil, fmt.Errorf("replay cache size %d is negative", cfg.ReplayCacheSize)
	}
	a := &mailgun{clock: c}
	if key := strings.TrimSpace(cfg.SigningKey); key != "" {
		a.key = []byte(key)
		a.replay = newReplayCache(cfg.ReplayCacheSize)
	}
	return a, nil
}

// Source names the ESP.
func (a *mailgun) Source() string { return SourceMailgun }

// Verifies reports whether a signing key is configured.
func (a *mailgun) Verifies() bool { return a.key != nil }

// Parse verifies the signature block, spends its token and maps the event.
func (a *mailgun) Parse(_ context.Context, r *Request, d event.Defaults) (*Result, error) {
	v, err := event.Decode(r.Body)
	body, _ := v.(map[string]any)
	if a.key != nil {
		if err != nil || body == nil {
			return nil, unauthenticated(SourceMailgun,
				"body is not a JSON object with a signature block")
		}
		if err := a.verify(obj(body["signature"]), r.Body); err != nil {
			return nil, err
		}
	}
	if err != nil {
		return nil, malformed(SourceMailgun, err)
	}
	if body == nil {
		return nil, malformed(SourceMailgun, fmt.Errorf("want an object, not %s",
			event.TypeName(v)))
	}

	em := newEmitter(d)
	c, err := mailgunEvent(obj(body["event-data"]))
	if err != nil {
		em.reject(0, err)
		return em.res, nil
	}
	em.emit(0, c)
	return em.res, nil
}

// verify checks the HMAC of the signature block (or of its parent-signature,
// made with a parent account's key), the timestamp's age and that the token
// has come with no other body.
func (a *mailgun) verify(sig map[string]any, body []byte) error {
	if sig == nil {
		return unauthenticated(SourceMailgun, "no signature block")
	}
	ts, token := str(sig["timestamp"]), text(sig["token"])
	signed, ok := parseUnix(ts)
	if !ok || token == "" {
		return unauthenticated(SourceMailgun,
			"signature block needs a unix timestamp and a token")
	}

	mac := hmac.New(sha256.New, a.key)
	mac.Write([]byte(ts))
	mac.Write([]byte(token))
	want := mac.Sum(nil)
	if !hexEqual(want, text(sig["signature"])) && !hexEqual(want, text(sig["parent-signature"])) {
		return unauthenticated(SourceMailgun, "signature does not match")
	}
	if err := a.clock.check(signed); err != nil {
		return unauthenticated(SourceMailgun, "signature: %v", err)
	}
	if !a.replay.use(token, body, a.clock.now(), signed.Add(a.clock.tolerance)) {
		return unauthenticated(SourceMailgun, "signature token was already used with "+
			"another body")
	}
	return nil
}

// hexEqual compares a MAC with its hex spelling in constant time.
func hexEqual(mac []byte, h string) bool {
	got, err := hex.DecodeString(h)
	return err == nil && hmac.Equal(mac, got)
}

// mailgunEvent maps Mailgun's event-data.
func mailgunEvent(ed map[string]any) (*canon, error) {
	if ed == nil {
		return nil, &event.FieldError{Path: "event-data", Msg: "missing; want an object"}
	}
	name := text(ed["event"])
	if name == "" {
		return nil, errors.New("event-data.event: missing; want a Mailgun event name")
	}
	headers := dig(ed, "message", "headers")
	c := &canon{
		source:    SourceMailgun,
		typ:       mailgunType(name, text(ed["severity"]), text(ed["reason"])),
		time:      ed["timestamp"],
		recipient: text(ed["recipient"]),
		messageID: trimAngle(text(dig(headers, "message-id"))),
		url:       text(ed["url"]),
		userAgent: text(dig(ed, "client-info", "user-agent")),
		ip:        text(ed["ip"]),
		tags:      tagList(ed["tags"]),
		original:  ed,
	}
	c.id = str(ed["id"])
	if c.id == "" {
		c.id = syntheticID(SourceMailgun, name, c.recipient, str(ed["timestamp"]),
			c.messageID, c.url)
	}
	c.domain = text(dig(ed, "domain", "name"))
	if c.domain == "" {
		c.domain = addressDomain(text(dig(headers, "from")))
	}
	if c.domain == "" {
		c.domain = addressDomain(text(dig(ed, "envelope", "sender")))
	}
	if bot, ok := dig(ed, "client-info", "bot").(string); ok {
		c.isHuman = boolPtr(bot == "")
	}
	c.setMetadata(obj(ed["user-variables"]))
	return c, nil
}

// mailgunType maps a Mailgun event, and a failure's severity and reason, to
// a canonical type.
func mailgunType(name, severity, reason string) string {
	switch name {
	case "accepted":
		return event.MessageQueued
	case "rejected":
		return event.MessageFailed
	case "delivered":
		return event.MessageDelivered
	case "failed":
		if severity == "temporary" {
			// Mailgun still retries, except that its last attempt is
			// reported as temporary with reason "old".
			if reason == "old" {
				return event.MessageFailed
			}
			return event.MessageDeferred
		}
		if reason == "bounce" {
			return hardBounce
		}
		return event.MessageFailed // suppress-*, old, generic, espblock...
	case "opened":
		return event.MessageOpened
	case "clicked":
		return event.MessageClicked
	case "complained":
		return event.InboundComplaint
	case "unsubscribed":
		return event.MessageUnsubscribed
	}
	return "" // stored, list events, newer events
}
