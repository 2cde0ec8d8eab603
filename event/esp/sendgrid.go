package esp

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hookgate/hookgate/event"
)

// The headers of SendGrid's signed Event Webhook.
const (
	sendGridSignatureHeader = "X-Twilio-Email-Event-Webhook-Signature"
	sendGridTimestampHeader = "X-Twilio-Email-Event-Webhook-Timestamp"
)

// SendGridConfig configures the SendGrid adapter.
type SendGridConfig struct {
	// VerificationKey is the signed Event Webhook's public key: base64 DER
	// of an ECDSA P-256 key, or PEM. Empty accepts unsigned requests.
	VerificationKey string

	// Tolerance bounds the age of the signed timestamp; DefaultTolerance
	// when zero.
	Tolerance time.Duration

	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// sendGrid is the SendGrid Event Webhook: a JSON array of events, signed
// with ECDSA P-256 over the timestamp header and the body.
type sendGrid struct {
	key   *ecdsa.PublicKey
	clock clock
}

// NewSendGrid returns the SendGrid adapter.
func NewSendGrid(cfg SendGridConfig) (Adapter, error) {
	c, err := newClock(cfg.Now, cfg.Tolerance, DefaultTolerance)
	if err != nil {
		return nil, err
	}
	a := &sendGrid{clock: c}
	if strings.TrimSpace(cfg.VerificationKey) != "" {
		a.key, err = parseSendGridKey(cfg.VerificationKey)
		if err != nil {
			return nil, fmt.Errorf("verification_key: not a base64 DER P-256 public key: %v", err)
		}
	}
	return a, nil
}

// parseSendGridKey reads a public key as the SendGrid dashboard shows it
// (base64 of DER, line breaks allowed) or as PEM.
func parseSendGridKey(s string) (*ecdsa.PublicKey, error) {
	var der []byte
	if block, _ := pem.Decode([]byte(strings.TrimSpace(s))); block != nil {
		der = block.Bytes
	} else {
		b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
		if err != nil {
			return nil, err
		}
		der = b
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, err
	}
	key, ok := pub.(*ecdsa.PublicKey)
	if !ok || key.Curve != elliptic.P256() {
		return nil, errors.New("the key is not on curve P-256")
	}
	return key, nil
}

// Source names the ESP.
func (a *sendGrid) Source() string { return SourceSendGrid }

// Verifies reports whether a verification key is configured.
func (a *sendGrid) Verifies() bool { return a.key != nil }

// Parse verifies the signature headers and maps each event of the batch.
func (a *sendGrid) Parse(_ context.Context, r *Request, d event.Defaults) (*Result, error) {
	if err := a.verify(r); err != nil {
		return nil, err
	}
	return mapBatch(SourceSendGrid, r.Body, d, sendGridEvent)
}

// verify checks the ECDSA signature over the timestamp header and the body,
// then the timestamp's age.
func (a *sendGrid) verify(r *Request) error {
	if a.key == nil {
		return nil
	}
	sig := headerValue(r.Header, sendGridSignatureHeader)
	if sig == "" {
		return unauthenticated(SourceSendGrid, "no %s header", sendGridSignatureHeader)
	}
	ts := headerValue(r.Header, sendGridTimestampHeader)
	signed, ok := parseUnix(ts)
	if !ok {
		return unauthenticated(SourceSendGrid, "%s is not unix seconds", sendGridTimestampHeader)
	}
	der, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return unauthenticated(SourceSendGrid, "%s is not base64", sendGridSignatureHeader)
	}

	h := sha256.New()
	h.Write([]byte(ts))
	h.Write(r.Body)
	if !ecdsa.VerifyASN1(a.key, h.Sum(nil), der) {
		return unauthenticated(SourceSendGrid, "signature does not match the body")
	}
	if err := a.clock.check(signed); err != nil {
		return unauthenticated(SourceSendGrid, "%s: %v", sendGridTimestampHeader, err)
	}
	return nil
}

// sendGridEngagement lists the events whose ip is the recipient's; on the
// others it is SendGrid's sending IP.
var sendGridEngagement = map[string]bool{
	"open": true, "click": true, "unsubscribe": true, "group_unsubscribe": true,
}

// sendGridEvent maps one SendGrid event.
func sendGridEvent(m map[string]any) (*canon, error) {
	name := text(m["event"])
	if name == "" {
		return nil, &event.FieldError{Path: "event", Msg: "missing; want a SendGrid event name"}
	}
	c := &canon{
		source:    SourceSendGrid,
		typ:       sendGridType(name, text(m["type"])),
		time:      m["timestamp"],
		recipient: text(m["email"]),
		url:       text(m["url"]),
		userAgent: text(m["useragent"]),
		tags:      tagList(m["category"]),
		original:  m,
	}
	if sgid := str(m["sg_message_id"]); sgid != "" {
		c.messageID, _, _ = strings.Cut(sgid, ".")
	} else {
		c.messageID = trimAngle(text(m["smtp-id"]))
	}
	c.id = str(m["sg_event_id"])
	if c.id == "" {
		c.id = syntheticID(SourceSendGrid, name, c.recipient, str(m["timestamp"]),
			c.messageID, c.url)
	}
	if sendGridEngagement[name] {
		c.ip = text(m["ip"])
	}
	if machine, ok := boolish(m["sg_machine_open"]); ok && name == "open" {
		c.isHuman = boolPtr(!machine)
	}
	c.setMetadata(sendGridCustomArgs(m))
	return c, nil
}

// sendGridType maps a SendGrid event name, and a bounce's type, to a
// canonical type.
func sendGridType(name, bounceType string) string {
	switch name {
	case "processed":
		return event.MessageQueued
	case "delivered":
		return event.MessageDelivered
	case "deferred":
		return event.MessageDeferred
	case "bounce":
		// "bounce" is a permanent refusal of the address; "blocked" (and
		// any newer type) a refusal of this message that SendGrid does not
		// retry.
		if bounceType == "" || bounceType == "bounce" {
			return hardBounce
		}
		return event.MessageFailed
	case "dropped":
		return event.MessageFailed
	case "open":
		return event.MessageOpened
	case "click":
		return event.MessageClicked
	case "spamreport":
		return event.InboundComplaint
	case "unsubscribe", "group_unsubscribe":
		return event.MessageUnsubscribed
	}
	return "" // group_resubscribe, account_status_change, newer events
}

// sendGridFields are the keys SendGrid itself sets on events; every other
// key is a custom argument of the sender.
var sendGridFields = map[string]bool{
	"email": true, "timestamp": true, "smtp-id": true, "event": true, "category": true,
	"sg_event_id": true, "sg_message_id": true, "sg_template_id": true,
	"sg_template_name": true, "sg_content_type": true, "sg_machine_open": true,
	"sg_user_id": true, "useragent": true, "ip": true, "url": true, "url_offset": true,
	"reason": true, "status": true, "response": true, "attempt": true, "type": true,
	"tls": true, "cert_err": true, "bounce_classification": true, "asm_group_id": true,
	"pool": true, "marketing_campaign_id": true, "marketing_campaign_name": true,
	"marketing_campaign_version": true, "marketing_campaign_split_id": true,
	"post_type": true, "newsletter": true, "send_at": true, "singlesend_id": true,
	"singlesend_name": true, "template_id": true, "template_version_id": true,
	"template_hash": true, "mc_stats": true, "phase_id": true, "variation_id": true,
	"nlvx_campaign_id": true, "nlvx_user_id": true, "ab_test_id": true,
	"ab_phase_id": true, "account_status": true,
}

// sendGridCustomArgs returns the sender's custom arguments, which SendGrid
// flattens into the event's top level.
func sendGridCustomArgs(m map[string]any) map[string]any {
	var args map[string]any
	for k, v := range m {
		if sendGridFields[k] {
			continue
		}
		if args == nil {
			args = make(map[string]any)
		}
		args[k] = v
	}
	return args
}

// decodeBatch decodes a body holding a JSON array of items, or one item.
func decodeBatch(source string, body []byte) ([]any, error) {
	v, err := event.Decode(body)
	if err != nil {
		return nil, malformed(source, err)
	}
	switch v := v.(type) {
	case []any:
		if len(v) > event.MaxBatch {
			return nil, malformed(source, fmt.Errorf("batch has %d events, over the limit of %d",
				len(v), event.MaxBatch))
		}
		return v, nil
	case map[string]any:
		return []any{v}, nil
	}
	return nil, malformed(source, fmt.Errorf("want an array of events, not %s",
		event.TypeName(v)))
}

// parseUnix parses unix seconds written as 1 to 19 ASCII digits.
func parseUnix(s string) (time.Time, bool) {
	if s == "" || len(s) > 19 || strings.TrimLeft(s, "0123456789") != "" {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(n, 0), true
}
