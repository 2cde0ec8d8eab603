package queue

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

// The benchmarks measure durable writes: every store runs with SyncAlways and
// the default small-memory Badger options, as hookgate does out of the box.
// The README's figures come from
//
//	go test -run x -bench DurableEnqueue -count 6 ./queue/ | tee enqueue.txt
//	go test -run x -bench LeaseAck -count 6 ./queue/ | tee leaseack.txt
//	benchstat enqueue.txt; benchstat leaseack.txt
//
// BenchmarkDurableEnqueue measures Badger's WriteBatch first, writing the same
// records, and reports every producer count as a ratio of that ceiling (the
// median of the WriteBatch runs, so that -count 6 compares with all six).

// benchHooks is how many hooks the benchmark deliveries are spread over.
const benchHooks = 8

// benchBody returns a canonical event of about 600 bytes, as ingest stores it.
func benchBody(n int) []byte {
	return fmt.Appendf(nil, `{"id":"evt_%012d","type":"message.opened",`+
		`"timestamp":"2025-12-03T12:46:40Z","account":"acme","domain":"mail.acme.example",`+
		`"environment":"production","message_id":"<%012d.4f2a@mail.acme.example>",`+
		`"recipient":"jane.doe+%d@example.com","url":"https://acme.example/pricing?utm_source=`+
		`newsletter&utm_medium=email&utm_campaign=spring-sale","user_agent":"Mozilla/5.0 `+
		`(Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5`+
		` Safari/605.1.15","ip":"203.0.113.7","heat_score":7.5,"intent_category":`+
		`"PURCHASE_INTENT","urgency":3,"confidence":0.92,"is_human":true,"dwell_seconds":42,`+
		`"metadata":{"campaign":"spring-sale","list":"newsletter","variant":"b"}}`, n, n, n)
}

// benchItem is the n-th accepted event: one delivery to one of benchHooks hooks.
func benchItem(n int) Item {
	return Item{
		DedupeKey: fmt.Sprintf("acme/evt_%012d", n),
		EventID:   fmt.Sprintf("evt_%012d", n),
		EventType: "message.opened",
		Account:   "acme",
		Deliveries: []NewDelivery{{
			HookID:      fmt.Sprintf("hook-%d", n%benchHooks),
			HookVersion: 1,
			Expression:  `event.type == "message.opened" && event.heat_score > 5.0`,
			Body:        benchBody(n),
		}},
	}
}

// benchOptions are the defaults in a fresh directory, quiet.
func benchOptions(b *testing.B) Options {
	return DefaultOptions(b.TempDir()).WithLogger(zap.NewNop())
}

// benchRecords returns the entries Enqueue writes for items, for the WriteBatch
// ceiling: the dedupe key, the delivery record, its index and schedule keys.
func benchRecords(s *Store, items []Item) []mutation {
	now := time.Now()
	ms := make([]mutation, 0, 4*len(items))
	for i := range items {
		var o enqueueOp
		if err := s.prepareEnqueue(&o, &items[i], now); err != nil {
			panic(err)
		}
		ms = append(ms, set(o.dedupeKey, nil, s.dedupeExpiry(now)))
		for _, p := range o.deliveries {
			r := &p.record
			created := r.CreatedAt.UnixNano()
			ms = append(ms,
				set(deliveryKey(p.id), p.value, 0),
				set(indexKey(r.HookID, StatusPending, created, p.id), nil, 0),
				set(scheduleKey(r.HookID, created, p.id), nil, 0))
		}
	}
	return ms
}

// writeBatchRates holds the WriteBatch rates, in records per second, of the
// runs of this process long enough to count (not the short runs the testing
// package makes to choose b.N); writeBatchCeiling is their median.
var writeBatchRates []float64

func writeBatchCeiling() float64 {
	if len(writeBatchRates) == 0 {
		return 0
	}
	rates := slices.Sorted(slices.Values(writeBatchRates))
	return rates[len(rates)/2]
}

func BenchmarkDurableEnqueue(b *testing.B) {
	b.Run("writebatch", benchWriteBatch)
	for _, producers := range []int{1, 32, 256} {
		b.Run(fmt.Sprintf("producers=%d", producers), func(b *testing.B) {
			benchEnqueue(b, producers)
		})
	}
}

// benchWriteBatch writes b.N enqueue records with Badger's WriteBatch, on the
// store's own Badger options with sync writes: the practical ceiling.
func benchWriteBatch(b *testing.B) {
	opt := benchOptions(b)
	s, err := Open(opt)
	require.NoError(b, err)
	items := make([]Item, b.N)
	for i := range items {
		items[i] = benchItem(i)
	}
	ms := benchRecords(s, items)
	require.NoError(b, s.Close())
	db, err := badger.Open(opt.badgerOptions())
	require.NoError(b, err)
	defer db.Close()

	b.ResetTimer()
	start := time.Now()
	wb := db.NewWriteBatch()
	defer wb.Cancel()
	for _, m := range ms {
		e := badger.NewEntry(m.key, m.value)
		e.ExpiresAt = m.expiresAt
		require.NoError(b, wb.SetEntry(e))
	}
	require.NoError(b, wb.Flush())
	elapsed := time.Since(start)
	b.StopTimer()

	rate := float64(b.N) / elapsed.Seconds()
	if elapsed >= 500*time.Millisecond {
		writeBatchRates = append(writeBatchRates, rate)
	}
	b.ReportMetric(rate, "enqueues/s")
}

// benchEnqueue runs b.N single-item Enqueue calls from producers goroutines and
// reports the rate, the 99th percentile latency of one call and the ratio to the
// median WriteBatch rate measured so far in this process.
func benchEnqueue(b *testing.B, producers int) {
	s, err := Open(benchOptions(b))
	require.NoError(b, err)
	defer s.Close()
	items := make([]Item, b.N)
	for i := range items {
		items[i] = benchItem(i)
	}

	var next atomic.Int64
	latencies := make([][]time.Duration, producers)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(items) {
					return
				}
				t0 := time.Now()
				res, err := s.Enqueue(context.Background(), items[i:i+1])
				latencies[p] = append(latencies[p], time.Since(t0))
				if err != nil || res[0].Duplicate {
					b.Errorf("enqueue %d: %v, %+v", i, err, res)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()

	rate := float64(b.N) / elapsed.Seconds()
	b.ReportMetric(rate, "enqueues/s")
	b.ReportMetric(percentile(slices.Concat(latencies...), 0.99).Seconds()*1000, "p99-ms")
	b.ReportMetric(float64(s.grouped.Load())/float64(s.groups.Load()), "ops/commit")
	if ceiling := writeBatchCeiling(); ceiling > 0 {
		b.ReportMetric(rate/ceiling, "x-writebatch")
	}
}

// BenchmarkLeaseAck measures the dispatcher's side: workers lease one due
// delivery at a time and record it delivered, 8 workers per hook (the default
// per-hook concurrency), each record a durable group commit.
func BenchmarkLeaseAck(b *testing.B) {
	for _, hooks := range []int{1, 4} {
		b.Run(fmt.Sprintf("workers=%d", 8*hooks), func(b *testing.B) {
			benchLeaseAck(b, hooks, 8)
		})
	}
}

func benchLeaseAck(b *testing.B, hooks, perHook int) {
	s, err := Open(benchOptions(b))
	require.NoError(b, err)
	defer s.Close()
	fillQueue(b, s, b.N, hooks)
	groups0, grouped0 := s.groups.Load(), s.grouped.Load()

	var acked atomic.Int64
	latencies := make([][]time.Duration, hooks*perHook)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for w := range latencies {
		hook := fmt.Sprintf("hook-%d", w%hooks)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for acked.Load() < int64(b.N) {
				ls, err := s.Lease(context.Background(), hook, 1)
				if err != nil {
					b.Errorf("lease: %v", err)
					return
				}
				if len(ls) == 0 {
					if pendingOf(s, hook) == 0 {
						return
					}
					time.Sleep(100 * time.Microsecond) // Others hold the rest.
					continue
				}
				t0 := time.Now()
				_, err = s.Record(context.Background(), ls[0], Report{Outcome: Delivered,
					Attempt: Attempt{StatusCode: 200, Latency: 30 * time.Millisecond}})
				latencies[w] = append(latencies[w], time.Since(t0))
				if err != nil {
					b.Errorf("record: %v", err)
					return
				}
				acked.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()

	b.ReportMetric(float64(acked.Load())/elapsed.Seconds(), "acks/s")
	b.ReportMetric(float64(s.grouped.Load()-grouped0)/float64(s.groups.Load()-groups0),
		"ops/commit")
	b.ReportMetric(percentile(slices.Concat(latencies...), 0.99).Seconds()*1000,
		"record-p99-ms")
}

// fillQueue enqueues n deliveries spread over hooks, 256 items a call.
func fillQueue(tb testing.TB, s *Store, n, hooks int) {
	tb.Helper()
	batch := make([]Item, 0, 256)
	flush := func() {
		_, err := s.Enqueue(context.Background(), batch)
		require.NoError(tb, err)
		batch = batch[:0]
	}
	for i := 0; i < n; i++ {
		it := benchItem(i)
		it.Deliveries[0].HookID = fmt.Sprintf("hook-%d", i%hooks)
		if batch = append(batch, it); len(batch) == cap(batch) {
			flush()
		}
	}
	if len(batch) > 0 {
		flush()
	}
}

// pendingOf returns how many deliveries of a hook are scheduled.
func pendingOf(s *Store, hook string) int {
	st, _ := s.HookState(hook)
	return st.Pending
}

// percentile returns the p-th quantile of ds (0 < p <= 1); ds is sorted.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := int(float64(len(ds))*p+0.5) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}
