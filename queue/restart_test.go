package queue

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRestartResumesDueAndInFlightWork(t *testing.T) {
	runStore(t, func(t *testing.T, s *Store, clock *fakeClock) {
		var ids []string
		for _, it := range []Item{item("a", "h"), item("b", "h"), item("c", "h"), item("d", "g")} {
			ids = append(ids, enqueue(t, s, it)...)
			clock.Advance(time.Millisecond)
		}
		ls := leaseAll(t, s, "h", 2) // a and b in flight
		require.Equal(t, ids[:2], leaseIDs(ls))
		record(t, s, ls[0], retryAt(clock.Now().Add(time.Minute), 500))
		record(t, s, leaseAll(t, s, "g", 1)[0], delivered(200))

		s = reopen(t, s)
		st, err := s.HookState("h")
		require.NoError(t, err)
		assert.Equal(t, 1, st.ConsecutiveFailures, "failure counter survives")

		assert.Equal(t, []string{"h"}, s.Ready().Hooks)
		again := leaseAll(t, s, "h", 10)
		assert.Equal(t, ids[1:3], leaseIDs(again),
			"the in-flight delivery is due again, the retry is not yet")
		for _, l := range again {
			record(t, s, l, delivered(200))
		}
		clock.Advance(time.Minute)
		assert.Equal(t, ids[:1], leaseIDs(leaseAll(t, s, "h", 10)))
		assert.Equal(t, Stats{Pending: 1, InFlight: 1, Delivered: 3}, stats(t, s))

		st, err = s.HookState("h")
		require.NoError(t, err)
		assert.Zero(t, st.ConsecutiveFailures, "reset by the successes")
	})
}

func TestRestartKeepsParkedHooksParked(t *testing.T) {
	runStore(t, func(t *testing.T, s *Store, _ *fakeClock) {
		enqueue(t, s, item("a", "h"))
		require.NoError(t, s.ParkHook(context.Background(), "h", "disabled"))
		_, err := s.CreateHook(context.Background(), "h", []byte(`{"url":"x"}`))
		require.NoError(t, err)

		s = reopen(t, s)

		st, err := s.HookState("h")
		require.NoError(t, err)
		assert.Equal(t, "disabled", st.DisabledReason)
		assert.Equal(t, 1, st.Parked)
		res, err := s.Enqueue(context.Background(), []Item{item("b", "h")})
		require.NoError(t, err)
		assert.Equal(t, 1, res[0].Parked)
		h, err := s.Hook(context.Background(), "h")
		require.NoError(t, err)
		assert.Equal(t, uint64(1), h.Version)
		assert.False(t, h.State.Enabled)
	})
}

func TestOpenFinishesAnInterruptedPark(t *testing.T) {
	runStore(t, func(t *testing.T, s *Store, _ *fakeClock) {
		ids := enqueue(t, s, item("a", "h"), item("b", "h"))
		require.NoError(t, s.Close())
		// A crash after the park marker was written, before the move.
		writeRaw(t, s.opt, parkKey("h"), encodePark(parkRecord{Reason: "disabled"}))

		s = openStore(t, s.opt)

		for _, id := range ids {
			assert.Equal(t, StatusParked, getDelivery(t, s, id).Status)
		}
		assert.Empty(t, s.Ready().Hooks)
		assert.Equal(t, Stats{Parked: 2}, stats(t, s))
	})
}

func TestOpenFinishesAnInterruptedRelease(t *testing.T) {
	runStore(t, func(t *testing.T, s *Store, _ *fakeClock) {
		ids := enqueue(t, s, item("a", "h"))
		require.NoError(t, s.ParkHook(context.Background(), "h", "disabled"))
		require.NoError(t, s.Close())
		// A crash after the park marker was removed, before the move.
		deleteRaw(t, s.opt, parkKey("h"))

		s = openStore(t, s.opt)

		assert.Equal(t, StatusPending, getDelivery(t, s, ids[0]).Status)
		assert.Equal(t, []string{"h"}, s.Ready().Hooks)
	})
}

func TestMethodsAfterCloseReturnErrClosed(t *testing.T) {
	clock := newClock()
	s := openStore(t, testOptions(t, t.TempDir(), clock))
	id := enqueue(t, s, item("a", "h"))[0]
	require.NoError(t, s.Close())

	ctx := context.Background()
	calls := []struct {
		name string
		call func() error
	}{
		{"Enqueue", func() error { _, err := s.Enqueue(ctx, []Item{item("b", "h")}); return err }},
		{"Lease", func() error { _, err := s.Lease(ctx, "h", 1); return err }},
		{"Record", func() error {
			_, err := s.Record(ctx, Lease{Delivery: Delivery{ID: id}}, delivered(200))
			return err
		}},
		{"Delivery", func() error { _, err := s.Delivery(ctx, id); return err }},
		{"Deliveries", func() error { _, err := s.Deliveries(ctx, "h", Query{}); return err }},
		{"Replay", func() error { _, err := s.Replay(ctx, id); return err }},
		{"CreateHook", func() error {
			_, err := s.CreateHook(ctx, "h", []byte(`{}`))
			return err
		}},
		{"UpdateHook", func() error {
			_, err := s.UpdateHook(ctx, "h", []byte(`{}`), 1)
			return err
		}},
		{"Hook", func() error { _, err := s.Hook(ctx, "h"); return err }},
		{"Hooks", func() error { _, err := s.Hooks(ctx); return err }},
		{"DeleteHook", func() error { _, err := s.DeleteHook(ctx, "h"); return err }},
		{"HookState", func() error { _, err := s.HookState("h"); return err }},
		{"ParkHook", func() error { return s.ParkHook(ctx, "h", "x") }},
		{"ReleaseHook", func() error { _, err := s.ReleaseHook(ctx, "h"); return err }},
		{"DiscardParked", func() error { _, err := s.DiscardParked(ctx, "h"); return err }},
		{"Stats", func() error { _, err := s.Stats(); return err }},
		{"Close", s.Close},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			assert.ErrorIs(t, c.call(), ErrClosed)
		})
	}
}

func TestCloseCommitsWorkAlreadySubmitted(t *testing.T) {
	clock := newClock()
	opt := testOptions(t, t.TempDir(), clock).WithSync(SyncAlways, 0)
	s := openStore(t, opt)

	var wg sync.WaitGroup
	var mu sync.Mutex
	var acked []string
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; ; j++ {
				res, err := s.Enqueue(context.Background(), []Item{item("", "h")})
				if errors.Is(err, ErrClosed) {
					return
				}
				if !assert.NoError(t, err) {
					return
				}
				mu.Lock()
				acked = append(acked, res[0].DeliveryIDs...)
				mu.Unlock()
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	require.NoError(t, s.Close())
	wg.Wait()
	require.NotEmpty(t, acked)

	s = openStore(t, opt)
	for _, id := range acked {
		_, err := s.Delivery(context.Background(), id)
		require.NoError(t, err, id)
	}
	assert.Equal(t, len(acked), stats(t, s).Pending)
}

func TestSyncModesStoreWhatTheyAcknowledge(t *testing.T) {
	tests := []struct {
		name  string
		mode  SyncMode
		every time.Duration
	}{
		{name: "always", mode: SyncAlways},
		{name: "interval", mode: SyncInterval, every: 10 * time.Millisecond},
		{name: "never", mode: SyncNever},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newClock()
			opt := testOptions(t, t.TempDir(), clock).WithSync(tt.mode, tt.every)
			s := openStore(t, opt)
			ids := enqueue(t, s, item("a", "h"), item("b", "h"))
			time.Sleep(3 * tt.every)
			s = reopen(t, s)
			for _, id := range ids {
				assert.Equal(t, StatusPending, getDelivery(t, s, id).Status)
			}
		})
	}
}

func TestOpenRejectsUnusableOptions(t *testing.T) {
	clock := newClock()
	base := testOptions(t, t.TempDir(), clock)
	tests := []struct {
		name string
		opt  Options
	}{
		{name: "no dir", opt: base.withDir("")},
		{name: "zero retention", opt: base.WithRetention(0)},
		{name: "zero dedupe window", opt: base.WithDedupeWindow(0)},
		{name: "zero lease", opt: base.WithLeaseTimeout(0)},
		{name: "zero sync interval", opt: base.WithSync(SyncInterval, 0)},
		{name: "no clock", opt: base.WithClock(nil)},
		{name: "zero group", opt: base.WithMaxGroup(0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(tt.opt)
			assert.ErrorIs(t, err, ErrInvalid)
		})
	}
}

func (o Options) withDir(dir string) Options {
	o.Dir = dir
	return o
}

func writeRaw(t *testing.T, opt Options, key, value []byte) {
	t.Helper()
	db, err := badger.Open(opt.badgerOptions())
	require.NoError(t, err)
	require.NoError(t, db.Update(func(txn *badger.Txn) error { return txn.Set(key, value) }))
	require.NoError(t, db.Close())
}

func deleteRaw(t *testing.T, opt Options, key []byte) {
	t.Helper()
	db, err := badger.Open(opt.badgerOptions())
	require.NoError(t, err)
	require.NoError(t, db.Update(func(txn *badger.Txn) error { return txn.Delete(key) }))
	require.NoError(t, db.Close())
}
