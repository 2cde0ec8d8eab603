package queue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	badger "github.com/dgraph-io/badger/v4"
	"go.uber.org/zap"
)

// Store is the Badger-backed queue: hooks, deliveries, their schedule, the audit
// trail of attempts and event dedupe, in one database owned by one process.
// All methods are safe for concurrent use.
type Store struct {
	opt Options
	db  *badger.DB
	log *zap.Logger
	now func() time.Time

	maxTxnBytes int64
	maxTxnCount int64

	// life guards submissions and reads against Close.
	life          sync.RWMutex
	closed        bool
	ops           chan op
	committerDone chan struct{}
	stop          chan struct{}
	background    sync.WaitGroup

	// mu guards the in-memory index: hooks, the due heap, counts and changed.
	mu      sync.Mutex
	hooks   map[string]*hookEntry
	due     dueHeap
	counts  counts
	changed chan struct{}

	tokens atomic.Uint64

	// groups counts group commits and grouped the ops they held, for tests and
	// benchmarks.
	groups, grouped atomic.Uint64
}

// Open opens or creates the store in opt.Dir, rebuilds the in-memory schedule
// and counters with one scan, and finishes any park or release that a crash
// interrupted. Only one Store may have a directory open at a time.
func Open(opt Options) (*Store, error) {
	if err := opt.validate(); err != nil {
		return nil, err
	}
	log := opt.Logger
	if log == nil {
		log = zap.NewNop()
	}
	bopt := opt.badgerOptions()
	db, err := badger.Open(bopt)
	if err != nil {
		return nil, fmt.Errorf("opening badger in %s: %w", opt.Dir, err)
	}
	s := &Store{
		opt:           opt,
		db:            db,
		log:           log,
		now:           opt.Clock,
		ops:           make(chan op, 4*opt.MaxGroup),
		committerDone: make(chan struct{}),
		stop:          make(chan struct{}),
		hooks:         map[string]*hookEntry{},
		changed:       make(chan struct{}),
		counts:        counts{expiring: map[int64]*[2]int{}},
	}
	s.maxTxnBytes, s.maxTxnCount = txnLimits(bopt)

	if err := s.load(); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	go s.commitLoop()
	s.startBackground()
	if err := s.repair(context.Background()); err != nil {
		return nil, errors.Join(err, s.Close())
	}
	return s, nil
}

// Close stops accepting work, commits what was submitted, syncs and closes
// Badger. Later calls return ErrClosed.
func (s *Store) Close() error {
	s.life.Lock()
	if s.closed {
		s.life.Unlock()
		return ErrClosed
	}
	s.closed = true
	close(s.ops)
	s.life.Unlock()

	<-s.committerDone
	close(s.stop)
	s.background.Wait()

	var errs []error
	if err := s.db.Sync(); err != nil {
		errs = append(errs, fmt.Errorf("syncing on close: %w", err))
	}
	if err := s.db.Close(); err != nil {
		errs = append(errs, fmt.Errorf("closing badger: %w", err))
	}
	return errors.Join(errs...)
}

// view runs fn in a read-only transaction unless the store is closed.
func (s *Store) view(fn func(txn *badger.Txn) error) error {
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return s.mapErr(s.db.View(fn))
}

func (s *Store) isClosed() bool {
	s.life.RLock()
	defer s.life.RUnlock()
	return s.closed
}

// mapErr turns Badger's closed-database errors into ErrClosed.
func (s *Store) mapErr(err error) error {
	if errors.Is(err, badger.ErrDBClosed) || errors.Is(err, badger.ErrBlockedWrites) {
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return err
}

// expired reports whether an entry's Badger expiry has passed on the store's
// clock; Badger itself hides it once the wall clock passes.
func (s *Store) expired(expiresAt uint64) bool {
	return expiresAt != 0 && expiresAt <= uint64(s.now().Unix())
}

// finishExpiry is when records finished at now expire: retention later, rounded
// up to the minute so that expiry counts can be kept per minute.
func (s *Store) finishExpiry(now time.Time) uint64 {
	sec := now.Add(s.opt.Retention).Unix()
	return uint64((sec + 59) / 60 * 60)
}

func (s *Store) dedupeExpiry(now time.Time) uint64 {
	return uint64(now.Add(s.opt.DedupeWindow).Unix() + 1)
}

func expiryTime(exp uint64) time.Time {
	if exp == 0 {
		return time.Time{}
	}
	return time.Unix(int64(exp), 0).UTC()
}

// entry returns the index entry of a hook, creating it. Callers hold mu.
func (s *Store) entry(hook string) *hookEntry {
	h := s.hooks[hook]
	if h == nil {
		h = &hookEntry{id: hook, low: math.MaxInt64, free: math.MaxInt64, next: math.MaxInt64,
			heapIdx: -1}
		s.hooks[hook] = h
	}
	return h
}

// hookPark and hookFailures read committed state.
func (s *Store) hookPark(hook string) *parkRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h := s.hooks[hook]; h != nil {
		return h.park
	}
	return nil
}

func (s *Store) hookFailures(hook string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h := s.hooks[hook]; h != nil {
		return h.failures
	}
	return 0
}

func (s *Store) startBackground() {
	if s.opt.Sync == SyncInterval {
		s.every(s.opt.SyncEvery, func() {
			if err := s.db.Sync(); err != nil {
				s.log.Error("periodic sync failed", zap.Error(err))
			}
		})
	}
	if s.opt.GCInterval > 0 {
		s.every(s.opt.GCInterval, s.collectGarbage)
	}
}

func (s *Store) every(d time.Duration, fn func()) {
	s.background.Add(1)
	go func() {
		defer s.background.Done()
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				fn()
			}
		}
	}()
}

// collectGarbage rewrites value log files until Badger finds none worth it or
// the store closes. Every delivery leaves its pending record behind in the
// value log when it finishes, so under sustained traffic each run has work.
func (s *Store) collectGarbage() {
	for {
		err := s.db.RunValueLogGC(s.opt.GCDiscardRatio)
		switch {
		case err == nil:
			s.log.Debug("value log file rewritten")
		case errors.Is(err, badger.ErrNoRewrite), errors.Is(err, badger.ErrRejected):
			return
		default:
			s.log.Warn("value log gc failed", zap.Error(err))
			return
		}
		select {
		case <-s.stop:
			return
		default:
		}
	}
}

// load reads the state the in-memory index is built from: park markers,
// failure counters, the schedule and the per-hook index (keys only).
func (s *Store) load() error {
	return s.db.View(func(txn *badger.Txn) error {
		if err := s.checkSchema(txn); err != nil {
			return err
		}
		steps := []func(*badger.Txn) error{
			s.loadParks, s.loadFailures, s.loadSchedule, s.loadIndex,
		}
		for _, step := range steps {
			if err := step(txn); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) checkSchema(txn *badger.Txn) error {
	item, err := txn.Get(keySchema)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return s.db.Update(func(w *badger.Txn) error {
			return w.Set(keySchema, encodeCount(schemaVersion))
		})
	}
	if err != nil {
		return fmt.Errorf("reading schema version: %w", err)
	}
	v, err := item.ValueCopy(nil)
	if err != nil {
		return fmt.Errorf("reading schema version: %w", err)
	}
	if n, err := decodeCount(v); err != nil || n != schemaVersion {
		return fmt.Errorf("store in %s has key layout %v, want %d", s.opt.Dir, v, schemaVersion)
	}
	return nil
}

func scanPrefix(txn *badger.Txn, prefix []byte, values bool, fn func(*badger.Item) error) error {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: values,
		PrefetchSize: 64})
	defer it.Close()
	for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
		if err := fn(it.Item()); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) loadParks(txn *badger.Txn) error {
	return scanPrefix(txn, prefixPark, true, func(item *badger.Item) error {
		hook := string(item.Key()[len(prefixPark):])
		return item.Value(func(v []byte) error {
			p, err := decodePark(v)
			if err != nil {
				return fmt.Errorf("hook %s: %w", hook, err)
			}
			s.entry(hook).park = &p
			return nil
		})
	})
}

func (s *Store) loadFailures(txn *badger.Txn) error {
	return scanPrefix(txn, prefixFailures, true, func(item *badger.Item) error {
		hook := string(item.Key()[len(prefixFailures):])
		return item.Value(func(v []byte) error {
			n, err := decodeCount(v)
			if err != nil {
				return fmt.Errorf("hook %s: %w", hook, err)
			}
			s.entry(hook).failures = n
			return nil
		})
	})
}

// loadSchedule finds each hook's earliest due delivery. Keys are sorted by hook,
// then due time, so it reads one key per hook and seeks past the rest.
func (s *Store) loadSchedule(txn *badger.Txn) error {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefixSchedule})
	defer it.Close()
	for it.Seek(prefixSchedule); it.ValidForPrefix(prefixSchedule); {
		hook, due, _, err := parseScheduleKey(it.Item().Key())
		if err != nil {
			return err
		}
		h := s.entry(hook)
		h.low, h.free, h.next = due, due, due
		s.due.update(h)
		it.Seek(joinKey(prefixSchedule, []byte(hook), []byte{1}))
	}
	return nil
}

// loadIndex counts deliveries per hook and state.
func (s *Store) loadIndex(txn *badger.Txn) error {
	var last []byte
	var h *hookEntry
	return scanPrefix(txn, prefixIndex, false, func(item *badger.Item) error {
		k := item.Key()
		rest := k[len(prefixIndex):]
		i := bytes.IndexByte(rest, 0)
		if i < 0 || len(rest) != i+2+indexSuffixLen {
			return fmt.Errorf("malformed index key %q", k)
		}
		if h == nil || !bytes.Equal(rest[:i], last) {
			last = append(last[:0], rest[:i]...)
			h = s.entry(string(last))
		}
		if s.expired(item.ExpiresAt()) {
			return nil
		}
		st := Status(rest[i+1])
		switch st {
		case StatusPending:
			h.pending++
		case StatusParked:
			h.parked++
		}
		s.counts.add(st, item.ExpiresAt(), 1)
		return nil
	})
}

// repair finishes what a crash interrupted: deliveries still scheduled for a
// parked hook are parked, and parked deliveries of a hook that is no longer
// parked are released.
func (s *Store) repair(ctx context.Context) error {
	var park, release []string
	for id, h := range s.hooks {
		if h.park != nil && h.pending > 0 {
			park = append(park, id)
		}
		if h.park == nil && h.parked > 0 {
			release = append(release, id)
		}
	}
	for _, id := range park {
		s.log.Info("parking deliveries of a parked hook", zap.String("hook_id", id))
		if _, err := s.moveChunks(ctx, &parkOp{hook: id}); err != nil {
			return fmt.Errorf("repairing hook %s: %w", id, err)
		}
	}
	for _, id := range release {
		s.log.Info("releasing deliveries of an enabled hook", zap.String("hook_id", id))
		if _, err := s.moveChunks(ctx, &releaseOp{hook: id}); err != nil {
			return fmt.Errorf("repairing hook %s: %w", id, err)
		}
	}
	return nil
}

// counts tracks deliveries per state. Finished deliveries are also filed by the
// second they expire, so they leave the counts when Badger drops them.
type counts struct {
	byStatus [StatusFailed + 1]int
	expiring map[int64]*[2]int
}

func (c *counts) add(st Status, expiresAt uint64, delta int) {
	if !st.valid() {
		return
	}
	c.byStatus[st] += delta
	if !st.finished() || expiresAt == 0 {
		return
	}
	b := c.expiring[int64(expiresAt)]
	if b == nil {
		b = new([2]int)
		c.expiring[int64(expiresAt)] = b
	}
	b[st-StatusDelivered] += delta
	if b[0] == 0 && b[1] == 0 {
		delete(c.expiring, int64(expiresAt))
	}
}

// prune drops finished deliveries that expired by now.
func (c *counts) prune(now int64) {
	for exp, b := range c.expiring {
		if exp <= now {
			c.byStatus[StatusDelivered] -= b[0]
			c.byStatus[StatusFailed] -= b[1]
			delete(c.expiring, exp)
		}
	}
}

// Stats counts deliveries by state, from memory.
func (s *Store) Stats() (Stats, error) {
	if s.isClosed() {
		return Stats{}, ErrClosed
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts.prune(s.now().Unix())
	st := Stats{
		Pending:   s.counts.byStatus[StatusPending],
		Parked:    s.counts.byStatus[StatusParked],
		Delivered: s.counts.byStatus[StatusDelivered],
		Failed:    s.counts.byStatus[StatusFailed],
	}
	for _, h := range s.hooks {
		st.InFlight += len(h.leases)
	}
	return st, nil
}
