package esp

import (
	"cmp"
	"crypto/sha256"
	"sync"
	"time"
)

// DefaultReplayCacheSize is how many Mailgun tokens the replay cache holds
// at most; full, it takes about 20 MiB.
const DefaultReplayCacheSize = 1 << 18

// replayCache remembers single-use tokens, with the body each came with,
// until their signature could no longer pass the timestamp check, so that a
// token carries one body only. The same token with the same body again is
// the ESP retrying a request it thinks failed (Mailgun resends the original
// signature block), which the event's id makes a duplicate; refusing it
// would lose the event whenever an answer did not reach the ESP.
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
	seen  map[[16]byte]replayEntry // by token digest
	order [][16]byte               // ring of keys in insertion order
	head  int                      // index of the oldest key in order
	size  int                      // number of keys in order
}

// replayEntry is what the cache remembers of a token.
type replayEntry struct {
	expiry int64    // unix nanoseconds
	body   [16]byte // digest of the body the token came with
}

// newReplayCache returns a cache of up to max tokens.
func newReplayCache(max int) *replayCache {
	max = cmp.Or(max, DefaultReplayCacheSize)
	return &replayCache{
		seen:  make(map[[16]byte]replayEntry),
		order: make([][16]byte, max),
	}
}

// use records token as used with body until expiry and reports whether the
// token may be accepted: it is new, it expired, or it comes again with the
// same body. Expired tokens are dropped as they come to the front.
func (c *replayCache) use(token string, body []byte, now, expiry time.Time) bool {
	sum := sha256.Sum256([]byte(token))
	key := [16]byte(sum[:16])
	bodySum := sha256.Sum256(body)
	entry := replayEntry{expiry: expiry.UnixNano(), body: [16]byte(bodySum[:16])}

	c.mu.Lock()
	defer c.mu.Unlock()
	t := now.UnixNano()
	if prev, ok := c.seen[key]; ok {
		if t < prev.expiry {
			return prev.body == entry.body
		}
		c.seen[key] = entry // still in the ring: renew it in place
		return true
	}

	for c.size > 0 {
		oldest := c.order[c.head]
		if c.size < len(c.order) && t < c.seen[oldest].expiry {
			break
		}
		delete(c.seen, oldest)
		c.head = (c.head + 1) % len(c.order)
		c.size--
	}
	c.seen[key] = entry
	c.order[(c.head+c.size)%len(c.order)] = key
	c.size++
	return true
}
