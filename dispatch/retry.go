package dispatch

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RetryPolicy is the wait between failed attempts of a delivery: Delays[i] after
// attempt i+1, each spread by ±Jitter (0.1 is ±10%) so that retries of many
// deliveries do not arrive together. A delivery makes at most len(Delays)+1
// attempts.
type RetryPolicy struct {
	Delays []time.Duration
	Jitter float64
}

// DefaultRetryPolicy waits 10s, 60s and 300s with ±10% jitter: four attempts.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{
		Delays: []time.Duration{10 * time.Second, time.Minute, 5 * time.Minute},
		Jitter: 0.1,
	}
}

// validate checks that every delay is positive and the jitter below 1.
func (p RetryPolicy) validate() error {
	for i, d := range p.Delays {
		if d <= 0 {
			return fmt.Errorf("retry delay %d is %s; want a positive duration", i+1, d)
		}
	}
	if p.Jitter < 0 || p.Jitter >= 1 {
		return errors.New("retry jitter must be at least 0 and below 1")
	}
	return nil
}

// MaxAttempts is how many attempts a delivery makes before it fails.
func (p RetryPolicy) MaxAttempts() int { return len(p.Delays) + 1 }

// Next returns how long to wait after failed attempt number attempt (from 1),
// or false when the schedule is exhausted and the delivery has failed.
// retryAfter is the response's Retry-After on 429 and 503 (zero otherwise): the
// wait is then the larger of the jittered delay and retryAfter, the latter
// capped at the schedule's longest delay. rng may be nil.
func (p RetryPolicy) Next(attempt int, retryAfter time.Duration, rng *rand.Rand) (time.Duration,
	bool) {
	if attempt < 1 || attempt > len(p.Delays) {
		return 0, false
	}
	wait := p.Delays[attempt-1]
	if p.Jitter > 0 {
		f := rand.Float64()
		if rng != nil {
			f = rng.Float64()
		}
		wait = time.Duration(float64(wait) * (1 + p.Jitter*(2*f-1)))
	}
	if retryAfter > 0 {
		longest := time.Duration(0)
		for _, d := range p.Delays {
			longest = max(longest, d)
		}
		wait = max(wait, min(retryAfter, longest))
	}
	return wait, true
}

// ParseRetryAfter reads a Retry-After header value, delay-seconds or an HTTP
// date, as a wait from now. It returns false for an absent or malformed value; a
// date in the past is a zero wait.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(365*24*time.Hour/time.Second) {
			secs = int64(365 * 24 * time.Hour / time.Second)
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}
