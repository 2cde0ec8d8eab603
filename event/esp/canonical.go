package esp

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/mail"
	"strconv"
	"strings"

	"github.com/hookgate/hookgate/event"
)

// hardBounce is what an ESP's permanent bounce maps to: the pair of
// message.bounced (id <id>) and inbound.hard_bounce (id <id>:inbound).
const hardBounce = "hard_bounce"

// inboundSuffix ends the id of the inbound.hard_bounce of a hard bounce.
const inboundSuffix = ":inbound"

// canon is one canonical event being assembled from an ESP's item. Empty
// fields stay out of the event, so the route's defaults apply to them.
type canon struct {
	source string
	id     string

	// typ is a canonical type, hardBounce, or empty for an item hookgate
	// does not map.
	typ string

	// time is the ESP's timestamp as event.ParseTimestamp takes it.
	time any

	recipient, messageID, url, userAgent, ip string
	domain, environment                      string

	isHuman *bool
	dwell   any

	metadata map[string]any
	tags     []any

	// original is the ESP's own object, kept under "esp".
	original map[string]any

	// extra holds further top-level keys.
	extra map[string]any
}

// object returns the canonical object of c with type typ and id id, sharing
// nothing with c: event.New takes ownership of what it is given. It fails
// when the ESP's objects nest too deeply to be kept under a key of the event.
func (c *canon) object(typ, id string) (map[string]any, error) {
	m := map[string]any{"id": id, "type": typ, "source": c.source}
	if c.time != nil {
		m["timestamp"] = c.time
	}
	for key, v := range map[string]string{
		"recipient": c.recipient, "message_id": c.messageID, "url": c.url,
		"user_agent": c.userAgent, "ip": c.ip, "domain": c.domain,
		"environment": c.environment,
	} {
		if v != "" {
			m[key] = v
		}
	}
	if c.isHuman != nil {
		m["is_human"] = *c.isHuman
	}
	if c.dwell != nil {
		m["dwell_seconds"] = c.dwell
	}
	nested := map[string]any{"esp": c.original}
	if len(c.metadata) > 0 {
		nested["metadata"] = c.metadata
	}
	if len(c.tags) > 0 {
		nested["tags"] = c.tags
	}
	for k, v := range c.extra {
		nested[k] = v
	}
	for k, v := range nested {
		if isNull(v) {
			continue
		}
		cp, ok := copyWithin(v, event.MaxDepth-1)
		if !ok {
			return nil, &event.FieldError{Path: k,
				Msg: fmt.Sprintf("nests deeper than %d levels in the event", event.MaxDepth)}
		}
		m[k] = cp
	}
	return m, nil
}

// setMetadata keeps the sender's custom metadata and takes the environment
// from its "environment" key when that is a string.
func (c *canon) setMetadata(meta map[string]any) {
	c.metadata = meta
	if env, ok := meta["environment"].(string); ok {
		c.environment = env
	}
}

// forRecipients returns c once per recipient. With several recipients each
// copy's id gets ":<recipient>" appended so that ids stay unique; with none,
// c is returned as it is.
func (c *canon) forRecipients(recipients []string) []*canon {
	if len(recipients) == 0 {
		return []*canon{c}
	}
	out := make([]*canon, len(recipients))
	for i, rcpt := range recipients {
		cp := *c
		cp.recipient = rcpt
		if len(recipients) > 1 {
			cp.id = c.id + ":" + rcpt
		}
		out[i] = &cp
	}
	return out
}

// emitter collects the outcome of one request.
type emitter struct {
	res      *Result
	defaults event.Defaults
}

// mapBatch decodes a source's JSON event or batch of events and maps each
// item with fn. An item that is not an object, or that fn refuses, is
// rejected alone.
func mapBatch(source string, body []byte, d event.Defaults,
	fn func(map[string]any) (*canon, error)) (*Result, error) {
	items, err := decodeBatch(source, body)
	if err != nil {
		return nil, err
	}
	em := newEmitter(d)
	for i, item := range items {
		m, ok := item.(map[string]any)
		if !ok {
			em.reject(i, fmt.Errorf("event must be an object, not %s", event.TypeName(item)))
			continue
		}
		c, err := fn(m)
		if err != nil {
			em.reject(i, err)
			continue
		}
		em.emit(i, c)
	}
	return em.res, nil
}

// newEmitter returns an emitter for a request whose events take d.
func newEmitter(d event.Defaults) *emitter {
	return &emitter{res: &Result{}, defaults: d}
}

// emit validates the events of the batch item at index. The item is atomic:
// when one of its events is invalid the item is rejected and none is kept.
// An item whose type is empty is counted as unmapped.
func (e *emitter) emit(index int, cs ...*canon) {
	if len(cs) == 0 || cs[0].typ == "" {
		e.res.Unmapped++
		return
	}
	var events []*event.Event
	for _, c := range cs {
		kinds := [][2]string{{c.typ, c.id}}
		if c.typ == hardBounce {
			kinds = [][2]string{
				{event.MessageBounced, c.id},
				{event.InboundHardBounce, c.id + inboundSuffix},
			}
		}
		for _, k := range kinds {
			m, err := c.object(k[0], k[1])
			if err == nil {
				var ev *event.Event
				ev, err = event.New(m, e.defaults)
				events = append(events, ev)
			}
			if err != nil {
				e.reject(index, err)
				return
			}
		}
	}
	e.res.Events = append(e.res.Events, events...)
}

// reject records an invalid item.
func (e *emitter) reject(index int, err error) {
	e.res.Rejected = append(e.res.Rejected, event.Rejection{Index: index, Err: err})
}

// unmapped counts an authentic item that maps to no canonical type.
func (e *emitter) unmapped() { e.res.Unmapped++ }

// syntheticID builds a stable id for an ESP that gives its events none:
// "<source>-" and 32 hex digits of the SHA-256 of the parts.
func syntheticID(source string, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return source + "-" + hex.EncodeToString(h.Sum(nil)[:16])
}

// str returns a string value, or the decimal spelling of a number; "" for
// anything else.
func str(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	}
	return ""
}

// text returns v when it is a string, "" otherwise.
func text(v any) string {
	s, _ := v.(string)
	return s
}

// obj returns v when it is an object, nil otherwise.
func obj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// dig follows keys through nested objects; nil when a step is missing.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// firstText returns a string, or the first string of an array.
func firstText(v any) string {
	if a, ok := v.([]any); ok {
		for _, x := range a {
			if s, ok := x.(string); ok {
				return s
			}
		}
		return ""
	}
	return text(v)
}

// texts returns the strings of a string-or-array value.
func texts(v any) []string {
	switch v := v.(type) {
	case string:
		if v == "" {
			return nil
		}
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok && s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// tagList returns the tags of a string-or-array value as a JSON array.
func tagList(v any) []any {
	ts := texts(v)
	if len(ts) == 0 {
		return nil
	}
	out := make([]any, len(ts))
	for i, t := range ts {
		out[i] = t
	}
	return out
}

// boolish reads a boolean that may be spelled as a string or a number.
func boolish(v any) (b, ok bool) {
	switch v := v.(type) {
	case bool:
		return v, true
	case string, json.Number:
		switch strings.ToLower(str(v)) {
		case "true", "1":
			return true, true
		case "false", "0":
			return false, true
		}
	}
	return false, false
}

// boolPtr returns a pointer to b.
func boolPtr(b bool) *bool { return &b }

// number returns a JSON number, accepting a numeric string; nil for anything
// else.
func number(v any) any {
	switch v := v.(type) {
	case json.Number, float64:
		return v
	case string:
		if _, err := strconv.ParseFloat(v, 64); err == nil && json.Valid([]byte(v)) {
			return json.Number(v)
		}
	}
	return nil
}

// addressDomain returns the domain of an email address, which may be given
// with a display name ("Acme <orders@mail.acme.example>"); "" when there is
// none.
func addressDomain(s string) string {
	addr := s
	if a, err := mail.ParseAddress(s); err == nil {
		addr = a.Address
	}
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return ""
	}
	d := strings.TrimSpace(strings.TrimRight(addr[at+1:], "> \t"))
	if d == "" || strings.ContainsAny(d, " \t<>@\"") {
		return ""
	}
	return d
}

// trimAngle removes the angle brackets around an RFC 5322 Message-ID.
func trimAngle(s string) string {
	return strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(s), "<"), ">")
}

// metadataOf returns the sender's custom metadata given as an object or as a
// string holding a JSON object; nil for anything else.
func metadataOf(v any) map[string]any {
	switch v := v.(type) {
	case map[string]any:
		return v
	case string:
		if d, err := event.Decode([]byte(v)); err == nil {
			m, _ := d.(map[string]any)
			return m
		}
	}
	return nil
}

// isNull reports whether v is nil or a nil object or array.
func isNull(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		return v == nil
	case []any:
		return v == nil
	}
	return v == nil
}

// copyWithin copies decoded JSON so that the copy shares no map or slice
// with v. ok is false when objects and arrays nest more than levels deep.
func copyWithin(v any, levels int) (cp any, ok bool) {
	switch v := v.(type) {
	case map[string]any:
		if levels == 0 {
			return nil, false
		}
		m := make(map[string]any, len(v))
		for k, x := range v {
			if m[k], ok = copyWithin(x, levels-1); !ok {
				return nil, false
			}
		}
		return m, true
	case []any:
		if levels == 0 {
			return nil, false
		}
		a := make([]any, len(v))
		for i, x := range v {
			if a[i], ok = copyWithin(x, levels-1); !ok {
				return nil, false
			}
		}
		return a, true
	}
	return v, true
}

// headerValue returns the first value of a header, also when the map was
// built by hand with keys that are not canonical.
func headerValue(h map[string][]string, name string) string {
	if v := http.Header(h).Get(name); v != "" {
		return v
	}
	for k, vs := range h {
		if len(vs) > 0 && strings.EqualFold(k, name) {
			return vs[0]
		}
	}
	return ""
}
