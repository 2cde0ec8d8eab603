package caddymodule

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	acmeToken   = "acme-token-8c1f"
	globexToken = "globex-token-42aa"
)

// tenantOptions configures two accounts with dashboard tokens.
const tenantOptions = `account acme {
			plan pro
			token ` + acmeToken + `
		}
		account globex {
			plan pro
			token ` + globexToken + `
		}`

const tenantSite = `route /acme {
		hookgate_ingest {
			account acme
		}
	}
	route /globex {
		hookgate_ingest {
			account globex
		}
	}
	handle /dashboard/* {
		hookgate_dashboard
	}`

func TestAccountsSeeAndTouchOnlyTheirOwnHooksAndDeliveries(t *testing.T) {
	acme, globex := newReceiver(t, nil), newReceiver(t, nil)
	g := startGateway(t, tenantOptions, tenantSite)

	status, out := g.dashboard(acmeToken, "POST", "/hooks", seedRule(acme.URL, `"id": "acme-crm"`))
	require.Equal(t, http.StatusCreated, status, "%v", out)
	assert.Equal(t, "acme", out["account"], "an account's hooks are its own")
	status, out = g.dashboard(globexToken, "POST", "/hooks",
		seedRule(globex.URL, `"id": "globex-crm"`))
	require.Equal(t, http.StatusCreated, status, "%v", out)

	status, out = g.dashboard(acmeToken, "POST", "/hooks",
		seedRule(acme.URL, `"account": "globex"`))
	assert.Equal(t, http.StatusForbidden, status)
	assert.Contains(t, out["error"], `not "globex"`)

	_, list := g.dashboard(acmeToken, "GET", "/hooks", "")
	require.Len(t, list["hooks"], 1)
	assert.Equal(t, "acme-crm", list["hooks"].([]any)[0].(map[string]any)["id"])
	_, list = g.api("GET", "/hooks", "")
	assert.Len(t, list["hooks"], 2, "the operator sees every account")

	require.Equal(t, http.StatusAccepted, first(g.post("/globex", hotLead("evt_1", 9))))
	got := globex.next(t, 5*time.Second)
	acme.quiet(t, 200*time.Millisecond)
	delivery := got.Header.Get("X-MailOdds-Delivery")

	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/hooks/globex-crm", ""},
		{"PUT", "/hooks/globex-crm", seedRule("https://x.example/")},
		{"PATCH", "/hooks/globex-crm", `{"url": "https://x.example/"}`},
		{"DELETE", "/hooks/globex-crm", ""},
		{"POST", "/hooks/globex-crm/disable", ""},
		{"POST", "/hooks/globex-crm/enable", ""},
		{"POST", "/hooks/globex-crm/rotate-secret", ""},
		{"POST", "/hooks/globex-crm/test", ""},
		{"GET", "/hooks/globex-crm/deliveries", ""},
		{"POST", "/hooks/globex-crm/replay", `{"since": "2020-01-01T00:00:00Z"}`},
		{"GET", "/deliveries/" + delivery, ""},
		{"POST", "/deliveries/" + delivery + "/replay", ""},
		{"POST", "/evaluate", `{"hook_id": "globex-crm", "recent": 5}`},
	} {
		status, out := g.dashboard(acmeToken, tc.method, tc.path, tc.body)
		assert.Equal(t, http.StatusNotFound, status, "%s %s: %v", tc.method, tc.path, out)
	}
	status, _ = g.dashboard(globexToken, "GET", "/deliveries/"+delivery, "")
	assert.Equal(t, http.StatusOK, status, "the owner reads its delivery")

	_, out = g.dashboard(acmeToken, "POST", "/evaluate",
		`{"rule": {"event": "intent.hot_lead"}, "recent": 10}`)
	assert.Equal(t, 0.0, out["evaluated"], "another account's traffic stays out of dry runs")
	_, out = g.dashboard(globexToken, "POST", "/evaluate",
		`{"rule": {"event": "intent.hot_lead"}, "recent": 10}`)
	assert.Equal(t, 1.0, out["evaluated"])

	_, stats := g.dashboard(acmeToken, "GET", "/stats", "")
	assert.Equal(t, 0.0, stats["received"])
	_, stats = g.dashboard(globexToken, "GET", "/stats", "")
	assert.Equal(t, 1.0, stats["received"])
}

func TestDashboardAPIRefusesMissingAndWrongTokens(t *testing.T) {
	g := startGateway(t, tenantOptions, tenantSite)
	for _, token := range []string{"", "nope", acmeToken + "x", acmeToken[:5]} {
		status, out := g.dashboard(token, "GET", "/hooks", "")
		assert.Equal(t, http.StatusUnauthorized, status, "token %q", token)
		assert.Contains(t, out["error"], "token")
	}
	status, _ := g.dashboard(acmeToken, "GET", "/hooks", "")
	assert.Equal(t, http.StatusOK, status)
}

func TestTwoAccountsWithOneTokenAreRefused(t *testing.T) {
	g := &testGateway{t: t, dir: t.TempDir(), port: freePort(t), admin: freePort(t)}
	t.Cleanup(func() { _ = caddy.Stop() })
	opts := tenantOptions + `
		account initech {
			token ` + acmeToken + `
		}`
	err := caddy.Load(g.config(opts, tenantSite), true)
	require.Error(t, err, "a token must name one account")
	assert.Contains(t, err.Error(), "accounts acme and initech have the same token")
}

// TestRotationUnderLoadKeepsEveryDeliveryVerifiable rotates a hook's secret
// while events flow: deliveries signed before the rotation verify with the
// old secret, during the overlap with either, after it with the new one only;
// none goes out unsigned. Deliveries are classed by the time they were signed
// (webhook-timestamp, whole seconds), not by when they arrived, which on a
// loaded machine may be much later.
func TestRotationUnderLoadKeepsEveryDeliveryVerifiable(t *testing.T) {
	var mu sync.Mutex
	var arrivals []received
	rc := newReceiver(t, nil)
	go func() {
		for r := range rc.arrived {
			mu.Lock()
			arrivals = append(arrivals, r)
			mu.Unlock()
		}
	}()
	g := startGateway(t, "", ingestSite)
	status, created := g.api("POST", "/hooks", `{"id": "all", "event": "intent.hot_lead",
		"url": "`+rc.URL+`"}`)
	require.Equal(t, http.StatusCreated, status)
	oldSecret := created["secret"].(string)

	const overlap = 3 * time.Second
	var rotatedAt, rotated time.Time
	var newSecret atomic.Value
	acked := runProducers(4, g.url("/events"), 7*time.Second, func() {
		time.AfterFunc(1500*time.Millisecond, func() {
			rotatedAt = time.Now()
			_, out := g.api("POST", "/hooks/all/rotate-secret",
				fmt.Sprintf(`{"overlap": "%s"}`, overlap))
			rotated = time.Now()
			newSecret.Store(out["secret"].(string))
		})
	})
	require.NotEmpty(t, acked)
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(arrivals) >= len(acked)
	}, 30*time.Second, 20*time.Millisecond)

	mu.Lock()
	defer mu.Unlock()
	next := newSecret.Load().(string)
	var before, during, after int
	for _, r := range arrivals {
		withOld, withNew := verifies(r, oldSecret), verifies(r, next)
		require.True(t, withOld || withNew, "a delivery verifies with a valid secret")
		sec, err := strconv.ParseInt(r.Header.Get("webhook-timestamp"), 10, 64)
		require.NoError(t, err)
		// Signed at some instant of [signed, signed+1s).
		signed := time.Unix(sec, 0)
		switch {
		case !signed.Add(time.Second).After(rotatedAt):
			before++
			assert.True(t, withOld && !withNew, "before the rotation the old secret signs")
		case !signed.Before(rotated) && !signed.Add(time.Second).After(rotatedAt.Add(overlap)):
			during++
			assert.True(t, withOld && withNew, "during the overlap both secrets sign")
		case !signed.Before(rotated.Add(overlap)):
			after++
			assert.True(t, withNew && !withOld, "after the overlap only the new secret signs")
		}
	}
	t.Logf("%d deliveries: %d signed before the rotation, %d during the overlap, %d after",
		len(arrivals), before, during, after)
	assert.Positive(t, before)
	assert.Positive(t, during)
	assert.Positive(t, after)
}
