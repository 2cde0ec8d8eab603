package queue

import (
	"context"
	"encoding/json"
	"fmt"

	badger "github.com/dgraph-io/badger/v4"
)

// CreateHook persists a new hook at version 1. The document is the caller's JSON;
// the store checks only that it is JSON. An existing id is a conflict.
func (s *Store) CreateHook(ctx context.Context, id string, doc []byte) (Hook, error) {
	return s.writeHook(ctx, &hookOp{id: id, doc: doc, create: true})
}

// UpdateHook replaces a hook's document if the hook is still at version, and
// returns it at the next version. A stale version is a conflict (read, change and
// try again); an unknown id is not found.
func (s *Store) UpdateHook(ctx context.Context, id string, doc []byte, version uint64) (Hook,
	error) {
	return s.writeHook(ctx, &hookOp{id: id, doc: doc, version: version})
}

func (s *Store) writeHook(ctx context.Context, o *hookOp) (Hook, error) {
	verb := "updating"
	if o.create {
		verb = "creating"
	}
	if err := validHookID(o.id); err != nil {
		return Hook{}, fmt.Errorf("%s hook: %w", verb, err)
	}
	if !json.Valid(o.doc) {
		return Hook{}, fmt.Errorf("%s hook %s: document is not JSON: %w", verb, o.id, ErrInvalid)
	}
	if err := s.submit(ctx, o); err != nil {
		return Hook{}, fmt.Errorf("%s hook %s: %w", verb, o.id, err)
	}
	h := o.result
	h.State = s.hookState(o.id)
	return h, nil
}

type hookOp struct {
	opResult
	id      string
	doc     []byte
	create  bool
	version uint64
	result  Hook
}

func (o *hookOp) estimate() int64 { return int64(len(o.doc) + 64) }

func (o *hookOp) apply(b *batch) error {
	item, err := b.get(hookKey(o.id))
	if err != nil {
		return err
	}
	var rec hookRecord
	switch {
	case item != nil && o.create:
		return fmt.Errorf("hook exists: %w", ErrConflict)
	case item == nil && !o.create:
		return ErrNotFound
	case item != nil:
		if rec, err = readHookRecord(item); err != nil {
			return err
		}
		if rec.Version != o.version {
			return fmt.Errorf("hook is at version %d, not %d: %w", rec.Version, o.version,
				ErrConflict)
		}
	default:
		rec.CreatedAt = b.now
	}
	rec.Version++
	rec.UpdatedAt = b.now
	rec.Document = append([]byte(nil), o.doc...)
	if err := b.write(set(hookKey(o.id), encodeHook(&rec), 0)); err != nil {
		return err
	}
	o.result = hookFromRecord(o.id, &rec)
	return nil
}

func readHookRecord(item *badger.Item) (hookRecord, error) {
	var rec hookRecord
	err := item.Value(func(v []byte) error {
		var err error
		rec, err = decodeHook(v)
		return err
	})
	return rec, err
}

func hookFromRecord(id string, rec *hookRecord) Hook {
	return Hook{
		ID:        id,
		Version:   rec.Version,
		Document:  json.RawMessage(rec.Document),
		CreatedAt: rec.CreatedAt,
		UpdatedAt: rec.UpdatedAt,
	}
}

// Hook reads a persisted hook with its state.
func (s *Store) Hook(ctx context.Context, id string) (Hook, error) {
	if err := validHookID(id); err != nil {
		return Hook{}, fmt.Errorf("reading hook: %w", err)
	}
	var h Hook
	err := s.view(func(txn *badger.Txn) error {
		item, err := txn.Get(hookKey(id))
		if err == badger.ErrKeyNotFound {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		rec, err := readHookRecord(item)
		if err != nil {
			return err
		}
		h = hookFromRecord(id, &rec)
		return nil
	})
	if err != nil {
		return Hook{}, fmt.Errorf("reading hook %s: %w", id, err)
	}
	h.State = s.hookState(id)
	return h, nil
}

// Hooks lists the persisted hooks by id.
func (s *Store) Hooks(ctx context.Context) ([]Hook, error) {
	var hooks []Hook
	err := s.view(func(txn *badger.Txn) error {
		return scanPrefix(txn, prefixHook, true, func(item *badger.Item) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			rec, err := readHookRecord(item)
			if err != nil {
				return err
			}
			hooks = append(hooks, hookFromRecord(string(item.Key()[len(prefixHook):]), &rec))
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("listing hooks: %w", err)
	}
	for i := range hooks {
		hooks[i].State = s.hookState(hooks[i].ID)
	}
	return hooks, nil
}

// DeleteHook removes a persisted hook. Its pending and parked deliveries are
// failed ("the hook was deleted") and kept for the retention period, so that the
// audit trail stays complete; it returns how many. Deliveries in flight record
// their attempt as usual.
func (s *Store) DeleteHook(ctx context.Context, id string) (int, error) {
	if err := validHookID(id); err != nil {
		return 0, fmt.Errorf("deleting hook: %w", err)
	}
	if _, err := s.Hook(ctx, id); err != nil {
		return 0, fmt.Errorf("deleting hook: %w", err)
	}
	h, err := s.adminLock(id)
	if err != nil {
		return 0, err
	}
	defer h.adminMu.Unlock()

	park := &parkOp{hook: id, reason: reasonHookDeleted, mark: true}
	if _, err := s.moveChunks(ctx, park); err != nil {
		return 0, fmt.Errorf("deleting hook %s: %w", id, err)
	}
	n, err := s.moveChunks(ctx, &discardOp{hook: id, reason: reasonHookDeleted,
		deleteHook: true})
	if err != nil {
		return n, fmt.Errorf("deleting hook %s: %w", id, err)
	}
	return n, nil
}

// HookState returns the run-time state of any hook id, persisted or not.
func (s *Store) HookState(id string) (HookState, error) {
	if s.isClosed() {
		return HookState{}, ErrClosed
	}
	return s.hookState(id), nil
}

func (s *Store) hookState(id string) HookState {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := HookState{Enabled: true}
	h := s.hooks[id]
	if h == nil {
		return st
	}
	st.ConsecutiveFailures = h.failures
	st.Pending = h.pending
	st.Parked = h.parked
	if h.park != nil {
		st.Enabled = false
		st.DisabledReason = h.park.Reason
		st.DisabledAt = h.park.Since
	}
	return st
}
