package caddymodule

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hookgate/hookgate/signer"
)

const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// hotLeadHook is the seed rule as a Caddyfile hook delivering to url.
func hotLeadHook(id, url string, extra ...string) string {
	return fmt.Sprintf(`hook %s {
			event intent.hot_lead
			conditions `+"`"+`{"operator": "AND", "rules": [
				{"field": "heat_score", "op": "gt", "value": 5},
				{"field": "intent_category", "op": "eq", "value": "PURCHASE_INTENT"},
				{"field": "is_human", "op": "eq", "value": true}]}`+"`"+`
			url %s
			secret %s
			%s
		}`, id, url, testSecret, strings.Join(extra, "\n\t\t\t"))
}

func hotLead(id string, heat int) string {
	return fmt.Sprintf(`{"id": %q, "type": "intent.hot_lead", "domain": "mail.acme.example", `+
		`"timestamp": "2026-12-03T12:00:00Z", "heat_score": %d, `+
		`"intent_category": "PURCHASE_INTENT", "is_human": true}`, id, heat)
}

const ingestSite = `route /events {
		hookgate_ingest
	}`

func TestOnlyMatchingEventsArriveOnceAndSigned(t *testing.T) {
	rc := newReceiver(t, nil)
	g := startGateway(t, hotLeadHook("hot", rc.URL+"/leads"), ingestSite)

	batch := "[" + hotLead("evt_1", 8) + "," + hotLead("evt_2", 2) +
		`,{"id": "evt_3", "type": "message.opend"}]`
	status, out := g.post("/events", batch)
	require.Equal(t, http.StatusAccepted, status)
	assert.Equal(t, map[string]any{
		"accepted": 2.0, "duplicates": 0.0, "matched": 1.0,
		"rejected": []any{map[string]any{
			"index": 2.0, "error": `type: unknown event type "message.opend"`,
		}},
	}, out)

	got := rc.next(t, 5*time.Second)
	assert.JSONEq(t, hotLead("evt_1", 8), string(got.Body))
	assert.Equal(t, "application/json", got.Header.Get("Content-Type"))
	assert.Equal(t, "hookgate/0.1.0", got.Header.Get("User-Agent"))
	assert.Equal(t, "intent.hot_lead", got.Header.Get("X-MailOdds-Event"))
	assert.Equal(t, "1", got.Header.Get("X-MailOdds-Attempt"))
	assert.Regexp(t, `^dlv_[a-z0-9]{26}$`, got.Header.Get("X-MailOdds-Delivery"))
	assert.Equal(t, got.Header.Get("X-MailOdds-Delivery"), got.Header.Get("webhook-id"))
	for _, scheme := range []signer.Scheme{signer.SchemeMailOdds, signer.SchemeStandardWebhooks} {
		_, err := signer.Verify(got.Header, got.Body, []string{testSecret},
			signer.WithScheme(scheme))
		assert.NoError(t, err, scheme.String())
	}

	status, out = g.post("/events", hotLead("evt_1", 8))
	require.Equal(t, http.StatusAccepted, status)
	assert.Equal(t, 1.0, out["duplicates"])
	assert.Equal(t, 0.0, out["matched"])
	rc.quiet(t, 300*time.Millisecond)
}

func TestRouteAccountWinsOverTheEvents(t *testing.T) {
	acme := newReceiver(t, nil)
	other := newReceiver(t, nil)
	g := startGateway(t,
		hotLeadHook("acme", acme.URL, "account acme")+"\n"+
			hotLeadHook("other", other.URL, "account other"),
		`route /acme {
		hookgate_ingest {
			account acme
		}
	}`)

	ev := strings.Replace(hotLead("evt_1", 9), `"id"`, `"account": "other", "id"`, 1)
	status, _ := g.post("/acme", ev)
	require.Equal(t, http.StatusAccepted, status)
	got := acme.next(t, 5*time.Second)
	assert.Contains(t, string(got.Body), `"account":"acme"`)
	other.quiet(t, 300*time.Millisecond)
}

func TestIngestRefusesUnusableRequests(t *testing.T) {
	rc := newReceiver(t, nil)
	g := startGateway(t, hotLeadHook("hot", rc.URL), `route /events {
		hookgate_ingest {
			max_body 1KiB
		}
	}
	route /signed {
		hookgate_ingest {
			secret `+testSecret+`
		}
	}`)

	for _, tc := range []struct {
		name   string
		path   string
		body   string
		header []string
		status int
		err    string
	}{
		{"not JSON", "/events", `{"id":`, nil, 400, "not valid JSON"},
		{"not an event", "/events", `"hello"`, nil, 400, ""},
		{"too large", "/events", `{"pad": "` + strings.Repeat("x", 2048) + `"}`, nil, 413,
			"over the limit of 1024 bytes"},
		{"unsigned", "/signed", hotLead("evt_9", 9), nil, 401, "missing signature header"},
		{"bad signature", "/signed", hotLead("evt_9", 9),
			[]string{"X-MailOdds-Signature", "t=" + strconv.FormatInt(time.Now().Unix(), 10) +
				",v1=" + strings.Repeat("ab", 32)}, 401, "no matching signature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, out := g.post(tc.path, tc.body, tc.header...)
			assert.Equal(t, tc.status, status)
			assert.Contains(t, out["error"], tc.err)
		})
	}
	rc.quiet(t, 200*time.Millisecond)

	resp, err := http.Get(g.url("/events"))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

func TestSignedIngestAcceptsASignedRequest(t *testing.T) {
	rc := newReceiver(t, nil)
	g := startGateway(t, hotLeadHook("hot", rc.URL), `route /signed {
		hookgate_ingest {
			secret `+testSecret+`
		}
	}`)
	secret, err := signer.ParseSecret(testSecret)
	require.NoError(t, err)
	set, err := signer.NewSecretSet(secret, time.Now())
	require.NoError(t, err)
	body := hotLead("evt_1", 9)
	sig, err := set.Sign("msg_1", time.Now(), []byte(body))
	require.NoError(t, err)

	status, out := g.post("/signed", body, "X-MailOdds-Signature", sig.MailOdds)
	require.Equal(t, http.StatusAccepted, status, "%v", out)
	rc.next(t, 5*time.Second)
}

func TestFailedAttemptsAreRetriedOnSchedule(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter) {
		if n < 3 {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	g := startGateway(t, hotLeadHook("hot", rc.URL), ingestSite)
	status, _ := g.post("/events", hotLead("evt_1", 9))
	require.Equal(t, http.StatusAccepted, status)

	first, second, third := rc.next(t, 5*time.Second), rc.next(t, 5*time.Second),
		rc.next(t, 5*time.Second)
	assert.Equal(t, "1", first.Header.Get("X-MailOdds-Attempt"))
	assert.Equal(t, "2", second.Header.Get("X-MailOdds-Attempt"))
	assert.Equal(t, "3", third.Header.Get("X-MailOdds-Attempt"))
	id := first.Header.Get("X-MailOdds-Delivery")
	assert.Equal(t, id, third.Header.Get("X-MailOdds-Delivery"))
	// Waits of 50ms and 100ms, each at least 90% of itself.
	assert.GreaterOrEqual(t, second.At.Sub(first.At), 45*time.Millisecond)
	assert.GreaterOrEqual(t, third.At.Sub(second.At), 90*time.Millisecond)
	rc.quiet(t, 300*time.Millisecond)

	rec, err := g.gateway().Store().Delivery(t.Context(), id)
	require.NoError(t, err)
	assert.Equal(t, "delivered", rec.Status.String())
	require.Len(t, rec.AttemptLog, 3)
	assert.Equal(t, http.StatusBadGateway, rec.AttemptLog[0].StatusCode)
	assert.Equal(t, http.StatusOK, rec.AttemptLog[2].StatusCode)
	assert.NotContains(t, rec.AttemptLog[0].Request.Header, "X-Mailodds-Signature")
}

func TestSlowAttemptsTimeOutAndTheDeliveryFails(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	rc := newReceiver(t, func(_ int, w http.ResponseWriter) {
		select {
		case <-release:
		case <-time.After(5 * time.Second):
		}
	})
	g := startGateway(t, "timeout 100ms\n"+hotLeadHook("hot", rc.URL), ingestSite)
	status, _ := g.post("/events", hotLead("evt_1", 9))
	require.Equal(t, http.StatusAccepted, status)

	var id string
	for i := 1; i <= 4; i++ {
		got := rc.next(t, 5*time.Second)
		assert.Equal(t, strconv.Itoa(i), got.Header.Get("X-MailOdds-Attempt"))
		id = got.Header.Get("X-MailOdds-Delivery")
	}
	rc.quiet(t, 400*time.Millisecond)

	require.Eventually(t, func() bool {
		rec, err := g.gateway().Store().Delivery(t.Context(), id)
		return err == nil && rec.Status.String() == "failed"
	}, 5*time.Second, 20*time.Millisecond)
	rec, err := g.gateway().Store().Delivery(t.Context(), id)
	require.NoError(t, err)
	require.Len(t, rec.AttemptLog, 4)
	assert.Contains(t, rec.AttemptLog[3].Error, "timed out")
}

func TestGoneDisablesTheHookAndParksWhatFollows(t *testing.T) {
	gone := true
	var mu sync.Mutex
	rc := newReceiver(t, func(_ int, w http.ResponseWriter) {
		mu.Lock()
		defer mu.Unlock()
		if gone {
			w.WriteHeader(http.StatusGone)
		}
	})
	g := startGateway(t, hotLeadHook("hot", rc.URL), ingestSite)

	status, _ := g.post("/events", hotLead("evt_1", 9))
	require.Equal(t, http.StatusAccepted, status)
	rc.next(t, 5*time.Second)
	require.Eventually(t, func() bool {
		st, err := g.gateway().Store().HookState("hot")
		return err == nil && !st.Enabled
	}, 5*time.Second, 10*time.Millisecond)

	status, out := g.post("/events", hotLead("evt_2", 9))
	require.Equal(t, http.StatusAccepted, status)
	assert.Equal(t, 1.0, out["matched"])
	rc.quiet(t, 300*time.Millisecond)
	st, err := g.gateway().Store().HookState("hot")
	require.NoError(t, err)
	assert.Equal(t, 2, st.Parked, "the delivery answered 410 waits with the new one")

	mu.Lock()
	gone = false
	mu.Unlock()
	n, err := g.gateway().Store().ReleaseHook(t.Context(), "hot")
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	seen := map[string]bool{}
	for range 2 {
		seen[eventID(t, rc.next(t, 5*time.Second).Body)] = true
	}
	assert.Equal(t, map[string]bool{"evt_1": true, "evt_2": true}, seen)
}

func TestConsecutiveFailuresDisableTheHookOnceThenEnablingDeliversTheBacklog(t *testing.T) {
	var mu sync.Mutex
	healthy := false
	rc := newReceiver(t, func(_ int, w http.ResponseWriter) {
		mu.Lock()
		defer mu.Unlock()
		if !healthy {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	g := startGateway(t, "disable_after 3\nretry 10ms 10ms 10ms\nmax_in_flight 1\n"+
		hotLeadHook("hot", rc.URL),
		ingestSite)

	for i := range 2 {
		status, _ := g.post("/events", hotLead(fmt.Sprintf("evt_%d", i), 9))
		require.Equal(t, http.StatusAccepted, status)
	}
	require.Eventually(t, func() bool {
		st, err := g.gateway().Store().HookState("hot")
		return err == nil && !st.Enabled
	}, 5*time.Second, 10*time.Millisecond)
	st, err := g.gateway().Store().HookState("hot")
	require.NoError(t, err)
	assert.Contains(t, st.DisabledReason, "3 consecutive")
	for range 3 {
		rc.next(t, time.Second)
	}
	rc.quiet(t, 200*time.Millisecond)
	assert.Equal(t, 3, rc.count(), "the third failure disables the hook")

	status, _ := g.post("/events", hotLead("evt_late", 9))
	require.Equal(t, http.StatusAccepted, status)
	rc.quiet(t, 200*time.Millisecond)

	mu.Lock()
	healthy = true
	mu.Unlock()
	n, err := g.gateway().Store().ReleaseHook(t.Context(), "hot")
	require.NoError(t, err)
	assert.Equal(t, 3, n, "two paused retries and one parked event")
	seen := map[string]bool{}
	for range 3 {
		got := rc.next(t, 5*time.Second)
		seen[eventID(t, got.Body)] = true
	}
	assert.Equal(t, map[string]bool{"evt_0": true, "evt_1": true, "evt_late": true}, seen)
}

func TestSlowEndpointDoesNotDelayAHealthyOne(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	slow := newReceiver(t, func(int, http.ResponseWriter) { <-block })
	fast := newReceiver(t, nil)
	g := startGateway(t, "timeout 30s\nmax_in_flight 2\nworkers 4\n"+
		hotLeadHook("slow", slow.URL)+"\n"+
		`hook fast {
			event message.clicked
			url `+fast.URL+`
		}`, ingestSite)

	for i := range 20 {
		status, _ := g.post("/events", hotLead(fmt.Sprintf("evt_%d", i), 9))
		require.Equal(t, http.StatusAccepted, status)
	}
	slow.next(t, 5*time.Second)
	start := time.Now()
	status, _ := g.post("/events",
		`{"id": "click_1", "type": "message.clicked", "domain": "mail.acme.example"}`)
	require.Equal(t, http.StatusAccepted, status)
	fast.next(t, 5*time.Second)
	t.Logf("healthy hook delivered after %v with the slow one saturated", time.Since(start))
	assert.LessOrEqual(t, slow.count(), 2, "max_in_flight bounds the slow hook")
}

func TestPassthroughHandsTheSameBytesToTheNextHandler(t *testing.T) {
	var got []byte
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusTeapot)
	}))
	defer backend.Close()
	rc := newReceiver(t, nil)
	g := startGateway(t, hotLeadHook("hot", rc.URL), `route /legacy/* {
		hookgate_ingest {
			passthrough
		}
		reverse_proxy `+strings.TrimPrefix(backend.URL, "http://")+`
	}`)

	body := "[ " + hotLead("evt_1", 9) + " ,\n" + hotLead("evt_2", 1) + " ]"
	status, _ := g.post("/legacy/hook", body)
	assert.Equal(t, http.StatusTeapot, status)
	assert.Equal(t, body, string(got))
	rc.next(t, 5*time.Second)
}

func eventID(t *testing.T, body []byte) string {
	t.Helper()
	var ev struct {
		ID string `json:"id"`
	}
	require.NoError(t, json.Unmarshal(body, &ev))
	return ev.ID
}
