package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hookgate/hookgate/event"
	"github.com/hookgate/hookgate/hook"
	"github.com/hookgate/hookgate/queue"
)

// openGateway opens a gateway on a fresh store with the configuration cfg,
// closed when the test ends. Its dispatcher delivers nowhere the tests see:
// hooks point at an unroutable address and no test waits for deliveries.
func openGateway(t *testing.T, cfg Config) *Gateway {
	t.Helper()
	g, err := Open(queue.DefaultOptions(t.TempDir()), nil)
	require.NoError(t, err)
	require.NoError(t, g.Configure(context.Background(), cfg))
	t.Cleanup(func() { _ = g.Close(context.Background()) })
	return g
}

const hotLeadDoc = `{"id": %q, "account": %q, "event": "intent.hot_lead",
	"conditions": {"operator": "AND", "rules": [{"field": "heat_score", "op": "gt", "value": 5}]},
	"url": "https://crm.example/hooks"}`

func hotLeadEvent(t *testing.T, id, account string, heat int) *event.Event {
	t.Helper()
	e, err := event.Parse([]byte(fmt.Sprintf(`{"id": %q, "type": "intent.hot_lead",
		"domain": "mail.example", "heat_score": %d}`, id, heat)),
		event.Defaults{Account: account, Received: time.Now()})
	require.NoError(t, err)
	return e
}

func TestCreatedHookRoutesAtOnceAndSurvivesReopening(t *testing.T) {
	dir := t.TempDir()
	g, err := Open(queue.DefaultOptions(dir), nil)
	require.NoError(t, err)
	require.NoError(t, g.Configure(context.Background(), Config{}))

	h, secret, err := g.CreateHook(context.Background(), Operator,
		[]byte(fmt.Sprintf(hotLeadDoc, "crm", "acme")))
	require.NoError(t, err)
	assert.False(t, secret.IsZero())
	assert.EqualValues(t, 1, h.Version)

	res, err := g.Ingest(context.Background(), []*event.Event{
		hotLeadEvent(t, "evt_1", "acme", 9), hotLeadEvent(t, "evt_2", "acme", 1)})
	require.NoError(t, err)
	assert.Equal(t, 1, res.Matched)
	require.NoError(t, g.Close(context.Background()))

	g, err = Open(queue.DefaultOptions(dir), nil)
	require.NoError(t, err)
	defer g.Close(context.Background())
	got, err := g.Hook(Operator, "crm")
	require.NoError(t, err)
	assert.Equal(t, h.Rule.Expression(), got.Rule.Expression())
	assert.Equal(t, secret.Reveal(), got.Secrets.Primary().Reveal())
}

func TestAnAccountSeesOnlyItsOwnHooks(t *testing.T) {
	g := openGateway(t, Config{})
	ctx := context.Background()
	acme := Caller{Account: "acme"}
	_, _, err := g.CreateHook(ctx, acme, []byte(fmt.Sprintf(hotLeadDoc, "a", "")))
	require.NoError(t, err)
	_, _, err = g.CreateHook(ctx, Caller{Account: "globex"},
		[]byte(fmt.Sprintf(hotLeadDoc, "g", "")))
	require.NoError(t, err)

	_, _, err = g.CreateHook(ctx, acme, []byte(fmt.Sprintf(hotLeadDoc, "x", "globex")))
	assert.ErrorIs(t, err, ErrForbidden)
	_, err = g.Hook(acme, "g")
	assert.ErrorIs(t, err, queue.ErrNotFound)
	_, err = g.UpdateHook(ctx, acme, "g", []byte(`{"name": "mine"}`))
	assert.ErrorIs(t, err, queue.ErrNotFound)
	_, err = g.DeleteHook(ctx, acme, "g")
	assert.ErrorIs(t, err, queue.ErrNotFound)

	ids := func(hs []*Hook) (out []string) {
		for _, h := range hs {
			out = append(out, h.ID)
		}
		return out
	}
	assert.Equal(t, []string{"a"}, ids(g.HooksOf(acme)))
	assert.Equal(t, []string{"a", "g"}, ids(g.HooksOf(Operator)))
}

func TestHookWritesFollowTheAccountPolicy(t *testing.T) {
	g := openGateway(t, Config{Policy: hook.Policy{
		MaxAccountHooks: 1, Plans: map[string]string{"free": "free"}}})
	ctx := context.Background()
	jobs := `{"account": "acme", "event": "job.failed", "url": "https://ops.example/"}`

	_, _, err := g.CreateHook(ctx, Operator, []byte(jobs))
	require.NoError(t, err)
	_, _, err = g.CreateHook(ctx, Operator, []byte(jobs))
	assert.ErrorIs(t, err, hook.ErrLimit)
	_, _, err = g.CreateHook(ctx, Operator, []byte(fmt.Sprintf(hotLeadDoc, "f", "free")))
	assert.ErrorIs(t, err, hook.ErrPlan)
}

func TestUpdateMergesThePatchIntoTheDocument(t *testing.T) {
	g := openGateway(t, Config{})
	ctx := context.Background()
	_, _, err := g.CreateHook(ctx, Operator, []byte(fmt.Sprintf(hotLeadDoc, "crm", "")))
	require.NoError(t, err)

	h, err := g.UpdateHook(ctx, Operator, "crm",
		[]byte(`{"events": ["intent.*"], "conditions": null, "headers": {"X-Team": "growth"}}`))
	require.NoError(t, err)
	assert.EqualValues(t, 2, h.Version)
	assert.Empty(t, h.Event)
	assert.Equal(t, []string{"intent.*"}, h.Events)
	assert.Nil(t, h.Conditions)
	assert.Equal(t, map[string]string{"X-Team": "growth"}, h.Headers)
	assert.Equal(t, "https://crm.example/hooks", h.URL)

	_, err = g.UpdateHook(ctx, Operator, "crm", []byte(`{"method": "GET"}`))
	var fe *event.FieldError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "method", fe.Path)
	got, err := g.Hook(Operator, "crm")
	require.NoError(t, err)
	assert.EqualValues(t, 2, got.Version, "an invalid patch changes nothing")
}

func TestMergePatchFollowsRFC7386(t *testing.T) {
	for _, tc := range []struct{ name, target, patch, want string }{
		{"replace", `{"a": "b"}`, `{"a": "c"}`, `{"a": "c"}`},
		{"add", `{"a": "b"}`, `{"b": "c"}`, `{"a": "b", "b": "c"}`},
		{"remove", `{"a": "b", "b": "c"}`, `{"a": null}`, `{"b": "c"}`},
		{"nested", `{"a": {"b": "c", "d": 1}}`, `{"a": {"d": null, "e": 2}}`,
			`{"a": {"b": "c", "e": 2}}`},
		{"array replaced whole", `{"a": [1, 2]}`, `{"a": [3]}`, `{"a": [3]}`},
		{"object over scalar", `{"a": "b"}`, `{"a": {"c": 1}}`, `{"a": {"c": 1}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var target, patch any
			require.NoError(t, json.Unmarshal([]byte(tc.target), &target))
			require.NoError(t, json.Unmarshal([]byte(tc.patch), &patch))
			got, err := json.Marshal(mergePatch(target, patch))
			require.NoError(t, err)
			assert.JSONEq(t, tc.want, string(got))
		})
	}
}

func TestRecentEventsKeepTheNewestPerAccount(t *testing.T) {
	r := recentEvents{size: 3}
	var events []*event.Event
	for i := range 5 {
		events = append(events, hotLeadEvent(t, fmt.Sprintf("a%d", i), "acme", i))
	}
	events = append(events, hotLeadEvent(t, "g0", "globex", 1))
	r.add(events, time.Now())

	ids := func(rs []received) (out []string) {
		for _, rc := range rs {
			out = append(out, rc.event.ID)
		}
		return out
	}
	assert.Equal(t, []string{"a4", "a3", "a2"}, ids(r.list(Caller{Account: "acme"}, 10)))
	assert.Equal(t, []string{"a4"}, ids(r.list(Caller{Account: "acme"}, 1)))
	assert.Equal(t, []string{"g0"}, ids(r.list(Caller{Account: "globex"}, 10)))
	assert.Equal(t, []string{"g0", "a4", "a3"}, ids(r.list(Operator, 10)))
	assert.Empty(t, r.list(Caller{Account: "initech"}, 10))
}
