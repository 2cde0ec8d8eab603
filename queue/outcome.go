package queue

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// maxResponseHeader bounds the response headers an attempt record keeps.
const maxResponseHeader = 16 << 10

// Record stores one attempt of a leased delivery and its outcome in one write:
// the attempt record, the delivery's new state (delivered; pending again at
// RetryAt, or parked if the hook is; failed) and the hook's consecutive-failure
// counter (reset by success, raised by failure), which it returns so that the
// dispatcher can disable the hook at its limit.
//
// The store numbers the attempt. Every reported attempt is kept, even a late one
// for a delivery that has since finished (a lease that expired while its request
// was still running): the attempt is recorded and the state only moves from
// failed to delivered, never back.
func (s *Store) Record(ctx context.Context, l Lease, r Report) (Recorded, error) {
	id, err := parseID(l.Delivery.ID)
	if err != nil {
		return Recorded{}, fmt.Errorf("recording attempt: %w", err)
	}
	switch {
	case r.Outcome < Delivered || r.Outcome > Failed:
		return Recorded{}, fmt.Errorf("recording attempt of %s: unknown %v: %w",
			l.Delivery.ID, r.Outcome, ErrInvalid)
	case r.Outcome == Retry && r.RetryAt.IsZero():
		return Recorded{}, fmt.Errorf("recording attempt of %s: retry without a time: %w",
			l.Delivery.ID, ErrInvalid)
	}
	o := &recordOp{id: id, token: l.Token, report: r}
	o.report.Attempt = trimAttempt(r.Attempt)
	if err := s.submit(ctx, o); err != nil {
		return Recorded{}, fmt.Errorf("recording attempt of %s: %w", l.Delivery.ID, err)
	}
	return o.result, nil
}

// trimAttempt keeps the first MaxResponseBody bytes of the response body and as
// many response headers as fit in maxResponseHeader.
func trimAttempt(a Attempt) Attempt {
	if len(a.Response.Body) > MaxResponseBody {
		a.Response.Body = a.Response.Body[:MaxResponseBody]
	}
	size := 0
	for k, vs := range a.Response.Header {
		for _, v := range vs {
			size += len(k) + len(v)
		}
	}
	if size <= maxResponseHeader {
		return a
	}
	kept := http.Header{}
	size = 0
	for k, vs := range a.Response.Header {
		for _, v := range vs {
			if size+len(k)+len(v) > maxResponseHeader {
				continue
			}
			size += len(k) + len(v)
			kept[k] = append(kept[k], v)
		}
	}
	a.Response.Header = kept
	return a
}

type recordOp struct {
	opResult
	id     rawID
	token  uint64
	report Report
	result Recorded
}

func (o *recordOp) estimate() int64 {
	a := &o.report.Attempt
	return int64(4096 + len(a.Request.Body) + len(a.Response.Body) + maxResponseHeader)
}

// nextStatus applies an outcome to a state; see Record.
func nextStatus(cur Status, out Outcome, hookParked bool) Status {
	switch {
	case out == Delivered:
		return StatusDelivered
	case cur.finished():
		return cur
	case out == Failed:
		return StatusFailed
	case cur == StatusParked || hookParked:
		return StatusParked
	}
	return StatusPending
}

func (o *recordOp) apply(b *batch) error {
	old, oldExp, err := b.delivery(o.id)
	if err != nil {
		return err
	}
	d := old
	a := o.report.Attempt
	a.Number = old.Attempts + 1
	if a.At.IsZero() {
		a.At = b.now
	}
	if a.HookVersion == 0 {
		a.HookVersion = old.HookVersion
	}
	if a.Expression == "" {
		a.Expression = old.Expression
	}

	failed := o.report.Outcome != Delivered
	d.Attempts = a.Number
	d.LastError = ""
	if failed {
		d.LastError = attemptError(&a)
	}
	d.Status = nextStatus(old.Status, o.report.Outcome, b.parkOf(old.HookID) != nil)
	d.DueAt = time.Time{}
	if d.Status == StatusPending {
		d.DueAt = o.report.RetryAt
		a.NextRetryAt = d.DueAt
	}
	exp := oldExp
	if d.Status.finished() && d.Status != old.Status {
		d.FinishedAt = b.now
		exp = b.s.finishExpiry(b.now)
	}

	es := b.moveEntries(&old, &d, oldExp, exp)
	es = append(es, set(attemptKey(o.id, a.Number), encodeAttempt(&a, d.Body), exp))
	failures := 0
	if failed {
		failures = b.failuresOf(d.HookID) + 1
	}
	if failures != b.failuresOf(d.HookID) {
		es = append(es, failuresEntry(d.HookID, failures))
	}
	var rewrites []mutation
	if exp != oldExp {
		if rewrites, err = b.rewriteAttempts(o.id, old.Attempts, exp); err != nil {
			return err
		}
	}
	if err := b.writeMove(es, rewrites); err != nil {
		return err
	}

	b.setFailures(d.HookID, failures)
	o.result = Recorded{Attempt: a.Number, Status: d.Status, Failures: failures}
	s, token := b.s, o.token
	b.after(func() {
		h := s.entry(d.HookID)
		s.unleased(h, o.id, token)
		s.moved(h, o.id, &old, &d, oldExp, exp)
		h.failures = failures
	})
	b.notify = b.notify || d.Status == StatusPending
	return nil
}

// attemptError says why an attempt failed.
func attemptError(a *Attempt) string {
	switch {
	case a.Error != "":
		return a.Error
	case a.StatusCode != 0:
		return fmt.Sprintf("unexpected status %d", a.StatusCode)
	}
	return "attempt failed"
}

func failuresEntry(hook string, n int) mutation {
	if n == 0 {
		return del(failuresKey(hook))
	}
	return set(failuresKey(hook), encodeCount(n), 0)
}
