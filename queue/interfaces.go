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
	CreateHook(ctx context.Context, id string, doc []byte) (Hook, error)
	UpdateHook(ctx context.Context, id string, doc []byte, version uint64) (Hook, error)
	Hook(ctx context.Context, id string) (Hook, error)
	Hooks(ctx context.Context) ([]Hook, error)
	DeleteHook(ctx context.Context, id string) (int, error)
	HookState(id string) (HookState, error)
	ParkHook(ctx context.Context, hookID, reason string) error
	ReleaseHook(ctx context.Context, hookID string) (int, error)
	DiscardParked(ctx context.Context, hookID string) (int, error)
}

// AuditLog is what the admin API and dashboard need to read deliveries.
type AuditLog interface {
	Delivery(ctx context.Context, id string) (DeliveryRecord, error)
	Deliveries(ctx context.Context, hookID string, q Query) (Page, error)
	Replay(ctx context.Context, id string) (Delivery, error)
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
