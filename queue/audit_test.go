package queue

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// enqueueSpaced enqueues n single-delivery items for hook, a second apart,
// and returns their ids newest first.
func enqueueSpaced(t *testing.T, s *Store, clock *fakeClock, hook string, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := 0; i < n; i++ {
		ids[n-1-i] = enqueue(t, s, item(fmt.Sprintf("%s-%d", hook, i), hook))[0]
		clock.Advance(time.Second)
	}
	return ids
}

func TestDeliveriesPagesNewestFirst(t *testing.T) {
	runStore(t, func(t *testing.T, s *Store, clock *fakeClock) {
		want := enqueueSpaced(t, s, clock, "h", 7)
		enqueueSpaced(t, s, clock, "other", 3)

		var got []string
		var pages []int
		cursor := ""
		for {
			page, err := s.Deliveries(context.Background(), "h", Query{Limit: 3, Cursor: cursor})
			require.NoError(t, err)
			pages = append(pages, len(page.Deliveries))
			for _, d := range page.Deliveries {
				got = append(got, d.ID)
			}
			if page.NextCursor == "" {
				break
			}
			cursor = page.NextCursor
		}
		assert.Equal(t, want, got)
		assert.Equal(t, []int{3, 3, 1}, pages)
	})
}

func TestDeliveriesLastFullPageHasNoCursor(t *testing.T) {
	runStore(t, func(t *testing.T, s *Store, clock *fakeClock) {
		enqueueSpaced(t, s, clock, "h", 4)
		page, err := s.Deliveries(context.Background(), "h", Query{Limit: 4})
		require.NoError(t, err)
		assert.Len(t, page.Deliveries, 4)
		assert.Empty(t, page.NextCursor)

		page, err = s.Deliveries(context.Background(), "empty", Query{})
		require.NoError(t, err)
		assert.Empty(t, page.Deliveries)
		assert.Empty(t, page.NextCursor)
	})
}

func TestDeliveriesFilterByStatus(t *testing.T) {
	runStore(t, func(t *testing.T, s *Store, clock *fakeClock) {
		ids := enqueueSpaced(t, s, clock, "h", 6) // newest first
		byID := map[string]Lease{}
		for _, l := range leaseAll(t, s, "h", 6) {
			byID[l.Delivery.ID] = l
		}
		record(t, s, byID[ids[5]], delivered(200))
		record(t, s, byID[ids[4]], failed(400))
		record(t, s, byID[ids[3]], delivered(200))
		record(t, s, byID[ids[2]], retryAt(clock.Now().Add(time.Minute), 500))
		s.Abandon(byID[ids[1]])
		s.Abandon(byID[ids[0]])
		require.NoError(t, s.ParkHook(context.Background(), "h", "disabled"))
		ids = append(enqueue(t, s, item("late", "h")), ids...)

		tests := []struct {
			name   string
			status Status
			want   []string
		}{
			{name: "all", want: ids},
			{name: "delivered", status: StatusDelivered, want: []string{ids[4], ids[6]}},
			{name: "failed", status: StatusFailed, want: []string{ids[5]}},
			{name: "parked", status: StatusParked, want: ids[:4]},
			{name: "pending", status: StatusPending},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var got []string
				cursor := ""
				for {
					page, err := s.Deliveries(context.Background(), "h",
						Query{Status: tt.status, Limit: 2, Cursor: cursor})
					require.NoError(t, err)
					for _, d := range page.Deliveries {
						got = append(got, d.ID)
						if tt.status != 0 {
							assert.Equal(t, tt.status, d.Status)
						}
					}
					if cursor = page.NextCursor; cursor == "" {
						break
					}
				}
				assert.Equal(t, tt.want, got)
			})
		}
	})
}

func TestDeliveriesRejectsForeignCursorAndStatus(t *testing.T) {
	runStore(t, func(t *testing.T, s *Store, _ *fakeClock) {
		_, err := s.Deliveries(context.Background(), "h", Query{Cursor: "not-a-cursor"})
		assert.ErrorIs(t, err, ErrInvalid)
		_, err = s.Deliveries(context.Background(), "h", Query{Status: 9})
		assert.ErrorIs(t, err, ErrInvalid)
		_, err = s.Deliveries(context.Background(), "", Query{})
		assert.ErrorIs(t, err, ErrInvalid)
	})
}

func TestDeliveryListsAttemptsOldestFirstWithTheirDetail(t *testing.T) {
	runStore(t, func(t *testing.T, s *Store, clock *fakeClock) {
		id := enqueue(t, s, item("a", "h"))[0]
		l := leaseAll(t, s, "h", 1)[0]
		huge := bytes.Repeat([]byte("x"), MaxResponseBody+100)
		first := Report{Outcome: Retry, RetryAt: clock.Now().Add(10 * time.Second),
			Attempt: Attempt{
				At:         clock.Now(),
				StatusCode: 503,
				Latency:    250 * time.Millisecond,
				Error:      "service unavailable",
				Request: Request{URL: "https://crm.example/hook", Method: "POST",
					Header: http.Header{"X-Mailodds-Attempt": {"1"}}, Body: l.Delivery.Body},
				Response: Response{Header: http.Header{"Retry-After": {"10"}}, Body: huge},
			}}
		record(t, s, l, first)
		clock.Advance(10 * time.Second)
		l = leaseAll(t, s, "h", 1)[0]
		second := Report{Outcome: Delivered, Attempt: Attempt{StatusCode: 200,
			HookVersion: 2, Expression: "true",
			Request: Request{URL: "https://crm.example/v2", Method: "PUT", Body: []byte("{}")}}}
		record(t, s, l, second)

		rec := getDelivery(t, s, id)
		require.Len(t, rec.AttemptLog, 2)
		a := rec.AttemptLog[0]
		assert.Equal(t, 1, a.Number)
		assert.True(t, a.At.Equal(clock.Now().Add(-10*time.Second)))
		assert.Equal(t, 503, a.StatusCode)
		assert.Equal(t, 250*time.Millisecond, a.Latency)
		assert.Equal(t, "service unavailable", a.Error)
		assert.Equal(t, first.Attempt.Request.URL, a.Request.URL)
		assert.Equal(t, first.Attempt.Request.Header, a.Request.Header)
		assert.Equal(t, rec.Body, a.Request.Body, "the delivery body is not stored twice")
		assert.Equal(t, first.Attempt.Response.Header, a.Response.Header)
		assert.Len(t, a.Response.Body, MaxResponseBody)
		assert.True(t, a.NextRetryAt.Equal(first.RetryAt))
		assert.Equal(t, uint64(1), a.HookVersion, "taken from the delivery")
		assert.Equal(t, rec.Expression, a.Expression)

		b := rec.AttemptLog[1]
		assert.Equal(t, 2, b.Number)
		assert.True(t, b.At.Equal(clock.Now()), "defaults to the store's clock")
		assert.Equal(t, "PUT", b.Request.Method)
		assert.Equal(t, []byte("{}"), b.Request.Body)
		assert.Zero(t, b.NextRetryAt)
		assert.Equal(t, uint64(2), b.HookVersion)
		assert.Equal(t, "true", b.Expression)
	})
}

func TestRetentionExpiresFinishedDeliveriesOnly(t *testing.T) {
	runStore(t, func(t *testing.T, s *Store, clock *fakeClock) {
		ids := enqueue(t, s, item("a", "h"), item("b", "h"), item("c", "h"), item("d", "p"))
		require.NoError(t, s.ParkHook(context.Background(), "p", "disabled"))
		ls := leaseAll(t, s, "h", 3)
		require.Len(t, ls, 3)
		byID := map[string]Lease{}
		for _, l := range ls {
			byID[l.Delivery.ID] = l
		}
		record(t, s, byID[ids[0]], delivered(200))
		record(t, s, byID[ids[1]], failed(500))
		record(t, s, byID[ids[2]], retryAt(clock.Now().Add(time.Hour), 500))
		require.Equal(t, Stats{Pending: 1, Parked: 1, Delivered: 1, Failed: 1}, stats(t, s))

		clock.Advance(720*time.Hour - time.Minute)
		for _, id := range ids {
			getDelivery(t, s, id)
		}

		clock.Advance(2 * time.Minute)
		for _, id := range ids[:2] {
			_, err := s.Delivery(context.Background(), id)
			assert.ErrorIs(t, err, ErrNotFound, id)
		}
		assert.Equal(t, StatusPending, getDelivery(t, s, ids[2]).Status)
		assert.Len(t, getDelivery(t, s, ids[2]).AttemptLog, 1, "attempts of pending ones stay")
		assert.Equal(t, StatusParked, getDelivery(t, s, ids[3]).Status)
		page, err := s.Deliveries(context.Background(), "h", Query{})
		require.NoError(t, err)
		require.Len(t, page.Deliveries, 1)
		assert.Equal(t, ids[2], page.Deliveries[0].ID)
		assert.Equal(t, Stats{Pending: 1, Parked: 1}, stats(t, s))
	})
}

func TestRetentionCountsFromWhenTheDeliveryFinishes(t *testing.T) {
	runStore(t, func(t *testing.T, s *Store, clock *fakeClock) {
		id := enqueue(t, s, item("a", "h"))[0]
		record(t, s, leaseAll(t, s, "h", 1)[0], retryAt(clock.Now(), 500))
		clock.Advance(700 * time.Hour)
		record(t, s, leaseAll(t, s, "h", 1)[0], delivered(200))

		clock.Advance(700 * time.Hour)
		rec := getDelivery(t, s, id)
		assert.Len(t, rec.AttemptLog, 2, "the first attempt took the delivery's expiry")

		clock.Advance(21 * time.Hour)
		_, err := s.Delivery(context.Background(), id)
		assert.ErrorIs(t, err, ErrNotFound)
	})
}

func TestExpiredRecordsAreGoneFromBadgerItself(t *testing.T) {
	// A clock a month behind the wall clock makes Badger's own expiry visible.
	clock := newClock()
	clock.Advance(-721 * time.Hour)
	s := openStore(t, testOptions(t, t.TempDir(), clock))
	id := enqueue(t, s, item("a", "h"))[0]
	record(t, s, leaseAll(t, s, "h", 1)[0], delivered(200))

	var keys int
	require.NoError(t, s.db.View(func(txn *badgerTxn) error {
		for _, p := range [][]byte{prefixDelivery, prefixAttempt, prefixIndex} {
			require.NoError(t, scanPrefix(txn, p, false, func(*badgerItem) error {
				keys++
				return nil
			}))
		}
		return nil
	}))
	assert.Zero(t, keys, "record, attempt and index key expired")
	_, err := s.Delivery(context.Background(), id)
	assert.ErrorIs(t, err, ErrNotFound)
}

func TestDeliveriesPagesThroughTiesWithoutDuplicatesOrSkips(t *testing.T) {
	// Deliveries of one Enqueue call share their creation time, so the pages
	// rest on the id that breaks the tie.
	tests := []struct {
		name  string
		limit int
	}{
		{name: "one per page", limit: 1},
		{name: "pages split the tie", limit: 3},
		{name: "one page", limit: 20},
	}
	runStore(t, func(t *testing.T, s *Store, clock *fakeClock) {
		var items []Item
		for i := 0; i < 9; i++ {
			items = append(items, item(fmt.Sprintf("k%d", i), "h"))
		}
		older := enqueue(t, s, items[:4]...)
		clock.Advance(time.Second)
		newer := enqueue(t, s, items[4:]...)
		for _, l := range leaseAll(t, s, "h", 2) {
			record(t, s, l, delivered(200)) // Statuses differ within the tie.
		}

		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var got []string
				seen := map[string]bool{}
				cursor := ""
				for {
					page, err := s.Deliveries(context.Background(), "h",
						Query{Limit: tt.limit, Cursor: cursor})
					require.NoError(t, err)
					for _, d := range page.Deliveries {
						assert.False(t, seen[d.ID], "%s listed twice", d.ID)
						seen[d.ID] = true
						got = append(got, d.ID)
					}
					if cursor = page.NextCursor; cursor == "" {
						break
					}
				}
				require.Len(t, got, 9)
				assert.ElementsMatch(t, newer, got[:5], "newest first")
				assert.ElementsMatch(t, older, got[5:])
				assert.IsIncreasing(t, got[:5], "ties in id order")
				assert.IsIncreasing(t, got[5:], "ties in id order")
			})
		}
	})
}

func TestDeliveriesSkipADeliveryThatExpiresWhileListing(t *testing.T) {
	// Regression: a record that expired after its index key was read, as
	// when the expiry second passes during the listing, failed the whole
	// page with not found.
	runStore(t, func(t *testing.T, s *Store, clock *fakeClock) {
		ids := enqueueSpaced(t, s, clock, "h", 3)
		raw, err := parseID(ids[1])
		require.NoError(t, err)
		require.NoError(t, s.db.Update(func(txn *badgerTxn) error {
			return txn.Delete(deliveryKey(raw))
		}))

		page, err := s.Deliveries(context.Background(), "h", Query{Limit: 2})
		require.NoError(t, err)
		require.Len(t, page.Deliveries, 1)
		assert.Equal(t, ids[0], page.Deliveries[0].ID)
		require.NotEmpty(t, page.NextCursor)

		page, err = s.Deliveries(context.Background(), "h", Query{Cursor: page.NextCursor})
		require.NoError(t, err)
		require.Len(t, page.Deliveries, 1)
		assert.Equal(t, ids[2], page.Deliveries[0].ID)
	})
}
