package dispatch

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/hookgate/hookgate/queue"
	"github.com/hookgate/hookgate/signer"
)

// waitFor bounds how long a test waits for something that should happen in
// milliseconds; it is generous for slow, shared machines.
const waitFor = 10 * time.Second

// openStore opens a real store in a temporary directory, closed when the test
// ends. Syncing is off: durability is the queue's own tests' concern.
func openStore(t testing.TB) *queue.Store {
	t.Helper()
	opt := queue.DefaultOptions(t.TempDir()).
		WithSync(queue.SyncNever, 0).
		WithLogger(zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))
	s, err := queue.Open(opt)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// hookTargets is a Config.Targets backed by a map tests change.
type hookTargets struct {
	mu sync.Mutex
	m  map[string]Target
}

func (h *hookTargets) set(t Target) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.m == nil {
		h.m = map[string]Target{}
	}
	h.m[t.HookID] = t
}

func (h *hookTargets) get(id string) (Target, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t, ok := h.m[id]
	return t, ok
}

// newSecret returns a secret and a set that signs with it from a minute ago.
func newSecret(t testing.TB) (signer.Secret, signer.SecretSet) {
	t.Helper()
	sec := signer.GenerateSecret()
	set, err := signer.NewSecretSet(sec, time.Now().Add(-time.Minute))
	require.NoError(t, err)
	return sec, set
}

// target returns a hook that delivers to url, signed with a fresh secret.
func target(t testing.TB, hookID, url string) Target {
	_, set := newSecret(t)
	return Target{HookID: hookID, Account: "acme", URL: url, Secrets: set}
}

// testConfig is a config for tests: private destinations allowed (receivers
// listen on 127.0.0.1), short retries, test logs.
func testConfig(t testing.TB, q queue.WorkQueue, targets *hookTargets) Config {
	return Config{
		Queue:                    q,
		Targets:                  targets.get,
		Retry:                    RetryPolicy{Delays: []time.Duration{20 * time.Millisecond}},
		AllowPrivateDestinations: true,
		UserAgent:                "hookgate/test",
		Logger:                   zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)),
	}
}

// start creates and starts a dispatcher that is stopped when the test ends.
func start(t testing.TB, cfg Config) *Dispatcher {
	t.Helper()
	d, err := New(cfg)
	require.NoError(t, err)
	d.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		_ = d.Stop(ctx)
	})
	return d
}

// enqueue stores n events with one delivery each for hook and returns the
// delivery ids.
func enqueue(t testing.TB, s *queue.Store, hook string, n int) []string {
	t.Helper()
	items := make([]queue.Item, n)
	for i := range items {
		id := fmt.Sprintf("evt_%s_%d_%d", hook, time.Now().UnixNano(), i)
		items[i] = queue.Item{
			EventID: id, EventType: "intent.hot_lead", Account: "acme",
			Deliveries: []queue.NewDelivery{{
				HookID: hook, HookVersion: 1, Expression: "true",
				Body: fmt.Appendf(nil, `{"id":%q,"type":"intent.hot_lead","heat_score":8}`, id),
			}},
		}
	}
	res, err := s.Enqueue(context.Background(), items)
	require.NoError(t, err)
	var ids []string
	for _, r := range res {
		ids = append(ids, r.DeliveryIDs...)
	}
	return ids
}

// waitStatus waits until a delivery reaches status and returns it.
func waitStatus(t testing.TB, s *queue.Store, id string,
	status queue.Status) queue.DeliveryRecord {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		rec, err := s.Delivery(context.Background(), id)
		require.NoError(t, err)
		if rec.Status == status {
			return rec
		}
		if time.Now().After(deadline) {
			require.Failf(t, "delivery did not reach its status", "%s is %s, not %s; %+v",
				id, rec.Status, status, rec.AttemptLog)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// waitIdle waits until the dispatcher has no attempt in flight.
func waitIdle(t testing.TB, d *Dispatcher) {
	t.Helper()
	require.Eventually(t, func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		return d.busy == 0
	}, waitFor, time.Millisecond)
}

// received is one request a receiver got.
type received struct {
	at     time.Time
	header http.Header
	body   []byte
	method string
}

// receiver is an httptest server on 127.0.0.1 that keeps what it receives and
// answers with respond.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	requests []received
	inflight atomic.Int32
	peak     atomic.Int32
}

func newReceiver(t testing.TB, respond http.HandlerFunc) *receiver {
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := rc.inflight.Add(1)
		defer rc.inflight.Add(-1)
		for p := rc.peak.Load(); n > p && !rc.peak.CompareAndSwap(p, n); p = rc.peak.Load() {
		}
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.requests = append(rc.requests, received{at: time.Now(), header: r.Header.Clone(),
			body: body, method: r.Method})
		rc.mu.Unlock()
		respond(w, r)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) got() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.requests...)
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.requests)
}

// status answers every request with code.
func status(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }
}

// recorder collects OnAttempt and OnDisable calls.
type recorder struct {
	mu       sync.Mutex
	attempts []AttemptResult
	disabled []Disabled
}

func (r *recorder) onAttempt(a AttemptResult) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts = append(r.attempts, a)
}

func (r *recorder) onDisable(d Disabled) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.disabled = append(r.disabled, d)
}

func (r *recorder) disables() []Disabled {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Disabled(nil), r.disabled...)
}

func (r *recorder) results() []AttemptResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]AttemptResult(nil), r.attempts...)
}
