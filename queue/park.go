package queue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	badger "github.com/dgraph-io/badger/v4"
	"go.uber.org/zap"
)

// Parking moves many deliveries, so it runs in chunks of at most chunkSize, each
// one atomic write. A durable park marker states the intent first: Open finishes
// a park or release that a crash interrupted (see Store.repair).
const chunkSize = 256

// Reasons recorded on deliveries failed without an attempt.
const (
	reasonDiscarded   = "discarded: the parked delivery was dropped while its hook was disabled"
	reasonHookDeleted = "discarded: the hook was deleted"
)

// ParkHook disables a hook's deliveries: its scheduled ones become parked and
// deliveries enqueued for it from now on are stored parked, until ReleaseHook.
// Deliveries in flight finish their attempt; a retry is then parked. Parking a
// parked hook keeps the first reason.
func (s *Store) ParkHook(ctx context.Context, hookID, reason string) error {
	if err := validHookID(hookID); err != nil {
		return fmt.Errorf("parking hook: %w", err)
	}
	park := &parkOp{hook: hookID, reason: reason, mark: true}
	if _, err := s.adminMove(ctx, hookID, park); err != nil {
		return fmt.Errorf("parking hook %s: %w", hookID, err)
	}
	return nil
}

// ReleaseHook enables a parked hook: its parked deliveries are due at once and
// its consecutive-failure count starts again from zero. It returns how many
// deliveries it released.
func (s *Store) ReleaseHook(ctx context.Context, hookID string) (int, error) {
	if err := validHookID(hookID); err != nil {
		return 0, fmt.Errorf("releasing hook: %w", err)
	}
	n, err := s.adminMove(ctx, hookID, &releaseOp{hook: hookID, unmark: true})
	if err != nil {
		return n, fmt.Errorf("releasing hook %s: %w", hookID, err)
	}
	return n, nil
}

// DiscardParked fails a hook's parked deliveries, with an error saying they were
// discarded; they stay replayable until they expire. The hook stays parked:
// enabling it and dropping its backlog is DiscardParked then ReleaseHook.
func (s *Store) DiscardParked(ctx context.Context, hookID string) (int, error) {
	if err := validHookID(hookID); err != nil {
		return 0, fmt.Errorf("discarding parked deliveries: %w", err)
	}
	n, err := s.adminMove(ctx, hookID, &discardOp{hook: hookID, reason: reasonDiscarded})
	if err != nil {
		return n, fmt.Errorf("discarding parked deliveries of hook %s: %w", hookID, err)
	}
	return n, nil
}

// adminMove moves a hook's deliveries with o under the hook's admin lock and
// returns how many it moved.
func (s *Store) adminMove(ctx context.Context, hookID string, o chunkOp) (int, error) {
	h, err := s.adminLock(hookID)
	if err != nil {
		return 0, err
	}
	defer h.adminMu.Unlock()
	return s.moveChunks(ctx, o)
}

// adminLock serializes park, release, discard and delete per hook.
func (s *Store) adminLock(hookID string) (*hookEntry, error) {
	s.life.RLock()
	closed := s.closed
	s.life.RUnlock()
	if closed {
		return nil, ErrClosed
	}
	s.mu.Lock()
	h := s.entry(hookID)
	s.mu.Unlock()
	h.adminMu.Lock()
	return h, nil
}

// chunkOp is an op that moves deliveries a chunk at a time.
type chunkOp interface {
	op
	// next reports how many deliveries the last chunk moved and whether more may
	// remain, and prepares the next chunk.
	next() (moved int, more bool)
}

// moveChunks submits o until it has moved everything, returning the total.
func (s *Store) moveChunks(ctx context.Context, o chunkOp) (int, error) {
	total := 0
	for {
		if err := s.submit(ctx, o); err != nil {
			return total, err
		}
		n, more := o.next()
		total += n
		if !more {
			return total, nil
		}
	}
}

// chunk is the cursor shared by chunked ops.
type chunk struct {
	cursor []byte
	moved  int
	more   bool
	staged bool // the op wrote something in this chunk
}

func (c *chunk) next() (int, bool) {
	n, more := c.moved, c.more
	c.moved, c.more, c.staged = 0, false, false
	return n, more
}

// keys lists up to chunkSize keys under prefix after the cursor.
func (c *chunk) keys(b *batch, prefix []byte) [][]byte {
	it := b.txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	start := prefix
	if c.cursor != nil {
		start = c.cursor
	}
	var keys [][]byte
	for it.Seek(start); it.ValidForPrefix(prefix) && len(keys) < chunkSize; it.Next() {
		if c.cursor != nil && bytes.Equal(it.Item().Key(), c.cursor) {
			continue
		}
		keys = append(keys, it.Item().KeyCopy(nil))
	}
	c.more = len(keys) == chunkSize
	return keys
}

// moveEach applies change to the delivery of each key and stages the result,
// stopping when the batch is full. A key whose delivery is not in the expected
// state is an inconsistency; it is logged and the stray key removed.
func (c *chunk) moveEach(b *batch, keys [][]byte, want Status, idOf func([]byte) (rawID, error),
	change func(d *Delivery) uint64) error {
	for _, k := range keys {
		id, err := idOf(k)
		if err != nil {
			return err
		}
		old, oldExp, err := b.delivery(id)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		if err != nil || old.Status != want {
			b.s.log.Error("removing stray key", zap.ByteString("key", k),
				zap.Stringer("status", old.Status))
			if err := b.write(del(k)); err != nil {
				return c.stop(err)
			}
			c.cursor, c.staged = k, true
			continue
		}
		d := old
		exp := change(&d)
		ms := b.moveEntries(&old, &d, oldExp, exp)
		var rewrites []mutation
		if exp != oldExp {
			if rewrites, err = b.rewriteAttempts(id, old.Attempts, exp); err != nil {
				return err
			}
		}
		if err := b.writeMove(ms, rewrites); err != nil {
			return c.stop(err)
		}
		c.cursor, c.staged = k, true
		c.moved++
		s := b.s
		b.after(func() { s.moved(s.entry(d.HookID), id, &old, &d, oldExp, exp) })
	}
	return nil
}

// stop ends a chunk early when the batch is full, unless nothing was staged yet.
func (c *chunk) stop(err error) error {
	if errors.Is(err, errNoRoom) && c.staged {
		c.more = true
		return nil
	}
	return err
}

func scheduleID(k []byte) (rawID, error) {
	_, _, id, err := parseScheduleKey(k)
	return id, err
}

func indexID(k []byte) (rawID, error) {
	_, _, _, id, err := parseIndexKey(k)
	return id, err
}

// parkOp marks a hook parked (first chunk) and parks its scheduled deliveries.
type parkOp struct {
	opResult
	chunk
	hook   string
	reason string
	mark   bool
}

func (o *parkOp) estimate() int64 { return 1 << 20 }

func (o *parkOp) apply(b *batch) error {
	if o.mark && b.parkOf(o.hook) == nil {
		p := &parkRecord{Reason: o.reason, Since: b.now}
		if err := b.write(set(parkKey(o.hook), encodePark(*p), 0)); err != nil {
			return err
		}
		b.setPark(o.hook, p)
		s, hook := b.s, o.hook
		b.after(func() { s.entry(hook).park = p })
		o.staged = true
	}
	o.mark = false
	keys := o.keys(b, schedulePrefix(o.hook))
	return o.moveEach(b, keys, StatusPending, scheduleID, func(d *Delivery) uint64 {
		d.Status, d.DueAt = StatusParked, time.Time{}
		return 0
	})
}

// releaseOp unmarks a parked hook (first chunk) and makes its parked deliveries
// due now.
type releaseOp struct {
	opResult
	chunk
	hook   string
	unmark bool
}

func (o *releaseOp) estimate() int64 { return 1 << 20 }

func (o *releaseOp) apply(b *batch) error {
	if o.unmark && b.parkOf(o.hook) != nil {
		if err := b.write(del(parkKey(o.hook)), del(failuresKey(o.hook))); err != nil {
			return err
		}
		b.setPark(o.hook, nil)
		b.setFailures(o.hook, 0)
		s, hook := b.s, o.hook
		b.after(func() {
			h := s.entry(hook)
			h.park, h.failures = nil, 0
		})
		o.staged = true
	}
	o.unmark = false
	keys := o.keys(b, indexPrefix(o.hook, StatusParked))
	err := o.moveEach(b, keys, StatusParked, indexID, func(d *Delivery) uint64 {
		d.Status, d.DueAt = StatusPending, b.now
		return 0
	})
	b.notify = true
	return err
}

// discardOp fails a hook's parked deliveries. With deleteHook, the last chunk
// also removes the hook.
type discardOp struct {
	opResult
	chunk
	hook       string
	reason     string
	deleteHook bool
}

func (o *discardOp) estimate() int64 { return 1 << 20 }

func (o *discardOp) apply(b *batch) error {
	keys := o.keys(b, indexPrefix(o.hook, StatusParked))
	exp := b.s.finishExpiry(b.now)
	err := o.moveEach(b, keys, StatusParked, indexID, func(d *Delivery) uint64 {
		d.Status, d.FinishedAt, d.LastError = StatusFailed, b.now, o.reason
		return exp
	})
	if err != nil || o.more || !o.deleteHook {
		return err
	}
	err = b.write(del(hookKey(o.hook)), del(parkKey(o.hook)), del(failuresKey(o.hook)))
	if err != nil {
		return o.stop(err)
	}
	b.setPark(o.hook, nil)
	b.setFailures(o.hook, 0)
	s, hook := b.s, o.hook
	b.after(func() {
		h := s.entry(hook)
		h.park, h.failures = nil, 0
	})
	return nil
}

// Replay makes a delivered or failed delivery due again now (parked if its hook
// is). Its attempts keep their numbers and new ones continue them. Replaying a
// pending or parked delivery is a conflict.
func (s *Store) Replay(ctx context.Context, id string) (Delivery, error) {
	raw, err := parseID(id)
	if err != nil {
		return Delivery{}, fmt.Errorf("replaying: %w", err)
	}
	o := &replayOp{id: raw}
	if err := s.submit(ctx, o); err != nil {
		return Delivery{}, fmt.Errorf("replaying %s: %w", id, err)
	}
	return o.result, nil
}

type replayOp struct {
	opResult
	id     rawID
	result Delivery
}

func (o *replayOp) estimate() int64 { return 1 << 16 }

func (o *replayOp) apply(b *batch) error {
	old, oldExp, err := b.delivery(o.id)
	if err != nil {
		return err
	}
	if !old.Status.finished() {
		return fmt.Errorf("delivery is %s: %w", old.Status, ErrConflict)
	}
	d := old
	d.FinishedAt = time.Time{}
	d.Status, d.DueAt = StatusPending, b.now
	if b.parkOf(d.HookID) != nil {
		d.Status, d.DueAt = StatusParked, time.Time{}
	}
	ms := b.moveEntries(&old, &d, oldExp, 0)
	rewrites, err := b.rewriteAttempts(o.id, old.Attempts, 0)
	if err != nil {
		return err
	}
	if err := b.writeMove(ms, rewrites); err != nil {
		return err
	}

	o.result = d
	s, id := b.s, o.id
	b.after(func() { s.moved(s.entry(d.HookID), id, &old, &d, oldExp, 0) })
	b.notify = b.notify || d.Status == StatusPending
	return nil
}
