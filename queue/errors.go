package queue

import "errors"

// Sentinel errors. Methods wrap them with context; test with errors.Is.
var (
	// ErrClosed is returned by every method called after Close.
	ErrClosed = errors.New("queue store is closed")

	// ErrNotFound means the hook or delivery does not exist, or has expired.
	ErrNotFound = errors.New("not found")

	// ErrConflict means the write lost a race or contradicts the current state: a
	// hook created twice, a stale version, or a replay of a delivery still pending.
	ErrConflict = errors.New("conflict")

	// ErrTxnTooBig means a single write is larger than one Badger transaction may
	// hold (15% of the memtable size); nothing was written.
	ErrTxnTooBig = errors.New("write too big for one transaction")

	// ErrInvalid means an argument cannot be stored as given, such as an empty hook
	// id or a malformed cursor.
	ErrInvalid = errors.New("invalid argument")
)
