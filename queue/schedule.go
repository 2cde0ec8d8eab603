package queue

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"sync"

	badger "github.com/dgraph-io/badger/v4"
	"go.uber.org/zap"
)

// The schedule is kept per hook, so a slow or dead endpoint holds up only its
// own deliveries. Durable state is the q/ keys; in memory each hook keeps:
//
//   - low and lowID, a lower bound of its first schedule key (due time, then
//     id) not under a live lease, as of the last Lease and lowered by every
//     addition since. Lease seeks there, or to an expired lease's key if that
//     comes first, instead of the start of the hook's keys: after many
//     dequeues that would mean walking thousands of tombstones, and so would
//     seeking to a lease held for long by a slow request. The id matters when
//     many deliveries share a due time, as those of one ingest batch or of a
//     released backlog do.
//   - free, the due time of its first delivery not under lease (as of the last
//     Lease, lowered by every addition since), and next, the earlier of free and
//     the first lease deadline: when Lease may find work. A heap orders hooks by
//     next.
//   - its leases, which live only in memory: after a restart every delivery
//     still on the schedule is due again.

// hookEntry is the in-memory state of one hook id. Fields other than the
// mutexes are guarded by Store.mu and written only by the committer and Lease.
type hookEntry struct {
	id       string
	low      int64
	lowID    rawID
	free     int64
	next     int64
	epoch    uint64 // bumped whenever work is added, see Lease
	pending  int
	parked   int
	leases   map[rawID]leaseEntry
	heapIdx  int
	park     *parkRecord
	failures int

	leaseMu sync.Mutex // one Lease scan per hook at a time
	adminMu sync.Mutex // one park, release, discard or delete per hook at a time
}

type leaseEntry struct {
	token    uint64
	deadline int64
	due      int64
}

// refresh recomputes next from free and the lease deadlines and repositions the
// hook in the heap.
func (s *Store) refresh(h *hookEntry) {
	n := h.free
	for _, l := range h.leases {
		n = min(n, l.deadline)
	}
	h.next = n
	s.due.update(h)
}

// available records that a delivery of h is on the schedule, free, from due.
func (s *Store) available(h *hookEntry, due int64) {
	if due <= h.low {
		h.low, h.lowID = due, rawID{}
	}
	h.free = min(h.free, due)
	h.epoch++
	s.refresh(h)
}

// scheduled records that a delivery of h was put on the schedule at due.
func (s *Store) scheduled(h *hookEntry, due int64) {
	h.pending++
	s.available(h, due)
}

// unscheduled records that a delivery left the schedule. Its lease, if any,
// stays until its attempt is recorded or abandoned: a delivery parked while in
// flight and released at once must not be leased again while its request runs.
func (s *Store) unscheduled(h *hookEntry) {
	h.pending--
	if h.pending == 0 {
		h.low, h.lowID, h.free = math.MaxInt64, rawID{}, math.MaxInt64
	}
	s.refresh(h)
}

// unleased drops a lease if it is still the current one for the delivery.
func (s *Store) unleased(h *hookEntry, id rawID, token uint64) (leaseEntry, bool) {
	e, ok := h.leases[id]
	if !ok || e.token != token {
		return e, false
	}
	delete(h.leases, id)
	s.refresh(h)
	return e, true
}

// Ready reports the hooks with deliveries due now, earliest first, when the next
// one becomes due, and a channel closed when work is added. A dispatcher loop:
// call Ready, lease from its hooks, then wait for Changed, a timer at Next, or a
// free worker.
func (s *Store) Ready() Readiness {
	now := s.now().UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()

	r := Readiness{Changed: s.changed}
	next := int64(math.MaxInt64)
	var ready []*hookEntry
	stack := []int{0}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if i >= len(s.due) {
			continue
		}
		h := s.due[i]
		if h.next > now {
			next = min(next, h.next) // Its subtree is due no sooner.
			continue
		}
		ready = append(ready, h)
		stack = append(stack, 2*i+1, 2*i+2)
	}
	sort.Slice(ready, func(a, b int) bool { return ready[a].next < ready[b].next })
	for _, h := range ready {
		r.Hooks = append(r.Hooks, h.id)
	}
	if next != math.MaxInt64 {
		r.Next = fromUnixNano(next)
	}
	return r
}

// Lease hands out up to n due deliveries of the hook, earliest due first, each
// until now plus the lease timeout. Leased deliveries stay on the durable
// schedule until Record, so a crash makes them due again; Abandon makes one due
// at once. A parked hook has nothing due.
func (s *Store) Lease(ctx context.Context, hookID string, n int) ([]Lease, error) {
	if n <= 0 {
		return nil, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}

	now := s.now()
	nowNs := now.UnixNano()
	s.mu.Lock()
	h := s.hooks[hookID]
	s.mu.Unlock()
	if h == nil {
		return nil, nil
	}
	h.leaseMu.Lock()
	defer h.leaseMu.Unlock()

	s.mu.Lock()
	if h.next > nowNs || h.park != nil {
		s.mu.Unlock()
		return nil, nil
	}
	low, lowID, epoch := h.low, h.lowID, h.epoch
	leased := make(map[rawID]int64, len(h.leases))
	for id, l := range h.leases {
		leased[id] = l.deadline
		if l.deadline <= nowNs && keyBefore(l.due, id, low, lowID) {
			low, lowID = l.due, id // The expired lease's delivery is due again.
		}
	}
	s.mu.Unlock()

	sc, err := s.scanDue(hookID, low, lowID, nowNs, n, leased)
	if err != nil {
		return nil, s.mapErr(fmt.Errorf("leasing from hook %s: %w", hookID, err))
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if h.park != nil {
		return nil, nil
	}
	if h.leases == nil {
		h.leases = map[rawID]leaseEntry{}
	}
	deadline := now.Add(s.opt.LeaseTimeout)
	out := make([]Lease, 0, len(sc.due))
	for _, c := range sc.due {
		tok := s.tokens.Add(1)
		h.leases[c.id] = leaseEntry{token: tok, deadline: deadline.UnixNano(), due: c.dueAt}
		out = append(out, Lease{Delivery: c.delivery, Token: tok, Deadline: deadline})
		sc.seen[c.id] = true
	}
	if sc.complete {
		for id, l := range h.leases {
			if !sc.seen[id] && !keyBefore(l.due, id, low, lowID) {
				delete(h.leases, id) // Its delivery left the schedule.
			}
		}
	}
	if h.epoch == epoch {
		h.low, h.lowID, h.free = sc.nextFree, sc.nextFreeID, sc.nextFree
	} else {
		// Work was added during the scan; keep the committer's lower bounds.
		h.free = min(h.free, sc.nextFree)
	}
	s.refresh(h)
	return out, nil
}

type dueCandidate struct {
	id       rawID
	dueAt    int64
	delivery Delivery
}

type dueScan struct {
	due        []dueCandidate
	nextFree   int64 // due time of the first delivery left unleased
	nextFreeID rawID // and its id
	complete   bool  // the scan passed every delivery due by now
	seen       map[rawID]bool
}

// keyBefore reports whether schedule key (due, id) sorts before (due2, id2).
func keyBefore(due int64, id rawID, due2 int64, id2 rawID) bool {
	return due < due2 || due == due2 && bytes.Compare(id[:], id2[:]) < 0
}

// scanDue reads a hook's schedule from the key (low, lowID) and picks up to n
// deliveries that are due and not under a live lease.
func (s *Store) scanDue(hook string, low int64, lowID rawID, now int64, n int,
	leased map[rawID]int64) (dueScan, error) {
	sc := dueScan{nextFree: math.MaxInt64, seen: map[rawID]bool{}}
	txn := s.db.NewTransaction(false)
	defer txn.Discard()

	prefix := schedulePrefix(hook)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	sc.complete = true
	start := joinKey(prefix, be64(uint64(max(low, 0))), lowID[:])
	for it.Seek(start); it.ValidForPrefix(prefix); it.Next() {
		k := it.Item().Key()[len(prefix):]
		if len(k) != 8+idLen {
			it.Close()
			return sc, fmt.Errorf("malformed schedule key %q", it.Item().Key())
		}
		due := int64(binary.BigEndian.Uint64(k))
		var id rawID
		copy(id[:], k[8:])
		if due > now {
			sc.nextFree, sc.nextFreeID = due, id
			break
		}
		if deadline, ok := leased[id]; ok && deadline > now {
			sc.seen[id] = true
			continue
		}
		if len(sc.due) == n {
			sc.nextFree, sc.nextFreeID = due, id
			sc.complete = false
			break
		}
		sc.due = append(sc.due, dueCandidate{id: id, dueAt: due})
	}
	it.Close()

	kept := sc.due[:0]
	for _, c := range sc.due {
		d, _, err := readDelivery(txn, c.id)
		if err != nil {
			return sc, err
		}
		if d.Status != StatusPending {
			s.log.Error("scheduled delivery is not pending",
				zap.String("delivery_id", d.ID), zap.Stringer("status", d.Status))
			continue
		}
		c.delivery = d
		kept = append(kept, c)
	}
	sc.due = kept
	return sc, nil
}

// readDelivery reads a delivery record and its expiry.
func readDelivery(txn *badger.Txn, id rawID) (Delivery, uint64, error) {
	item, err := txn.Get(deliveryKey(id))
	if err != nil {
		if err == badger.ErrKeyNotFound {
			return Delivery{}, 0, fmt.Errorf("delivery %s: %w", formatID(id), ErrNotFound)
		}
		return Delivery{}, 0, fmt.Errorf("reading delivery %s: %w", formatID(id), err)
	}
	var d Delivery
	err = item.Value(func(v []byte) error {
		var err error
		d, err = decodeDelivery(id, v)
		return err
	})
	if err != nil {
		return Delivery{}, 0, err
	}
	d.ExpiresAt = expiryTime(item.ExpiresAt())
	return d, item.ExpiresAt(), nil
}

// Abandon gives a lease back without recording an attempt, e.g. when the
// dispatcher shuts down before sending; the delivery is due again at once.
// A lease that was already recorded or replaced is ignored.
func (s *Store) Abandon(l Lease) {
	id, err := parseID(l.Delivery.ID)
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.hooks[l.Delivery.HookID]
	if h == nil {
		return
	}
	e, ok := s.unleased(h, id, l.Token)
	if !ok {
		return
	}
	s.available(h, e.due)
	close(s.changed)
	s.changed = make(chan struct{})
}

// dueHeap orders hooks by next; hooks with nothing scheduled are not in it.
type dueHeap []*hookEntry

func (q *dueHeap) update(h *hookEntry) {
	switch {
	case h.next == math.MaxInt64 && h.heapIdx >= 0:
		q.remove(h.heapIdx)
	case h.next == math.MaxInt64:
	case h.heapIdx < 0:
		h.heapIdx = len(*q)
		*q = append(*q, h)
		q.up(h.heapIdx)
	default:
		if !q.down(h.heapIdx) {
			q.up(h.heapIdx)
		}
	}
}

func (q dueHeap) less(i, j int) bool { return q[i].next < q[j].next }

func (q dueHeap) swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].heapIdx = i
	q[j].heapIdx = j
}

func (q dueHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !q.less(i, p) {
			return
		}
		q.swap(i, p)
		i = p
	}
}

// down sifts i down and reports whether it moved.
func (q dueHeap) down(i int) bool {
	start := i
	for {
		c := 2*i + 1
		if c >= len(q) {
			break
		}
		if r := c + 1; r < len(q) && q.less(r, c) {
			c = r
		}
		if !q.less(c, i) {
			break
		}
		q.swap(i, c)
		i = c
	}
	return i > start
}

func (q *dueHeap) remove(i int) {
	old := *q
	last := len(old) - 1
	old[i].heapIdx = -1
	if i != last {
		old[i] = old[last]
		old[i].heapIdx = i
	}
	old[last] = nil
	*q = old[:last]
	if i != last {
		if !q.down(i) {
			q.up(i)
		}
	}
}
