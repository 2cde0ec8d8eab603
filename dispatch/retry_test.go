package dispatch

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestRetryPolicyNext(t *testing.T) {
	p := DefaultRetryPolicy()
	tests := []struct {
		name       string
		attempt    int
		retryAfter time.Duration
		min, max   time.Duration
		ok         bool
	}{
		{name: "first failure waits about 10s", attempt: 1, min: 9 * time.Second,
			max: 11 * time.Second, ok: true},
		{name: "second failure waits about 60s", attempt: 2, min: 54 * time.Second,
			max: 66 * time.Second, ok: true},
		{name: "third failure waits about 300s", attempt: 3, min: 270 * time.Second,
			max: 330 * time.Second, ok: true},
		{name: "fourth failure exhausts the schedule", attempt: 4},
		{name: "attempt zero is not a failure", attempt: 0},
		{name: "longer Retry-After wins", attempt: 1, retryAfter: 2 * time.Minute,
			min: 2 * time.Minute, max: 2 * time.Minute, ok: true},
		{name: "shorter Retry-After loses", attempt: 2, retryAfter: time.Second,
			min: 54 * time.Second, max: 66 * time.Second, ok: true},
		{name: "Retry-After is capped at the longest delay", attempt: 1,
			retryAfter: time.Hour, min: 5 * time.Minute, max: 5 * time.Minute, ok: true},
		{name: "Retry-After does not extend the schedule", attempt: 4, retryAfter: time.Second},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i := 0; i < 200; i++ {
				wait, ok := p.Next(tt.attempt, tt.retryAfter, rng)
				assert.Equal(t, tt.ok, ok)
				if !ok {
					assert.Zero(t, wait)
					continue
				}
				assert.GreaterOrEqual(t, wait, tt.min)
				assert.LessOrEqual(t, wait, tt.max)
			}
		})
	}
	assert.Equal(t, 4, p.MaxAttempts())
}

func TestRetryPolicyJitterSpreadsWaits(t *testing.T) {
	p := DefaultRetryPolicy()
	seen := map[time.Duration]bool{}
	for i := 0; i < 100; i++ {
		wait, _ := p.Next(1, 0, nil)
		seen[wait] = true
	}
	assert.Greater(t, len(seen), 50)
	exact := RetryPolicy{Delays: []time.Duration{time.Second}}
	wait, ok := exact.Next(1, 0, nil)
	assert.True(t, ok)
	assert.Equal(t, time.Second, wait)
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name  string
		value string
		want  time.Duration
		ok    bool
	}{
		{name: "seconds", value: "120", want: 2 * time.Minute, ok: true},
		{name: "zero seconds", value: "0", want: 0, ok: true},
		{name: "spaces", value: " 5 ", want: 5 * time.Second, ok: true},
		{name: "http date", value: "Thu, 02 Jan 2025 03:05:05 GMT", want: time.Minute, ok: true},
		{name: "past date", value: "Thu, 02 Jan 2025 03:00:00 GMT", want: 0, ok: true},
		{name: "huge seconds are capped", value: "99999999999", want: 365 * 24 * time.Hour,
			ok: true},
		{name: "empty", value: ""},
		{name: "negative", value: "-1"},
		{name: "garbage", value: "soon"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseRetryAfter(tt.value, now)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}
