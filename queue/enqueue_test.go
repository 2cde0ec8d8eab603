package queue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEnqueueStoresPendingDeliveriesDueNow(t *testing.T) {
	runStore(t, func(t *testing.T, s *Store, clock *fakeClock) {
		res, err := s.Enqueue(context.Background(), []Item{item("a", "h1", "h2")})
		require.NoError(t, err)
		require.Len(t, res, 1)
		require.Len(t, res[0].DeliveryIDs, 2)
		assert.False(t, res[0].Duplicate)

		r := s.Ready()
		assert.ElementsMatch(t, []string{"h1", "h2"}, r.Hooks)

		d := getDelivery(t, s, res[0].DeliveryIDs[0])
		assert.Equal(t, StatusPending, d.Status)
		assert.Equal(t, "h1", d.HookID)
		assert.Equal(t, "evt_a", d.EventID)
		assert.Equal(t, "message.opened", d.EventType)
		assert.Equal(t, "acme", d.Account)
		assert.Equal(t, uint64(1), d.HookVersion)
		assert.Equal(t, `event.type == "message.opened"`, d.Expression)
		assert.Equal(t, `{"id":"evt_a","hook":"h1"}`, string(d.Body))
		assert.True(t, d.CreatedAt.Equal(clock.Now()))
		assert.True(t, d.DueAt.Equal(clock.Now()))
		assert.Zero(t, d.Attempts)
		assert.Empty(t, d.AttemptLog)
		assert.Equal(t, Stats{Pending: 2}, stats(t, s))
	})
}

func TestEnqueueDedupe(t *testing.T) {
	tests := []struct {
		name      string
		calls     [][]Item
		advance   time.Duration // before the last call
		wantDup   []bool        // per item of the last call
		wantTotal int           // pending deliveries at the end
	}{
		{
			name:      "same key in two calls is a duplicate",
			calls:     [][]Item{{item("k", "h")}, {item("k", "h")}},
			wantDup:   []bool{true},
			wantTotal: 1,
		},
		{
			name:      "same key twice in one call keeps the first",
			calls:     [][]Item{{item("k", "h"), item("k", "h")}},
			wantDup:   []bool{false, true},
			wantTotal: 1,
		},
		{
			name:      "item without deliveries still records its key",
			calls:     [][]Item{{item("k")}, {item("k", "h")}},
			wantDup:   []bool{true},
			wantTotal: 0,
		},
		{
			name:      "empty key is never a duplicate",
			calls:     [][]Item{{item("", "h")}, {item("", "h")}},
			wantDup:   []bool{false},
			wantTotal: 2,
		},
		{
			name:      "key is forgotten after the dedupe window",
			calls:     [][]Item{{item("k", "h")}, {item("k", "h")}},
			advance:   24*time.Hour + time.Second,
			wantDup:   []bool{false},
			wantTotal: 2,
		},
		{
			name:      "key is remembered just inside the window",
			calls:     [][]Item{{item("k", "h")}, {item("k", "h")}},
			advance:   24*time.Hour - time.Second,
			wantDup:   []bool{true},
			wantTotal: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runStore(t, func(t *testing.T, s *Store, clock *fakeClock) {
				var res []ItemResult
				for i, items := range tt.calls {
					if i == len(tt.calls)-1 {
						clock.Advance(tt.advance)
					}
					var err error
					res, err = s.Enqueue(context.Background(), items)
					require.NoError(t, err)
				}
				var dup []bool
				for _, r := range res {
					dup = append(dup, r.Duplicate)
					if r.Duplicate {
						assert.Empty(t, r.DeliveryIDs)
					}
				}
				assert.Equal(t, tt.wantDup, dup)
				assert.Equal(t, tt.wantTotal, stats(t, s).Pending)
			})
		})
	}
}

func TestConcurrentDuplicatesAreAcceptedOnce(t *testing.T) {
	runStore(t, func(t *testing.T, s *Store, _ *fakeClock) {
		const callers = 64
		var wg sync.WaitGroup
		accepted := make(chan string, callers)
		for i := 0; i < callers; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := s.Enqueue(context.Background(), []Item{item("same", "h")})
				if !assert.NoError(t, err) {
					return
				}
				if !res[0].Duplicate {
					accepted <- res[0].DeliveryIDs[0]
				}
			}()
		}
		wg.Wait()
		close(accepted)
		var ids []string
		for id := range accepted {
			ids = append(ids, id)
		}
		assert.Len(t, ids, 1)
		assert.Equal(t, 1, stats(t, s).Pending)
	})
}

func TestConcurrentEnqueuesShareGroupCommits(t *testing.T) {
	clock := newClock()
	s := openStore(t, testOptions(t, t.TempDir(), clock).WithSync(SyncAlways, 0))
	const callers, calls = 32, 20
	var wg sync.WaitGroup
	for c := 0; c < callers; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < calls; i++ {
				_, err := s.Enqueue(context.Background(), []Item{item("", "h")})
				assert.NoError(t, err)
			}
		}()
	}
	wg.Wait()

	require.Equal(t, uint64(callers*calls), s.grouped.Load())
	assert.Less(t, s.groups.Load(), uint64(callers*calls/4),
		"each synced commit should carry several callers' writes")
	t.Logf("%d enqueues in %d synced commits", callers*calls, s.groups.Load())
}

func TestEnqueueRejectsUnstorableItemsWithoutWriting(t *testing.T) {
	big := item("big", "h")
	big.Deliveries[0].Body = make([]byte, 40<<20)
	tests := []struct {
		name string
		item Item
		want error
	}{
		{name: "empty hook id", item: item("a", ""), want: ErrInvalid},
		{name: "hook id with NUL", item: item("a", "h\x00x"), want: ErrInvalid},
		{name: "hook id too long", item: item("a", strings.Repeat("h", 513)), want: ErrInvalid},
		{name: "item over 32 MiB", item: big, want: ErrTxnTooBig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runStore(t, func(t *testing.T, s *Store, _ *fakeClock) {
				_, err := s.Enqueue(context.Background(), []Item{item("ok", "h"), tt.item})
				assert.ErrorIs(t, err, tt.want)
				assert.Equal(t, Stats{}, stats(t, s))
				res, err := s.Enqueue(context.Background(), []Item{item("ok", "h")})
				require.NoError(t, err)
				assert.False(t, res[0].Duplicate, "the valid item was not stored either")
			})
		})
	}
}

func TestEnqueueForParkedHookStoresParkedDeliveries(t *testing.T) {
	runStore(t, func(t *testing.T, s *Store, _ *fakeClock) {
		require.NoError(t, s.ParkHook(context.Background(), "h", "disabled by operator"))
		res, err := s.Enqueue(context.Background(), []Item{item("a", "h", "other")})
		require.NoError(t, err)
		assert.Equal(t, 1, res[0].Parked)

		assert.Equal(t, StatusParked, getDelivery(t, s, res[0].DeliveryIDs[0]).Status)
		assert.Equal(t, StatusPending, getDelivery(t, s, res[0].DeliveryIDs[1]).Status)
		assert.Equal(t, []string{"other"}, s.Ready().Hooks)
		assert.Empty(t, leaseAll(t, s, "h", 10))
		assert.Equal(t, Stats{Pending: 1, Parked: 1}, stats(t, s))
	})
}

func TestEnqueueWakesTheDispatcher(t *testing.T) {
	runStore(t, func(t *testing.T, s *Store, _ *fakeClock) {
		r := s.Ready()
		require.Empty(t, r.Hooks)
		select {
		case <-r.Changed:
			t.Fatal("changed before any work was added")
		default:
		}
		enqueue(t, s, item("a", "h"))
		select {
		case <-r.Changed:
		case <-time.After(5 * time.Second):
			t.Fatal("enqueue did not close the changed channel")
		}
		assert.Equal(t, []string{"h"}, s.Ready().Hooks)
	})
}

func TestEnqueueHonoursCancelledContext(t *testing.T) {
	runStore(t, func(t *testing.T, s *Store, _ *fakeClock) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := s.Enqueue(ctx, []Item{item("a", "h")})
		assert.True(t, errors.Is(err, context.Canceled))
	})
}

// TestEnqueueStoresAnEventOfTheLargestSizeForManyHooks is the regression test
// of items refused as too big when every delivery carries a 1 MiB body: the
// bodies go to Badger's value log, which a transaction counts by pointer.
func TestEnqueueStoresAnEventOfTheLargestSizeForManyHooks(t *testing.T) {
	runStore(t, func(t *testing.T, s *Store, _ *fakeClock) {
		enqueueLargest(t, s)
	})
}

func enqueueLargest(t *testing.T, s *Store) {
	body := bytes.Repeat([]byte("x"), 1<<20)
	item := Item{DedupeKey: "big", EventID: "evt_big", EventType: "message.opened"}
	for i := range 8 {
		item.Deliveries = append(item.Deliveries, NewDelivery{
			HookID: fmt.Sprintf("hook-%d", i), HookVersion: 1, Body: body})
	}
	res, err := s.Enqueue(context.Background(), []Item{item})
	require.NoError(t, err)
	require.Len(t, res[0].DeliveryIDs, 8)
	rec, err := s.Delivery(context.Background(), res[0].DeliveryIDs[7])
	require.NoError(t, err)
	assert.Equal(t, body, rec.Body)
}
