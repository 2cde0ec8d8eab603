package queue

import (
	"context"
	"fmt"
	"hash/fnv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConcurrentEnqueueDispatchAndPark runs the paths that meet in production at
// once, for the race detector and for the invariants: producers enqueue, workers
// lease and record outcomes on several hooks, and an operator parks and releases
// one hook while its deliveries are in flight. No delivery is leased twice while
// its lease is live, every delivery ends delivered or failed with its attempts
// numbered 1..n, and the counters agree with the records.
func TestConcurrentEnqueueDispatchAndPark(t *testing.T) {
	runStore(t, func(t *testing.T, s *Store, clock *fakeClock) {
		const producers, perProducer, workersPerHook = 4, 150, 3
		hooks := []string{"h0", "h1", "h2"}
		total := producers * perProducer
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()

		var ids sync.Map      // delivery id -> struct{}
		var inFlight sync.Map // delivery id -> lease token
		var finished atomic.Int64
		var released atomic.Int64
		var producing, dispatching, operating sync.WaitGroup

		for p := 0; p < producers; p++ {
			producing.Add(1)
			go func() {
				defer producing.Done()
				for n := 0; n < perProducer; n++ {
					key := fmt.Sprintf("p%d-%d", p, n)
					res, err := s.Enqueue(ctx, []Item{item(key, hooks[n%len(hooks)])})
					if !assert.NoError(t, err) {
						return
					}
					for _, id := range res[0].DeliveryIDs {
						ids.Store(id, struct{}{})
					}
				}
			}()
		}

		for _, hook := range hooks {
			for w := 0; w < workersPerHook; w++ {
				dispatching.Add(1)
				go func() {
					defer dispatching.Done()
					dispatchUntil(ctx, t, s, hook, clock, &inFlight, &finished, int64(total))
				}()
			}
		}

		operating.Add(1)
		go func() {
			defer operating.Done()
			for i := 0; i < 10; i++ {
				assert.NoError(t, s.ParkHook(ctx, "h0", fmt.Sprintf("park %d", i)))
				time.Sleep(time.Millisecond)
				n, err := s.ReleaseHook(ctx, "h0")
				assert.NoError(t, err)
				released.Add(int64(n))
				_, err = s.Stats()
				assert.NoError(t, err)
			}
		}()

		producing.Wait()
		operating.Wait()
		dispatching.Wait()
		require.NoError(t, ctx.Err(), "the workers did not finish every delivery")
		t.Logf("%d deliveries of h0 were parked and released during dispatch", released.Load())

		n := 0
		ids.Range(func(k, _ any) bool {
			n++
			d := getDelivery(t, s, k.(string))
			assert.True(t, d.Status.finished(), "%s is %s", d.ID, d.Status)
			assert.Equal(t, d.Attempts, len(d.AttemptLog), d.ID)
			for i, a := range d.AttemptLog {
				assert.Equal(t, i+1, a.Number, d.ID)
			}
			return true
		})
		assert.Equal(t, total, n)
		st := stats(t, s)
		assert.Equal(t, total, st.Delivered+st.Failed)
		assert.Equal(t, Stats{Delivered: st.Delivered, Failed: st.Failed}, st)
		for _, hook := range hooks {
			hs, err := s.HookState(hook)
			require.NoError(t, err)
			assert.True(t, hs.Enabled, hook)
			assert.Zero(t, hs.Pending+hs.Parked, hook)
		}
	})
}

// dispatchUntil leases deliveries of hook one at a time and records an outcome
// chosen from the delivery id and attempt, until done reaches total.
func dispatchUntil(ctx context.Context, t *testing.T, s *Store, hook string, clock *fakeClock,
	inFlight *sync.Map, done *atomic.Int64, total int64) {
	for done.Load() < total && ctx.Err() == nil {
		r := s.Ready()
		ls, err := s.Lease(ctx, hook, 2)
		if !assert.NoError(t, err) {
			return
		}
		if len(ls) == 0 {
			select {
			case <-r.Changed:
			case <-time.After(time.Millisecond): // Another hook's work, or a release.
			case <-ctx.Done():
			}
			continue
		}
		for _, l := range ls {
			if prev, dup := inFlight.LoadOrStore(l.Delivery.ID, l.Token); dup {
				t.Errorf("%s leased again (token %d) while lease %d is live",
					l.Delivery.ID, l.Token, prev)
			}
			report := outcomeFor(l.Delivery.ID, l.Delivery.Attempts, clock.Now())
			inFlight.Delete(l.Delivery.ID)
			res, err := s.Record(ctx, l, report)
			if !assert.NoError(t, err) {
				return
			}
			if res.Status.finished() {
				done.Add(1)
			}
		}
	}
}

// outcomeFor spreads outcomes over deliveries: most succeed at once, some retry
// first, a few fail for good; no delivery takes more than three attempts.
func outcomeFor(id string, attempts int, now time.Time) Report {
	h := fnv.New32a()
	h.Write([]byte(id))
	switch v := h.Sum32() % 10; {
	case attempts >= 2 || v < 6:
		return delivered(200)
	case v < 9:
		return retryAt(now, 503)
	}
	return failed(410)
}
