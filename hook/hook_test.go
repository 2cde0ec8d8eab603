package hook

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hookgate/hookgate/event"
)

const seedHook = `{
  "event": "intent.hot_lead",
  "conditions": {
    "operator": "AND",
    "rules": [
      { "field": "heat_score", "op": "gt", "value": 5 },
      { "field": "intent_category", "op": "eq", "value": "PURCHASE_INTENT" },
      { "field": "is_human", "op": "eq", "value": true }
    ]
  },
  "url": "https://your-crm.com/hot-leads"
}`

func TestParseSeedDocument(t *testing.T) {
	h, err := Parse([]byte(seedHook))
	require.NoError(t, err)
	assert.Equal(t, "intent.hot_lead", h.Event)
	assert.Equal(t, "https://your-crm.com/hot-leads", h.URL)
	assert.Equal(t, "POST", h.Method)
	assert.True(t, h.IsEnabled())
	assert.False(t, h.AccountWide())
	assert.Equal(t, []string{"intent.hot_lead"}, h.Types())

	out, err := json.Marshal(h)
	require.NoError(t, err)
	assert.JSONEq(t, `{"event":"intent.hot_lead","method":"POST",
		"url":"https://your-crm.com/hot-leads","conditions":{"operator":"AND","rules":[
		{"field":"heat_score","op":"gt","value":5},
		{"field":"intent_category","op":"eq","value":"PURCHASE_INTENT"},
		{"field":"is_human","op":"eq","value":true}]}}`, string(out))
}

func TestParseRefusesBadDocuments(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  string
		err  string
	}{
		{"not an object", `[]`, "a hook must be a JSON object"},
		{"not JSON", `{`, "body is not valid JSON"},
		{"unknown key", `{"event":"job.failed","url":"https://x","condition":{}}`,
			`condition: unknown key`},
		{"no event", `{"url":"https://x"}`, "event: required (or events)"},
		{"both", `{"event":"job.failed","events":["job.failed"],"url":"https://x"}`,
			"events: give either event or events, not both"},
		{"null event", `{"event":null,"url":"https://x"}`, "event: must be an event type string"},
		{"null events", `{"events":null,"url":"https://x"}`,
			"events: must be a non-empty array of event types"},
		{"empty events", `{"events":[],"url":"https://x"}`,
			"events: must be a non-empty array of event types"},
		{"unknown type", `{"event":"message.opend","url":"https://x"}`,
			`event: unknown event type "message.opend"`},
		{"unknown in list", `{"events":["message.opened","bounce"],"url":"https://x"}`,
			`events[1]: unknown event type "bounce"`},
		{"bad wildcard", `{"event":"message*","url":"https://x"}`, `event: unknown event type`},
		{"mixed scopes", `{"events":["job.failed","message.*"],"url":"https://x"}`,
			"events: mixes account-wide types (job.failed) with domain types (message."},
		{"account hook conditions", `{"event":"job.failed","url":"https://x",` +
			`"conditions":{"field":"x","op":"eq","value":1}}`,
			"conditions: conditions need a domain hook"},
		{"account hook domain", `{"event":"job.*","url":"https://x","domain":"d"}`,
			"domain: an account hook (job.completed) takes no domain"},
		{"domain a dot", `{"event":"message.opened","url":"https://x","domain":"."}`,
			`domain: "." is not a domain name`},
		{"domain two dots", `{"event":"message.opened","url":"https://x","domain":"a.b.."}`,
			`domain: "a.b.." is not a domain name`},
		{"no url", `{"event":"job.failed"}`, "url: required"},
		{"relative url", `{"event":"job.failed","url":"/hooks"}`,
			`url: must be an absolute http or https URL`},
		{"ftp url", `{"event":"job.failed","url":"ftp://x/"}`, `url: must be an absolute http`},
		{"secret without prefix", `{"event":"job.failed","url":"https://x","secret":"hunter2"}`,
			"secret: invalid secret"},
		{"secret not base64", `{"event":"job.failed","url":"https://x","secret":"whsec_%%%"}`,
			"secret: invalid secret"},
		{"credentials", `{"event":"job.failed","url":"https://u:p@x/"}`,
			"url: must not carry credentials"},
		{"method", `{"event":"job.failed","url":"https://x","method":"GET"}`,
			`method: must be POST, PUT or PATCH, not "GET"`},
		{"reserved header", `{"event":"job.failed","url":"https://x",` +
			`"headers":{"x-mailodds-signature":"forged"}}`,
			"headers.x-mailodds-signature: is set by hookgate on every delivery"},
		{"bad header name", `{"event":"job.failed","url":"https://x","headers":{"a b":"c"}}`,
			"headers.a b: is not a valid header name"},
		{"header injection", `{"event":"job.failed","url":"https://x","headers":{"A":"b\r\nC: d"}}`,
			"headers.A: value has characters a header cannot carry"},
		{"header not string", `{"event":"job.failed","url":"https://x","headers":{"A":1}}`,
			"headers.A: must be a string"},
		{"bad id", `{"id":"has space","event":"job.failed","url":"https://x"}`, "id: must be"},
		{"enabled not bool", `{"event":"job.failed","url":"https://x","enabled":"yes"}`,
			"enabled: must be true or false"},
		{"bad condition", `{"event":"message.opened","url":"https://x","conditions":` +
			`{"operator":"AND","rules":[{"field":"heat_score","op":"gt","value":"high"}]}}`,
			"conditions.rules[0].value: heat_score is a number"},
		{"null conditions", `{"event":"message.opened","url":"https://x","conditions":null}`,
			"conditions: must be an object"},
		{"bad transform", `{"event":"message.opened","url":"https://x","transform":"1 +"}`,
			"transform: compiling transform"},
		{"unknown preset", `{"preset":"teams","url":"https://x"}`, `preset: unknown preset "teams"`},
		{"name not string", `{"event":"job.failed","url":"https://x","name":1}`,
			"name: must be a string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.err)
		})
	}
}

func TestSelectorsTakeTheUnionOfTheirTypes(t *testing.T) {
	h, err := Parse([]byte(`{"events":["message.*","message.opened","inbound.complaint"],` +
		`"url":"https://x"}`))
	require.NoError(t, err)
	assert.Len(t, h.Types(), 9)

	h, err = Parse([]byte(`{"event":"*","url":"https://x"}`))
	require.NoError(t, err)
	assert.Len(t, h.Types(), 14)
	assert.NotContains(t, h.Types(), "job.failed")
}

func TestReadOnlyResourceFieldsAreIgnored(t *testing.T) {
	h, err := Parse([]byte(`{"id":"hk_1","event":"job.failed","url":"https://x","version":3,` +
		`"expression":"true","created_at":"2026-01-01T00:00:00Z","consecutive_failures":2,` +
		`"disabled_reason":"","updated_at":"x"}`))
	require.NoError(t, err)
	assert.Equal(t, "hk_1", h.ID)
}

func TestDomainIsNormalized(t *testing.T) {
	h, err := Parse([]byte(`{"event":"message.*","domain":"Mail.Acme.Example.",` +
		`"url":"https://x"}`))
	require.NoError(t, err)
	assert.Equal(t, "mail.acme.example", h.Domain)
}

func TestParseDraftNeedsNoURL(t *testing.T) {
	h, err := ParseDraft([]byte(`{"event":"message.opened"}`))
	require.NoError(t, err)
	assert.Empty(t, h.URL)

	_, err = ParseDraft([]byte(`{"event":"message.opened","url":"nope"}`))
	assert.ErrorContains(t, err, "url: must be an absolute http or https URL")
}

func TestPolicy(t *testing.T) {
	domainHook := func(account string) *Hook {
		h, err := Parse([]byte(`{"event":"message.opened","url":"https://x","account":"` +
			account + `"}`))
		require.NoError(t, err)
		return h
	}
	accountHook := func(id, account string) *Hook {
		h, err := Parse([]byte(`{"id":"` + id + `","event":"job.*","url":"https://x",` +
			`"account":"` + account + `"}`))
		require.NoError(t, err)
		return h
	}
	p := Policy{Plans: map[string]string{"free-co": "free", "pro-co": "pro", "big": "enterprise"}}

	assert.NoError(t, p.Check(domainHook("pro-co"), nil))
	assert.NoError(t, p.Check(domainHook("big"), nil))
	assert.NoError(t, p.Check(domainHook("unplanned"), nil), "accounts without a plan may")
	err := p.Check(domainHook("free-co"), nil)
	assert.True(t, errors.Is(err, ErrPlan))
	assert.EqualError(t, err, `domain hooks need the pro or enterprise plan; account "free-co"`+
		` is on "free": not allowed by the account's plan`)
	assert.NoError(t, Policy{}.Check(domainHook("free-co"), nil), "no plans configured")
	assert.NoError(t, p.Check(accountHook("a", "free-co"), nil), "account hooks need no plan")

	var existing []*Hook
	for i := range DefaultMaxAccountHooks {
		h := accountHook(string(rune('a'+i)), "acme")
		require.NoError(t, p.Check(h, existing))
		existing = append(existing, h)
	}
	err = p.Check(accountHook("z", "acme"), existing)
	assert.True(t, errors.Is(err, ErrLimit))
	assert.NoError(t, p.Check(accountHook("c", "acme"), existing), "an update is no new hook")
	assert.NoError(t, p.Check(accountHook("z", "other"), existing), "limits are per account")
	assert.NoError(t, p.Check(domainHook("acme"), existing), "domain hooks are unlimited")
	assert.True(t, errors.Is(Policy{MaxAccountHooks: 1}.Check(accountHook("z", "acme"),
		existing[:1]), ErrLimit))
}

func mustEvent(t testing.TB, body string) *event.Event {
	t.Helper()
	e, err := event.Parse([]byte(body), event.Defaults{})
	require.NoError(t, err)
	return e
}
