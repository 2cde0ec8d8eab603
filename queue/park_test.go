package queue

import (
	"context"
	"fmt"
	"testing"
	"time"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParkHookParksScheduledDeliveriesAndPausesRetries(t *testing.T) {
	runStore(t, func(t *testing.T, s *Store, clock *fakeClock) {
		ids := enqueue(t, s, item("a", "h"), item("b", "h"), item("c", "other"))
		retrying := leaseAll(t, s, "h", 1)[0]
		record(t, s, retrying, retryAt(clock.Now().Add(time.Minute), 500))

		require.NoError(t, s.ParkHook(context.Background(), "h", "disabled after 50 failures"))

		for _, id := range ids[:2] {
			d := getDelivery(t, s, id)
			assert.Equal(t, StatusParked, d.Status, id)
			assert.Zero(t, d.DueAt)
		}
		assert.Equal(t, StatusPending, getDelivery(t, s, ids[2]).Status)
		clock.Advance(time.Hour)
		assert.Equal(t, []string{"other"}, s.Ready().Hooks)

		st, err := s.HookState("h")
		require.NoError(t, err)
		assert.False(t, st.Enabled)
		assert.Equal(t, "disabled after 50 failures", st.DisabledReason)
		assert.Equal(t, 2, st.Parked)
		assert.Zero(t, st.Pending)
		assert.Equal(t, Stats{Pending: 1, Parked: 2}, stats(t, s))

		require.NoError(t, s.ParkHook(context.Background(), "h", "second reason"))
		st, _ = s.HookState("h")
		assert.Equal(t, "disabled after 50 failures", st.DisabledReason, "first reason kept")
	})
}

func TestInFlightAttemptOfParkedHook(t *testing.T) {
	tests := []struct {
		name   string
		report func(now time.Time) Report
		want   Status
	}{
		{name: "success is delivered", report: func(time.Time) Report { return delivered(200) },
			want: StatusDelivered},
		{name: "retry stays parked", report: func(now time.Time) Report {
			return retryAt(now.Add(time.Minute), 500)
		}, want: StatusParked},
		{name: "failure is failed", report: func(time.Time) Report { return failed(500) },
			want: StatusFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runStore(t, func(t *testing.T, s *Store, clock *fakeClock) {
				id := enqueue(t, s, item("a", "h"))[0]
				l := leaseAll(t, s, "h", 1)[0]
				require.NoError(t, s.ParkHook(context.Background(), "h", "410 gone"))

				res := record(t, s, l, tt.report(clock.Now()))
				assert.Equal(t, tt.want, res.Status)
				d := getDelivery(t, s, id)
				assert.Equal(t, tt.want, d.Status)
				assert.Len(t, d.AttemptLog, 1)
				assert.Empty(t, s.Ready().Hooks)
			})
		})
	}
}

func TestReleaseHookMakesParkedDeliveriesDueNowAndResetsFailures(t *testing.T) {
	runStore(t, func(t *testing.T, s *Store, clock *fakeClock) {
		ids := enqueue(t, s, item("a", "h"))
		for i := 0; i < 3; i++ {
			l := leaseAll(t, s, "h", 1)[0]
			record(t, s, l, retryAt(clock.Now(), 500))
		}
		require.NoError(t, s.ParkHook(context.Background(), "h", "auto-disabled"))
		ids = append(ids, enqueue(t, s, item("b", "h"))...)
		clock.Advance(time.Minute)

		r := s.Ready()
		n, err := s.ReleaseHook(context.Background(), "h")
		require.NoError(t, err)
		assert.Equal(t, 2, n)
		select {
		case <-r.Changed:
		default:
			t.Fatal("release did not signal a change")
		}

		st, _ := s.HookState("h")
		assert.Equal(t, HookState{Enabled: true, Pending: 2}, st)
		assert.Equal(t, []string{"h"}, s.Ready().Hooks)
		leased := leaseAll(t, s, "h", 10)
		assert.ElementsMatch(t, ids, leaseIDs(leased))
		for _, l := range leased {
			assert.True(t, l.Delivery.DueAt.Equal(clock.Now()))
		}
		for _, l := range leased {
			if l.Delivery.ID == ids[0] {
				assert.Equal(t, 4, record(t, s, l, delivered(200)).Attempt,
					"numbering continues after the park")
			}
		}
	})
}

func TestDiscardParkedFailsThemAndKeepsHookParked(t *testing.T) {
	runStore(t, func(t *testing.T, s *Store, _ *fakeClock) {
		ids := enqueue(t, s, item("a", "h"), item("b", "h"))
		require.NoError(t, s.ParkHook(context.Background(), "h", "disabled"))

		n, err := s.DiscardParked(context.Background(), "h")
		require.NoError(t, err)
		assert.Equal(t, 2, n)
		for _, id := range ids {
			d := getDelivery(t, s, id)
			assert.Equal(t, StatusFailed, d.Status)
			assert.Contains(t, d.LastError, "discarded")
			assert.False(t, d.ExpiresAt.IsZero())
		}
		st, _ := s.HookState("h")
		assert.False(t, st.Enabled)
		assert.Equal(t, Stats{Failed: 2}, stats(t, s))

		_, err = s.Replay(context.Background(), ids[0])
		require.NoError(t, err)
		assert.Equal(t, StatusParked, getDelivery(t, s, ids[0]).Status,
			"a replay for a parked hook waits parked")
	})
}

func TestParkAndReleaseMoveMoreThanOneChunk(t *testing.T) {
	runStore(t, func(t *testing.T, s *Store, _ *fakeClock) {
		const n = 3*chunkSize + 7
		items := make([]Item, n)
		for i := range items {
			items[i] = item(fmt.Sprint(i), "h")
		}
		enqueue(t, s, items...)

		require.NoError(t, s.ParkHook(context.Background(), "h", "disabled"))
		assert.Equal(t, Stats{Parked: n}, stats(t, s))
		page, err := s.Deliveries(context.Background(), "h", Query{Status: StatusPending})
		require.NoError(t, err)
		assert.Empty(t, page.Deliveries)

		released, err := s.ReleaseHook(context.Background(), "h")
		require.NoError(t, err)
		assert.Equal(t, n, released)
		assert.Equal(t, Stats{Pending: n}, stats(t, s))
		assert.Len(t, leaseAll(t, s, "h", 2*n), n)
	})
}

func TestReplayContinuesAttemptNumbering(t *testing.T) {
	runStore(t, func(t *testing.T, s *Store, clock *fakeClock) {
		id := enqueue(t, s, item("a", "h"))[0]
		record(t, s, leaseAll(t, s, "h", 1)[0], failed(500))
		clock.Advance(time.Hour)

		d, err := s.Replay(context.Background(), id)
		require.NoError(t, err)
		assert.Equal(t, StatusPending, d.Status)
		assert.True(t, d.DueAt.Equal(clock.Now()))
		assert.Zero(t, d.FinishedAt)
		assert.Zero(t, d.ExpiresAt, "a pending delivery never expires")

		l := leaseAll(t, s, "h", 1)
		require.Len(t, l, 1)
		assert.Equal(t, 1, l[0].Delivery.Attempts)
		res := record(t, s, l[0], delivered(204))
		assert.Equal(t, 2, res.Attempt)

		rec := getDelivery(t, s, id)
		require.Len(t, rec.AttemptLog, 2)
		assert.Equal(t, 500, rec.AttemptLog[0].StatusCode)
		assert.Equal(t, 204, rec.AttemptLog[1].StatusCode)
		assert.Equal(t, Stats{Delivered: 1}, stats(t, s))
	})
}

func TestReplayOfUnfinishedDeliveryConflicts(t *testing.T) {
	runStore(t, func(t *testing.T, s *Store, _ *fakeClock) {
		id := enqueue(t, s, item("a", "h"))[0]
		_, err := s.Replay(context.Background(), id)
		assert.ErrorIs(t, err, ErrConflict)
		_, err = s.Replay(context.Background(), "dlv_00000000000000000000000000")
		assert.ErrorIs(t, err, ErrNotFound)
	})
}

// commitWithoutFollowUps applies o in a batch of its own and commits only that
// transaction, as if the process died before any follow-up transaction ran.
func commitWithoutFollowUps(t *testing.T, s *Store, o op) {
	t.Helper()
	o.bind(make(chan error, 1))
	b := s.newBatch()
	require.NoError(t, o.apply(b))
	require.NoError(t, b.txn.Commit())
}

func TestReplayUnexpiresOldAttemptsInTheSameWrite(t *testing.T) {
	// Regression: the attempts' expiry was cleared in a follow-up transaction,
	// so a crash right after a replay left them expiring on the old schedule
	// while the delivery was pending again.
	runStore(t, func(t *testing.T, s *Store, clock *fakeClock) {
		id := enqueue(t, s, item("a", "h"))[0]
		record(t, s, leaseAll(t, s, "h", 1)[0], retryAt(clock.Now(), 500))
		record(t, s, leaseAll(t, s, "h", 1)[0], failed(500))
		raw, err := parseID(id)
		require.NoError(t, err)

		commitWithoutFollowUps(t, s, &replayOp{id: raw})
		clock.Advance(721 * time.Hour)

		rec := getDelivery(t, s, id)
		assert.Equal(t, StatusPending, rec.Status)
		assert.Len(t, rec.AttemptLog, 2, "attempts of a pending delivery never expire")
	})
}

func TestFinishingExpiresOldAttemptsInTheSameWrite(t *testing.T) {
	// Regression: the attempts' expiry was set in a follow-up transaction, so a
	// crash right after the last attempt left the older ones stored for good.
	runStore(t, func(t *testing.T, s *Store, clock *fakeClock) {
		id := enqueue(t, s, item("a", "h"))[0]
		record(t, s, leaseAll(t, s, "h", 1)[0], retryAt(clock.Now(), 500))
		l := leaseAll(t, s, "h", 1)[0]
		raw, err := parseID(id)
		require.NoError(t, err)

		commitWithoutFollowUps(t, s, &recordOp{id: raw, token: l.Token,
			report: delivered(200)})

		var exps []uint64
		require.NoError(t, s.db.View(func(txn *badgerTxn) error {
			return scanPrefix(txn, attemptPrefix(raw), false, func(it *badgerItem) error {
				exps = append(exps, it.ExpiresAt())
				return nil
			})
		}))
		require.Len(t, exps, 2)
		assert.NotZero(t, exps[0], "the first attempt expires with the delivery")
		assert.Equal(t, exps[1], exps[0])
	})
}

func TestReplayOfDeliveryWithMoreAttemptsThanATransactionHolds(t *testing.T) {
	clock := newClock()
	opt := testOptions(t, t.TempDir(), clock).
		WithBadgerOptions(func(o badger.Options) badger.Options {
			return o.WithMemTableSize(64 << 10)
		})
	s := openStore(t, opt)
	id := enqueue(t, s, item("a", "h"))[0]
	attempts := int(s.maxTxnCount) + 1
	for i := 1; i < attempts; i++ {
		record(t, s, leaseAll(t, s, "h", 1)[0], retryAt(clock.Now(), 500))
	}
	record(t, s, leaseAll(t, s, "h", 1)[0], failed(500))

	d, err := s.Replay(context.Background(), id)
	require.NoError(t, err)
	assert.Equal(t, StatusPending, d.Status)

	clock.Advance(721 * time.Hour)
	rec := getDelivery(t, s, id)
	assert.Len(t, rec.AttemptLog, attempts, "every attempt lost its expiry")
	record(t, s, leaseAll(t, s, "h", 1)[0], delivered(200))
	assert.Len(t, getDelivery(t, s, id).AttemptLog, attempts+1)
}
