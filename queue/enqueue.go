package queue

import (
	"context"
	"fmt"
	"time"
)

// Enqueue stores accepted events and their deliveries and returns when they are
// durable: under SyncAlways, on disk. Each item is written atomically (its
// dedupe key with all its deliveries); concurrent callers share one transaction
// and one sync. Dedupe is decided inside the commit, so of two concurrent items
// with the same key exactly one is accepted. Deliveries for a parked hook are
// stored parked; the store knows which hooks are parked.
//
// The store keeps the bodies' bytes as given; callers must not modify them until
// Enqueue returns. An item of more than 32 MiB fails the call with
// ErrTxnTooBig before anything is written. If ctx ends while waiting, Enqueue
// returns its error and the items may or may not be stored.
func (s *Store) Enqueue(ctx context.Context, items []Item) ([]ItemResult, error) {
	if len(items) == 0 {
		return nil, nil
	}
	now := s.now()
	eops := make([]enqueueOp, len(items))
	ops := make([]op, len(items))
	for i := range items {
		if err := s.prepareEnqueue(&eops[i], &items[i], now); err != nil {
			return nil, fmt.Errorf("enqueue item %d: %w", i, err)
		}
		ops[i] = &eops[i]
	}

	if err := s.submit(ctx, ops...); err != nil {
		return nil, fmt.Errorf("enqueue: %w", err)
	}
	results := make([]ItemResult, len(items))
	for i := range eops {
		results[i] = eops[i].result
	}
	return results, nil
}

type enqueueOp struct {
	opResult
	item       *Item
	now        time.Time
	dedupeKey  []byte
	deliveries []preparedDelivery
	size       int64 // as Badger counts it
	data       int64 // bytes of keys and values
	result     ItemResult
}

type preparedDelivery struct {
	id     rawID
	record Delivery
	value  []byte // encoded as pending, due now
}

// prepareEnqueue does the work that needs no lock in the caller's goroutine:
// validation, ids and encoding.
func (s *Store) prepareEnqueue(o *enqueueOp, item *Item, now time.Time) error {
	o.item = item
	o.now = now
	o.deliveries = make([]preparedDelivery, len(item.Deliveries))
	if item.DedupeKey != "" {
		o.dedupeKey = dedupeKey(item.DedupeKey)
		o.size += entrySize(len(o.dedupeKey), 0)
	}
	for i := range item.Deliveries {
		nd := &item.Deliveries[i]
		if err := validHookID(nd.HookID); err != nil {
			return fmt.Errorf("delivery %d: %w", i, err)
		}
		p := &o.deliveries[i]
		p.id = newID(now)
		p.record = Delivery{
			ID:          formatID(p.id),
			HookID:      nd.HookID,
			HookVersion: nd.HookVersion,
			Expression:  nd.Expression,
			EventID:     item.EventID,
			EventType:   item.EventType,
			Account:     item.Account,
			CreatedAt:   now,
			Status:      StatusPending,
			DueAt:       now,
			Body:        nd.Body,
		}
		p.value = encodeDelivery(&p.record)
		// The record, and two index entries with small values.
		index := 2 + len(nd.HookID) + 1 + 1 + 8 + idLen
		o.size += entrySize(2+idLen, len(p.value)) + 2*entrySize(index, 0)
		o.data += int64(2 + idLen + len(p.value) + 2*index)
		o.result.DeliveryIDs = append(o.result.DeliveryIDs, p.record.ID)
	}
	// Leave room for the attempts that Record will add to this delivery.
	if o.size > s.maxTxnBytes/2 || o.data > maxGroupData/2 {
		return fmt.Errorf("%d bytes, limit %d: %w", o.data, maxGroupData/2, ErrTxnTooBig)
	}
	return nil
}

func (o *enqueueOp) estimate() int64 { return o.size }

func (o *enqueueOp) apply(b *batch) error {
	if o.dedupeKey != nil {
		seen, err := b.get(o.dedupeKey)
		if err != nil {
			return err
		}
		if seen != nil {
			o.result = ItemResult{Duplicate: true}
			return nil
		}
	}

	es := make([]mutation, 0, 1+3*len(o.deliveries))
	if o.dedupeKey != nil {
		es = append(es, set(o.dedupeKey, nil, b.s.dedupeExpiry(o.now)))
	}
	parked := make([]bool, len(o.deliveries))
	o.result.Parked = 0
	for i := range o.deliveries {
		p := &o.deliveries[i]
		r := &p.record
		created := r.CreatedAt.UnixNano()
		if b.parkOf(r.HookID) != nil {
			parked[i] = true
			o.result.Parked++
			pr := *r
			pr.Status, pr.DueAt = StatusParked, time.Time{}
			es = append(es,
				set(deliveryKey(p.id), encodeDelivery(&pr), 0),
				set(indexKey(r.HookID, StatusParked, created, p.id), nil, 0))
			continue
		}
		es = append(es,
			set(deliveryKey(p.id), p.value, 0),
			set(indexKey(r.HookID, StatusPending, created, p.id), nil, 0),
			set(scheduleKey(r.HookID, created, p.id), nil, 0))
	}
	if err := b.write(es...); err != nil {
		return err
	}

	s := b.s
	b.after(func() {
		for i := range o.deliveries {
			r := &o.deliveries[i].record
			h := s.entry(r.HookID)
			if parked[i] {
				h.parked++
				s.counts.add(StatusParked, 0, 1)
				continue
			}
			s.scheduled(h, r.CreatedAt.UnixNano())
			s.counts.add(StatusPending, 0, 1)
		}
	})
	b.notify = b.notify || o.result.Parked < len(o.deliveries)
	return nil
}
