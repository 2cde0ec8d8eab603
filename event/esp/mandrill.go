package esp

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/hookgate/hookgate/event"
)

// mandrillSignatureHeader carries Mandrill's signature.
const mandrillSignatureHeader = "X-Mandrill-Signature"

// mandrillTestKey is the key Mandrill signs its empty test batch with when a
// webhook URL does not answer its HEAD probe.
const mandrillTestKey = "test-webhook"

// MandrillConfig configures the Mandrill (Mailchimp Transactional) adapter.
type MandrillConfig struct {
	// WebhookKey is the webhook's key. Empty accepts unsigned requests.
	WebhookKey string

	// URL is the webhook URL exactly as configured at Mandrill (scheme,
	// host, path, query); Mandrill signs it, and behind a proxy it differs
	// from the URL the gateway sees. Required with WebhookKey.
	URL string
}

// mandrill is Mandrill's webhook: a form with one parameter,
// mandrill_events, a JSON array of events; signed with base64 HMAC-SHA1 over
// the URL and the sorted parameters.
type mandrill struct {
	key []byte
	url string
}

// NewMandrill returns the Mandrill adapter.
func NewMandrill(cfg MandrillConfig) (Adapter, error) {
	key := strings.TrimSpace(cfg.WebhookKey)
	switch {
	case key != "" && cfg.URL == "":
		return nil, errors.New("url: required with webhook_key: " +
			"the webhook URL exactly as configured at Mandrill")
	case key == "" && cfg.URL != "":
		return nil, errors.New("webhook_key: required with url")
	case key == "":
		return &mandrill{}, nil
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return nil, fmt.Errorf("url: %q is not an absolute URL", cfg.URL)
	}
	return &mandrill{key: []byte(key), url: cfg.URL}, nil
}

// Source names the ESP.
func (a *mandrill) Source() string { return SourceMandrill }

// Verifies reports whether a webhook key is configured.
func (a *mandrill) Verifies() bool { return a.key != nil }

// Parse verifies the signature and maps each event of mandrill_events. A
// HEAD request, Mandrill's probe of a new webhook URL, gives an empty
// Result, and so does Mandrill's empty test batch signed with its test key.
func (a *mandrill) Parse(_ context.Context, r *Request, d event.Defaults) (*Result, error) {
	if r.Method == http.MethodHead {
		return &Result{}, nil
	}
	form, formErr := url.ParseQuery(string(r.Body))
	if a.key != nil {
		if formErr != nil {
			return nil, unauthenticated(SourceMandrill, "body is not a form")
		}
		test, err := a.verify(r.Header, form)
		if err != nil {
			return nil, err
		}
		if test {
			return &Result{}, nil
		}
	}
	if formErr != nil {
		return nil, malformed(SourceMandrill, fmt.Errorf("body is not a form: %v", formErr))
	}
	if !form.Has("mandrill_events") {
		return nil, malformed(SourceMandrill, errors.New("no mandrill_events parameter"))
	}
	if len(form["mandrill_events"]) > 1 {
		return nil, malformed(SourceMandrill, errors.New("mandrill_events is repeated"))
	}
	return mapBatch(SourceMandrill, []byte(form.Get("mandrill_events")), d, mandrillEvent)
}

// verify checks X-Mandrill-Signature. test is true for Mandrill's empty test
// batch, signed with the generic test key, which carries no event. Mandrill
// sends each parameter once; a repeated one is refused, since the value that
// is signed and the value that is read could then differ.
func (a *mandrill) verify(h http.Header, form url.Values) (test bool, err error) {
	for k, vs := range form {
		if len(vs) > 1 {
			return false, unauthenticated(SourceMandrill, "parameter %q is repeated", k)
		}
	}
	header := headerValue(h, mandrillSignatureHeader)
	if header == "" {
		return false, unauthenticated(SourceMandrill, "no %s header", mandrillSignatureHeader)
	}
	sig, err := base64.StdEncoding.DecodeString(header)
	if err != nil {
		return false, unauthenticated(SourceMandrill, "%s is not base64",
			mandrillSignatureHeader)
	}
	signed := mandrillSigned(a.url, form)
	if hmac.Equal(mandrillMAC(a.key, signed), sig) {
		return false, nil
	}
	if form.Get("mandrill_events") == "[]" &&
		hmac.Equal(mandrillMAC([]byte(mandrillTestKey), signed), sig) {
		return true, nil
	}
	return false, unauthenticated(SourceMandrill, "signature does not match the URL and body")
}

// mandrillSigned is what Mandrill signs: the URL, then each parameter's name
// and value, decoded, sorted by name. Of a repeated parameter the last value
// counts, as in PHP, the language of Mandrill's reference example; verify
// refuses repeated parameters before it gets here.
func mandrillSigned(rawURL string, form url.Values) []byte {
	b := []byte(rawURL)
	for _, k := range slices.Sorted(maps.Keys(form)) {
		vs := form[k]
		b = append(b, k...)
		b = append(b, vs[len(vs)-1]...)
	}
	return b
}

// mandrillMAC is HMAC-SHA1 of signed with key.
func mandrillMAC(key, signed []byte) []byte {
	mac := hmac.New(sha1.New, key)
	mac.Write(signed)
	return mac.Sum(nil)
}

// mandrillEvent maps one Mandrill event. Sync events (allow and deny list
// changes, which have a "type" instead of an "event") and inbound messages
// are unmapped.
func mandrillEvent(m map[string]any) (*canon, error) {
	name := text(m["event"])
	if name == "" {
		if _, sync := m["type"]; sync {
			return &canon{}, nil
		}
		return nil, &event.FieldError{Path: "event", Msg: "missing; want a Mandrill event name"}
	}
	msg := obj(m["msg"])
	c := &canon{
		source:    SourceMandrill,
		typ:       mandrillType(name),
		time:      m["ts"],
		recipient: text(msg["email"]),
		messageID: str(m["_id"]),
		url:       text(m["url"]),
		userAgent: text(m["user_agent"]),
		ip:        text(m["ip"]),
		domain:    addressDomain(text(msg["sender"])),
		tags:      tagList(msg["tags"]),
		original:  m,
	}
	if c.messageID == "" {
		c.messageID = str(msg["_id"])
	}
	c.id = syntheticID(SourceMandrill, c.messageID, name, str(m["ts"]), c.url)
	if strings.EqualFold(text(dig(m, "user_agent_parsed", "type")), "robot") {
		c.isHuman = boolPtr(false)
	}
	c.setMetadata(obj(msg["metadata"]))
	return c, nil
}

// mandrillType maps a Mandrill event name to a canonical type.
func mandrillType(name string) string {
	switch name {
	case "send":
		return event.MessageQueued // Mandrill's "delivered" follows
	case "delivered":
		return event.MessageDelivered
	case "deferral":
		return event.MessageDeferred
	case "hard_bounce":
		return hardBounce
	case "soft_bounce", "reject":
		return event.MessageFailed // soft bounces are final; deferrals retry
	case "open":
		return event.MessageOpened
	case "click":
		return event.MessageClicked
	case "spam":
		return event.InboundComplaint
	case "unsub":
		return event.MessageUnsubscribed
	}
	return "" // inbound, newer events
}
