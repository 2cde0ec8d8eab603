package queue

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"

	badger "github.com/dgraph-io/badger/v4"
)

// Delivery reads one delivery with all its attempts, oldest first.
func (s *Store) Delivery(ctx context.Context, id string) (DeliveryRecord, error) {
	raw, err := parseID(id)
	if err != nil {
		return DeliveryRecord{}, fmt.Errorf("reading delivery: %w", err)
	}
	var rec DeliveryRecord
	err = s.view(func(txn *badger.Txn) error {
		rec, err = s.readRecord(txn, raw)
		return err
	})
	if err != nil {
		return DeliveryRecord{}, fmt.Errorf("reading delivery %s: %w", id, err)
	}
	return rec, nil
}

// readRecord reads a delivery and its attempts in a read transaction.
func (s *Store) readRecord(txn *badger.Txn, id rawID) (DeliveryRecord, error) {
	d, exp, err := readDelivery(txn, id)
	if err != nil {
		return DeliveryRecord{}, err
	}
	if s.expired(exp) {
		return DeliveryRecord{}, ErrNotFound
	}
	rec := DeliveryRecord{Delivery: d}
	err = scanPrefix(txn, attemptPrefix(id), true, func(item *badger.Item) error {
		if s.expired(item.ExpiresAt()) {
			return nil
		}
		return item.Value(func(v []byte) error {
			a, err := decodeAttempt(v, d.Body)
			if err != nil {
				return err
			}
			rec.AttemptLog = append(rec.AttemptLog, a)
			return nil
		})
	})
	return rec, err
}

// Deliveries lists a hook's deliveries newest first, with their attempts, a page
// at a time. Filtering by status reads only that status's index; without a
// filter the four indexes are merged.
func (s *Store) Deliveries(ctx context.Context, hookID string, q Query) (Page, error) {
	if err := validHookID(hookID); err != nil {
		return Page{}, fmt.Errorf("listing deliveries: %w", err)
	}
	statuses := allStatuses[:]
	if q.Status != 0 {
		if !q.Status.valid() {
			return Page{}, fmt.Errorf("listing deliveries: %v: %w", q.Status, ErrInvalid)
		}
		statuses = []Status{q.Status}
	}
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultPageSize
	}
	limit = min(limit, MaxPageSize)
	after, err := decodeCursor(q.Cursor)
	if err != nil {
		return Page{}, fmt.Errorf("listing deliveries: %w", err)
	}

	var page Page
	err = s.view(func(txn *badger.Txn) error {
		ids, more, err := s.pageIDs(txn, hookID, statuses, after, limit)
		if err != nil {
			return err
		}
		for _, e := range ids {
			if err := ctx.Err(); err != nil {
				return err
			}
			rec, err := s.readRecord(txn, e.id)
			if errors.Is(err, ErrNotFound) {
				// It expired since its index key was read: the two share an
				// expiry, but each read checks it against the clock anew.
				continue
			}
			if err != nil {
				return err
			}
			page.Deliveries = append(page.Deliveries, rec)
		}
		if more {
			page.NextCursor = encodeCursor(ids[len(ids)-1].suffix)
		}
		return nil
	})
	if err != nil {
		return Page{}, fmt.Errorf("listing deliveries of hook %s: %w", hookID, err)
	}
	return page, nil
}

type indexEntry struct {
	suffix []byte
	id     rawID
}

// pageIDs merges the per-status indexes of a hook from after on, newest first,
// and returns up to limit entries and whether more follow.
func (s *Store) pageIDs(txn *badger.Txn, hook string, statuses []Status, after []byte,
	limit int) ([]indexEntry, bool, error) {
	type cursor struct {
		it     *badger.Iterator
		prefix []byte
	}
	curs := make([]*cursor, 0, len(statuses))
	defer func() {
		for _, c := range curs {
			c.it.Close()
		}
	}()
	for _, st := range statuses {
		p := indexPrefix(hook, st)
		c := &cursor{it: txn.NewIterator(badger.IteratorOptions{Prefix: p}), prefix: p}
		curs = append(curs, c)
		c.it.Seek(joinKey(p, after))
		if after != nil && c.it.ValidForPrefix(p) &&
			bytes.Equal(c.it.Item().Key()[len(p):], after) {
			c.it.Next()
		}
	}
	// valid skips entries expired on the store's clock.
	valid := func(c *cursor) bool {
		for ; c.it.ValidForPrefix(c.prefix); c.it.Next() {
			if !s.expired(c.it.Item().ExpiresAt()) {
				return true
			}
		}
		return false
	}

	var out []indexEntry
	for len(out) <= limit {
		var best *cursor
		for _, c := range curs {
			if !valid(c) {
				continue
			}
			if best == nil || bytes.Compare(c.it.Item().Key()[len(c.prefix):],
				best.it.Item().Key()[len(best.prefix):]) < 0 {
				best = c
			}
		}
		if best == nil {
			break
		}
		e := indexEntry{suffix: append([]byte(nil), best.it.Item().Key()[len(best.prefix):]...)}
		if len(e.suffix) != indexSuffixLen {
			return nil, false, fmt.Errorf("malformed index key %q", best.it.Item().Key())
		}
		copy(e.id[:], e.suffix[8:])
		out = append(out, e)
		best.it.Next()
	}
	if len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}

func encodeCursor(suffix []byte) string {
	return base64.RawURLEncoding.EncodeToString(suffix)
}

func decodeCursor(c string) ([]byte, error) {
	if c == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) != indexSuffixLen {
		return nil, fmt.Errorf("cursor %q is not one this store returned: %w", c, ErrInvalid)
	}
	return b, nil
}
