package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Load describes one run of the generator: Conns connections with keep-alive
// POST events to URL, closed loop (each sends its next request when the last
// is answered) or, with Rate, open loop at that many requests per second.
// Only requests started within the measured window, after Warmup, count.
type Load struct {
	// URL receives the POSTs.
	URL string
	// Conns is the number of connections, one worker each.
	Conns int
	// Duration is the measured window; Requests, when set, ends it earlier,
	// after that many requests were started in it.
	Duration time.Duration
	Requests int
	// Warmup is sent before the window and not counted.
	Warmup time.Duration
	// Batch is the events per request: 1 sends an event object, more send
	// a JSON array.
	Batch int
	// Rate, when positive, paces requests at that many per second.
	Rate float64
	// Match makes the events hot leads that the bench hook's rule matches;
	// otherwise they fail it (heat_score 2), as most of a firehose does.
	Match bool
	// Timeout bounds one request.
	Timeout time.Duration
}

// Result is what a run measured.
type Result struct {
	// Requests and Events count what was sent in the window; OK the
	// requests answered 2xx.
	Requests, Events, OK int
	// Failures counts the others by cause: "status 503", "transport", ...
	Failures map[string]int
	// Matched sums the "matched" of the answers to window requests.
	Matched int
	// Start and End bound the measured window; Window is its length.
	Start, End time.Time
	Window     time.Duration
	// Latency is of the requests of the window, send to answer read.
	Latency Percentiles
	// Late counts open-loop requests that started more than lateAfter
	// after their turn because every connection was busy.
	Late int
}

// lateAfter is how far behind its turn an open-loop request counts as late.
const lateAfter = 5 * time.Millisecond

// RequestRate is the requests per second of the window.
func (r *Result) RequestRate() float64 { return float64(r.Requests) / r.Window.Seconds() }

// EventRate is the events per second of the window.
func (r *Result) EventRate() float64 { return float64(r.Events) / r.Window.Seconds() }

// String is a one-line report.
func (r *Result) String() string {
	s := fmt.Sprintf("%d req in %.1fs: %.0f req/s, %.0f events/s, %d ok, %s",
		r.Requests, r.Window.Seconds(), r.RequestRate(), r.EventRate(), r.OK, r.Latency)
	if len(r.Failures) > 0 {
		s += fmt.Sprintf(", failures %v", r.Failures)
	}
	if r.Late > 0 {
		s += fmt.Sprintf(", %d late", r.Late)
	}
	return s
}

// Stamp is when an event was sent; Tracked says whether it was sent in the
// measured window. Receivers read both back from the event's metadata.
type Stamp struct {
	Sent    time.Time
	Tracked bool
}

// Run sends the load and returns what it measured.
func (l Load) Run(ctx context.Context) (*Result, error) {
	if l.Conns <= 0 || l.Batch <= 0 || (l.Duration <= 0 && l.Requests <= 0) {
		return nil, errors.New("load needs conns, batch and a duration or a request count")
	}
	if l.Duration <= 0 {
		l.Duration = 24 * time.Hour // until Requests
	}
	transport := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        l.Conns,
		MaxIdleConnsPerHost: l.Conns,
		MaxConnsPerHost:     l.Conns,
		DisableCompression:  true,
		IdleConnTimeout:     time.Minute,
	}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: l.Timeout}

	r := &run{load: l, client: client, prefix: runPrefix()}
	r.start = time.Now()
	r.windowStart = r.start.Add(l.Warmup)
	r.windowEnd = r.windowStart.Add(l.Duration)
	ctx, cancel := context.WithDeadline(ctx, r.windowEnd)
	defer cancel()
	r.stop = ctx.Done()

	var turns <-chan time.Time
	if l.Rate > 0 {
		turns = pace(ctx, r.start, l.Rate)
	}
	workers := make([]*worker, l.Conns)
	var wg sync.WaitGroup
	for i := range workers {
		workers[i] = &worker{run: r, id: i, failures: map[string]int{}}
		wg.Go(func() { workers[i].loop(turns) })
	}
	wg.Wait()

	end := time.Now()
	if r.windowEnd.Before(end) {
		end = r.windowEnd
	}
	res := &Result{Failures: map[string]int{}, Start: r.windowStart, End: end,
		Window: end.Sub(r.windowStart)}
	var lat []time.Duration
	for _, w := range workers {
		res.Requests += w.requests
		res.OK += w.ok
		res.Matched += w.matched
		res.Late += w.late
		for k, n := range w.failures {
			res.Failures[k] += n
		}
		lat = append(lat, w.latency...)
	}
	res.Events = res.Requests * l.Batch
	res.Latency = percentiles(lat)
	if res.Window <= 0 {
		return nil, errors.New("the run ended before its measured window")
	}
	return res, nil
}

// run is the state the workers of one run share.
type run struct {
	load                   Load
	client                 *http.Client
	prefix                 string
	start                  time.Time
	windowStart, windowEnd time.Time
	stop                   <-chan struct{}
	started                atomic.Int64 // window requests started, for Requests
}

// runPrefix makes event ids unique across runs against the same store, so
// that dedupe never short-cuts the work.
func runPrefix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "lg" + hex.EncodeToString(b)
}

// pace hands out the turns of an open-loop run, rate per second from start,
// until ctx ends. A turn waits in the channel while every worker is busy.
func pace(ctx context.Context, start time.Time, rate float64) <-chan time.Time {
	turns := make(chan time.Time, max(int(rate), 1024))
	go func() {
		defer close(turns)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		interval := time.Duration(float64(time.Second) / rate)
		next := start
		for {
			for now := time.Now(); !next.After(now); next = next.Add(interval) {
				select {
				case turns <- next:
				case <-ctx.Done():
					return
				}
			}
			select {
			case <-tick.C:
			case <-ctx.Done():
				return
			}
		}
	}()
	return turns
}

// worker is one connection's sender.
type worker struct {
	run  *run
	id   int
	seq  int
	body []byte

	requests, ok, matched, late int
	failures                    map[string]int
	latency                     []time.Duration
}

func (w *worker) loop(turns <-chan time.Time) {
	r := w.run
	for {
		var turn time.Time
		if turns != nil {
			var open bool
			select {
			case turn, open = <-turns:
				if !open {
					return
				}
			case <-r.stop:
				return
			}
		}
		now := time.Now()
		if !now.Before(r.windowEnd) {
			return
		}
		inWindow := !now.Before(r.windowStart)
		if inWindow && r.load.Requests > 0 && r.started.Add(1) > int64(r.load.Requests) {
			return
		}
		if inWindow && !turn.IsZero() && now.Sub(turn) > lateAfter {
			w.late++
		}
		w.send(now, inWindow)
	}
}

// send makes one request and, for a window request, records it.
func (w *worker) send(now time.Time, inWindow bool) {
	r := w.run
	w.body = w.events(w.body[:0], Stamp{Sent: now, Tracked: inWindow})
	req, err := http.NewRequest(http.MethodPost, r.load.URL, bytes.NewReader(w.body))
	if err != nil {
		panic(err) // the URL was checked by the caller
	}
	req.Header.Set("Content-Type", "application/json")

	resp, err := r.client.Do(req)
	var answer []byte
	if err == nil {
		answer, err = io.ReadAll(resp.Body)
		_ = resp.Body.Close()
	}
	took := time.Since(now)
	if !inWindow {
		return
	}
	w.requests++
	w.latency = append(w.latency, took)
	switch {
	case err != nil:
		w.failures[failureKind(err)]++
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		w.failures["status "+strconv.Itoa(resp.StatusCode)]++
	default:
		w.ok++
		w.matched += matchedOf(answer)
	}
}

// failureKind names a transport error briefly.
func failureKind(err error) string {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	return "transport"
}

// matchedOf reads "matched" from an ingest answer; zero for other answers.
func matchedOf(answer []byte) int {
	if !bytes.Contains(answer, []byte(`"matched"`)) {
		return 0
	}
	var a struct {
		Matched int `json:"matched"`
	}
	_ = json.Unmarshal(answer, &a)
	return a.Matched
}

// events appends the body of the worker's next request: Batch events with
// ids unique to the run, stamped with st.
func (w *worker) events(b []byte, st Stamp) []byte {
	n := w.run.load.Batch
	if n > 1 {
		b = append(b, '[')
	}
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = w.event(b, st)
	}
	if n > 1 {
		b = append(b, ']')
	}
	return b
}

// event appends one event: a hot lead, which the bench hook's rule matches
// only with Match. The body is about 400 bytes, like an ESP's event.
func (w *worker) event(b []byte, st Stamp) []byte {
	w.seq++
	heat := "2"
	if w.run.load.Match {
		heat = "8"
	}
	b = append(b, `{"id":"`...)
	b = append(b, w.run.prefix...)
	b = append(b, '-')
	b = strconv.AppendInt(b, int64(w.id), 10)
	b = append(b, '-')
	b = strconv.AppendInt(b, int64(w.seq), 10)
	b = append(b, `","type":"intent.hot_lead","domain":"mail.bench.example",`...)
	b = append(b, `"recipient":"lead`...)
	b = strconv.AppendInt(b, int64(w.seq), 10)
	b = append(b, `@example.com","message_id":"msg_`...)
	b = strconv.AppendInt(b, int64(w.id), 10)
	b = append(b, '_')
	b = strconv.AppendInt(b, int64(w.seq), 10)
	b = append(b, `","url":"https://shop.example/pricing","ip":"203.0.113.7",`...)
	b = append(b, `"user_agent":"Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",`...)
	b = append(b, `"heat_score":`...)
	b = append(b, heat...)
	b = append(b, `,"intent_category":"PURCHASE_INTENT","is_human":true,`...)
	b = append(b, `"urgency":4,"confidence":0.92,"dwell_seconds":37.5,`...)
	b = append(b, `"metadata":{"campaign":"spring","sent_unix_nano":`...)
	b = strconv.AppendInt(b, st.Sent.UnixNano(), 10)
	b = append(b, `,"tracked":`...)
	b = strconv.AppendBool(b, st.Tracked)
	b = append(b, "}}"...)
	return b
}
