// Package hook defines hookgate's hooks: the document users write, its
// validation and scopes, the presets that fill it, and the routing index that
// leads each event only to the hooks that can apply to it.
package hook

import (
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/net/http/httpguts"

	"github.com/hookgate/hookgate/cel"
	"github.com/hookgate/hookgate/event"
	"github.com/hookgate/hookgate/signer"
)

// Hook is the hook document users write: which events, under which
// conditions, go where.
type Hook struct {
	// ID names the hook; generated (`hk_...`) when absent.
	ID string `json:"id,omitempty"`

	// Name is a label for people.
	Name string `json:"name,omitempty"`

	// Account is the account whose events the hook receives; empty for an
	// operator's hook that receives every account's.
	Account string `json:"account,omitempty"`

	// Domain is the sending domain a domain hook listens to; empty for every
	// domain of its account. Stored normalized.
	Domain string `json:"domain,omitempty"`

	// Event is the one event selector, when the document gives `event`.
	Event string `json:"event,omitempty"`

	// Events are the event selectors, when the document gives `events`.
	Events []string `json:"events,omitempty"`

	// Conditions must hold for an event to be delivered; nil matches every
	// event of the hook's types.
	Conditions *cel.Condition `json:"conditions,omitempty"`

	// URL is where deliveries go: an absolute http or https URL.
	URL string `json:"url"`

	// Method is POST (default), PUT or PATCH.
	Method string `json:"method,omitempty"`

	// Headers are static request headers sent with every delivery.
	Headers map[string]string `json:"headers,omitempty"`

	// Secret signs deliveries; generated when absent. Never shown in reads.
	Secret string `json:"secret,omitempty"`

	// Enabled is false for a hook that must not deliver; nil means true.
	Enabled *bool `json:"enabled,omitempty"`

	// Preset names the recipe that filled the document, if any.
	Preset string `json:"preset,omitempty"`

	// Transform is a CEL expression over `event` that yields the body.
	Transform string `json:"transform,omitempty"`
}

// IsEnabled reports whether the hook delivers.
func (h *Hook) IsEnabled() bool { return h.Enabled == nil || *h.Enabled }

// Selectors returns the event selectors the hook gives, from Event or Events.
func (h *Hook) Selectors() []string {
	if h.Event != "" {
		return []string{h.Event}
	}
	return h.Events
}

// Types returns the known event types the hook takes, sorted, without
// duplicates. Valid hooks name at least one.
func (h *Hook) Types() []string {
	seen := map[string]bool{}
	var out []string
	for _, sel := range h.Selectors() {
		types, _ := event.Expand(sel)
		for _, t := range types {
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	sort.Strings(out)
	return out
}

// AccountWide reports whether the hook is an account hook: one that takes
// account-wide types (job.*) and has no conditions and no domain.
func (h *Hook) AccountWide() bool {
	types := h.Types()
	if len(types) == 0 {
		return false
	}
	c, _ := event.CategoryOf(types[0]) // valid hooks never mix scopes
	return c.AccountWide()
}

// documentKeys are the keys a hook document may have.
var documentKeys = []string{
	"id", "name", "account", "domain", "event", "events", "conditions", "url",
	"method", "headers", "secret", "enabled", "preset", "transform",
}

// Limits on a hook document.
const (
	maxIDLength   = 128
	maxNameLength = 256
	maxURLLength  = 2048
	maxHeaders    = 32
)

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]*$`)

// Parse reads a hook document, applies its preset and validates it. Errors
// are *event.FieldError naming the JSON path of what is wrong. Keys that the
// hook resource adds in responses (version, expression, ...) are ignored, so
// a document read from the API can be written back.
func Parse(data []byte) (*Hook, error) {
	var doc map[string]any
	if err := decodeInto(data, &doc); err != nil {
		return nil, err
	}
	return FromDocument(doc)
}

// ParseDraft is Parse for a hook that is only evaluated, never delivered to:
// the url may be absent.
func ParseDraft(data []byte) (*Hook, error) {
	var doc map[string]any
	if err := decodeInto(data, &doc); err != nil {
		return nil, err
	}
	if _, ok := doc["url"]; !ok {
		doc["url"] = draftURL
	}
	h, err := FromDocument(doc)
	if err != nil {
		return nil, err
	}
	if h.URL == draftURL {
		h.URL = ""
	}
	return h, nil
}

// draftURL stands in for the url of a draft during validation.
const draftURL = "http://draft.invalid/"

// FromDocument is Parse for an already decoded JSON object. It modifies doc.
func FromDocument(doc map[string]any) (*Hook, error) {
	for _, k := range resourceKeys {
		delete(doc, k)
	}
	for k := range doc {
		if !contains(documentKeys, k) {
			return nil, fieldErr(k, "unknown key (a hook has %s)", strings.Join(documentKeys, ", "))
		}
	}
	if v, ok := doc["preset"]; ok {
		name, ok := v.(string)
		if !ok {
			return nil, fieldErr("preset", "must be a string")
		}
		p, ok := LookupPreset(name)
		if !ok {
			return nil, fieldErr("preset", "unknown preset %q (want one of %s)", name,
				strings.Join(presetNames(), ", "))
		}
		if err := applyPreset(doc, p); err != nil {
			return nil, err
		}
	}

	h := &Hook{}
	d := reader{doc: doc}
	h.ID = d.str("id")
	h.Name = d.str("name")
	h.Account = d.str("account")
	h.Domain = d.domain()
	h.URL = d.str("url")
	h.Method = strings.ToUpper(d.str("method"))
	h.Secret = d.str("secret")
	h.Preset = d.str("preset")
	h.Transform = d.str("transform")
	h.Headers = d.strMap("headers")
	if v, ok := doc["enabled"]; ok {
		b, isBool := v.(bool)
		if !isBool {
			d.fail("enabled", "must be true or false")
		}
		h.Enabled = &b
	}
	d.selectors(h)
	if d.err != nil {
		return nil, d.err
	}
	if v, ok := doc["conditions"]; ok {
		c, err := cel.ParseConditions(v, "conditions")
		if err != nil {
			return nil, err
		}
		h.Conditions = c
	}
	if err := h.validate(); err != nil {
		return nil, err
	}
	return h, nil
}

// resourceKeys are the read-only fields of the hook resource.
var resourceKeys = []string{
	"disabled_reason", "consecutive_failures", "version", "expression",
	"created_at", "updated_at",
}

// validate checks the fields that need more than their JSON type.
func (h *Hook) validate() error {
	if h.ID != "" && (len(h.ID) > maxIDLength || !idPattern.MatchString(h.ID)) {
		return fieldErr("id", "must be 1 to %d letters, digits, '_', '.', ':' or '-', "+
			"starting with a letter or digit", maxIDLength)
	}
	if len(h.Name) > maxNameLength {
		return fieldErr("name", "is over %d bytes", maxNameLength)
	}
	if err := validateURL(h.URL); err != nil {
		return err
	}
	switch h.Method {
	case "":
		h.Method = http.MethodPost
	case http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		return fieldErr("method", "must be POST, PUT or PATCH, not %q", h.Method)
	}
	if err := validateHeaders(h.Headers); err != nil {
		return err
	}
	if h.Secret != "" {
		if _, err := signer.ParseSecret(h.Secret); err != nil {
			return fieldErr("secret", "%v", err)
		}
	}
	if h.Transform != "" {
		if _, err := cel.CompileTransform(h.Transform); err != nil {
			return fieldErr("transform", "%v", err)
		}
	}
	return h.validateScope()
}

// validateScope checks that the hook is either an account hook or a domain
// hook, and that the fields fit its scope.
func (h *Hook) validateScope() error {
	var accountWide, domainTypes []string
	for _, t := range h.Types() {
		if c, _ := event.CategoryOf(t); c.AccountWide() {
			accountWide = append(accountWide, t)
		} else {
			domainTypes = append(domainTypes, t)
		}
	}
	field := "event"
	if h.Event == "" {
		field = "events"
	}
	switch {
	case len(accountWide) > 0 && len(domainTypes) > 0:
		return fieldErr(field, "mixes account-wide types (%s) with domain types (%s); "+
			"use one hook for each", accountWide[0], domainTypes[0])
	case len(accountWide) == 0:
		return nil
	case h.Conditions != nil:
		return fieldErr("conditions", "conditions need a domain hook; %s events are "+
			"account-wide, so an account hook receives all of them", accountWide[0])
	case h.Domain != "":
		return fieldErr("domain", "an account hook (%s) takes no domain", accountWide[0])
	}
	return nil
}

func validateURL(raw string) error {
	if raw == "" {
		return fieldErr("url", "required")
	}
	if len(raw) > maxURLLength {
		return fieldErr("url", "is over %d bytes", maxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fieldErr("url", "%v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fieldErr("url", "must be an absolute http or https URL, not %q", raw)
	}
	if u.User != nil {
		return fieldErr("url", "must not carry credentials; use headers instead")
	}
	return nil
}

// reservedHeaders are set by hookgate on every delivery.
var reservedHeaders = []string{
	"Content-Type", "Content-Length", "User-Agent", "Host", "Connection",
	"Transfer-Encoding", "X-Mailodds-Signature", "X-Mailodds-Event",
	"X-Mailodds-Delivery", "X-Mailodds-Attempt", "Webhook-Id", "Webhook-Timestamp",
	"Webhook-Signature",
}

func validateHeaders(headers map[string]string) error {
	if len(headers) > maxHeaders {
		return fieldErr("headers", "has %d headers, over the limit of %d", len(headers),
			maxHeaders)
	}
	for name, value := range headers {
		path := "headers." + name
		if !httpguts.ValidHeaderFieldName(name) {
			return fieldErr(path, "is not a valid header name")
		}
		if !httpguts.ValidHeaderFieldValue(value) {
			return fieldErr(path, "value has characters a header cannot carry")
		}
		if contains(reservedHeaders, http.CanonicalHeaderKey(name)) {
			return fieldErr(path, "is set by hookgate on every delivery")
		}
	}
	return nil
}

// NewID returns a fresh hook id: "hk_" and 16 random base32 characters.
func NewID() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return "hk_" + strings.ToLower(base32.StdEncoding.EncodeToString(b[:]))
}

// reader reads typed fields of a document, keeping the first error.
type reader struct {
	doc map[string]any
	err error
}

func (d *reader) fail(path, format string, args ...any) {
	if d.err == nil {
		d.err = fieldErr(path, format, args...)
	}
}

func (d *reader) str(key string) string {
	v, ok := d.doc[key]
	if !ok {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		d.fail(key, "must be a string")
	}
	return s
}

// domain reads the domain, normalized. A domain that normalizes to nothing
// or to a name ending with a dot is refused: as "." it would widen the hook
// to every domain, as "a.." it would match no event.
func (d *reader) domain() string {
	raw := d.str("domain")
	dom := event.NormalizeDomain(raw)
	if raw != "" && (dom == "" || strings.HasSuffix(dom, ".")) {
		d.fail("domain", "%q is not a domain name", raw)
	}
	return dom
}

func (d *reader) strMap(key string) map[string]string {
	v, ok := d.doc[key]
	if !ok {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		d.fail(key, "must be an object of strings")
		return nil
	}
	out := make(map[string]string, len(m))
	for k, x := range m {
		s, ok := x.(string)
		if !ok {
			d.fail(key+"."+k, "must be a string")
		}
		out[k] = s
	}
	return out
}

// selectors reads exactly one of event and events.
func (d *reader) selectors(h *Hook) {
	ev, hasEvent := d.doc["event"]
	evs, hasEvents := d.doc["events"]
	switch {
	case hasEvent && hasEvents:
		d.fail("events", "give either event or events, not both")
	case hasEvent:
		s, ok := ev.(string)
		if !ok {
			d.fail("event", "must be an event type string")
			return
		}
		if _, ok := event.Expand(s); !ok {
			d.fail("event", "%s", unknownSelector(s))
		}
		h.Event = s
	case hasEvents:
		list, ok := evs.([]any)
		if !ok || len(list) == 0 {
			d.fail("events", "must be a non-empty array of event types")
			return
		}
		for i, x := range list {
			path := "events[" + strconv.Itoa(i) + "]"
			s, ok := x.(string)
			if !ok {
				d.fail(path, "must be an event type string")
				return
			}
			if _, ok := event.Expand(s); !ok {
				d.fail(path, "%s", unknownSelector(s))
			}
			h.Events = append(h.Events, s)
		}
	default:
		d.fail("event", "required (or events)")
	}
}

func unknownSelector(s string) string {
	return fmt.Sprintf("unknown event type %q (want a type such as message.bounced, "+
		"a category wildcard such as message.*, or *)", s)
}

func presetNames() []string {
	var names []string
	for _, p := range Presets() {
		names = append(names, p.Name)
	}
	return names
}

// decodeInto decodes JSON with exact numbers and the depth limit of events.
func decodeInto(data []byte, out *map[string]any) error {
	v, err := event.Decode(data)
	if err != nil {
		return err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return fieldErr("", "a hook must be a JSON object")
	}
	*out = m
	return nil
}

func fieldErr(path, format string, args ...any) error {
	return &event.FieldError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
