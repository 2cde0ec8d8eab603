package queue

import (
	"fmt"
	"time"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"go.uber.org/zap"
)

// SyncMode says when writes reach the disk.
type SyncMode uint8

const (
	// SyncAlways syncs every group commit before any of its callers returns:
	// whatever Enqueue acknowledged survives a power loss. Concurrent callers
	// share one transaction and one sync.
	SyncAlways SyncMode = iota
	// SyncInterval syncs every Options.SyncEvery. Acknowledged writes survive a
	// crash of the process (they are in the page cache) but the last interval
	// may be lost if the machine goes down.
	//
	// TODO: Badger's periodic sync covers only its current value log and
	// write-ahead log files. The unsynced tail of a file it has just moved on
	// from waits for the operating system's write-back (about 30s on Linux) or
	// for the memtable's flush, so a machine crash can lose somewhat more than
	// the last interval around such a switch.
	SyncInterval
	// SyncNever leaves syncing to the operating system and to Close. Fastest;
	// survives process crashes, not machine crashes.
	SyncNever
)

// String returns the mode as the Caddyfile spells it.
func (m SyncMode) String() string {
	switch m {
	case SyncAlways:
		return "always"
	case SyncInterval:
		return "interval"
	case SyncNever:
		return "never"
	}
	return fmt.Sprintf("sync_mode(%d)", uint8(m))
}

// Options configure a Store. Start from DefaultOptions and change fields with
// the With methods; each field is documented on its method.
type Options struct {
	Dir            string
	Sync           SyncMode
	SyncEvery      time.Duration
	Retention      time.Duration
	DedupeWindow   time.Duration
	LeaseTimeout   time.Duration
	GCInterval     time.Duration
	GCDiscardRatio float64
	MaxGroup       int
	Clock          func() time.Time
	Logger         *zap.Logger
	Badger         func(badger.Options) badger.Options
}

// DefaultOptions returns the options hookgate runs with: sync always, 30 days of
// retention, a 24 hour dedupe window and Badger's small-memory profile.
func DefaultOptions(dir string) Options {
	return Options{
		Dir:            dir,
		Sync:           SyncAlways,
		SyncEvery:      100 * time.Millisecond,
		Retention:      720 * time.Hour,
		DedupeWindow:   24 * time.Hour,
		LeaseTimeout:   time.Minute,
		GCInterval:     time.Minute,
		GCDiscardRatio: 0.5,
		MaxGroup:       1024,
		Clock:          time.Now,
		Logger:         zap.NewNop(),
	}
}

// WithSync sets when writes reach the disk (see SyncMode). every is the
// interval for SyncInterval and is ignored otherwise.
func (o Options) WithSync(mode SyncMode, every time.Duration) Options {
	o.Sync = mode
	if mode == SyncInterval {
		o.SyncEvery = every
	}
	return o
}

// WithRetention sets how long delivered and failed deliveries and their attempts
// are kept after they finish. Pending and parked deliveries never expire.
func (o Options) WithRetention(d time.Duration) Options {
	o.Retention = d
	return o
}

// WithDedupeWindow sets how long an item's dedupe key is remembered.
func (o Options) WithDedupeWindow(d time.Duration) Options {
	o.DedupeWindow = d
	return o
}

// WithLeaseTimeout sets how long a lease lasts before an unrecorded delivery is
// due again. Make it longer than the delivery timeout plus a margin.
func (o Options) WithLeaseTimeout(d time.Duration) Options {
	o.LeaseTimeout = d
	return o
}

// WithGC sets how often Badger's value log is garbage collected and the
// fraction of a file that must be stale before it is rewritten. An interval of
// zero turns GC off.
func (o Options) WithGC(every time.Duration, discardRatio float64) Options {
	o.GCInterval = every
	o.GCDiscardRatio = discardRatio
	return o
}

// WithMaxGroup caps how many writes share one group commit.
func (o Options) WithMaxGroup(n int) Options {
	o.MaxGroup = n
	return o
}

// WithClock sets the clock used for due times, leases, retention and the dedupe
// window; tests move it. Expiry is also enforced by Badger against the wall
// clock, so in production the clock must be the real time.
func (o Options) WithClock(now func() time.Time) Options {
	o.Clock = now
	return o
}

// WithLogger sets the logger for the store and for Badger (see NewBadgerLogger).
func (o Options) WithLogger(l *zap.Logger) Options {
	o.Logger = l
	return o
}

// WithBadgerOptions lets the caller adjust Badger's options after the store has
// set its own; use it to trade memory for speed on larger machines.
func (o Options) WithBadgerOptions(fn func(badger.Options) badger.Options) Options {
	o.Badger = fn
	return o
}

func (o Options) validate() error {
	switch {
	case o.Dir == "":
		return fmt.Errorf("options: dir is empty: %w", ErrInvalid)
	case o.Sync > SyncNever:
		return fmt.Errorf("options: unknown sync mode %d: %w", o.Sync, ErrInvalid)
	case o.Sync == SyncInterval && o.SyncEvery <= 0:
		return fmt.Errorf("options: sync interval must be positive: %w", ErrInvalid)
	case o.Retention <= 0:
		return fmt.Errorf("options: retention must be positive: %w", ErrInvalid)
	case o.DedupeWindow <= 0:
		return fmt.Errorf("options: dedupe window must be positive: %w", ErrInvalid)
	case o.LeaseTimeout <= 0:
		return fmt.Errorf("options: lease timeout must be positive: %w", ErrInvalid)
	case o.MaxGroup <= 0:
		return fmt.Errorf("options: max group must be positive: %w", ErrInvalid)
	case o.Clock == nil:
		return fmt.Errorf("options: clock is nil: %w", ErrInvalid)
	}
	return nil
}

// valueThreshold is the size from which Badger stores a value in the value log
// rather than in the LSM tree.
const valueThreshold = 256

// badgerOptions is the small-memory profile measured for a 2-core machine: two
// 16 MiB memtables, small caches, no compression, two compactors and 64 MiB value
// log files. Records of valueThreshold bytes or more, which is nearly every
// delivery with its body and most attempts, go to the value log; the LSM tree keeps
// keys, pointers and small records: compaction then moves no bodies, which with a
// million queued deliveries halves the peak heap and doubles the ingest rate
// against keeping values in the tree. Under SyncAlways a group commit syncs the
// value log and the memtable's write-ahead log once each. Conflict detection is
// off because a single goroutine writes.
//
// TODO: with SyncWrites, Badger (v4.9) logs a failed value-log sync instead of
// returning it, so a disk error at that moment could acknowledge a write that
// is not on disk. Syncing through DB.Sync instead would return the error.
func (o Options) badgerOptions() badger.Options {
	logger := o.Logger
	if logger == nil {
		logger = zap.NewNop()
	}
	b := badger.DefaultOptions(o.Dir).
		WithSyncWrites(o.Sync == SyncAlways).
		WithLogger(NewBadgerLogger(logger.Named("badger"))).
		WithMetricsEnabled(false).
		WithDetectConflicts(false).
		WithMemTableSize(16 << 20).
		WithNumMemtables(2).
		WithNumLevelZeroTables(2).
		WithNumLevelZeroTablesStall(4).
		WithBlockCacheSize(8 << 20).
		WithIndexCacheSize(8 << 20).
		WithNumCompactors(2).
		WithValueLogFileSize(64 << 20).
		WithValueThreshold(valueThreshold).
		WithCompression(options.None)
	if o.Badger != nil {
		b = o.Badger(b)
	}
	return b
}
