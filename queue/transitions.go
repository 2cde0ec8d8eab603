package queue

import (
	"errors"
	"fmt"
)

// A delivery's state lives in three places that change together: its record
// (d/), its per-hook index key (s/, which names the state) and, while pending,
// its schedule key (q/). Finished deliveries carry a Badger expiry on the record,
// the index key and every attempt.

// delivery reads a delivery record in the batch, with its expiry.
func (b *batch) delivery(id rawID) (Delivery, uint64, error) {
	item, err := b.get(deliveryKey(id))
	if err != nil {
		return Delivery{}, 0, err
	}
	if item == nil {
		return Delivery{}, 0, fmt.Errorf("delivery %s: %w", formatID(id), ErrNotFound)
	}
	var d Delivery
	err = item.Value(func(v []byte) error {
		d, err = decodeDelivery(id, v)
		return err
	})
	if err != nil {
		return Delivery{}, 0, err
	}
	d.ExpiresAt = expiryTime(item.ExpiresAt())
	return d, item.ExpiresAt(), nil
}

// moveEntries returns the writes that take a delivery from old to d, where exp
// is d's expiry (zero unless finished).
func (b *batch) moveEntries(old, d *Delivery, oldExp, exp uint64) []mutation {
	id, _ := parseID(d.ID)
	created := d.CreatedAt.UnixNano()
	ms := make([]mutation, 0, 5)

	sameDue := old.Status == StatusPending && d.Status == StatusPending &&
		old.DueAt.Equal(d.DueAt)
	if old.Status == StatusPending && !sameDue {
		ms = append(ms, del(scheduleKey(d.HookID, old.DueAt.UnixNano(), id)))
	}
	if d.Status == StatusPending && !sameDue {
		ms = append(ms, set(scheduleKey(d.HookID, d.DueAt.UnixNano(), id), nil, 0))
	}

	if old.Status != d.Status {
		ms = append(ms, del(indexKey(d.HookID, old.Status, created, id)))
	}
	if old.Status != d.Status || oldExp != exp {
		ms = append(ms, set(indexKey(d.HookID, d.Status, created, id), nil, exp))
	}

	d.ExpiresAt = expiryTime(exp)
	return append(ms, set(deliveryKey(id), encodeDelivery(d), exp))
}

// rewriteAttempts returns writes that give a delivery's first n attempts a new
// expiry, for writeMove.
func (b *batch) rewriteAttempts(id rawID, n int, exp uint64) ([]mutation, error) {
	var ms []mutation
	for i := 1; i <= n; i++ {
		item, err := b.get(attemptKey(id, i))
		if err != nil {
			return nil, err
		}
		if item == nil {
			continue
		}
		v, err := item.ValueCopy(nil)
		if err != nil {
			return nil, fmt.Errorf("reading attempt %d of %s: %w", i, formatID(id), err)
		}
		ms = append(ms, set(attemptKey(id, i), v, exp))
	}
	return ms, nil
}

// writeMove stages the writes that move a delivery together with the rewrites
// of its attempts' expiry, as one unit: a crash between the two would leave the
// attempts of a replayed delivery expiring while it is pending again, or those
// of a finished one never expiring. Only when the whole does not fit in a
// transaction of its own are the rewrites left to follow-up transactions (see
// commitLater).
func (b *batch) writeMove(move, rewrites []mutation) error {
	if len(rewrites) == 0 {
		return b.write(move...)
	}
	err := b.write(append(move[:len(move):len(move)], rewrites...)...)
	if !errors.Is(err, ErrTxnTooBig) {
		return err
	}
	if err := b.write(move...); err != nil {
		return err
	}
	b.writeLater(rewrites...)
	return nil
}

// moved updates the in-memory index after a delivery went from old to d. The
// caller holds mu.
func (s *Store) moved(h *hookEntry, id rawID, old, d *Delivery, oldExp, exp uint64) {
	switch {
	case old.Status == StatusPending && d.Status == StatusPending:
		s.available(h, d.DueAt.UnixNano())
	case old.Status == StatusPending:
		s.unscheduled(h)
	case d.Status == StatusPending:
		s.scheduled(h, d.DueAt.UnixNano())
	}
	if old.Status == StatusParked {
		h.parked--
	}
	if d.Status == StatusParked {
		h.parked++
	}
	if old.Status != d.Status || oldExp != exp {
		s.counts.add(old.Status, oldExp, -1)
		s.counts.add(d.Status, exp, 1)
	}
}
