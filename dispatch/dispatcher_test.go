package dispatch

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hookgate/hookgate/queue"
	"github.com/hookgate/hookgate/signer"
)

func TestDeliveryArrivesOnceSignedWithExactHeaders(t *testing.T) {
	s := openStore(t)
	rc := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Receiver", "yes")
		_, _ = w.Write([]byte(`{"ok":true}`))
	})
	sec, set := newSecret(t)
	var targets hookTargets
	targets.set(Target{
		HookID: "crm", Account: "acme", URL: rc.URL + "/hooks?x=1", Method: http.MethodPut,
		Secrets: set,
		Header: http.Header{
			"X-Custom":         {"a", "b"},
			"authorization":    {"Bearer t0ken"},
			"User-Agent":       {"evil"},
			"x-mailodds-event": {"evil"},
			"Webhook-Id":       {"evil"},
		},
	})
	rep := &recorder{}
	cfg := testConfig(t, s, &targets)
	cfg.OnAttempt = rep.onAttempt
	d := start(t, cfg)

	id := enqueue(t, s, "crm", 1)[0]
	rec := waitStatus(t, s, id, queue.StatusDelivered)
	require.NoError(t, d.Stop(context.Background()))

	got := rc.got()
	require.Len(t, got, 1, "delivered exactly once")
	r := got[0]
	assert.Equal(t, http.MethodPut, r.method)
	assert.Equal(t, rec.Body, r.body, "the body is sent unchanged")
	_, err := signer.Verify(r.header, r.body, []string{sec.Reveal()})
	assert.NoError(t, err, "the receiver verifies the signature")

	sig := r.header.Get(signer.HeaderMailOddsSignature)
	assert.True(t, strings.HasPrefix(sig, "t="), sig)
	assert.Equal(t, http.Header{
		"Content-Type":         {"application/json"},
		"User-Agent":           {"hookgate/test"},
		"X-Mailodds-Event":     {"intent.hot_lead"},
		"X-Mailodds-Delivery":  {id},
		"X-Mailodds-Attempt":   {"1"},
		"X-Custom":             {"a", "b"},
		"Authorization":        {"Bearer t0ken"},
		"X-Mailodds-Signature": {sig},
		"Webhook-Id":           {id},
		"Webhook-Timestamp":    {r.header.Get("Webhook-Timestamp")},
		"Webhook-Signature":    {r.header.Get("Webhook-Signature")},
		"Content-Length":       {r.header.Get("Content-Length")},
	}, r.header)

	require.Len(t, rec.AttemptLog, 1)
	a := rec.AttemptLog[0]
	assert.Equal(t, 200, a.StatusCode)
	assert.Empty(t, a.Error)
	assert.Equal(t, rc.URL+"/hooks?x=1", a.Request.URL)
	assert.Equal(t, http.MethodPut, a.Request.Method)
	assert.Equal(t, rec.Body, a.Request.Body)
	assert.Equal(t, http.Header{
		"Content-Type":        {"application/json"},
		"User-Agent":          {"hookgate/test"},
		"X-Mailodds-Event":    {"intent.hot_lead"},
		"X-Mailodds-Delivery": {id},
		"X-Mailodds-Attempt":  {"1"},
		"X-Custom":            {"a", "b"},
		"Authorization":       {redacted},
	}, a.Request.Header, "no signature headers and no credentials in the audit record")
	assert.Equal(t, "yes", a.Response.Header.Get("X-Receiver"))
	assert.Equal(t, `{"ok":true}`, string(a.Response.Body))
	assert.Positive(t, a.Latency)
	assert.True(t, a.NextRetryAt.IsZero())

	results := rep.results()
	require.Len(t, results, 1)
	assert.Equal(t, AttemptResult{
		HookID: "crm", Account: "acme", DeliveryID: id, EventID: rec.EventID,
		EventType: "intent.hot_lead", Attempt: 1, Outcome: queue.Delivered, StatusCode: 200,
		Latency: results[0].Latency, Recorded: true,
	}, results[0])
}

func TestStatusCodesDecideTheOutcome(t *testing.T) {
	tests := []struct {
		name   string
		code   int
		status queue.Status
		err    string
	}{
		{name: "200 is delivered", code: 200, status: queue.StatusDelivered},
		{name: "204 is delivered", code: 204, status: queue.StatusDelivered},
		{name: "299 is delivered", code: 299, status: queue.StatusDelivered},
		{name: "304 is a failure", code: 304, status: queue.StatusFailed,
			err: "unexpected status 304: redirects are not followed"},
		{name: "400 is a failure", code: 400, status: queue.StatusFailed,
			err: "unexpected status 400"},
		{name: "500 is a failure", code: 500, status: queue.StatusFailed,
			err: "unexpected status 500"},
	}
	s := openStore(t)
	var targets hookTargets
	cfg := testConfig(t, s, &targets)
	cfg.Retry = RetryPolicy{Delays: []time.Duration{}} // one attempt
	start(t, cfg)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newReceiver(t, status(tt.code))
			targets.set(target(t, tt.name, rc.URL))
			id := enqueue(t, s, tt.name, 1)[0]
			rec := waitStatus(t, s, id, tt.status)
			require.Len(t, rec.AttemptLog, 1)
			assert.Equal(t, tt.code, rec.AttemptLog[0].StatusCode)
			assert.Equal(t, tt.err, rec.AttemptLog[0].Error)
		})
	}
}

func TestRedirectIsNotFollowed(t *testing.T) {
	s := openStore(t)
	elsewhere := newReceiver(t, status(200))
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL, http.StatusFound)
	})
	var targets hookTargets
	targets.set(target(t, "h", rc.URL))
	cfg := testConfig(t, s, &targets)
	cfg.Retry = RetryPolicy{Delays: []time.Duration{}}
	start(t, cfg)

	rec := waitStatus(t, s, enqueue(t, s, "h", 1)[0], queue.StatusFailed)
	assert.Equal(t, 1, rc.count())
	assert.Zero(t, elsewhere.count(), "the redirect target is never called")
	assert.Equal(t, http.StatusFound, rec.AttemptLog[0].StatusCode)
	assert.Equal(t, elsewhere.URL, rec.AttemptLog[0].Response.Header.Get("Location"))
}

func TestRetriesFollowTheScheduleThenFail(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		timeout time.Duration
		err     string
	}{
		{name: "server error", handler: status(503), err: "unexpected status 503"},
		// The timeouts leave a loaded machine time to reach the handler, which
		// counts the request, before the attempt times out.
		{name: "no response in time", timeout: 400 * time.Millisecond,
			handler: func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
			err:     "timed out after 400ms waiting for the response"},
		{name: "response body too slow", timeout: 400 * time.Millisecond,
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(200)
				_, _ = w.Write([]byte("partial"))
				w.(http.Flusher).Flush()
				<-r.Context().Done()
			},
			err: "timed out after 400ms reading the response body"},
	}
	delays := []time.Duration{20 * time.Millisecond, 60 * time.Millisecond}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t)
			rc := newReceiver(t, tt.handler)
			var targets hookTargets
			targets.set(target(t, "h", rc.URL))
			rep := &recorder{}
			cfg := testConfig(t, s, &targets)
			cfg.Retry = RetryPolicy{Delays: delays}
			cfg.Timeout = tt.timeout
			cfg.OnAttempt = rep.onAttempt
			d := start(t, cfg)

			rec := waitStatus(t, s, enqueue(t, s, "h", 1)[0], queue.StatusFailed)
			require.NoError(t, d.Stop(context.Background()))
			require.Len(t, rec.AttemptLog, 3, "one attempt and one per delay")
			got := rc.got()
			require.Len(t, got, 3)
			for i, a := range rec.AttemptLog {
				assert.Equal(t, tt.err, a.Error, "attempt %d", i+1)
				assert.Equal(t, []string{strconv.Itoa(i + 1)},
					got[i].header.Values(HeaderAttempt))
				if i == len(delays) {
					assert.True(t, a.NextRetryAt.IsZero(), "the last attempt schedules none")
					continue
				}
				assert.GreaterOrEqual(t, a.NextRetryAt.Sub(a.At), delays[i])
				assert.GreaterOrEqual(t, got[i+1].at.Sub(got[i].at), delays[i],
					"attempt %d waits for its delay", i+2)
			}
			outcomes := []queue.Outcome{}
			for _, r := range rep.results() {
				outcomes = append(outcomes, r.Outcome)
			}
			assert.Equal(t, []queue.Outcome{queue.Retry, queue.Retry, queue.Failed}, outcomes)
		})
	}
}

func TestRetryAfterIsHonouredAndCapped(t *testing.T) {
	tests := []struct {
		name       string
		code       int
		retryAfter string
		delays     []time.Duration
		minWait    time.Duration
		maxWait    time.Duration
	}{
		{name: "503 Retry-After longer than the delay wins", code: 503, retryAfter: "1",
			delays:  []time.Duration{20 * time.Millisecond, 5 * time.Second},
			minWait: time.Second, maxWait: 2 * time.Second},
		{name: "429 Retry-After is capped at the longest delay", code: 429, retryAfter: "3600",
			delays:  []time.Duration{20 * time.Millisecond, 300 * time.Millisecond},
			minWait: 300 * time.Millisecond, maxWait: time.Second},
		{name: "500 ignores Retry-After", code: 500, retryAfter: "3600",
			delays:  []time.Duration{20 * time.Millisecond, 5 * time.Second},
			minWait: 20 * time.Millisecond, maxWait: time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t)
			var calls atomic.Int32
			rc := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
				if calls.Add(1) == 1 {
					w.Header().Set("Retry-After", tt.retryAfter)
					w.WriteHeader(tt.code)
				}
			})
			var targets hookTargets
			targets.set(target(t, "h", rc.URL))
			cfg := testConfig(t, s, &targets)
			cfg.Retry = RetryPolicy{Delays: tt.delays}
			start(t, cfg)

			rec := waitStatus(t, s, enqueue(t, s, "h", 1)[0], queue.StatusDelivered)
			require.Len(t, rec.AttemptLog, 2)
			first := rec.AttemptLog[0]
			wait := first.NextRetryAt.Sub(first.At)
			assert.GreaterOrEqual(t, wait, tt.minWait)
			assert.Less(t, wait, tt.maxWait)
			got := rc.got()
			assert.GreaterOrEqual(t, got[1].at.Sub(got[0].at), tt.minWait)
		})
	}
}

func TestGoneDisablesTheHookOnce(t *testing.T) {
	s := openStore(t)
	rc := newReceiver(t, status(http.StatusGone))
	var targets hookTargets
	targets.set(target(t, "h", rc.URL))
	rep := &recorder{}
	cfg := testConfig(t, s, &targets)
	cfg.OnDisable = rep.onDisable
	cfg.PerHook = 4
	d := start(t, cfg)

	ids := enqueue(t, s, "h", 4)
	for _, id := range ids {
		waitStatus(t, s, id, queue.StatusParked)
	}
	require.NoError(t, d.Stop(context.Background()))

	disables := rep.disables()
	require.Len(t, disables, 1, "one alert however many attempts saw 410")
	assert.Equal(t, "h", disables[0].HookID)
	assert.Equal(t, "acme", disables[0].Account)
	assert.Equal(t, "the endpoint answered 410 Gone", disables[0].Reason)
	assert.Contains(t, disables[0].LastErrors, "status 410: the endpoint is gone")
	st, err := s.HookState("h")
	require.NoError(t, err)
	assert.False(t, st.Enabled)
	assert.Equal(t, "the endpoint answered 410 Gone", st.DisabledReason)
	assert.Equal(t, 4, st.Parked, "no delivery is lost")
}

func TestConsecutiveFailuresDisableTheHookOncePerDisable(t *testing.T) {
	for _, perHook := range []int{1, 8} {
		t.Run(fmt.Sprintf("per hook %d", perHook), func(t *testing.T) {
			s := openStore(t)
			var healthy atomic.Bool
			rc := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
				if !healthy.Load() {
					w.WriteHeader(500)
				}
			})
			var targets hookTargets
			targets.set(target(t, "h", rc.URL))
			rep := &recorder{}
			cfg := testConfig(t, s, &targets)
			cfg.Retry = RetryPolicy{Delays: []time.Duration{time.Hour, time.Hour}}
			cfg.DisableAfter = 3
			cfg.PerHook = perHook
			cfg.OnDisable = rep.onDisable
			d := start(t, cfg)

			ids := enqueue(t, s, "h", 6)
			for _, id := range ids {
				waitStatus(t, s, id, queue.StatusParked)
			}
			require.Eventually(t, func() bool { return len(rep.disables()) > 0 }, waitFor,
				time.Millisecond)
			disables := rep.disables()
			require.Len(t, disables, 1)
			assert.GreaterOrEqual(t, disables[0].Failures, 3)
			assert.Equal(t, fmt.Sprintf("%d consecutive failed attempts, the last: "+
				"unexpected status 500", disables[0].Failures), disables[0].Reason)
			assert.NotEmpty(t, disables[0].LastErrors)
			assert.LessOrEqual(t, len(disables[0].LastErrors), maxLastErrors)
			st, err := s.HookState("h")
			require.NoError(t, err)
			assert.False(t, st.Enabled)
			assert.Equal(t, 6, st.Parked)

			// Enabled again and still failing, the hook is disabled a second time.
			waitIdle(t, d) // A late failure would schedule its retry an hour out.
			_, err = s.ReleaseHook(context.Background(), "h")
			require.NoError(t, err)
			for _, id := range ids {
				waitStatus(t, s, id, queue.StatusParked)
			}
			require.Eventually(t, func() bool { return len(rep.disables()) == 2 }, waitFor,
				time.Millisecond)

			// Enabled with a working endpoint, the backlog is delivered.
			healthy.Store(true)
			waitIdle(t, d) // A late failure would schedule its retry an hour out.
			_, err = s.ReleaseHook(context.Background(), "h")
			require.NoError(t, err)
			for _, id := range ids {
				waitStatus(t, s, id, queue.StatusDelivered)
			}
			require.NoError(t, d.Stop(context.Background()))
			assert.Len(t, rep.disables(), 2, "one alert per disable")
		})
	}
}

func TestSlowHookDoesNotDelayOtherHooks(t *testing.T) {
	s := openStore(t)
	unblock := make(chan struct{})
	slow := newReceiver(t, func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-unblock:
		case <-r.Context().Done():
		}
	})
	fast := newReceiver(t, status(200))
	var targets hookTargets
	targets.set(target(t, "slow", slow.URL))
	targets.set(target(t, "fast", fast.URL))
	cfg := testConfig(t, s, &targets)
	cfg.Workers = 4
	cfg.PerHook = 2
	start(t, cfg)

	slowIDs := enqueue(t, s, "slow", 20)
	require.Eventually(t, func() bool { return slow.inflight.Load() == 2 }, waitFor,
		time.Millisecond)
	for _, id := range enqueue(t, s, "fast", 20) {
		waitStatus(t, s, id, queue.StatusDelivered)
	}
	assert.Equal(t, 2, slow.count(), "the slow hook is held at its per-hook limit")

	close(unblock)
	for _, id := range slowIDs {
		waitStatus(t, s, id, queue.StatusDelivered)
	}
	assert.Equal(t, int32(2), slow.peak.Load())
	assert.LessOrEqual(t, fast.peak.Load(), int32(2))
}

// slowRecords is a work queue whose Record waits until release is closed, as
// a store busy syncing would.
type slowRecords struct {
	*queue.Store
	release chan struct{}
	waiting atomic.Int32
}

func (q *slowRecords) Record(ctx context.Context, l queue.Lease, r queue.Report) (
	queue.Recorded, error) {
	q.waiting.Add(1)
	defer q.waiting.Add(-1)
	<-q.release
	return q.Store.Record(ctx, l, r)
}

func TestAnAttemptBeingRecordedLeavesTheHookFreeForTheNext(t *testing.T) {
	s := openStore(t)
	q := &slowRecords{Store: s, release: make(chan struct{})}
	rc := newReceiver(t, status(http.StatusNoContent))
	var targets hookTargets
	targets.set(target(t, "h", rc.URL))
	cfg := testConfig(t, q, &targets)
	cfg.PerHook = 1
	cfg.Workers = 4
	start(t, cfg)
	var once sync.Once
	release := func() { once.Do(func() { close(q.release) }) }
	t.Cleanup(release) // before the dispatcher stops

	ids := enqueue(t, s, "h", 3)
	require.Eventually(t, func() bool { return rc.count() == 3 && q.waiting.Load() == 3 },
		waitFor, time.Millisecond,
		"each delivery is sent while the ones before it wait to be recorded")
	release()
	for _, id := range ids {
		waitStatus(t, s, id, queue.StatusDelivered)
	}
	assert.Equal(t, int32(1), rc.peak.Load(), "one request at a time, as PerHook says")
}

func TestWorkersAreSharedAcrossBusyHooks(t *testing.T) {
	s := openStore(t)
	var targets hookTargets
	rcs := map[string]*receiver{}
	for _, h := range []string{"a", "b", "c"} {
		rcs[h] = newReceiver(t, status(200))
		targets.set(target(t, h, rcs[h].URL))
	}
	// Hook a's backlog is queued first and is ten times the others'.
	ids := enqueue(t, s, "a", 100)
	ids = append(ids, enqueue(t, s, "b", 10)...)
	ids = append(ids, enqueue(t, s, "c", 10)...)
	cfg := testConfig(t, s, &targets)
	cfg.Workers = 2
	start(t, cfg)

	for _, id := range ids {
		waitStatus(t, s, id, queue.StatusDelivered)
	}
	last := func(h string) time.Time {
		got := rcs[h].got()
		return got[len(got)-1].at
	}
	// Counted in arrivals, not in time, which a loaded machine stretches.
	firstOfB := rcs["b"].got()[0].at
	aBeforeB := 0
	for _, r := range rcs["a"].got() {
		if r.at.Before(firstOfB) {
			aBeforeB++
		}
	}
	assert.True(t, last("b").Before(last("a")), "b is not served after a's backlog")
	assert.True(t, last("c").Before(last("a")), "c is not served after a's backlog")
	assert.Less(t, aBeforeB, 50, "b starts in the first half of a's backlog")
	if t.Failed() {
		type ev struct {
			h  string
			at time.Time
		}
		var all []ev
		for h, rc := range rcs {
			for _, r := range rc.got() {
				all = append(all, ev{h, r.at})
			}
		}
		sort.Slice(all, func(i, j int) bool { return all[i].at.Before(all[j].at) })
		var b strings.Builder
		for _, e := range all {
			b.WriteString(e.h)
		}
		t.Log(b.String())
	}
}

func TestMissingHookFailsWithoutRequest(t *testing.T) {
	s := openStore(t)
	var targets hookTargets
	rep := &recorder{}
	cfg := testConfig(t, s, &targets)
	cfg.DisableAfter = 1
	cfg.OnDisable = rep.onDisable
	start(t, cfg)

	rec := waitStatus(t, s, enqueue(t, s, "deleted", 1)[0], queue.StatusFailed)
	require.Len(t, rec.AttemptLog, 1, "failed at once, no retries")
	a := rec.AttemptLog[0]
	assert.Equal(t, "hook deleted no longer exists; the delivery was not sent", a.Error)
	assert.Zero(t, a.StatusCode)
	assert.Empty(t, a.Request.URL)
	assert.Empty(t, rep.disables(), "a missing hook is not disabled")
}

func TestStopWaitsForAttemptsInFlight(t *testing.T) {
	s := openStore(t)
	unblock := make(chan struct{})
	rc := newReceiver(t, func(_ http.ResponseWriter, _ *http.Request) { <-unblock })
	var targets hookTargets
	targets.set(target(t, "h", rc.URL))
	d := start(t, testConfig(t, s, &targets))

	ids := enqueue(t, s, "h", 2)
	require.Eventually(t, func() bool { return rc.inflight.Load() == 2 }, waitFor,
		time.Millisecond)
	stopped := make(chan error)
	go func() { stopped <- d.Stop(context.Background()) }()
	require.Eventually(t, d.stopping, waitFor, time.Millisecond)
	close(unblock)
	require.NoError(t, <-stopped)

	for _, id := range ids {
		rec, err := s.Delivery(context.Background(), id)
		require.NoError(t, err)
		assert.Equal(t, queue.StatusDelivered, rec.Status, "recorded before Stop returned")
	}
}

func TestStopGivesBackLeasesAndARestartDeliversThem(t *testing.T) {
	s := openStore(t)
	stuck := newReceiver(t, func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	var targets hookTargets
	targets.set(target(t, "h", stuck.URL))
	d := start(t, testConfig(t, s, &targets))

	ids := enqueue(t, s, "h", 3)
	require.Eventually(t, func() bool { return stuck.inflight.Load() == 3 }, waitFor,
		time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, d.Stop(ctx), context.DeadlineExceeded)
	for _, id := range ids {
		rec, err := s.Delivery(context.Background(), id)
		require.NoError(t, err)
		assert.Equal(t, queue.StatusPending, rec.Status)
		assert.Zero(t, rec.Attempts, "an attempt cut short by Stop is not recorded")
	}

	ok := newReceiver(t, status(200))
	targets.set(target(t, "h", ok.URL))
	start(t, testConfig(t, s, &targets))
	for _, id := range ids {
		rec := waitStatus(t, s, id, queue.StatusDelivered)
		assert.Len(t, rec.AttemptLog, 1)
	}
}

// gatedQueue holds Lease calls until its gate opens and counts Abandon calls.
type gatedQueue struct {
	queue.WorkQueue
	leasing   chan struct{}
	gate      chan struct{}
	leased    atomic.Int32
	abandoned atomic.Int32
}

func (q *gatedQueue) Lease(ctx context.Context, hook string, n int) ([]queue.Lease, error) {
	ls, err := q.WorkQueue.Lease(ctx, hook, n)
	q.leased.Add(int32(len(ls)))
	if len(ls) > 0 {
		select {
		case q.leasing <- struct{}{}:
		default:
		}
		<-q.gate
	}
	return ls, err
}

func (q *gatedQueue) Abandon(l queue.Lease) {
	q.abandoned.Add(1)
	q.WorkQueue.Abandon(l)
}

func TestStopGivesBackLeasesNotYetSent(t *testing.T) {
	s := openStore(t)
	rc := newReceiver(t, status(200))
	var targets hookTargets
	targets.set(target(t, "h", rc.URL))
	gq := &gatedQueue{WorkQueue: s, leasing: make(chan struct{}, 1), gate: make(chan struct{})}
	d := start(t, testConfig(t, gq, &targets))

	ids := enqueue(t, s, "h", 2)
	<-gq.leasing
	stopped := make(chan error)
	go func() { stopped <- d.Stop(context.Background()) }()
	require.Eventually(t, d.stopping, waitFor, time.Millisecond)
	close(gq.gate)
	require.NoError(t, <-stopped)
	assert.Positive(t, gq.leased.Load())
	assert.Equal(t, gq.leased.Load(), gq.abandoned.Load(), "every lease is given back")
	assert.Zero(t, rc.count())

	start(t, testConfig(t, s, &targets))
	for _, id := range ids {
		waitStatus(t, s, id, queue.StatusDelivered)
	}
	assert.Equal(t, 2, rc.count())
}

func TestDestinationGuardRefusesLocalAddresses(t *testing.T) {
	s := openStore(t)
	rc := newReceiver(t, status(200))
	_, port, _ := strings.Cut(strings.TrimPrefix(rc.URL, "http://"), ":")
	tests := []struct {
		name string
		url  string
		errs []string // any of them
	}{
		{name: "loopback address", url: rc.URL,
			errs: []string{"destination address 127.0.0.1 is not allowed: loopback"}},
		{name: "name resolving to loopback", url: "http://localhost:" + port,
			errs: []string{"destination address 127.0.0.1 is not allowed: loopback",
				"destination address ::1 is not allowed: loopback"}},
		{name: "metadata service", url: "http://169.254.169.254/latest/meta-data/",
			errs: []string{"destination address 169.254.169.254 is not allowed: " +
				"link-local (cloud metadata service)"}},
		{name: "private network", url: "http://10.1.2.3:" + port,
			errs: []string{"destination address 10.1.2.3 is not allowed: private"}},
	}
	var targets hookTargets
	cfg := testConfig(t, s, &targets)
	cfg.AllowPrivateDestinations = false
	cfg.Retry = RetryPolicy{Delays: []time.Duration{}}
	start(t, cfg)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hook := strings.ReplaceAll(tt.name, " ", "-")
			_, set := newSecret(t)
			targets.set(Target{HookID: hook, URL: tt.url, Secrets: set})
			rec := waitStatus(t, s, enqueue(t, s, hook, 1)[0], queue.StatusFailed)
			assert.Contains(t, tt.errs, rec.AttemptLog[0].Error)
		})
	}
	assert.Zero(t, rc.count())
}

func TestNewRejectsAnInvalidConfig(t *testing.T) {
	s := openStore(t)
	targets := (&hookTargets{}).get
	tests := []struct {
		name string
		cfg  Config
		err  string
	}{
		{name: "no queue", cfg: Config{Targets: targets},
			err: "dispatcher config: queue is nil"},
		{name: "no targets", cfg: Config{Queue: s},
			err: "dispatcher config: targets is nil"},
		{name: "zero delay", cfg: Config{Queue: s, Targets: targets,
			Retry: RetryPolicy{Delays: []time.Duration{time.Second, 0}}},
			err: "dispatcher config: retry delay 2 is 0s; want a positive duration"},
		{name: "jitter of 1", cfg: Config{Queue: s, Targets: targets,
			Retry: RetryPolicy{Delays: []time.Duration{time.Second}, Jitter: 1}},
			err: "dispatcher config: retry jitter must be at least 0 and below 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			assert.EqualError(t, err, tt.err)
		})
	}
}

func TestNewFillsInDefaults(t *testing.T) {
	d, err := New(Config{Queue: openStore(t), Targets: (&hookTargets{}).get})
	require.NoError(t, err)
	assert.Equal(t, DefaultRetryPolicy(), d.cfg.Retry)
	assert.Equal(t, 10*time.Second, d.cfg.Timeout)
	assert.Equal(t, 50, d.cfg.DisableAfter)
	assert.Equal(t, 8, d.cfg.PerHook)
	assert.Equal(t, 64, d.cfg.Workers)
	assert.Equal(t, "hookgate", d.cfg.UserAgent)
	assert.Nil(t, d.transport.Proxy, "no proxy from the environment")
	assert.GreaterOrEqual(t, d.transport.MaxIdleConnsPerHost, d.cfg.PerHook)
	require.NoError(t, d.Stop(context.Background()), "stopping an unstarted dispatcher")
}

func TestAuditHeaderRedactsCredentials(t *testing.T) {
	tests := []struct {
		name     string
		redacted bool
	}{
		{name: "Authorization", redacted: true},
		{name: "Proxy-Authorization", redacted: true},
		{name: "Cookie", redacted: true},
		{name: "X-Api-Key", redacted: true},
		{name: "X-Auth-Token", redacted: true},
		{name: "X-Client-Secret", redacted: true},
		{name: "X-Password", redacted: true},
		{name: "X-Custom", redacted: false},
		{name: "Accept", redacted: false},
		{name: "X-Mailodds-Event", redacted: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := auditHeader(http.Header{tt.name: {"v1", "v2"}})
			want := []string{"v1", "v2"}
			if tt.redacted {
				want = []string{redacted, redacted}
			}
			assert.Equal(t, want, h[tt.name])
		})
	}
}
