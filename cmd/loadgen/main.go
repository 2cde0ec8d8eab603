// Command loadgen measures hookgate end to end: how fast its ingest route
// takes events beside a plain Caddy respond route, and how long an event
// takes from its POST to a receiver.
//
//	loadgen post  -url http://127.0.0.1:9480/events -c 64 -d 10s [-batch 100] [-rate R]
//	loadgen e2e   -url http://127.0.0.1:9480/events -rate 2000 -d 10s
//	loadgen suite -hookgate /tmp/hookgate -rounds 5
//
// post sends events over -c keep-alive connections, closed loop (each
// connection sends its next request when the last is answered) or paced at
// -rate requests per second, and reports requests/s, events/s and latency
// percentiles of the requests started in the measured window (-d, or -n
// requests, after -warmup). Every event id is unique to the run, so dedupe
// never short-cuts the work.
//
// e2e does the same with events the bench hook matches, each stamped with
// its send time in metadata.sent_unix_nano, and runs the receiver the hook
// delivers to (-receiver, answering 204). It reports the event-to-receiver
// latency of the events sent in the window and the deliveries per second
// that arrived in it. Without -url it posts to the receiver itself: the
// latency of one plain HTTP hop, the baseline.
//
// suite runs the hookgate binary with testdata/Caddyfile on 127.0.0.1, a
// fresh store per round, and interleaves baseline and target in every
// round: respond and ingest, single events and batches, then the end-to-end
// runs. It prints each run and a summary: medians with their ranges, and
// ratios to the baseline of the same round.
//
// With -cpuprofile FILE, post and e2e also save a CPU profile of the
// gateway taken over the measured window from its admin endpoint (-admin).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var err error
	switch os.Args[1] {
	case "post":
		err = runPost(ctx, os.Args[2:])
	case "e2e":
		err = runE2E(ctx, os.Args[2:])
	case "suite":
		err = runSuite(ctx, os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: loadgen post|e2e|suite [flags]; -h after one for its flags")
	os.Exit(2)
}

// loadFlags registers the flags of a Load on fs.
func loadFlags(fs *flag.FlagSet, l *Load) {
	fs.StringVar(&l.URL, "url", "", "URL to POST events to")
	fs.IntVar(&l.Conns, "c", 64, "connections")
	fs.DurationVar(&l.Duration, "d", 10*time.Second, "measured window")
	fs.IntVar(&l.Requests, "n", 0, "end the window after this many requests (0: -d only)")
	fs.DurationVar(&l.Warmup, "warmup", 2*time.Second, "load sent before the window")
	fs.IntVar(&l.Batch, "batch", 1, "events per request")
	fs.Float64Var(&l.Rate, "rate", 0, "requests per second (0: closed loop)")
	fs.BoolVar(&l.Match, "match", false, "send events the bench hook matches")
	fs.DurationVar(&l.Timeout, "timeout", 30*time.Second, "timeout of one request")
}

func runPost(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("post", flag.ExitOnError)
	var l Load
	loadFlags(fs, &l)
	profile := profileFlags(fs)
	_ = fs.Parse(args)
	if err := checkURL(l.URL); err != nil {
		return err
	}

	done := profile.start(ctx, l)
	res, err := l.Run(ctx)
	if err != nil {
		return err
	}
	fmt.Println(res)
	return done()
}

func runE2E(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("e2e", flag.ExitOnError)
	var l Load
	loadFlags(fs, &l)
	addr := fs.String("receiver", "127.0.0.1:9482", "address the receiver listens on")
	quiet := fs.Duration("quiet", 15*time.Second,
		"give up waiting for deliveries after this long without one")
	trace := fs.String("trace", "", "write each tracked event's send time and latency here")
	profile := profileFlags(fs)
	_ = fs.Parse(args)
	l.Match = true

	rc, err := Listen(*addr)
	if err != nil {
		return err
	}
	defer rc.Close()
	if l.URL == "" {
		l.URL = rc.URL()
	} else if err := checkURL(l.URL); err != nil {
		return err
	}

	done := profile.start(ctx, l)
	res, d, err := endToEnd(ctx, l, rc, *quiet)
	if err != nil {
		return err
	}
	fmt.Println("ingest:  ", res)
	fmt.Println("delivery:", d)
	if *trace != "" {
		if err := writeTrace(rc, *trace, res.Start); err != nil {
			return err
		}
	}
	return done()
}

// endToEnd sends l, waits for the deliveries of the window's events and
// measures them. Posting to the receiver itself, each request is the
// delivery.
func endToEnd(ctx context.Context, l Load, rc *Receiver, quiet time.Duration) (*Result,
	*Delivery, error) {
	if l.Batch != 1 || !l.Match {
		return nil, nil, errors.New("e2e sends single events that match")
	}
	rc.Reset()
	res, err := l.Run(ctx)
	if err != nil {
		return nil, nil, err
	}
	want := res.Matched
	if l.URL == rc.URL() {
		want = res.OK
	}
	err = rc.Await(ctx, want, quiet)
	d := rc.Measure(res.Start, res.End)
	if errors.Is(err, errQuiet) {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		err = nil
	}
	return res, d, err
}

// writeTrace writes the receiver's trace to file.
func writeTrace(rc *Receiver, file string, start time.Time) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if err := rc.WriteTrace(f, start); err != nil {
		_ = f.Close()
		return fmt.Errorf("writing trace: %w", err)
	}
	return f.Close()
}

// checkURL checks the URL to load.
func checkURL(raw string) error {
	if raw == "" {
		return errors.New("-url is required")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("-url %q: want an absolute http url", raw)
	}
	return nil
}

// profiler takes a CPU profile of the gateway over a run's window.
type profiler struct {
	file  *string
	admin *string
}

func profileFlags(fs *flag.FlagSet) profiler {
	return profiler{
		file: fs.String("cpuprofile", "", "save a CPU profile of the gateway over the window"),
		admin: fs.String("admin", "127.0.0.1:9481",
			"the gateway's admin endpoint, for -cpuprofile"),
	}
}

// start begins the profile when the window begins. done waits for it and
// saves it.
func (p profiler) start(ctx context.Context, l Load) (done func() error) {
	if *p.file == "" || l.Duration <= 0 {
		return func() error { return nil }
	}
	errc := make(chan error, 1)
	go func() {
		select {
		case <-time.After(l.Warmup):
		case <-ctx.Done():
			errc <- ctx.Err()
			return
		}
		secs := max(int(l.Duration.Seconds()), 1)
		errc <- fetch(ctx, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", *p.admin,
			secs), *p.file)
	}()
	return func() error { return <-errc }
}

// fetch saves the body of a GET to file.
func fetch(ctx context.Context, from, file string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, from, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("fetching profile: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetching profile: status %d", resp.StatusCode)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close()
		return fmt.Errorf("saving profile: %w", err)
	}
	return f.Close()
}
