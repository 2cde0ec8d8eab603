package gateway

import (
	"sync"
	"time"

	"github.com/hookgate/hookgate/event"
	"github.com/hookgate/hookgate/hook"
)

// DefaultRecentEvents is how many received events per account the gateway
// keeps for dry runs when the configuration does not say.
const DefaultRecentEvents = 1000

// recentEvents keeps the latest events received, per account and overall, so
// that a rule can be tried on real traffic before it is saved.
type recentEvents struct {
	mu    sync.Mutex
	size  int
	all   ring
	rings map[string]*ring
}

// ring is a fixed-size buffer of events, overwritten oldest first.
type ring struct {
	buf  []received
	next int
}

// received is an event and when it arrived.
type received struct {
	event *event.Event
	at    time.Time
}

func (r *ring) add(e received, size int) {
	if len(r.buf) < size {
		r.buf = append(r.buf, e)
		return
	}
	r.buf[r.next] = e
	r.next = (r.next + 1) % size
}

// newest returns up to n events, newest first.
func (r *ring) newest(n int) []received {
	n = min(n, len(r.buf))
	out := make([]received, n)
	for i := range n {
		// The newest is just before next, wrapping around.
		out[i] = r.buf[(r.next-1-i+2*len(r.buf))%len(r.buf)]
	}
	return out
}

// resize sets how many events per account are kept, dropping what is kept
// when it changes.
func (r *recentEvents) resize(size int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if size != r.size {
		r.size, r.all, r.rings = size, ring{}, nil
	}
}

func (r *recentEvents) add(events []*event.Event, at time.Time) {
	if r.size <= 0 || len(events) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rings == nil {
		r.rings = make(map[string]*ring)
	}
	for _, e := range events {
		rc := received{event: e, at: at}
		r.all.add(rc, r.size)
		acct := r.rings[e.Account]
		if acct == nil {
			acct = &ring{}
			r.rings[e.Account] = acct
		}
		acct.add(rc, r.size)
	}
}

// list returns up to n recent events the caller sees, newest first.
func (r *recentEvents) list(c Caller, n int) []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c.Account == "" {
		return r.all.newest(n)
	}
	if acct := r.rings[c.Account]; acct != nil {
		return acct.newest(n)
	}
	return nil
}

// Tried is the outcome of one recent event in a dry run over recent traffic.
type Tried struct {
	EventID    string    `json:"event_id"`
	EventType  string    `json:"event_type"`
	Domain     string    `json:"domain,omitempty"`
	ReceivedAt time.Time `json:"received_at"`
	Matched    bool      `json:"matched"`
}

// TryRecent evaluates a hook against up to n of the most recent events the
// caller sees, newest first, as if they arrived now. Nothing is delivered.
func (g *Gateway) TryRecent(c Caller, h *hook.Compiled, n int) ([]Tried, error) {
	events := g.recent.list(c, n)
	out := make([]Tried, 0, len(events))
	for _, rc := range events {
		dr, err := hook.Evaluate(h, rc.event, false)
		if err != nil {
			return nil, err
		}
		out = append(out, Tried{
			EventID: rc.event.ID, EventType: rc.event.Type, Domain: rc.event.Domain,
			ReceivedAt: rc.at, Matched: dr.Matched,
		})
	}
	return out, nil
}

// Draft compiles a hook document only to evaluate it: the url may be absent.
// An account's draft is of its own account.
func Draft(c Caller, doc []byte) (*hook.Compiled, error) {
	h, err := hook.ParseDraft(doc)
	if err != nil {
		return nil, err
	}
	if err := c.own(h); err != nil {
		return nil, err
	}
	return hook.Compile(h, 0)
}
