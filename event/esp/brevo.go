package esp

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/hookgate/hookgate/event"
)

// brevo is Brevo's (ex-Sendinblue) transactional webhook: one JSON object
// per event, or an array of them in batched mode. Brevo signs nothing; the
// route checks credentials.
type brevo struct{ credentialAdapter }

// NewBrevo returns the Brevo adapter.
func NewBrevo(cfg AuthConfig) (Adapter, error) {
	ca, err := newCredentialAdapter(SourceBrevo, cfg)
	if err != nil {
		return nil, err
	}
	return &brevo{ca}, nil
}

// Parse checks the credentials and maps each event.
func (a *brevo) Parse(_ context.Context, r *Request, d event.Defaults) (*Result, error) {
	if err := a.creds.check(SourceBrevo, r.Header); err != nil {
		return nil, err
	}
	return mapBatch(SourceBrevo, r.Body, d, brevoEvent)
}

// brevoEvent maps one Brevo event. Brevo gives events no id (its "id" is
// the webhook's), so the id is built from the message, event, recipient,
// time and link.
func brevoEvent(m map[string]any) (*canon, error) {
	name := snakeCase(text(m["event"]))
	if name == "" {
		return nil, &event.FieldError{Path: "event", Msg: "missing; want a Brevo event name"}
	}
	c := &canon{
		source:    SourceBrevo,
		recipient: text(m["email"]),
		messageID: trimAngle(text(m["message-id"])),
		url:       text(m["link"]),
		tags:      brevoTags(m),
		original:  m,
	}
	c.typ, c.isHuman = brevoType(name)
	c.time = brevoTime(m)
	c.id = syntheticID(SourceBrevo, c.messageID, name, c.recipient, str(m["ts_epoch"]),
		str(m["ts_event"]), c.url)
	c.setMetadata(metadataOf(m["X-Mailin-custom"]))
	return c, nil
}

// brevoType maps a Brevo event name to a canonical type and, for opens,
// Brevo's verdict on whether a proxy (such as Apple Mail Privacy
// Protection) made it.
func brevoType(name string) (string, *bool) {
	switch name {
	case "request", "sent":
		return event.MessageQueued, nil
	case "delivered":
		return event.MessageDelivered, nil
	case "deferred":
		return event.MessageDeferred, nil
	case "hard_bounce":
		return hardBounce, nil
	case "soft_bounce", "invalid_email", "invalid", "blocked", "error":
		return event.MessageFailed, nil // soft bounces are final; deferrals retry
	case "opened", "unique_opened":
		return event.MessageOpened, boolPtr(true)
	case "proxy_open", "unique_proxy_open":
		return event.MessageOpened, boolPtr(false)
	case "click":
		return event.MessageClicked, nil
	case "spam", "complaint":
		return event.InboundComplaint, nil
	case "unsubscribe", "unsubscribed":
		return event.MessageUnsubscribed, nil
	}
	return "", nil
}

// brevoTime reads the event time: ts_epoch, UTC milliseconds, is the one to
// trust; ts_event and ts are seconds. "date" is local time in Paris and is
// not used.
func brevoTime(m map[string]any) any {
	if ms, err := strconv.ParseFloat(str(m["ts_epoch"]), 64); err == nil && ms >= 0 &&
		ms < 1e17 {
		return time.UnixMilli(int64(ms)).UTC()
	}
	if ts := m["ts_event"]; ts != nil {
		return ts
	}
	return m["ts"]
}

// brevoTags returns the tags array, or else the "tag" string, which holds a
// JSON array or one tag.
func brevoTags(m map[string]any) []any {
	if tags := tagList(m["tags"]); tags != nil {
		return tags
	}
	tag := text(m["tag"])
	var list []string
	if err := json.Unmarshal([]byte(tag), &list); err == nil {
		return tagList(anySlice(list))
	}
	return tagList(tag)
}

// anySlice converts strings to a JSON array.
func anySlice(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// snakeCase turns the camelCase event names of Brevo's webhook settings
// ("uniqueProxyOpen") into the snake_case of its payloads.
func snakeCase(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}
