package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// Receiver is a webhook endpoint on loopback that answers 204 and notes, for
// each event delivered, when loadgen sent it (the stamp in its metadata) and
// when it arrived. A delivery that arrives twice (a retry) counts once.
type Receiver struct {
	srv *http.Server
	ln  net.Listener

	mu         sync.Mutex
	arrivals   []arrival
	seen       map[string]struct{}
	duplicates int
	unreadable int
	changed    chan struct{} // closed and replaced at each arrival
}

// arrival is one delivery received.
type arrival struct {
	sent, at time.Time
	tracked  bool
}

// deliveredEvent is what the receiver reads of a delivered event.
type deliveredEvent struct {
	ID       string `json:"id"`
	Metadata struct {
		SentUnixNano int64 `json:"sent_unix_nano"`
		Tracked      bool  `json:"tracked"`
	} `json:"metadata"`
}

// Listen starts a receiver on addr, a host:port on loopback.
func Listen(addr string) (*Receiver, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("receiver address: %w", err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("receiver address %s: want a loopback ip", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("receiver: %w", err)
	}
	rc := &Receiver{ln: ln, seen: map[string]struct{}{}, changed: make(chan struct{})}
	rc.srv = &http.Server{Handler: rc, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = rc.srv.Serve(ln) }()
	return rc, nil
}

// URL is the receiver's address.
func (rc *Receiver) URL() string { return "http://" + rc.ln.Addr().String() + "/hook" }

// Close stops the receiver.
func (rc *Receiver) Close() error { return rc.srv.Close() }

// ServeHTTP notes a delivery and answers 204.
func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	at := time.Now()
	var ev deliveredEvent
	if err == nil {
		err = json.Unmarshal(body, &ev)
	}
	key := r.Header.Get("X-MailOdds-Delivery")
	if key == "" {
		key = ev.ID
	}

	rc.mu.Lock()
	switch _, dup := rc.seen[key]; {
	case err != nil || ev.Metadata.SentUnixNano == 0:
		rc.unreadable++
	case dup:
		rc.duplicates++
	default:
		rc.seen[key] = struct{}{}
		rc.arrivals = append(rc.arrivals, arrival{
			sent: time.Unix(0, ev.Metadata.SentUnixNano), at: at, tracked: ev.Metadata.Tracked,
		})
		close(rc.changed)
		rc.changed = make(chan struct{})
	}
	rc.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// Reset forgets what arrived so far.
func (rc *Receiver) Reset() {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.arrivals = nil
	rc.seen = map[string]struct{}{}
	rc.duplicates, rc.unreadable = 0, 0
}

// errQuiet says that deliveries stopped arriving before all were in.
var errQuiet = errors.New("deliveries stopped arriving")

// Await waits until tracked events have arrived, or none arrived for quiet,
// or ctx ends.
func (rc *Receiver) Await(ctx context.Context, tracked int, quiet time.Duration) error {
	for {
		rc.mu.Lock()
		n := 0
		for _, a := range rc.arrivals {
			if a.tracked {
				n++
			}
		}
		changed := rc.changed
		rc.mu.Unlock()
		if n >= tracked {
			return nil
		}
		select {
		case <-changed:
		case <-time.After(quiet):
			return fmt.Errorf("%d of %d tracked events arrived: %w", n, tracked, errQuiet)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// WriteTrace writes one line per arrival of a tracked event: when it was sent,
// in milliseconds from start, and its latency in milliseconds.
func (rc *Receiver) WriteTrace(w io.Writer, start time.Time) error {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if _, err := fmt.Fprintln(w, "sent_ms latency_ms"); err != nil {
		return err
	}
	for _, a := range rc.arrivals {
		if !a.tracked {
			continue
		}
		_, err := fmt.Fprintf(w, "%.3f %.3f\n", msf(a.sent.Sub(start)), msf(a.at.Sub(a.sent)))
		if err != nil {
			return err
		}
	}
	return nil
}

// Delivery is what the receiver measured of a run.
type Delivery struct {
	// Tracked counts the arrived events sent in the window; Latency is of
	// them, from send to arrival.
	Tracked int
	Latency Percentiles
	// InWindow counts the deliveries that arrived within the window, of any
	// event; Rate is per second of the window.
	InWindow int
	Rate     float64
	// Drained counts the deliveries that arrived after the window, and
	// DrainRate is per second from its end to the last of them.
	Drained   int
	DrainRate float64
	// Duplicates counts deliveries that arrived again; Unreadable, bodies
	// without a loadgen stamp.
	Duplicates, Unreadable int
}

// String is a one-line report.
func (d *Delivery) String() string {
	s := fmt.Sprintf("%d tracked events arrived, event to receiver %s; %.0f deliveries/s "+
		"in the window", d.Tracked, d.Latency, d.Rate)
	if d.Drained > 0 {
		s += fmt.Sprintf(", then %d more at %.0f/s", d.Drained, d.DrainRate)
	}
	if d.Duplicates+d.Unreadable > 0 {
		s += fmt.Sprintf(", %d duplicates, %d unreadable", d.Duplicates, d.Unreadable)
	}
	return s
}

// Measure reports the deliveries against the window [start, end).
func (rc *Receiver) Measure(start, end time.Time) *Delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	d := &Delivery{Duplicates: rc.duplicates, Unreadable: rc.unreadable}
	var lat []time.Duration
	var last time.Time
	for _, a := range rc.arrivals {
		if a.tracked {
			lat = append(lat, a.at.Sub(a.sent))
		}
		switch {
		case a.at.Before(start):
		case a.at.Before(end):
			d.InWindow++
		default:
			d.Drained++
			if a.at.After(last) {
				last = a.at
			}
		}
	}
	d.Tracked = len(lat)
	d.Latency = percentiles(lat)
	d.Rate = float64(d.InWindow) / end.Sub(start).Seconds()
	if d.Drained > 0 {
		d.DrainRate = float64(d.Drained) / last.Sub(end).Seconds()
	}
	return d
}
