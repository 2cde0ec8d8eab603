package esp

import (
	"cmp"
	"crypto/sha256"
	"sync"
	"time"
)

// DefaultReplayCacheSize is how many Mailgun tokens the replay cache holds
// at most; full, it takes about 16 MiB.
const DefaultReplayCacheSize = 1 << 18

// replayCache remembers single-use tokens until their signature could no
// longer pass the timestamp check, so that a token is accepted once.
//
// It is bounded: when full it forgets the oldest token first. Note, a token
// forgotten that way before its expiry could be replayed; that takes more
// authentic requests within the tolerance than the cache holds, and only an
// attacker who captured a signed request could use it.
//
// TODO: the cache lives in the memory of one process, so a restart forgets
// it and gateway instances behind one load balancer do not share it; a
// token can then be replayed once per instance within the tolerance.
type replayCache struct {
	mu    sync.Mutex
	seen  map[[16]byte]int64 // token digest → expiry, unix nanoseconds
	order [][16]byte         // ring of keys in insertion order
	head  int                // index of the oldest key in order
	size  int                // number of keys in order
}

// newReplayCache returns a cache of up to max tokens.
func newReplayCache(max int) *replayCache {
	max = cmp.Or(max, DefaultReplayCacheSize)
	return &replayCache{
		seen:  make(map[[16]byte]int64),
		order: make([][16]byte, max),
	}
}

// use records token as used until expiry and reports whether it was unused.
// Expired tokens are dropped as they come to the front.
func (c *replayCache) use(token string, now, expiry time.Time) bool {
	sum := sha256.Sum256([]byte(token))
	key := [16]byte(sum[:16])

	c.mu.Lock()
	defer c.mu.Unlock()
	t, exp := now.UnixNano(), expiry.UnixNano()
	if until, ok := c.seen[key]; ok {
		if t < until {
			return false
		}
		c.seen[key] = exp // still in the ring: renew it in place
		return true
	}

	for c.size > 0 {
		oldest := c.order[c.head]
		if c.size < len(c.order) && t < c.seen[oldest] {
			break
		}
		delete(c.seen, oldest)
		c.head = (c.head + 1) % len(c.order)
		c.size--
	}
	c.seen[key] = exp
	c.order[(c.head+c.size)%len(c.order)] = key
	c.size++
	return true
}
