package hook

import (
	"fmt"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hookgate/hookgate/cel"
	"github.com/hookgate/hookgate/event"
)

func activation(e *event.Event) *cel.Activation { return cel.NewActivation(e) }

func compiled(t testing.TB, doc string) *Compiled {
	t.Helper()
	h, err := Parse([]byte(doc))
	require.NoError(t, err)
	c, err := Compile(h, 1)
	require.NoError(t, err)
	return c
}

func TestIndexRoutesByAccountDomainAndType(t *testing.T) {
	hooks := []*Compiled{
		compiled(t, `{"id":"acme-opens","account":"acme","domain":"mail.acme.example",`+
			`"event":"message.opened","url":"https://x"}`),
		compiled(t, `{"id":"acme-all-domains","account":"acme","event":"message.*",`+
			`"url":"https://x"}`),
		compiled(t, `{"id":"operator-bounces","event":"message.bounced","url":"https://x"}`),
		compiled(t, `{"id":"any-account-domain","domain":"mail.acme.example","event":"*",`+
			`"url":"https://x"}`),
		compiled(t, `{"id":"acme-jobs","account":"acme","event":"job.*","url":"https://x"}`),
		compiled(t, `{"id":"globex-opens","account":"globex","event":"message.opened",`+
			`"url":"https://x"}`),
	}
	ix := NewIndex(hooks)
	candidates := func(body string) []string {
		e, err := event.Parse([]byte(body), event.Defaults{})
		require.NoError(t, err)
		var ids []string
		ix.Candidates(e, func(c *Compiled) { ids = append(ids, c.ID) })
		sort.Strings(ids)
		return ids
	}

	assert.Equal(t, []string{"acme-all-domains", "acme-opens", "any-account-domain"},
		candidates(`{"id":"e","type":"message.opened","account":"acme",`+
			`"domain":"MAIL.acme.example."}`))
	assert.Equal(t, []string{"acme-all-domains", "any-account-domain", "operator-bounces"},
		candidates(`{"id":"e","type":"message.bounced","account":"acme",`+
			`"domain":"mail.acme.example"}`))
	assert.Equal(t, []string{"acme-all-domains"},
		candidates(`{"id":"e","type":"message.clicked","account":"acme",`+
			`"domain":"news.acme.example"}`), "a subdomain is another domain")
	assert.Equal(t, []string{"acme-jobs"},
		candidates(`{"id":"e","type":"job.completed","account":"acme"}`))
	assert.Equal(t, []string{"globex-opens"},
		candidates(`{"id":"e","type":"message.opened","account":"globex","domain":"g.example"}`))
	assert.Equal(t, []string{"operator-bounces"},
		candidates(`{"id":"e","type":"message.bounced","domain":"x.example"}`))
	assert.Empty(t, candidates(`{"id":"e","type":"job.completed","account":"globex"}`))
}

func TestCandidatesAreEachMetOnce(t *testing.T) {
	ix := NewIndex([]*Compiled{
		compiled(t, `{"id":"a","event":"message.opened","url":"https://x"}`),
		compiled(t, `{"id":"b","events":["message.opened","message.*"],"url":"https://x"}`),
	})
	for _, body := range []string{
		`{"id":"e","type":"message.opened","domain":"d"}`,
		`{"id":"e","type":"message.opened","domain":"d","account":"x"}`,
	} {
		e, err := event.Parse([]byte(body), event.Defaults{})
		require.NoError(t, err)
		n := map[string]int{}
		ix.Candidates(e, func(c *Compiled) { n[c.ID]++ })
		assert.Equal(t, map[string]int{"a": 1, "b": 1}, n)
	}
}

func TestIndexMatchEvaluatesRules(t *testing.T) {
	var hooks []*Compiled
	for i := range 10 {
		hooks = append(hooks, compiled(t, fmt.Sprintf(`{"id":"h%d","event":"intent.hot_lead",`+
			`"conditions":{"field":"heat_score","op":"gt","value":%d},"url":"https://x"}`, i, i)))
	}
	ix := NewIndex(hooks)
	e := mustEvent(t, `{"id":"e","type":"intent.hot_lead","domain":"d","heat_score":4}`)
	var ids []string
	ix.Match(e, activation(e), func(c *Compiled) { ids = append(ids, c.ID) }, nil)
	sort.Strings(ids)
	assert.Equal(t, []string{"h0", "h1", "h2", "h3"}, ids)
}
