package queue

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/skl"
	"go.uber.org/zap"
)

// All writes go through one committer goroutine. It takes whatever operations
// are waiting, applies them one after another to a single Badger transaction,
// commits it once (one sync under SyncAlways) and only then acknowledges each of
// them. Being the only writer, it can decide dedupe, versions and state changes
// by reading its own transaction, with no conflicts to retry.

// op is one write submitted to the committer.
type op interface {
	// estimate is a rough upper bound of the bytes the op writes.
	estimate() int64
	// apply reads through b and stages the op's writes with b.write. It returns
	// errNoRoom, having written nothing, when the writes do not fit next to what
	// the batch already holds; any other error also means nothing was written.
	apply(b *batch) error
	// done reports the outcome once the batch is durable or has failed.
	done(err error)
	// bind sets where done reports to.
	bind(ch chan<- error)
}

// errNoRoom asks the committer to commit the batch and retry the op alone.
var errNoRoom = errors.New("no room left in the transaction")

// batch is one transaction being filled by the committer.
type batch struct {
	s       *Store
	txn     *badger.Txn
	now     time.Time
	size    int64 // as Badger counts it
	data    int64 // keys and values in memory
	count   int64
	effects []func()
	later   []mutation
	notify  bool

	// Overlays of in-memory state changed by ops staged in this batch.
	parks    map[string]*parkRecord
	unparked map[string]bool
	failures map[string]int
}

func (s *Store) newBatch() *batch {
	return &batch{
		s:    s,
		txn:  s.db.NewTransaction(true),
		now:  s.now(),
		size: 64, // Badger's own commit marker.
	}
}

// mutation is one staged write: a set, with an optional Badger expiry, or a
// delete.
type mutation struct {
	key       []byte
	value     []byte
	expiresAt uint64
	delete    bool
}

func set(key, value []byte, expiresAt uint64) mutation {
	return mutation{key: key, value: value, expiresAt: expiresAt}
}

func del(key []byte) mutation { return mutation{key: key, delete: true} }

// size mirrors Badger's accounting in Txn.checkSize.
func (m mutation) size() int64 { return entrySize(len(m.key), len(m.value)) }

// entrySize is what Badger counts of an entry against a transaction's limit:
// a value stored in the value log counts as its 12-byte pointer.
func entrySize(key, value int) int64 {
	if value >= valueThreshold {
		value = 12
	}
	return int64(key+value) + 2 + 10
}

// maxGroupData bounds the bytes of keys and values one group commit holds in
// memory, whatever Badger counts.
const maxGroupData = 64 << 20

// write stages mutations as one unit: all of them or none.
func (b *batch) write(ms ...mutation) error {
	var size, data int64
	for _, m := range ms {
		size += m.size()
		data += int64(len(m.key) + len(m.value))
	}
	if b.size+size > b.s.maxTxnBytes || b.count+int64(len(ms)) > b.s.maxTxnCount ||
		b.data+data > maxGroupData {
		if b.count == 0 {
			return fmt.Errorf("writing %d bytes: %w", data, ErrTxnTooBig)
		}
		return errNoRoom
	}
	for i, m := range ms {
		var err error
		if m.delete {
			err = b.txn.Delete(m.key)
		} else {
			e := badger.NewEntry(m.key, m.value)
			e.ExpiresAt = m.expiresAt
			err = b.txn.SetEntry(e)
		}
		if err != nil {
			if i > 0 {
				// Badger refused a write after accepting others; the batch can
				// no longer be trusted.
				return &brokenBatchError{err: err}
			}
			return fmt.Errorf("staging write: %w", err)
		}
	}
	b.size += size
	b.data += data
	b.count += int64(len(ms))
	return nil
}

// writeLater stages entries that may spill into follow-up transactions: expiry
// rewrites of older attempts too many to share a transaction with their move.
func (b *batch) writeLater(ms ...mutation) {
	b.later = append(b.later, ms...)
}

// after registers a change of the in-memory index, made once the batch is durable.
func (b *batch) after(fn func()) { b.effects = append(b.effects, fn) }

// get reads a key, treating entries expired by the store's clock as absent.
func (b *batch) get(key []byte) (*badger.Item, error) {
	item, err := b.txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", key, err)
	}
	if b.s.expired(item.ExpiresAt()) {
		return nil, nil
	}
	return item, nil
}

// parkOf returns the hook's park marker as of this batch, nil when not parked.
func (b *batch) parkOf(hook string) *parkRecord {
	if p, ok := b.parks[hook]; ok {
		return p
	}
	if b.unparked[hook] {
		return nil
	}
	return b.s.hookPark(hook)
}

func (b *batch) setPark(hook string, p *parkRecord) {
	if b.parks == nil {
		b.parks = map[string]*parkRecord{}
		b.unparked = map[string]bool{}
	}
	if p == nil {
		delete(b.parks, hook)
		b.unparked[hook] = true
		return
	}
	b.parks[hook] = p
	delete(b.unparked, hook)
}

// failuresOf returns the hook's consecutive failures as of this batch.
func (b *batch) failuresOf(hook string) int {
	if n, ok := b.failures[hook]; ok {
		return n
	}
	return b.s.hookFailures(hook)
}

func (b *batch) setFailures(hook string, n int) {
	if b.failures == nil {
		b.failures = map[string]int{}
	}
	b.failures[hook] = n
}

type brokenBatchError struct{ err error }

func (e *brokenBatchError) Error() string { return "staging write: " + e.err.Error() }
func (e *brokenBatchError) Unwrap() error { return e.err }

// group is the committer's state between two commits.
type group struct {
	s   *Store
	b   *batch
	ops []op
}

func (s *Store) commitLoop() {
	defer close(s.committerDone)
	g := &group{s: s}
	for o := range s.ops {
		// The callers of the last group were woken by its acknowledgement and
		// often submit again at once (producers, workers recording their next
		// attempt). Yielding once lets them join this group instead of forming
		// the next one: measured with 32 producers, groups grow from about 17
		// to 26 ops and durable enqueues by 40%. It costs nothing when no one
		// else is runnable.
		runtime.Gosched()
		g.add(o)
	drain:
		for len(g.ops) < s.opt.MaxGroup {
			select {
			case o, ok := <-s.ops:
				if !ok {
					break drain
				}
				g.add(o)
			default:
				break drain
			}
		}
		g.flush()
	}
}

func (g *group) add(o op) {
	if g.b == nil {
		g.b = g.s.newBatch()
	}
	if len(g.ops) > 0 && g.b.size+o.estimate() > g.s.maxTxnBytes {
		g.flush()
		g.b = g.s.newBatch()
	}
	err := o.apply(g.b)
	if errors.Is(err, errNoRoom) {
		g.flush()
		g.b = g.s.newBatch()
		err = o.apply(g.b)
		if errors.Is(err, errNoRoom) { // Only possible with an empty batch; be safe.
			err = fmt.Errorf("writing alone: %w", ErrTxnTooBig)
		}
	}
	var broken *brokenBatchError
	switch {
	case err == nil:
		g.ops = append(g.ops, o)
	case errors.As(err, &broken):
		g.s.log.Error("discarding group commit", zap.Error(err), zap.Int("ops", len(g.ops)+1))
		g.b.txn.Discard()
		for _, p := range g.ops {
			p.done(err)
		}
		o.done(err)
		g.ops, g.b = nil, nil
	default:
		o.done(err)
	}
}

// flush commits the batch and acknowledges its ops.
func (g *group) flush() {
	b := g.b
	if b == nil {
		return
	}
	g.b = nil
	ops := g.ops
	g.ops = nil
	if len(ops) == 0 {
		b.txn.Discard()
		return
	}

	g.s.groups.Add(1)
	g.s.grouped.Add(uint64(len(ops)))
	err := b.txn.Commit()
	if err != nil {
		err = g.s.mapErr(fmt.Errorf("committing %d writes: %w", len(ops), err))
		g.s.log.Error("group commit failed", zap.Error(err), zap.Int("ops", len(ops)))
	} else {
		g.s.commitLater(b.later)
		g.s.applyEffects(b)
	}
	for _, o := range ops {
		o.done(err)
	}
}

// commitLater writes entries that could not be atomic with their op, in as many
// transactions as they need. A failure leaves some attempt records with a stale
// expiry, so it is logged, not returned: the delivery itself is safe.
//
// TODO: a crash or a failure here leaves the older attempts of a replayed
// delivery expiring on their old schedule, or those of a finished one never
// expiring. It happens only for deliveries whose attempts do not fit in one
// transaction with their move (hundreds of attempts with large responses).
func (s *Store) commitLater(ms []mutation) {
	for len(ms) > 0 {
		txn := s.db.NewTransaction(true)
		n := 0
		for ; n < len(ms); n++ {
			e := badger.NewEntry(ms[n].key, ms[n].value)
			e.ExpiresAt = ms[n].expiresAt
			if err := txn.SetEntry(e); errors.Is(err, badger.ErrTxnTooBig) && n > 0 {
				break
			} else if err != nil {
				txn.Discard()
				s.log.Error("rewriting record expiry", zap.Error(err))
				return
			}
		}
		if err := txn.Commit(); err != nil {
			s.log.Error("rewriting record expiry", zap.Error(err))
			return
		}
		ms = ms[n:]
	}
}

func (s *Store) applyEffects(b *batch) {
	if len(b.effects) == 0 && !b.notify {
		return
	}
	s.mu.Lock()
	for _, fn := range b.effects {
		fn()
	}
	if b.notify {
		close(s.changed)
		s.changed = make(chan struct{})
	}
	s.mu.Unlock()
}

// submit hands ops to the committer and waits for their outcomes, returning the
// first error. If ctx ends first, submitted ops may still be committed.
func (s *Store) submit(ctx context.Context, ops ...op) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ch := make(chan error, len(ops))
	for _, o := range ops {
		o.bind(ch)
	}

	s.life.RLock()
	if s.closed {
		s.life.RUnlock()
		return ErrClosed
	}
	sent := 0
	var err error
	for _, o := range ops {
		select {
		case s.ops <- o:
			sent++
			continue
		case <-ctx.Done():
			err = ctx.Err()
		}
		break
	}
	s.life.RUnlock()

	for ; sent > 0; sent-- {
		select {
		case e := <-ch:
			if err == nil {
				err = e
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return err
}

// opResult is embedded by ops to deliver their outcome to submit.
type opResult struct{ ch chan<- error }

func (r *opResult) bind(ch chan<- error) { r.ch = ch }
func (r *opResult) done(err error)       { r.ch <- err }

// txnLimits returns the byte and entry bounds of one transaction, kept a little
// under Badger's own (15% of the memtable size).
func txnLimits(opt badger.Options) (bytes, count int64) {
	maxBytes := 15 * opt.MemTableSize / 100
	maxCount := maxBytes / int64(skl.MaxNodeSize)
	return maxBytes * 9 / 10, maxCount * 9 / 10
}
