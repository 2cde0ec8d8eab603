package caddymodule

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hookgate/hookgate/signer"
)

// seedRule is the hot-lead hook document of the API's users, delivering to url.
func seedRule(url string, extra ...string) string {
	return `{` + strings.Join(append(extra, `"event": "intent.hot_lead",
		"conditions": {"operator": "AND", "rules": [
			{"field": "heat_score", "op": "gt", "value": 5},
			{"field": "intent_category", "op": "eq", "value": "PURCHASE_INTENT"},
			{"field": "is_human", "op": "eq", "value": true}]},
		"url": "`+url+`"`), ", ") + `}`
}

// call sends a request with an optional JSON body to url and decodes the
// JSON answer.
func call(t *testing.T, method, url, body string, header ...string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out map[string]any
	if len(bytes.TrimSpace(raw)) > 0 {
		require.NoError(t, json.Unmarshal(raw, &out), "answer to %s %s: %s", method, url, raw)
	}
	return resp.StatusCode, out
}

// api calls the operator's API on the admin endpoint.
func (g *testGateway) api(method, path, body string) (int, map[string]any) {
	g.t.Helper()
	return call(g.t, method, fmt.Sprintf("http://127.0.0.1:%d/hookgate%s", g.admin, path),
		body)
}

// dashboard calls one account's API under the dashboard route.
func (g *testGateway) dashboard(token, method, path, body string) (int, map[string]any) {
	g.t.Helper()
	var auth []string
	if token != "" {
		auth = []string{"Authorization", "Bearer " + token}
	}
	return call(g.t, method, g.url("/dashboard/api"+path), body, auth...)
}

// verifies reports whether a delivery verifies, in both header styles, with
// the secret alone.
func verifies(r received, secret string) bool {
	for _, s := range []signer.Scheme{signer.SchemeMailOdds, signer.SchemeStandardWebhooks} {
		if _, err := signer.Verify(r.Header, r.Body, []string{secret},
			signer.WithScheme(s)); err != nil {
			return false
		}
	}
	return true
}

func TestAPIHookTakesEffectAtOnceAndShowsTheSecretOnlyOnCreate(t *testing.T) {
	rc := newReceiver(t, nil)
	g := startGateway(t, "", ingestSite)

	status, created := g.api("POST", "/hooks", seedRule(rc.URL, `"id": "crm"`))
	require.Equal(t, http.StatusCreated, status, "%v", created)
	secret, _ := created["secret"].(string)
	assert.True(t, strings.HasPrefix(secret, "whsec_"), "secret %q", secret)
	assert.Equal(t, "crm", created["id"])
	assert.Equal(t, true, created["enabled"])
	assert.Equal(t, 1.0, created["version"])
	assert.Contains(t, created["expression"], `event.?heat_score.orValue(double("NaN")) > 5.0`)

	status, read := g.api("GET", "/hooks/crm", "")
	require.Equal(t, http.StatusOK, status)
	assert.NotContains(t, read, "secret")
	_, list := g.api("GET", "/hooks", "")
	require.Len(t, list["hooks"], 1)
	assert.NotContains(t, list["hooks"].([]any)[0], "secret")

	status, _ = g.post("/events", hotLead("evt_1", 9))
	require.Equal(t, http.StatusAccepted, status)
	got := rc.next(t, 5*time.Second)
	assert.True(t, verifies(got, secret), "delivery signed with the created secret")
	status, _ = g.post("/events", hotLead("evt_2", 3))
	require.Equal(t, http.StatusAccepted, status)
	rc.quiet(t, 300*time.Millisecond)
}

func TestAPIRefusesBadWritesWithFittingStatus(t *testing.T) {
	g := startGateway(t, `max_account_hooks 1
		account free {
			plan free
		}
		`+hotLeadHook("static", "https://static.example/"), ingestSite)

	require.Equal(t, http.StatusCreated, first(g.api("POST", "/hooks",
		`{"id": "jobs", "account": "acme", "event": "job.failed", "url": "https://x.example/"}`)))

	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		err                      string
	}{
		{"not json", "POST", "/hooks", `{"event":`, 400, "body is not JSON"},
		{"bad value", "POST", "/hooks", `{"event": "intent.hot_lead", "url": "https://x/",
			"conditions": {"operator": "AND", "rules": [
				{"field": "heat_score", "op": "gt", "value": "high"}]}}`,
			400, "conditions.rules[0].value: heat_score is a number"},
		{"unknown event type", "POST", "/hooks", `{"event": "message.opend", "url": "https://x/"}`,
			400, "event: "},
		{"conditions on an account hook", "POST", "/hooks", `{"event": "job.failed",
			"url": "https://x/", "conditions": {"operator": "AND", "rules": [
				{"field": "id", "op": "eq", "value": "x"}]}}`, 400, "conditions need a domain hook"},
		{"id taken", "POST", "/hooks", `{"id": "jobs", "event": "job.failed", "url": "https://x/"}`,
			409, `hook id "jobs" is taken`},
		{"id of a configuration hook", "POST", "/hooks",
			`{"id": "static", "event": "job.failed", "url": "https://x/"}`, 409, "is taken"},
		{"account hook limit", "POST", "/hooks",
			`{"account": "acme", "event": "job.completed", "url": "https://x/"}`, 409,
			"already has 1 account hooks"},
		{"plan", "POST", "/hooks", `{"account": "free", "event": "message.opened",
			"url": "https://x/"}`, 403, "pro or enterprise"},
		{"read-only hook", "PUT", "/hooks/static", `{"event": "job.failed", "url": "https://x/"}`,
			409, "read-only"},
		{"secret in a replace", "PUT", "/hooks/jobs", `{"event": "job.failed",
			"url": "https://x/", "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}`, 400,
			"rotate-secret"},
		{"unknown hook", "GET", "/hooks/nope", "", 404, "not found"},
		{"unknown hook replaced", "PUT", "/hooks/nope", `{"event": "job.failed",
			"url": "https://x/"}`, 404, "not found"},
		{"unknown hook patched", "PATCH", "/hooks/nope", `{"url": "https://y/"}`, 404, "not found"},
		{"unknown hook deleted", "DELETE", "/hooks/nope", "", 404, "not found"},
		{"unknown delivery", "GET", "/deliveries/dlv_00000000000000000000000000", "", 404,
			"not found"},
		{"bad status filter", "GET", "/hooks/jobs/deliveries?status=lost", "", 400, "status"},
		{"bad parked", "POST", "/hooks/jobs/enable", `{"parked": "keep"}`, 400, "parked"},
		{"bad overlap", "POST", "/hooks/jobs/rotate-secret", `{"overlap": "a day"}`, 400,
			"overlap"},
		{"wrong method", "DELETE", "/stats", "", 405, "not allowed"},
		{"unknown path", "GET", "/hookz", "", 404, "no such path"},
		{"hook nested too deep", "POST", "/hooks", deep, 400, "deeper than 64 levels"},
		{"replace nested too deep", "PUT", "/hooks/jobs", deep, 400, "deeper than 64 levels"},
		{"patch with null", "PATCH", "/hooks/jobs", `null`, 400, "must be a JSON object"},
		{"replace changing the id", "PUT", "/hooks/jobs", `{"id": "other",
			"event": "job.failed", "url": "https://x/"}`, 400, `id: "other" does not match`},
		{"event not an object", "POST", "/evaluate", `{"rule": {"event": "job.failed"},
			"event": 5}`, 400, "event: an event must be a JSON object"},
		{"event null", "POST", "/evaluate", `{"rule": {"event": "job.failed"},
			"event": null}`, 400, "event: an event must be a JSON object"},
		{"evaluate without event", "POST", "/evaluate", `{"rule": {"event": "job.failed"}}`,
			400, "give an event"},
		{"option of the wrong type", "POST", "/hooks/jobs/enable", `{"parked": 5}`, 400,
			"parked: must be a string"},
		{"unknown option", "POST", "/hooks/jobs/disable", `{"reasons": "x"}`, 400,
			"reasons: unknown key"},
		{"options not an object", "POST", "/hooks/jobs/rotate-secret", `["24h"]`, 400,
			"must be a JSON object"},
		{"data after the options", "POST", "/evaluate", `{"hook_id": "jobs"} {}`, 400,
			"data after the JSON object"},
		{"bad limit", "GET", "/hooks/jobs/deliveries?limit=-1", "", 400, "limit"},
		{"bad cursor", "GET", "/hooks/jobs/deliveries?cursor=nope", "", 400, "cursor"},
		{"deliveries of an unknown hook", "GET", "/hooks/nope/deliveries", "", 404,
			"not found"},
		{"replay of an unknown hook", "POST", "/hooks/nope/replay",
			`{"since": "2024-12-03T00:00:00Z"}`, 404, "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, out := g.api(tc.method, tc.path, tc.body)
			assert.Equal(t, tc.status, status, "%v", out)
			assert.Contains(t, out["error"], tc.err)
		})
	}
}

// deep is a JSON body nested deeper than the 64 levels a document may have.
var deep = strings.Repeat("[", 65) + strings.Repeat("]", 65)

func first(status int, _ map[string]any) int { return status }

func TestAPIReplacesUpdatesAndDeletesHooks(t *testing.T) {
	rc := newReceiver(t, nil)
	other := newReceiver(t, nil)
	g := startGateway(t, "", ingestSite)
	require.Equal(t, http.StatusCreated, first(g.api("POST", "/hooks",
		seedRule(rc.URL, `"id": "crm"`))))

	status, patched := g.api("PATCH", "/hooks/crm",
		`{"url": "`+other.URL+`", "events": ["intent.*"], "name": "CRM"}`)
	require.Equal(t, http.StatusOK, status, "%v", patched)
	assert.Equal(t, 2.0, patched["version"])
	assert.Equal(t, []any{"intent.*"}, patched["events"])
	assert.NotContains(t, patched, "event")
	assert.Equal(t, "CRM", patched["name"])
	assert.NotNil(t, patched["conditions"], "a patch keeps what it does not name")

	require.Equal(t, http.StatusAccepted, first(g.post("/events", hotLead("evt_1", 9))))
	other.next(t, 5*time.Second)
	rc.quiet(t, 200*time.Millisecond)

	status, replaced := g.api("PUT", "/hooks/crm",
		`{"event": "intent.hot_lead", "url": "`+rc.URL+`"}`)
	require.Equal(t, http.StatusOK, status, "%v", replaced)
	assert.Equal(t, 3.0, replaced["version"])
	assert.NotContains(t, replaced, "conditions", "a replace drops what it does not name")
	assert.Equal(t, "true", replaced["expression"])
	require.Equal(t, http.StatusAccepted, first(g.post("/events", hotLead("evt_2", 1))))
	rc.next(t, 5*time.Second)

	status, out := g.api("DELETE", "/hooks/crm", "")
	require.Equal(t, http.StatusOK, status, "%v", out)
	assert.Equal(t, http.StatusNotFound, first(g.api("GET", "/hooks/crm", "")))
	_, res := g.post("/events", hotLead("evt_3", 9))
	assert.Equal(t, 0.0, res["matched"])
}

func TestAPIHooksSurviveARestart(t *testing.T) {
	rc := newReceiver(t, nil)
	g := startGateway(t, "", ingestSite)
	status, created := g.api("POST", "/hooks", seedRule(rc.URL, `"id": "crm"`))
	require.Equal(t, http.StatusCreated, status)

	require.NoError(t, caddy.Stop())
	assert.Nil(t, runningGateway())
	g.load("", ingestSite)

	status, read := g.api("GET", "/hooks/crm", "")
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, created["created_at"], read["created_at"])
	require.Equal(t, http.StatusAccepted, first(g.post("/events", hotLead("evt_1", 9))))
	assert.True(t, verifies(rc.next(t, 5*time.Second), created["secret"].(string)))
}

func TestAPIAnswers503BeforeHookgateStarts(t *testing.T) {
	port := freePort(t)
	cfg := fmt.Sprintf(`{"admin": {"listen": "127.0.0.1:%d"}}`, port)
	require.NoError(t, caddy.Load([]byte(cfg), true))
	t.Cleanup(func() { _ = caddy.Stop() })

	status, out := call(t, "GET", fmt.Sprintf("http://127.0.0.1:%d/hookgate/hooks", port), "")
	assert.Equal(t, http.StatusServiceUnavailable, status)
	assert.Contains(t, out["error"], "not started")
}

func TestAPIDisableParksAndEnableDeliversOrDiscardsTheBacklog(t *testing.T) {
	rc := newReceiver(t, nil)
	g := startGateway(t, hotLeadHook("static", rc.URL), ingestSite)

	status, out := g.api("POST", "/hooks/static/disable", `{"reason": "maintenance"}`)
	require.Equal(t, http.StatusOK, status, "%v", out)
	assert.Equal(t, false, out["enabled"])
	assert.Contains(t, out["disabled_reason"], "maintenance")

	require.Equal(t, http.StatusAccepted, first(g.post("/events", hotLead("evt_1", 9))))
	require.Equal(t, http.StatusAccepted, first(g.post("/events", hotLead("evt_2", 9))))
	rc.quiet(t, 300*time.Millisecond)
	_, out = g.api("GET", "/hooks/static", "")
	assert.Equal(t, 2.0, out["parked"])

	status, out = g.api("POST", "/hooks/static/enable", `{"parked": "deliver"}`)
	require.Equal(t, http.StatusOK, status, "%v", out)
	assert.Equal(t, 2.0, out["released"])
	assert.Equal(t, true, out["enabled"])
	rc.next(t, 5*time.Second)
	rc.next(t, 5*time.Second)

	require.Equal(t, http.StatusOK, first(g.api("POST", "/hooks/static/disable", "")))
	require.Equal(t, http.StatusAccepted, first(g.post("/events", hotLead("evt_3", 9))))
	status, out = g.api("POST", "/hooks/static/enable", `{"parked": "discard"}`)
	require.Equal(t, http.StatusOK, status, "%v", out)
	assert.Equal(t, 1.0, out["discarded"])
	rc.quiet(t, 300*time.Millisecond)

	_, page := g.api("GET", "/hooks/static/deliveries?status=failed", "")
	require.Len(t, page["deliveries"], 1)
	d := page["deliveries"].([]any)[0].(map[string]any)
	assert.Equal(t, "evt_3", d["event_id"])
	assert.Contains(t, d["last_error"], "discarded")
}

func TestAPITestSendsASampleEventAndReportsTheAttempt(t *testing.T) {
	rc := newReceiver(t, nil)
	g := startGateway(t, "", ingestSite)
	require.Equal(t, http.StatusCreated, first(g.api("POST", "/hooks",
		`{"id": "slack", "preset": "slack-hot-lead", "domain": "mail.acme.example",
		"url": "`+rc.URL+`"}`)))

	status, out := g.api("POST", "/hooks/slack/test", "")
	require.Equal(t, http.StatusOK, status, "%v", out)
	assert.Equal(t, "delivered", out["status"])
	assert.Equal(t, "intent.hot_lead", out["event_type"])
	attempts := out["attempts"].([]any)
	require.Len(t, attempts, 1)
	assert.Equal(t, 204.0, attempts[0].(map[string]any)["status_code"])

	got := rc.next(t, time.Second)
	assert.Equal(t, "intent.hot_lead", got.Header.Get("X-MailOdds-Event"))
	assert.Contains(t, string(got.Body), `"text":"Hot lead: recipient@mail.acme.example`,
		"the preset's transform shapes the sample")
}

func TestAPIListsDeliveriesNewestFirstAndReplaysThem(t *testing.T) {
	fail := true
	rc := newReceiver(t, func(_ int, w http.ResponseWriter) {
		if fail {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	g := startGateway(t, "retry 10ms\n"+hotLeadHook("hot", rc.URL), ingestSite)
	since := time.Now().UTC().Format(time.RFC3339)
	for i := range 3 {
		require.Equal(t, http.StatusAccepted,
			first(g.post("/events", hotLead(fmt.Sprintf("evt_%d", i), 9))))
		time.Sleep(5 * time.Millisecond) // distinct creation times
	}
	require.Eventually(t, func() bool {
		_, page := g.api("GET", "/hooks/hot/deliveries?status=failed", "")
		return len(page["deliveries"].([]any)) == 3
	}, 5*time.Second, 20*time.Millisecond)

	status, page := g.api("GET", "/hooks/hot/deliveries?limit=2", "")
	require.Equal(t, http.StatusOK, status, "%v", page)
	ds := page["deliveries"].([]any)
	require.Len(t, ds, 2)
	assert.Equal(t, "evt_2", ds[0].(map[string]any)["event_id"])
	assert.Equal(t, "evt_1", ds[1].(map[string]any)["event_id"])
	require.NotEmpty(t, page["next_cursor"])
	_, page = g.api("GET", "/hooks/hot/deliveries?limit=2&cursor="+
		page["next_cursor"].(string), "")
	require.Len(t, page["deliveries"], 1)
	assert.Equal(t, "evt_0", page["deliveries"].([]any)[0].(map[string]any)["event_id"])
	assert.Empty(t, page["next_cursor"])

	id := ds[0].(map[string]any)["id"].(string)
	status, d := g.api("GET", "/deliveries/"+id, "")
	require.Equal(t, http.StatusOK, status)
	attempts := d["attempts"].([]any)
	require.Len(t, attempts, 2)
	a := attempts[0].(map[string]any)
	assert.Equal(t, 500.0, a["status_code"])
	assert.Equal(t, rc.URL, a["request"].(map[string]any)["url"])
	assert.NotEmpty(t, a["next_retry_at"])
	assert.Contains(t, a["expression"], "heat_score")

	fail = false
	for len(rc.arrived) > 0 {
		<-rc.arrived
	}
	status, d = g.api("POST", "/deliveries/"+id+"/replay", "")
	require.Equal(t, http.StatusAccepted, status, "%v", d)
	got := rc.next(t, 5*time.Second)
	assert.Equal(t, id, got.Header.Get("X-MailOdds-Delivery"))
	assert.Equal(t, "3", got.Header.Get("X-MailOdds-Attempt"))

	status, out := g.api("POST", "/hooks/hot/replay", `{"since": "`+since+`"}`)
	require.Equal(t, http.StatusOK, status, "%v", out)
	assert.Equal(t, 2.0, out["replayed"], "the other two failed deliveries")
	rc.next(t, 5*time.Second)
	rc.next(t, 5*time.Second)
}

func TestAPIEvaluatesRulesOnOneEventAndOnRecentTraffic(t *testing.T) {
	g := startGateway(t, hotLeadHook("hot", "https://hot.example/"), ingestSite)

	status, out := g.api("POST", "/evaluate", `{"rule": `+seedRule("https://x/")+`,
		"event": `+hotLead("evt_1", 4)+`, "explain": true}`)
	require.Equal(t, http.StatusOK, status, "%v", out)
	assert.Equal(t, false, out["matched"])
	trace := out["trace"].(map[string]any)
	assert.Equal(t, false, trace["result"])
	assert.Equal(t, false, trace["rules"].([]any)[0].(map[string]any)["result"])
	assert.Equal(t, true, trace["rules"].([]any)[1].(map[string]any)["result"])

	status, out = g.api("POST", "/evaluate", `{"rule": {"event": "intent.hot_lead",
		"conditions": {"operator": "AND", "rules": [{"field": "heat_score", "op": "gt",
		"value": "x"}]}}, "event": `+hotLead("evt_1", 4)+`}`)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, out["error"], "rule.conditions.rules[0].value: heat_score is a number")

	for i, heat := range []int{2, 9, 7, 1} {
		require.Equal(t, http.StatusAccepted,
			first(g.post("/events", hotLead(fmt.Sprintf("evt_%d", i), heat))))
	}
	status, out = g.api("POST", "/evaluate", `{"rule": {"event": "intent.hot_lead",
		"conditions": {"operator": "AND", "rules": [{"field": "heat_score", "op": "gte",
		"value": 7}]}}, "recent": 10}`)
	require.Equal(t, http.StatusOK, status, "%v", out)
	assert.Equal(t, 4.0, out["evaluated"])
	assert.Equal(t, 2.0, out["matched"])
	events := out["events"].([]any)
	assert.Equal(t, "evt_3", events[0].(map[string]any)["event_id"], "newest first")
	assert.Equal(t, true, events[1].(map[string]any)["matched"])

	status, out = g.api("POST", "/evaluate", `{"hook_id": "hot", "recent": 10}`)
	require.Equal(t, http.StatusOK, status, "%v", out)
	assert.Equal(t, 2.0, out["matched"], "the saved hook takes heat 9 and 7")
}

func TestAPIListsPresetsAndCountsStats(t *testing.T) {
	rc := newReceiver(t, nil)
	g := startGateway(t, hotLeadHook("hot", rc.URL), ingestSite)

	_, out := g.api("GET", "/presets", "")
	var names []string
	for _, p := range out["presets"].([]any) {
		names = append(names, p.(map[string]any)["name"].(string))
	}
	assert.Equal(t, []string{"crm-engagement-sync", "slack-hot-lead", "support-escalation",
		"zapier-unmasked"}, names)

	_, before := g.api("GET", "/stats", "")
	batch := "[" + hotLead("evt_1", 9) + "," + hotLead("evt_2", 1) + "," +
		hotLead("evt_1", 9) + `, {"id": "x", "type": "bogus"}]`
	require.Equal(t, http.StatusAccepted, first(g.post("/events", batch)))
	rc.next(t, 5*time.Second)
	require.Eventually(t, func() bool {
		_, s := g.api("GET", "/stats", "")
		return s["delivered"].(float64) == before["delivered"].(float64)+1
	}, 5*time.Second, 20*time.Millisecond)

	_, after := g.api("GET", "/stats", "")
	for key, delta := range map[string]float64{
		"received": 3, "duplicates": 1, "rejected": 1, "matched": 1, "filtered_out": 1,
		"delivered": 1, "failed": 0,
	} {
		assert.Equal(t, before[key].(float64)+delta, after[key], key)
	}
	assert.Equal(t, 0.0, after["queue_depth"])
	assert.Contains(t, after, "parked")
}

func TestAPIRotateSecretTakesAGivenSecretAndShowsItOnce(t *testing.T) {
	rc := newReceiver(t, nil)
	g := startGateway(t, "", ingestSite)
	status, created := g.api("POST", "/hooks", seedRule(rc.URL, `"id": "crm"`))
	require.Equal(t, http.StatusCreated, status)

	status, out := g.api("POST", "/hooks/crm/rotate-secret",
		`{"overlap": "1h", "secret": "`+testSecret+`"}`)
	require.Equal(t, http.StatusOK, status, "%v", out)
	assert.Equal(t, testSecret, out["secret"])
	assert.Equal(t, 2.0, out["version"])
	_, read := g.api("GET", "/hooks/crm", "")
	assert.NotContains(t, read, "secret")

	require.Equal(t, http.StatusAccepted, first(g.post("/events", hotLead("evt_1", 9))))
	got := rc.next(t, 5*time.Second)
	assert.True(t, verifies(got, testSecret))
	assert.True(t, verifies(got, created["secret"].(string)), "the old secret overlaps")
	assert.Len(t, strings.Split(got.Header.Get("webhook-signature"), " "), 2)

	status, out = g.api("POST", "/hooks/crm/rotate-secret", `{"secret": "`+testSecret+`"}`)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, out["error"], "already in use")
}

func TestDeletedHookKeepsItsAuditTrailButCannotBeReplayed(t *testing.T) {
	rc := newReceiver(t, nil)
	g := startGateway(t, "", ingestSite)
	require.Equal(t, http.StatusCreated, first(g.api("POST", "/hooks",
		seedRule(rc.URL, `"id": "crm"`))))
	require.Equal(t, http.StatusAccepted, first(g.post("/events", hotLead("evt_1", 9))))
	id := rc.next(t, 5*time.Second).Header.Get("X-MailOdds-Delivery")
	require.Eventually(t, func() bool {
		_, d := g.api("GET", "/deliveries/"+id, "")
		return d["status"] == "delivered"
	}, 5*time.Second, 20*time.Millisecond)

	require.Equal(t, http.StatusOK, first(g.api("DELETE", "/hooks/crm", "")))

	status, page := g.api("GET", "/hooks/crm/deliveries", "")
	require.Equal(t, http.StatusOK, status, "%v", page)
	assert.Len(t, page["deliveries"], 1, "the audit trail outlives the hook")
	status, out := g.api("POST", "/deliveries/"+id+"/replay", "")
	assert.Equal(t, http.StatusConflict, status, "%v", out)
	assert.Contains(t, out["error"], "was deleted")
	status, out = g.api("POST", "/hooks/crm/replay", `{"since": "2024-12-03T00:00:00Z"}`)
	assert.Equal(t, http.StatusNotFound, status, "%v", out)
	rc.quiet(t, 300*time.Millisecond)
}

func TestConfigurationHookIsEnabledAgainWhenNoLongerDisabled(t *testing.T) {
	rc := newReceiver(t, nil)
	g := startGateway(t, hotLeadHook("static", rc.URL, "disabled")+"\n"+
		hotLeadHook("paused", rc.URL+"/paused"), ingestSite)
	require.Equal(t, http.StatusOK, first(g.api("POST", "/hooks/paused/disable", "")))
	require.Equal(t, http.StatusAccepted, first(g.post("/events", hotLead("evt_1", 9))))
	rc.quiet(t, 300*time.Millisecond)

	g.load(hotLeadHook("static", rc.URL)+"\n"+hotLeadHook("paused", rc.URL+"/paused"),
		ingestSite)

	got := rc.next(t, 5*time.Second)
	assert.Equal(t, "evt_1", eventID(t, got.Body), "the parked backlog is delivered")
	_, out := g.api("GET", "/hooks/static", "")
	assert.Equal(t, true, out["enabled"])
	_, out = g.api("GET", "/hooks/paused", "")
	assert.Equal(t, false, out["enabled"], "a hook disabled through the API stays disabled")
	rc.quiet(t, 300*time.Millisecond)
}
