package esp

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/hookgate/hookgate/event"
)

// SESConfig configures the SES adapter.
type SESConfig struct {
	// TopicARNs are the SNS topics events may come from; empty accepts any
	// topic.
	TopicARNs []string

	// CertFile is a PEM file holding the SNS signing certificate to trust.
	// Without it the certificate named by each message's SigningCertURL is
	// fetched, only from an https URL on an sns.<region>.amazonaws.com host,
	// and cached.
	CertFile string

	// AutoConfirm marks subscription confirmations of the TopicARNs to be
	// confirmed automatically. It requires TopicARNs.
	AutoConfirm bool

	// Tolerance bounds the age of the signed SNS Timestamp; DefaultTolerance
	// when zero.
	Tolerance time.Duration

	// HTTPClient fetches certificates and confirms subscriptions;
	// http.DefaultClient when nil. It is used without following redirects.
	HTTPClient *http.Client

	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// ses is Amazon SES event publishing through an SNS HTTPS subscription: an
// SNS envelope, RSA-signed by SNS, whose Message is the SES record.
type ses struct {
	topics      map[string]bool
	pinned      *rsa.PublicKey
	autoConfirm bool
	clock       clock
	certs       *certStore
}

// NewSES returns the SES adapter.
func NewSES(cfg SESConfig) (Adapter, error) {
	c, err := newClock(cfg.Now, cfg.Tolerance, DefaultTolerance)
	if err != nil {
		return nil, err
	}
	a := &ses{clock: c, autoConfirm: cfg.AutoConfirm, certs: newCertStore(cfg.HTTPClient, c.now)}
	for i, arn := range cfg.TopicARNs {
		if !isTopicARN(arn) {
			return nil, fmt.Errorf("topic_arn[%d]: %q is not an SNS topic ARN "+
				"(arn:aws:sns:<region>:<account>:<topic>)", i, arn)
		}
		if a.topics == nil {
			a.topics = make(map[string]bool)
		}
		a.topics[arn] = true
	}
	if cfg.AutoConfirm && a.topics == nil {
		return nil, errors.New("auto_confirm: requires topic_arn; confirming every topic " +
			"would let any AWS account subscribe this route")
	}
	if cfg.CertFile != "" {
		data, err := os.ReadFile(cfg.CertFile)
		if err != nil {
			return nil, fmt.Errorf("cert_file: %v", err)
		}
		cert, err := parseCert(data)
		if err != nil {
			return nil, fmt.Errorf("cert_file: %s: %v", cfg.CertFile, err)
		}
		a.pinned = cert.PublicKey.(*rsa.PublicKey)
	}
	return a, nil
}

// isTopicARN reports whether s looks like an SNS topic ARN in any partition.
func isTopicARN(s string) bool {
	parts := strings.Split(s, ":")
	return len(parts) == 6 && parts[0] == "arn" && strings.HasPrefix(parts[1], "aws") &&
		parts[2] == "sns" && parts[3] != "" && parts[4] != "" && parts[5] != ""
}

// Source names the ESP.
func (a *ses) Source() string { return SourceSES }

// Verifies reports whether the topics are restricted. SNS signatures are
// always checked, but without an allow-list any AWS account's topic passes.
func (a *ses) Verifies() bool { return a.topics != nil }

// Parse verifies the SNS envelope and maps its SES record, one event per
// recipient. A SubscriptionConfirmation sets Result.Subscription.
func (a *ses) Parse(ctx context.Context, r *Request, d event.Defaults) (*Result, error) {
	m, err := a.verify(ctx, r)
	if err != nil {
		return nil, err
	}

	em := newEmitter(d)
	switch m.Type {
	case snsSubscribe:
		if _, err := checkSNSURL(m.SubscribeURL, false); err != nil {
			return nil, unauthenticated(SourceSES, "SubscribeURL: %v", err)
		}
		em.res.Subscription = &Subscription{
			TopicARN: m.TopicArn, SubscribeURL: m.SubscribeURL, AutoConfirm: a.autoConfirm,
		}
	case snsUnsubscribe:
		em.unmapped()
	default:
		a.notification(em, m)
	}
	return em.res, nil
}

// verify checks the envelope: the topic, the RSA signature over the signed
// fields and the age of the Timestamp.
func (a *ses) verify(ctx context.Context, r *Request) (*snsMessage, error) {
	m, err := decodeSNS(r.Header, r.Body)
	if err != nil {
		return nil, err
	}
	if a.topics != nil && !a.topics[m.TopicArn] {
		return nil, unauthenticated(SourceSES, "topic %q is not in topic_arn", m.TopicArn)
	}
	hash, digest, err := m.digest()
	if err != nil {
		return nil, unauthenticated(SourceSES, "%v", err)
	}
	sig, err := base64.StdEncoding.DecodeString(m.Signature)
	if err != nil {
		return nil, unauthenticated(SourceSES, "Signature is not base64")
	}

	key := a.pinned
	if key == nil {
		if key, err = a.certs.key(ctx, m.SigningCertURL); err != nil {
			return nil, err
		}
	}
	if err := rsa.VerifyPKCS1v15(key, hash, digest, sig); err != nil {
		return nil, unauthenticated(SourceSES, "signature does not match the message")
	}
	signed, err := time.Parse(time.RFC3339Nano, m.Timestamp)
	if err != nil {
		return nil, unauthenticated(SourceSES, "Timestamp is not RFC 3339")
	}
	if err := a.clock.check(signed); err != nil {
		return nil, unauthenticated(SourceSES, "Timestamp: %v", err)
	}
	return m, nil
}

// notification maps the SES record of a Notification. A Message that is not
// a JSON object (such as SES's "Successfully validated SNS topic" note) is
// authentic but unmapped.
func (a *ses) notification(em *emitter, m *snsMessage) {
	v, err := event.Decode([]byte(m.Message))
	rec, _ := v.(map[string]any)
	if err != nil || rec == nil {
		em.unmapped()
		return
	}
	em.emit(0, sesEvents(rec, m)...)
}

// sesEvents maps an SES record: one event per recipient the record names.
// Opens and clicks are attributed to the message's one destination; with
// several SES cannot tell who opened, and the event names no recipient. A
// record of no known kind gives no event.
func sesEvents(rec map[string]any, m *snsMessage) []*canon {
	name := text(rec["eventType"])
	if name == "" {
		name = text(rec["notificationType"]) // identity feedback notifications
	}
	mail := obj(rec["mail"])
	destination := texts(mail["destination"])
	c := &canon{
		source:    SourceSES,
		id:        m.MessageID,
		time:      mail["timestamp"],
		messageID: text(mail["messageId"]),
		original:  rec,
		extra: map[string]any{
			"sns": map[string]any{"message_id": m.MessageID, "topic_arn": m.TopicArn},
		},
	}
	c.domain = firstText(dig(mail, "tags", "ses:from-domain"))
	if c.domain == "" {
		c.domain = addressDomain(text(mail["source"]))
	}
	c.setMetadata(sesTags(obj(mail["tags"])))

	recipients := destination
	kind := strings.ToLower(strings.ReplaceAll(name, " ", ""))
	switch kind {
	case "send":
		c.typ = event.MessageQueued
	case "reject", "renderingfailure":
		c.typ = event.MessageFailed
	case "delivery":
		d := obj(rec["delivery"])
		c.typ, c.time = event.MessageDelivered, timeOr(d["timestamp"], c.time)
		recipients = texts(d["recipients"])
	case "deliverydelay":
		d := obj(rec["deliveryDelay"])
		c.typ, c.time = event.MessageDeferred, timeOr(d["timestamp"], c.time)
		recipients = emailAddresses(d["delayedRecipients"])
	case "bounce":
		b := obj(rec["bounce"])
		c.typ = sesBounceType(text(b["bounceType"]), text(b["bounceSubType"]))
		c.time = timeOr(b["timestamp"], c.time)
		recipients = emailAddresses(b["bouncedRecipients"])
	case "complaint":
		cm := obj(rec["complaint"])
		c.typ, c.time = sesComplaintType(cm), timeOr(cm["timestamp"], c.time)
		recipients = emailAddresses(cm["complainedRecipients"])
	case "open", "click":
		e := obj(rec[kind])
		c.typ, c.time = event.MessageOpened, timeOr(e["timestamp"], c.time)
		if kind == "click" {
			c.typ, c.url = event.MessageClicked, text(e["link"])
		}
		c.ip, c.userAgent = text(e["ipAddress"]), text(e["userAgent"])
		if len(destination) != 1 {
			recipients = nil
		}
	case "subscription":
		s := obj(rec["subscription"])
		c.time = timeOr(s["timestamp"], c.time)
		if sesUnsubscribed(s) {
			c.typ = event.MessageUnsubscribed
		}
	}
	if c.typ == "" {
		return nil
	}
	return c.forRecipients(recipients)
}

// sesBounceType maps an SES bounce. SES publishes transient bounces only
// once it has stopped retrying.
func sesBounceType(bounceType, subType string) string {
	switch bounceType {
	case "Permanent":
		if subType == "Suppressed" || subType == "OnAccountSuppressionList" {
			return event.MessageFailed // dropped: the address is suppressed
		}
		return hardBounce
	case "Transient":
		return event.MessageFailed
	}
	return event.MessageBounced // Undetermined
}

// sesComplaintType maps an SES complaint: a "not-spam" report is no
// complaint, and a complaint against a suppressed address means the message
// was dropped.
func sesComplaintType(cm map[string]any) string {
	switch {
	case text(cm["complaintFeedbackType"]) == "not-spam":
		return ""
	case text(cm["complaintSubType"]) == "OnAccountSuppressionList":
		return event.MessageFailed
	}
	return event.InboundComplaint
}

// sesUnsubscribed reports whether a list-management Subscription record opts
// the contact out of everything or of a topic.
func sesUnsubscribed(s map[string]any) bool {
	prefs := obj(s["newTopicPreferences"])
	if all, _ := boolish(prefs["unsubscribeAll"]); all {
		return true
	}
	topics, _ := prefs["topicSubscriptionStatus"].([]any)
	for _, t := range topics {
		if text(dig(t, "subscriptionStatus")) == "OptOut" {
			return true
		}
	}
	return false
}

// sesTags returns the sender's message tags as metadata: SES's own "ses:"
// tags are left out, and a tag with one value becomes that string.
func sesTags(tags map[string]any) map[string]any {
	var meta map[string]any
	for k, v := range tags {
		if strings.HasPrefix(k, "ses:") {
			continue
		}
		if meta == nil {
			meta = make(map[string]any)
		}
		if a, ok := v.([]any); ok && len(a) == 1 {
			v = a[0]
		}
		meta[k] = v
	}
	return meta
}

// emailAddresses returns the emailAddress of each object of a list.
func emailAddresses(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, x := range list {
		if s := text(dig(x, "emailAddress")); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// timeOr returns t when it is set, def otherwise.
func timeOr(t, def any) any {
	if t != nil {
		return t
	}
	return def
}

// Confirm GETs the SubscribeURL of an automatically confirmed subscription.
func (a *ses) Confirm(ctx context.Context, s *Subscription) error {
	switch {
	case s == nil:
		return errors.New("ses: no subscription to confirm")
	case !s.AutoConfirm || !a.autoConfirm || !a.topics[s.TopicARN]:
		return fmt.Errorf("ses: subscription of topic %q is not confirmed automatically",
			s.TopicARN)
	}
	u, err := checkSNSURL(s.SubscribeURL, false)
	if err != nil {
		return fmt.Errorf("ses: SubscribeURL: %v", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("ses: confirming subscription: %v", err)
	}
	resp, err := a.certs.client.Do(req)
	if err != nil {
		return fmt.Errorf("ses: confirming subscription: %v", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxCertBytes))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("ses: confirming subscription: status %d", resp.StatusCode)
	}
	return nil
}
