package queue

import (
	"context"
)

// The interfaces below split the store by who uses it, so that another backend
// (NATS JetStream is planned) can implement each part on its own.

// Enqueuer is what ingest needs: durable acceptance of events.
type Enqueuer interface {
	// Enqueue stores items with their deliveries and returns once they are
	// durable as the store's sync mode defines it; results follow items' order.
	Enqueue(ctx context.Context, items []Item) ([]ItemResult, error)
}

// WorkQueue is what the dispatcher needs: due work, leases and outcomes.
type WorkQueue interface {
	// Ready reports which hooks have due deliveries and when more become due.
	Ready() Readiness
	// Lease hands out up to n due deliveries of one hook.
	Lease(ctx context.Context, hookID string, n int) ([]Lease, error)
	// Record stores an attempt and its outcome in one write.
	Record(ctx context.Context, l Lease, r Report) (Recorded, error)
	// Abandon gives a lease back without an attempt; the delivery is due at once.
	Abandon(l Lease)
	// ParkHook disables a hook: its pending deliveries and new ones are parked.
	ParkHook(ctx context.Context, hookID, reason string) error
}

// HookStore is what the admin API needs to manage hooks.
type HookStore interface {
	// CreateHook stores a hook at version 1; an existing id is ErrConflict.
	CreateHook(ctx context.Context, id string, doc []byte) (Hook, error)
	// UpdateHook replaces a hook at version with version+1; a stale version is
	// ErrConflict, an unknown id ErrNotFound.
	UpdateHook(ctx context.Context, id string, doc []byte, version uint64) (Hook, error)
	// Hook reads one hook; an unknown id is ErrNotFound.
	Hook(ctx context.Context, id string) (Hook, error)
	// Hooks lists the stored hooks by id.
	Hooks(ctx context.Context) ([]Hook, error)
	// DeleteHook removes a hook and fails its waiting deliveries, returning how
	// many.
	DeleteHook(ctx context.Context, id string) (int, error)
	// HookState is the run-time state of any hook id, stored or not.
	HookState(id string) (HookState, error)
	// ParkHook disables a hook (see WorkQueue).
	ParkHook(ctx context.Context, hookID, reason string) error
	// ReleaseHook enables a parked hook and makes its parked deliveries due.
	ReleaseHook(ctx context.Context, hookID string) (int, error)
	// DiscardParked fails a parked hook's parked deliveries.
	DiscardParked(ctx context.Context, hookID string) (int, error)
}

// AuditLog is what the admin API and dashboard need to read deliveries.
type AuditLog interface {
	// Delivery reads one delivery with its attempts, oldest first.
	Delivery(ctx context.Context, id string) (DeliveryRecord, error)
	// Deliveries pages through a hook's deliveries, newest first.
	Deliveries(ctx context.Context, hookID string, q Query) (Page, error)
	// Replay makes a finished delivery due again; an unfinished one is
	// ErrConflict.
	Replay(ctx context.Context, id string) (Delivery, error)
	// Stats counts deliveries by state.
	Stats() (Stats, error)
}

// Backend is a complete store.
type Backend interface {
	Enqueuer
	WorkQueue
	HookStore
	AuditLog
	Close() error
}

// Interface guard.
var _ Backend = (*Store)(nil)
