package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// suite is the configuration of "loadgen suite".
type suite struct {
	binary, config       string
	port, admin, recvr   int
	sync                 string
	maxInFlight          int
	runs                 map[string]bool
	rounds, conns, batch int
	duration, warmup     time.Duration
	rates                []float64
	quiet                time.Duration
	keep                 bool
}

// The runs of a round. Each baseline is paired with its target, in this order
// in even rounds and swapped in odd ones; the paced end-to-end runs at the
// rates after the first follow, and the closed-loop one comes last, since it
// leaves a backlog.
const (
	kindRespond      = "respond, 1 event"
	kindIngest       = "ingest, 1 event"
	kindRespondBatch = "respond, batch"
	kindIngestBatch  = "ingest, batch"
	kindDirect       = "receiver direct"
	kindE2EMax       = "end to end, closed loop"
)

// kindE2E is the paced end-to-end run at rate.
func kindE2E(rate float64) string { return fmt.Sprintf("end to end, %.0f/s", rate) }

// roundRun is one run of the suite.
type roundRun struct {
	kind     string
	load     Load
	result   *Result
	delivery *Delivery
}

func runSuite(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("suite", flag.ExitOnError)
	var s suite
	fs.StringVar(&s.binary, "hookgate", "/tmp/hookgate", "the hookgate binary")
	fs.StringVar(&s.config, "config", "cmd/loadgen/testdata/Caddyfile", "the gateway's Caddyfile")
	fs.IntVar(&s.port, "port", 9480, "the gateway's HTTP port on 127.0.0.1")
	fs.IntVar(&s.admin, "admin", 9481, "the gateway's admin port on 127.0.0.1")
	fs.IntVar(&s.recvr, "receiver", 9482, "the receiver's port on 127.0.0.1")
	fs.StringVar(&s.sync, "sync", "always",
		`the store's sync option: always, "interval 100ms" or never`)
	fs.IntVar(&s.maxInFlight, "max-in-flight", 8, "the hookgate max_in_flight option")
	runs := fs.String("runs", "single,batch,e2e", "the runs to make: single, batch, e2e")
	fs.IntVar(&s.rounds, "rounds", 5, "rounds")
	fs.IntVar(&s.conns, "c", 64, "connections")
	fs.IntVar(&s.batch, "batch", 100, "events per request of the batched runs")
	fs.DurationVar(&s.duration, "d", 10*time.Second, "measured window of each run")
	fs.DurationVar(&s.warmup, "warmup", 2*time.Second, "load sent before each window")
	rates := fs.String("rates", "2000,3000,4000",
		"events per second of the paced end-to-end runs; the first has the direct baseline")
	fs.DurationVar(&s.quiet, "quiet", 15*time.Second,
		"give up waiting for deliveries after this long without one")
	fs.BoolVar(&s.keep, "keep", false, "keep each round's store and log")
	_ = fs.Parse(args)
	if err := s.parseLists(*runs, *rates); err != nil {
		return err
	}

	rc, err := Listen(fmt.Sprintf("127.0.0.1:%d", s.recvr))
	if err != nil {
		return err
	}
	defer rc.Close()

	var all [][]roundRun
	for i := range s.rounds {
		runs, err := s.round(ctx, i, rc)
		if err != nil {
			return fmt.Errorf("round %d: %w", i+1, err)
		}
		all = append(all, runs)
	}
	s.summarize(os.Stdout, all)
	return nil
}

// parseLists reads the -runs and -rates lists.
func (s *suite) parseLists(runs, rates string) error {
	s.runs = map[string]bool{}
	for _, r := range strings.Split(runs, ",") {
		if r != "single" && r != "batch" && r != "e2e" {
			return fmt.Errorf("-runs: unknown run %q", r)
		}
		s.runs[r] = true
	}
	for _, r := range strings.Split(rates, ",") {
		v, err := strconv.ParseFloat(r, 64)
		if err != nil || v <= 0 {
			return fmt.Errorf("-rates: %q is not a rate", r)
		}
		s.rates = append(s.rates, v)
	}
	return nil
}

// plan lists the runs of round i.
func (s *suite) plan(i int, rc *Receiver) []roundRun {
	base := fmt.Sprintf("http://127.0.0.1:%d", s.port)
	closed := func(path string, batch int) Load {
		return Load{URL: base + path, Conns: s.conns, Duration: s.duration, Warmup: s.warmup,
			Batch: batch, Timeout: 30 * time.Second}
	}
	paced := func(url string, rate float64) Load {
		l := closed("", 1)
		l.URL, l.Rate, l.Match = url, rate, true
		return l
	}

	var pairs [][2]roundRun
	if s.runs["single"] {
		pairs = append(pairs, [2]roundRun{
			{kind: kindRespond, load: closed("/respond", 1)},
			{kind: kindIngest, load: closed("/events", 1)},
		})
	}
	if s.runs["batch"] {
		pairs = append(pairs, [2]roundRun{
			{kind: kindRespondBatch, load: closed("/respond", s.batch)},
			{kind: kindIngestBatch, load: closed("/events", s.batch)},
		})
	}
	if s.runs["e2e"] {
		pairs = append(pairs, [2]roundRun{
			{kind: kindDirect, load: paced(rc.URL(), s.rates[0])},
			{kind: kindE2E(s.rates[0]), load: paced(base+"/events", s.rates[0])},
		})
	}
	var runs []roundRun
	for _, p := range pairs {
		if i%2 == 1 {
			p[0], p[1] = p[1], p[0]
		}
		runs = append(runs, p[0], p[1])
	}
	if s.runs["e2e"] {
		for _, rate := range s.rates[1:] {
			runs = append(runs, roundRun{kind: kindE2E(rate), load: paced(base+"/events", rate)})
		}
		saturate := closed("/events", 1)
		saturate.Match = true
		runs = append(runs, roundRun{kind: kindE2EMax, load: saturate})
	}
	return runs
}

// round starts a gateway on a fresh store, makes the round's runs and stops
// it.
func (s *suite) round(ctx context.Context, i int, rc *Receiver) ([]roundRun, error) {
	dir, err := os.MkdirTemp("", "loadgen-round-")
	if err != nil {
		return nil, err
	}
	if !s.keep {
		defer os.RemoveAll(dir)
	}
	gw, err := s.start(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer gw.stop()
	fmt.Printf("round %d (store and log in %s)\n", i+1, dir)

	// Both routes are loaded once, unmeasured, so that neither run of the
	// first pair meets a process just started.
	base := fmt.Sprintf("http://127.0.0.1:%d", s.port)
	for _, path := range []string{"/respond", "/events"} {
		l := Load{URL: base + path, Conns: s.conns, Duration: s.warmup, Batch: 1,
			Timeout: 30 * time.Second}
		if _, err := l.Run(ctx); err != nil {
			return nil, fmt.Errorf("settling: %w", err)
		}
	}

	runs := s.plan(i, rc)
	for j := range runs {
		r := &runs[j]
		if r.load.Match {
			r.result, r.delivery, err = endToEnd(ctx, r.load, rc, s.quiet)
		} else {
			r.result, err = r.load.Run(ctx)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.kind, err)
		}
		fmt.Printf("  %-24s %s\n", r.kind+":", r.result)
		if r.delivery != nil {
			fmt.Printf("  %-24s %s\n", "", r.delivery)
		}
	}
	return runs, nil
}

// gatewayProcess is a running hookgate binary.
type gatewayProcess struct {
	cmd  *exec.Cmd
	log  *os.File
	done chan error
}

// start runs the binary with the suite's Caddyfile on a store in dir, and
// waits until it answers.
func (s *suite) start(ctx context.Context, dir string) (*gatewayProcess, error) {
	log, err := os.Create(filepath.Join(dir, "hookgate.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(s.binary, "run", "--config", s.config, "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(),
		"HOOKGATE_BENCH_STORAGE="+filepath.Join(dir, "store"),
		"HOOKGATE_BENCH_SYNC="+s.sync,
		fmt.Sprintf("HOOKGATE_BENCH_MAX_IN_FLIGHT=%d", s.maxInFlight),
		fmt.Sprintf("HOOKGATE_BENCH_PORT=%d", s.port),
		fmt.Sprintf("HOOKGATE_BENCH_ADMIN=%d", s.admin),
		fmt.Sprintf("HOOKGATE_BENCH_RECEIVER=%d", s.recvr))
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		_ = log.Close()
		return nil, fmt.Errorf("starting %s: %w", s.binary, err)
	}
	gw := &gatewayProcess{cmd: cmd, log: log, done: make(chan error, 1)}
	go func() { gw.done <- cmd.Wait() }()

	stats := fmt.Sprintf("http://127.0.0.1:%d/hookgate/stats", s.admin)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(stats)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return gw, nil
			}
		}
		select {
		case err := <-gw.done:
			_ = log.Close()
			return nil, fmt.Errorf("hookgate exited (%v); its log: %s", err, log.Name())
		case <-ctx.Done():
			gw.stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			gw.stop()
			return nil, errors.New("hookgate did not answer within 30s; its log: " + log.Name())
		}
	}
}

// stop interrupts the gateway, as Ctrl-C does, and waits for it to exit.
func (gw *gatewayProcess) stop() {
	_ = gw.cmd.Process.Signal(os.Interrupt)
	select {
	case <-gw.done:
	case <-time.After(30 * time.Second):
		_ = gw.cmd.Process.Kill()
		<-gw.done
	}
	_ = gw.log.Close()
}

// summarize prints the medians of the rounds with their ranges, and the
// ratios of each target to the baseline of its round.
func (s *suite) summarize(w io.Writer, all [][]roundRun) {
	by := map[string][]roundRun{}
	for _, runs := range all {
		for _, r := range runs {
			by[r.kind] = append(by[r.kind], r)
		}
	}
	pick := func(kind, verb string, f func(roundRun) float64) string {
		var xs []float64
		for _, r := range by[kind] {
			xs = append(xs, f(r))
		}
		return spreadOf(xs).format(verb)
	}
	ratio := func(kind, base string, f func(roundRun) float64) string {
		var xs []float64
		for i, r := range by[kind] {
			xs = append(xs, f(r)/f(by[base][i]))
		}
		return spreadOf(xs).format("%.2f")
	}
	reqs := func(r roundRun) float64 { return r.result.RequestRate() }
	events := func(r roundRun) float64 { return r.result.EventRate() }
	p50 := func(r roundRun) float64 { return msf(r.result.Latency.P50) }
	p99 := func(r roundRun) float64 { return msf(r.result.Latency.P99) }
	failed := func(r roundRun) float64 {
		n := 0
		for _, k := range r.result.Failures {
			n += k
		}
		return float64(n)
	}

	fmt.Fprintf(w, "\n%d rounds, %d connections, %s windows, sync %s, max_in_flight %d; "+
		"median (range)\n", s.rounds, s.conns, s.duration, s.sync, s.maxInFlight)
	if s.runs["single"] || s.runs["batch"] {
		fmt.Fprintln(w, "\n| run | requests/s | events/s | p50 ms | p99 ms | failed | "+
			"ratio to respond |")
		fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	}
	for _, k := range []string{kindRespond, kindIngest, kindRespondBatch, kindIngestBatch} {
		if len(by[k]) == 0 {
			continue
		}
		rt := "1"
		switch k {
		case kindIngest:
			rt = ratio(k, kindRespond, reqs)
		case kindIngestBatch:
			rt = ratio(k, kindRespondBatch, events)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", k, pick(k, "%.0f", reqs),
			pick(k, "%.0f", events), pick(k, "%.1f", p50), pick(k, "%.1f", p99),
			pick(k, "%.0f", failed), rt)
	}
	if !s.runs["e2e"] {
		return
	}

	dRate := func(r roundRun) float64 { return r.delivery.Rate }
	dP50 := func(r roundRun) float64 { return msf(r.delivery.Latency.P50) }
	dP99 := func(r roundRun) float64 { return msf(r.delivery.Latency.P99) }
	drain := func(r roundRun) float64 { return r.delivery.DrainRate }
	lost := func(r roundRun) float64 {
		want := r.result.Matched
		if r.kind == kindDirect {
			want = r.result.OK
		}
		return float64(want - r.delivery.Tracked)
	}
	fmt.Fprintln(w, "\n| run | events sent/s | ingest p99 ms | deliveries/s in window | "+
		"drained after, /s | event to receiver p50 ms | p99 ms | not arrived |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	kinds := []string{kindDirect}
	for _, rate := range s.rates {
		kinds = append(kinds, kindE2E(rate))
	}
	for _, k := range append(kinds, kindE2EMax) {
		dr := "-"
		if k == kindE2EMax {
			dr = pick(k, "%.0f", drain)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", k,
			pick(k, "%.0f", events), pick(k, "%.1f", p99), pick(k, "%.0f", dRate), dr,
			pick(k, "%.1f", dP50), pick(k, "%.1f", dP99), pick(k, "%.0f", lost))
	}
}

// msf is a duration in milliseconds.
func msf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
