package queue

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLeaseHandsOutEachDueDeliveryOnce(t *testing.T) {
	runStore(t, func(t *testing.T, s *Store, clock *fakeClock) {
		var ids []string
		for _, k := range []string{"a", "b", "c", "d", "e"} {
			ids = append(ids, enqueue(t, s, item(k, "h"))...)
			clock.Advance(time.Millisecond)
		}

		first := leaseAll(t, s, "h", 2)
		second := leaseAll(t, s, "h", 10)
		third := leaseAll(t, s, "h", 10)

		assert.Equal(t, ids[:2], leaseIDs(first), "earliest due first")
		assert.Equal(t, ids[2:], leaseIDs(second))
		assert.Empty(t, third)
		assert.Empty(t, s.Ready().Hooks, "everything is in flight")
		assert.Equal(t, 5, stats(t, s).InFlight)
		for _, l := range first {
			assert.True(t, l.Deadline.Equal(clock.Now().Add(30*time.Second)))
			assert.NotZero(t, l.Token)
			assert.NotEmpty(t, l.Delivery.Body)
		}
	})
}

func TestLeaseOfUnknownOrIdleHookIsEmpty(t *testing.T) {
	runStore(t, func(t *testing.T, s *Store, _ *fakeClock) {
		assert.Empty(t, leaseAll(t, s, "nobody", 10))
		enqueue(t, s, item("a", "h"))
		assert.Empty(t, leaseAll(t, s, "h", 0))
	})
}

func TestExpiredLeaseMakesDeliveryDueAgain(t *testing.T) {
	runStore(t, func(t *testing.T, s *Store, clock *fakeClock) {
		id := enqueue(t, s, item("a", "h"))[0]
		l1 := leaseAll(t, s, "h", 1)
		require.Len(t, l1, 1)

		r := s.Ready()
		assert.Empty(t, r.Hooks)
		assert.True(t, r.Next.Equal(l1[0].Deadline), "next wake-up is the lease deadline")

		clock.Advance(30*time.Second + time.Nanosecond)
		assert.Equal(t, []string{"h"}, s.Ready().Hooks)
		l2 := leaseAll(t, s, "h", 1)
		require.Len(t, l2, 1)
		assert.Equal(t, id, l2[0].Delivery.ID)
		assert.NotEqual(t, l1[0].Token, l2[0].Token)
	})
}

func TestRecordDeliveredFinishesDeliveryAndResetsFailures(t *testing.T) {
	runStore(t, func(t *testing.T, s *Store, clock *fakeClock) {
		enqueue(t, s, item("a", "h"), item("b", "h"))
		ls := leaseAll(t, s, "h", 2)
		require.Len(t, ls, 2)

		r1 := record(t, s, ls[0], retryAt(clock.Now().Add(time.Minute), 500))
		assert.Equal(t, Recorded{Attempt: 1, Status: StatusPending, Failures: 1}, r1)
		r2 := record(t, s, ls[1], delivered(200))
		assert.Equal(t, Recorded{Attempt: 1, Status: StatusDelivered, Failures: 0}, r2)

		d := getDelivery(t, s, ls[1].Delivery.ID)
		assert.Equal(t, StatusDelivered, d.Status)
		assert.True(t, d.FinishedAt.Equal(clock.Now()))
		assert.True(t, d.ExpiresAt.After(clock.Now().Add(720*time.Hour-time.Second)))
		assert.Zero(t, d.DueAt)
		require.Len(t, d.AttemptLog, 1)
		assert.Equal(t, 200, d.AttemptLog[0].StatusCode)
		assert.Equal(t, 12*time.Millisecond, d.AttemptLog[0].Latency)

		st, err := s.HookState("h")
		require.NoError(t, err)
		assert.Zero(t, st.ConsecutiveFailures)
		assert.Equal(t, Stats{Pending: 1, Delivered: 1}, stats(t, s))
	})
}

func TestRecordRetryReschedulesAtRetryAt(t *testing.T) {
	runStore(t, func(t *testing.T, s *Store, clock *fakeClock) {
		id := enqueue(t, s, item("a", "h"))[0]
		l := leaseAll(t, s, "h", 1)[0]
		at := clock.Now().Add(10 * time.Second)
		record(t, s, l, retryAt(at, 503))

		r := s.Ready()
		assert.Empty(t, r.Hooks)
		assert.True(t, r.Next.Equal(at))
		assert.Empty(t, leaseAll(t, s, "h", 1), "not due before RetryAt")

		clock.Advance(10 * time.Second)
		l2 := leaseAll(t, s, "h", 1)
		require.Len(t, l2, 1)
		assert.Equal(t, 1, l2[0].Delivery.Attempts)
		res := record(t, s, l2[0], retryAt(clock.Now().Add(time.Minute), 500))
		assert.Equal(t, 2, res.Attempt)
		assert.Equal(t, 2, res.Failures)

		d := getDelivery(t, s, id)
		assert.Equal(t, StatusPending, d.Status)
		assert.Equal(t, 2, d.Attempts)
		assert.Equal(t, "status 500", d.LastError)
		require.Len(t, d.AttemptLog, 2)
		assert.Equal(t, []int{1, 2}, []int{d.AttemptLog[0].Number, d.AttemptLog[1].Number})
		assert.True(t, d.AttemptLog[0].NextRetryAt.Equal(at))
		assert.True(t, d.DueAt.Equal(clock.Now().Add(time.Minute)))
	})
}

func TestRecordFailedKeepsDeliveryReplayable(t *testing.T) {
	runStore(t, func(t *testing.T, s *Store, clock *fakeClock) {
		id := enqueue(t, s, item("a", "h"))[0]
		res := record(t, s, leaseAll(t, s, "h", 1)[0], failed(404))
		assert.Equal(t, Recorded{Attempt: 1, Status: StatusFailed, Failures: 1}, res)

		d := getDelivery(t, s, id)
		assert.Equal(t, StatusFailed, d.Status)
		assert.Equal(t, "unexpected status 404", d.LastError)
		assert.Empty(t, s.Ready().Hooks)
		assert.Equal(t, Stats{Failed: 1}, stats(t, s))

		_, err := s.Replay(context.Background(), id)
		require.NoError(t, err)
		assert.Equal(t, []string{"h"}, s.Ready().Hooks)
	})
}

func TestRecordOfUnknownDeliveryIsNotFound(t *testing.T) {
	runStore(t, func(t *testing.T, s *Store, _ *fakeClock) {
		l := Lease{Delivery: Delivery{ID: formatID(newID(time.Now())), HookID: "h"}}
		_, err := s.Record(context.Background(), l, delivered(200))
		assert.ErrorIs(t, err, ErrNotFound)
		l.Delivery.ID = "dlv_nope"
		_, err = s.Record(context.Background(), l, delivered(200))
		assert.ErrorIs(t, err, ErrNotFound)
	})
}

func TestRecordRejectsRetryWithoutTime(t *testing.T) {
	runStore(t, func(t *testing.T, s *Store, _ *fakeClock) {
		enqueue(t, s, item("a", "h"))
		l := leaseAll(t, s, "h", 1)[0]
		_, err := s.Record(context.Background(), l, Report{Outcome: Retry})
		assert.ErrorIs(t, err, ErrInvalid)
		_, err = s.Record(context.Background(), l, Report{})
		assert.ErrorIs(t, err, ErrInvalid)
	})
}

func TestLateAttemptOfFinishedDeliveryIsRecorded(t *testing.T) {
	runStore(t, func(t *testing.T, s *Store, clock *fakeClock) {
		id := enqueue(t, s, item("a", "h"))[0]
		slow := leaseAll(t, s, "h", 1)[0]
		clock.Advance(31 * time.Second)
		fast := leaseAll(t, s, "h", 1)[0]
		require.Equal(t, id, fast.Delivery.ID)

		record(t, s, fast, delivered(200))
		res := record(t, s, slow, retryAt(clock.Now().Add(time.Minute), 500))
		assert.Equal(t, Recorded{Attempt: 2, Status: StatusDelivered, Failures: 1}, res)

		d := getDelivery(t, s, id)
		assert.Equal(t, StatusDelivered, d.Status)
		assert.Len(t, d.AttemptLog, 2)
		assert.Empty(t, s.Ready().Hooks)
	})
}

func TestAbandonMakesDeliveryDueAtOnce(t *testing.T) {
	runStore(t, func(t *testing.T, s *Store, _ *fakeClock) {
		enqueue(t, s, item("a", "h"))
		l := leaseAll(t, s, "h", 1)[0]
		r := s.Ready()
		require.Empty(t, r.Hooks)

		s.Abandon(l)
		select {
		case <-r.Changed:
		default:
			t.Fatal("abandon did not signal a change")
		}
		again := leaseAll(t, s, "h", 1)
		require.Len(t, again, 1)
		assert.Equal(t, l.Delivery.ID, again[0].Delivery.ID)
		assert.Zero(t, again[0].Delivery.Attempts, "no attempt was recorded")

		s.Abandon(l) // Stale token: ignored.
		assert.Empty(t, leaseAll(t, s, "h", 1))
	})
}

func TestReadyListsEveryHookWithDueWork(t *testing.T) {
	runStore(t, func(t *testing.T, s *Store, clock *fakeClock) {
		for i := 0; i < 300; i++ {
			enqueue(t, s, item("busy"+string(rune('a'+i%26))+string(rune('a'+i/26)), "busy"))
		}
		clock.Advance(time.Second)
		enqueue(t, s, item("quiet", "quiet"))
		enqueue(t, s, item("later", "later"))
		l := leaseAll(t, s, "later", 1)[0]
		record(t, s, l, retryAt(clock.Now().Add(time.Hour), 500))

		r := s.Ready()
		assert.Equal(t, []string{"busy", "quiet"}, r.Hooks, "earliest due first")
		assert.True(t, r.Next.Equal(clock.Now().Add(time.Hour)))
	})
}

func TestLeaseAndAckKeepsTheScheduleCursorAhead(t *testing.T) {
	runStore(t, func(t *testing.T, s *Store, clock *fakeClock) {
		for i := 0; i < 2000; i++ {
			enqueue(t, s, item("", "h"))
			clock.Advance(time.Microsecond)
			for _, l := range leaseAll(t, s, "h", 8) {
				record(t, s, l, delivered(200))
			}
		}
		s.mu.Lock()
		h := s.hooks["h"]
		assert.Equal(t, 0, h.pending)
		assert.Empty(t, h.leases)
		s.mu.Unlock()
		assert.Empty(t, s.Ready().Hooks)

		id := enqueue(t, s, item("", "h"))[0]
		s.mu.Lock()
		low := h.low
		s.mu.Unlock()
		assert.Equal(t, clock.Now().UnixNano(), low, "the seek starts at the live delivery")
		assert.Equal(t, []string{id}, leaseIDs(leaseAll(t, s, "h", 8)))
	})
}

// sortedIDs enqueues n deliveries for hook in one call, so that they share
// their due time, and returns their ids in schedule order.
func sortedIDs(t *testing.T, s *Store, hook string, n int) []string {
	t.Helper()
	var items []Item
	for i := 0; i < n; i++ {
		items = append(items, item("", hook))
	}
	ids := enqueue(t, s, items...)
	slices.Sort(ids)
	return ids
}

func TestLeaseSeeksPastTiesAndLeasesHeldForLong(t *testing.T) {
	// Regression: Lease sought to the due time of the first live key, so it
	// walked the tombstones of every delivery finished since, among those
	// sharing a due time or behind one lease held by a slow request.
	runStore(t, func(t *testing.T, s *Store, _ *fakeClock) {
		ids := sortedIDs(t, s, "h", 10)
		slow := leaseAll(t, s, "h", 1)
		require.Equal(t, ids[:1], leaseIDs(slow))
		for _, l := range leaseAll(t, s, "h", 3) {
			record(t, s, l, delivered(200))
		}

		s.mu.Lock()
		h := s.hooks["h"]
		low, lowID := h.low, h.lowID
		s.mu.Unlock()
		d := getDelivery(t, s, ids[4])
		assert.Equal(t, d.DueAt.UnixNano(), low)
		assert.Equal(t, ids[4], formatID(lowID), "the seek starts at the first free delivery")
		assert.Equal(t, ids[4:6], leaseIDs(leaseAll(t, s, "h", 2)))
	})
}

func TestLeaseBehindTheCursorIsDueAgainOnceItEnds(t *testing.T) {
	tests := []struct {
		name string
		end  func(t *testing.T, s *Store, clock *fakeClock, l Lease)
	}{
		{name: "expired", end: func(_ *testing.T, _ *Store, clock *fakeClock, _ Lease) {
			clock.Advance(31 * time.Second)
		}},
		{name: "abandoned", end: func(_ *testing.T, s *Store, _ *fakeClock, l Lease) {
			s.Abandon(l)
		}},
		{name: "retried", end: func(t *testing.T, s *Store, clock *fakeClock, l Lease) {
			record(t, s, l, retryAt(clock.Now(), 503))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runStore(t, func(t *testing.T, s *Store, clock *fakeClock) {
				ids := sortedIDs(t, s, "h", 5)
				held := leaseAll(t, s, "h", 1)[0]
				for _, l := range leaseAll(t, s, "h", 2) {
					record(t, s, l, delivered(200))
				}
				rest := leaseAll(t, s, "h", 8)
				require.Equal(t, ids[3:], leaseIDs(rest))
				assert.Equal(t, 3, stats(t, s).InFlight, "the held lease is kept")
				for _, l := range rest {
					record(t, s, l, delivered(200))
				}
				assert.Empty(t, leaseAll(t, s, "h", 8), "the held lease is still live")

				tt.end(t, s, clock, held)

				assert.Equal(t, []string{held.Delivery.ID},
					leaseIDs(leaseAll(t, s, "h", 8)))
			})
		})
	}
}

func TestDeliveryParkedInFlightIsNotLeasedAgainOnceReleased(t *testing.T) {
	runStore(t, func(t *testing.T, s *Store, clock *fakeClock) {
		ctx := context.Background()
		id := enqueue(t, s, item("a", "h"))[0]
		held := leaseAll(t, s, "h", 1)
		require.Len(t, held, 1)

		require.NoError(t, s.ParkHook(ctx, "h", "paused"))
		released, err := s.ReleaseHook(ctx, "h")
		require.NoError(t, err)
		require.Equal(t, 1, released)

		assert.Empty(t, leaseAll(t, s, "h", 1), "its first lease is still live")
		assert.Equal(t, 1, stats(t, s).InFlight)

		record(t, s, held[0], retryAt(clock.Now(), 503))
		again := leaseAll(t, s, "h", 1)
		require.Len(t, again, 1, "due again once its attempt is recorded")
		assert.Equal(t, id, again[0].Delivery.ID)
		assert.Equal(t, 1, again[0].Delivery.Attempts)
	})
}
