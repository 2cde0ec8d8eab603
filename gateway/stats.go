package gateway

import (
	"sync"
	"sync/atomic"

	"github.com/hookgate/hookgate/dispatch"
	"github.com/hookgate/hookgate/queue"
)

// Stats are the gateway's counts for one caller. The counters run from the
// start of the process; Parked and QueueDepth are read from the store.
type Stats struct {
	// Received counts valid events, duplicates included.
	Received uint64 `json:"received"`
	// Duplicates counts events whose id was seen within the dedupe window.
	Duplicates uint64 `json:"duplicates"`
	// Rejected counts invalid items of ingest requests.
	Rejected uint64 `json:"rejected"`
	// Matched counts the deliveries created.
	Matched uint64 `json:"matched"`
	// FilteredOut counts new events that matched no hook.
	FilteredOut uint64 `json:"filtered_out"`
	// Delivered and Failed count deliveries that ended so.
	Delivered uint64 `json:"delivered"`
	Failed    uint64 `json:"failed"`
	// Parked counts deliveries waiting for their disabled hook.
	Parked int `json:"parked"`
	// QueueDepth counts deliveries waiting to be delivered, in flight
	// included.
	QueueDepth int `json:"queue_depth"`
}

// counters are one account's running counts.
type counters struct {
	received, duplicates, rejected, matched, filteredOut, delivered, failed atomic.Uint64
}

// tally holds the counters of every account seen, the operator's ("") too.
type tally struct {
	mu       sync.RWMutex
	accounts map[string]*counters
}

func (t *tally) of(account string) *counters {
	t.mu.RLock()
	c := t.accounts[account]
	t.mu.RUnlock()
	if c != nil {
		return c
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.accounts == nil {
		t.accounts = make(map[string]*counters)
	}
	if c = t.accounts[account]; c == nil {
		c = new(counters)
		t.accounts[account] = c
	}
	return c
}

// sum adds up the counters the caller sees.
func (t *tally) sum(c Caller) Stats {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var s Stats
	for account, n := range t.accounts {
		if !c.sees(account) {
			continue
		}
		s.Received += n.received.Load()
		s.Duplicates += n.duplicates.Load()
		s.Rejected += n.rejected.Load()
		s.Matched += n.matched.Load()
		s.FilteredOut += n.filteredOut.Load()
		s.Delivered += n.delivered.Load()
		s.Failed += n.failed.Load()
	}
	return s
}

// countAttempt counts a delivery that ended with an attempt. Deliveries count
// toward the account of their hook.
func (t *tally) countAttempt(a dispatch.AttemptResult) {
	switch a.Outcome {
	case queue.Delivered:
		t.of(a.Account).delivered.Add(1)
	case queue.Failed:
		t.of(a.Account).failed.Add(1)
	}
}

// CountRejected counts invalid items an ingest route of account refused.
func (g *Gateway) CountRejected(account string, n int) {
	if n > 0 {
		g.tally.of(account).rejected.Add(uint64(n))
	}
}

// Stats returns the counts the caller sees: its account's, or every
// account's for the operator.
func (g *Gateway) Stats(c Caller) (Stats, error) {
	s := g.tally.sum(c)
	if c.Account == "" {
		qs, err := g.store.Stats()
		if err != nil {
			return s, err
		}
		s.Parked, s.QueueDepth = qs.Parked, qs.Pending
		return s, nil
	}
	for _, h := range g.HooksOf(c) {
		st, err := g.store.HookState(h.ID)
		if err != nil {
			return s, err
		}
		s.Parked += st.Parked
		s.QueueDepth += st.Pending
	}
	return s, nil
}
