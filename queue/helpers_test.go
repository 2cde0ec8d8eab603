package queue

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
)

// fakeClock is a clock tests move by hand. It starts at the real time, so that
// Badger, which enforces expiry on the wall clock, agrees with it.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Now().UTC().Truncate(time.Second)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testOptions are the defaults with a fake clock, quiet logs and no syncing:
// durability is what the crash test checks.
func testOptions(t testing.TB, dir string, clock *fakeClock) Options {
	return DefaultOptions(dir).
		WithSync(SyncNever, 0).
		WithClock(clock.Now).
		WithLogger(zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))).
		WithLeaseTimeout(30 * time.Second)
}

// openStore opens a store that is closed when the test ends.
func openStore(t testing.TB, opt Options) *Store {
	t.Helper()
	s, err := Open(opt)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// runStore runs fn with a fresh store in a temporary directory.
func runStore(t *testing.T, fn func(t *testing.T, s *Store, clock *fakeClock)) {
	t.Helper()
	clock := newClock()
	fn(t, openStore(t, testOptions(t, t.TempDir(), clock)), clock)
}

// reopen closes s and opens its directory again with the same options.
func reopen(t *testing.T, s *Store) *Store {
	t.Helper()
	require.NoError(t, s.Close())
	return openStore(t, s.opt)
}

// item is an event with one delivery per hook.
func item(key string, hooks ...string) Item {
	it := Item{DedupeKey: key, EventID: "evt_" + key, EventType: "message.opened",
		Account: "acme"}
	for _, h := range hooks {
		it.Deliveries = append(it.Deliveries, NewDelivery{
			HookID: h, HookVersion: 1, Expression: `event.type == "message.opened"`,
			Body: fmt.Appendf(nil, `{"id":"evt_%s","hook":"%s"}`, key, h),
		})
	}
	return it
}

// enqueue stores items and returns all their delivery ids in order.
func enqueue(t testing.TB, s *Store, items ...Item) []string {
	t.Helper()
	res, err := s.Enqueue(context.Background(), items)
	require.NoError(t, err)
	var ids []string
	for _, r := range res {
		ids = append(ids, r.DeliveryIDs...)
	}
	return ids
}

// leaseAll leases up to n deliveries of a hook.
func leaseAll(t testing.TB, s *Store, hook string, n int) []Lease {
	t.Helper()
	ls, err := s.Lease(context.Background(), hook, n)
	require.NoError(t, err)
	return ls
}

func leaseIDs(ls []Lease) []string {
	ids := make([]string, len(ls))
	for i, l := range ls {
		ids[i] = l.Delivery.ID
	}
	return ids
}

func record(t testing.TB, s *Store, l Lease, r Report) Recorded {
	t.Helper()
	res, err := s.Record(context.Background(), l, r)
	require.NoError(t, err)
	return res
}

func delivered(code int) Report {
	return Report{Outcome: Delivered, Attempt: Attempt{StatusCode: code,
		Latency: 12 * time.Millisecond}}
}

func retryAt(at time.Time, code int) Report {
	return Report{Outcome: Retry, RetryAt: at, Attempt: Attempt{StatusCode: code,
		Error: fmt.Sprintf("status %d", code)}}
}

func failed(code int) Report {
	return Report{Outcome: Failed, Attempt: Attempt{StatusCode: code}}
}

func getDelivery(t testing.TB, s *Store, id string) DeliveryRecord {
	t.Helper()
	d, err := s.Delivery(context.Background(), id)
	require.NoError(t, err)
	return d
}

func stats(t testing.TB, s *Store) Stats {
	t.Helper()
	st, err := s.Stats()
	require.NoError(t, err)
	return st
}

type (
	badgerTxn  = badger.Txn
	badgerItem = badger.Item
)
