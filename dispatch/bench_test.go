package dispatch

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/hookgate/hookgate/queue"
)

// benchWindow is how many events are on their way at once in the benchmarks:
// a new one is sent whenever one is received.
const benchWindow = 64

// benchHooks is how many hooks the dispatcher benchmark spreads deliveries over.
const benchHooks = 4

// latencyProbe is a local receiver that measures, per event, the time from
// send (enqueue, or the start of a plain POST) to receipt, and keeps
// benchWindow events in flight.
type latencyProbe struct {
	srv      *httptest.Server
	sentAt   []atomic.Int64
	took     []time.Duration
	got      []atomic.Bool
	window   chan struct{}
	received sync.WaitGroup
}

func newLatencyProbe(b *testing.B) *latencyProbe {
	p := &latencyProbe{
		sentAt: make([]atomic.Int64, b.N),
		took:   make([]time.Duration, b.N),
		got:    make([]atomic.Bool, b.N),
		window: make(chan struct{}, benchWindow),
	}
	p.received.Add(b.N)
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		now := time.Now()
		seq := benchSeq(body)
		if seq < 0 || seq >= len(p.got) || p.got[seq].Swap(true) {
			return // A duplicate after a retry: counted once.
		}
		p.took[seq] = now.Sub(time.Unix(0, p.sentAt[seq].Load()))
		<-p.window
		p.received.Done()
	}))
	b.Cleanup(p.srv.Close)
	return p
}

// send reserves a place in the window and notes when event seq was sent.
func (p *latencyProbe) send(seq int) {
	p.window <- struct{}{}
	p.sentAt[seq].Store(time.Now().UnixNano())
}

// report waits for every event and reports throughput and latency.
func (p *latencyProbe) report(b *testing.B, start time.Time) {
	p.received.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(p.took)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(msAt(p.took, 0.50), "p50-ms")
	b.ReportMetric(msAt(p.took, 0.99), "p99-ms")
}

func msAt(sorted []time.Duration, q float64) float64 {
	return float64(sorted[int(q*float64(len(sorted)-1))]) / float64(time.Millisecond)
}

func benchBody(seq int) []byte {
	return fmt.Appendf(nil, `{"seq":%d,"id":"evt_%d","type":"intent.hot_lead",`+
		`"account":"acme","domain":"mail.acme.example","heat_score":8,`+
		`"intent_category":"PURCHASE_INTENT","is_human":true}`, seq, seq)
}

// benchSeq reads the sequence number benchBody wrote.
func benchSeq(body []byte) int {
	rest, ok := bytes.CutPrefix(body, []byte(`{"seq":`))
	if !ok {
		return -1
	}
	end := bytes.IndexByte(rest, ',')
	if end < 0 {
		return -1
	}
	n, err := strconv.Atoi(string(rest[:end]))
	if err != nil {
		return -1
	}
	return n
}

// BenchmarkDelivery measures end-to-end deliveries: events enqueued into a
// real store, leased, signed and POSTed by the dispatcher to a local receiver,
// and recorded, with the default worker pool over benchHooks hooks. The
// plain-client baseline POSTs the same bodies to the same kind of receiver
// with an http.Client, with the same number in flight.
func BenchmarkDelivery(b *testing.B) {
	b.Run("dispatcher/sync=always", func(b *testing.B) {
		benchDispatcher(b, queue.SyncAlways)
	})
	b.Run("dispatcher/sync=never", func(b *testing.B) {
		benchDispatcher(b, queue.SyncNever)
	})
	b.Run("plain-client", benchPlainClient)
}

func benchDispatcher(b *testing.B, mode queue.SyncMode) {
	p := newLatencyProbe(b)
	s, err := queue.Open(queue.DefaultOptions(b.TempDir()).WithSync(mode, 0).
		WithLogger(zap.NewNop()))
	require.NoError(b, err)
	b.Cleanup(func() { _ = s.Close() })
	var targets hookTargets
	for h := range benchHooks {
		targets.set(target(b, "hook"+strconv.Itoa(h), p.srv.URL))
	}
	d, err := New(Config{Queue: s, Targets: targets.get, AllowPrivateDestinations: true})
	require.NoError(b, err)
	d.Start()
	b.Cleanup(func() { _ = d.Stop(context.Background()) })

	var next atomic.Int64
	var producers sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range 8 { // Concurrent ingest requests share group commits.
		producers.Go(func() {
			for seq := int(next.Add(1) - 1); seq < b.N; seq = int(next.Add(1) - 1) {
				p.send(seq)
				item := queue.Item{EventID: strconv.Itoa(seq), EventType: "intent.hot_lead",
					Account: "acme", Deliveries: []queue.NewDelivery{{
						HookID: "hook" + strconv.Itoa(seq%benchHooks), HookVersion: 1,
						Body: benchBody(seq),
					}}}
				if _, err := s.Enqueue(context.Background(), []queue.Item{item}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	producers.Wait()
	p.report(b, start)
}

func benchPlainClient(b *testing.B) {
	p := newLatencyProbe(b)
	client := &http.Client{Transport: &http.Transport{
		MaxIdleConns: benchWindow, MaxIdleConnsPerHost: benchWindow,
	}}
	b.Cleanup(client.CloseIdleConnections)

	var next atomic.Int64
	var senders sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range benchWindow {
		senders.Go(func() {
			for seq := int(next.Add(1) - 1); seq < b.N; seq = int(next.Add(1) - 1) {
				p.send(seq)
				resp, err := client.Post(p.srv.URL, "application/json",
					bytes.NewReader(benchBody(seq)))
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
			}
		})
	}
	senders.Wait()
	p.report(b, start)
}
