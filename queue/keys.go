package queue

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
)

// Key layout. Every key starts with a one-letter table and a slash; hook ids end
// with a NUL byte where more key parts follow, which is why hook ids may not
// contain one. Integers are big-endian so that byte order is numeric order.
//
//	d/<id:16>                                        delivery record (with body)
//	a/<id:16><attempt:4>                             attempt record
//	q/<hook>\x00<due:8><id:16>                       schedule of pending deliveries
//	s/<hook>\x00<status:1><^created:8><id:16>        per-hook index, newest first
//	e/<dedupe key>                                   seen event (TTL: dedupe window)
//	h/<hook>                                         persisted hook
//	p/<hook>                                         park marker (hook disabled)
//	f/<hook>                                         consecutive failed attempts
//	m/schema                                         layout version
var (
	prefixDelivery = []byte("d/")
	prefixAttempt  = []byte("a/")
	prefixSchedule = []byte("q/")
	prefixIndex    = []byte("s/")
	prefixDedupe   = []byte("e/")
	prefixHook     = []byte("h/")
	prefixPark     = []byte("p/")
	prefixFailures = []byte("f/")
	keySchema      = []byte("m/schema")
)

// schemaVersion is the key layout version written at first open.
const schemaVersion = 1

const idLen = 16

type rawID [idLen]byte

func joinKey(parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	k := make([]byte, 0, n)
	for _, p := range parts {
		k = append(k, p...)
	}
	return k
}

func be64(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}

func deliveryKey(id rawID) []byte { return joinKey(prefixDelivery, id[:]) }

func attemptPrefix(id rawID) []byte { return joinKey(prefixAttempt, id[:]) }

func attemptKey(id rawID, n int) []byte {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(n))
	return joinKey(prefixAttempt, id[:], b[:])
}

// hookPart is "<hook>\x00", the part of schedule and index keys naming the hook.
func hookPart(hook string) []byte {
	return append([]byte(hook), 0)
}

func schedulePrefix(hook string) []byte { return joinKey(prefixSchedule, hookPart(hook)) }

func scheduleKey(hook string, due int64, id rawID) []byte {
	return joinKey(prefixSchedule, hookPart(hook), be64(uint64(due)), id[:])
}

// parseScheduleKey splits a schedule key into hook, due time and id.
func parseScheduleKey(k []byte) (hook string, due int64, id rawID, err error) {
	rest := k[len(prefixSchedule):]
	i := bytes.IndexByte(rest, 0)
	if i < 0 || len(rest)-i-1 != 8+idLen {
		return "", 0, id, fmt.Errorf("malformed schedule key %q", k)
	}
	hook = string(rest[:i])
	rest = rest[i+1:]
	due = int64(binary.BigEndian.Uint64(rest))
	copy(id[:], rest[8:])
	return hook, due, id, nil
}

func indexPrefix(hook string, st Status) []byte {
	return joinKey(prefixIndex, hookPart(hook), []byte{byte(st)})
}

// indexSuffix orders a hook's deliveries newest first, ties broken by id.
func indexSuffix(created int64, id rawID) []byte {
	return joinKey(be64(math.MaxUint64-uint64(created)), id[:])
}

func indexKey(hook string, st Status, created int64, id rawID) []byte {
	return joinKey(indexPrefix(hook, st), indexSuffix(created, id))
}

const indexSuffixLen = 8 + idLen

// parseIndexKey splits a per-hook index key.
func parseIndexKey(k []byte) (hook string, st Status, suffix []byte, id rawID, err error) {
	rest := k[len(prefixIndex):]
	i := bytes.IndexByte(rest, 0)
	if i < 0 || len(rest)-i-1 != 1+indexSuffixLen {
		return "", 0, nil, id, fmt.Errorf("malformed index key %q", k)
	}
	hook = string(rest[:i])
	st = Status(rest[i+1])
	suffix = rest[i+2:]
	copy(id[:], suffix[8:])
	return hook, st, suffix, id, nil
}

func dedupeKey(key string) []byte { return joinKey(prefixDedupe, []byte(key)) }

func hookKey(id string) []byte { return joinKey(prefixHook, []byte(id)) }

func parkKey(id string) []byte { return joinKey(prefixPark, []byte(id)) }

func failuresKey(id string) []byte { return joinKey(prefixFailures, []byte(id)) }

// validHookID reports whether id can be used in keys.
func validHookID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("hook id is empty: %w", ErrInvalid)
	case len(id) > maxHookIDLen:
		return fmt.Errorf("hook id is %d bytes, over %d: %w", len(id), maxHookIDLen, ErrInvalid)
	case bytes.IndexByte([]byte(id), 0) >= 0:
		return fmt.Errorf("hook id %q contains a NUL byte: %w", id, ErrInvalid)
	}
	return nil
}

// maxHookIDLen bounds hook ids so that keys stay small.
const maxHookIDLen = 512
