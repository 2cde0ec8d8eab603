package gateway

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/hookgate/hookgate/cel"
	"github.com/hookgate/hookgate/dispatch"
	"github.com/hookgate/hookgate/event"
	"github.com/hookgate/hookgate/hook"
	"github.com/hookgate/hookgate/queue"
)

// Delivery returns a delivery with its attempts if the caller sees its hook.
// Deliveries of deleted hooks are the operator's alone.
func (g *Gateway) Delivery(ctx context.Context, c Caller, id string) (queue.DeliveryRecord,
	error) {
	rec, err := g.store.Delivery(ctx, id)
	if err != nil {
		return rec, err
	}
	if !g.seesHookOf(c, rec.HookID) {
		return queue.DeliveryRecord{}, fmt.Errorf("delivery %s: %w", id, queue.ErrNotFound)
	}
	return rec, nil
}

// Deliveries returns a page of a hook's deliveries, newest first. A deleted
// hook's deliveries stay listed until they expire; an id that is neither a
// hook nor a deleted hook with deliveries is not found.
func (g *Gateway) Deliveries(ctx context.Context, c Caller, hookID string, q queue.Query) (
	queue.Page, error) {
	if !g.seesHookOf(c, hookID) {
		return queue.Page{}, fmt.Errorf("hook %s: %w", hookID, queue.ErrNotFound)
	}
	page, err := g.store.Deliveries(ctx, hookID, q)
	if err != nil || len(page.Deliveries) > 0 || q.Cursor != "" {
		return page, err
	}
	if _, ok := g.hooks.Load().hooks[hookID]; ok {
		return page, nil
	}
	if q.Status != 0 {
		all, err := g.store.Deliveries(ctx, hookID, queue.Query{Limit: 1})
		if err != nil || len(all.Deliveries) > 0 {
			return page, err
		}
	}
	return queue.Page{}, fmt.Errorf("hook %s: %w", hookID, queue.ErrNotFound)
}

// seesHookOf reports whether the caller sees the hook id; only the operator
// sees a hook that no longer exists.
func (g *Gateway) seesHookOf(c Caller, hookID string) bool {
	h, ok := g.hooks.Load().hooks[hookID]
	if !ok {
		return c.Account == ""
	}
	return c.sees(h.Account)
}

// Replay sends a delivered or failed delivery again, with the same id and
// body; it is parked if its hook is disabled. A delivery of a deleted hook
// cannot be sent again.
func (g *Gateway) Replay(ctx context.Context, c Caller, id string) (queue.Delivery, error) {
	rec, err := g.Delivery(ctx, c, id)
	if err != nil {
		return queue.Delivery{}, err
	}
	if _, ok := g.hooks.Load().hooks[rec.HookID]; !ok {
		return queue.Delivery{}, fmt.Errorf("delivery %s: its hook %s was deleted: %w", id,
			rec.HookID, queue.ErrConflict)
	}
	return g.store.Replay(ctx, id)
}

// ReplayFailed replays the failed deliveries of an existing hook created at
// or after since and returns how many it replayed.
func (g *Gateway) ReplayFailed(ctx context.Context, c Caller, hookID string,
	since time.Time) (int, error) {
	if _, err := g.Hook(c, hookID); err != nil {
		return 0, err
	}
	// Collect first: replayed deliveries leave the failed ones being paged.
	var ids []string
	q := queue.Query{Status: queue.StatusFailed, Limit: queue.MaxPageSize}
	for {
		page, err := g.Deliveries(ctx, c, hookID, q)
		if err != nil {
			return 0, err
		}
		for _, d := range page.Deliveries {
			if d.CreatedAt.Before(since) {
				page.NextCursor = ""
				break
			}
			ids = append(ids, d.ID)
		}
		if page.NextCursor == "" {
			break
		}
		q.Cursor = page.NextCursor
	}
	for i, id := range ids {
		if _, err := g.store.Replay(ctx, id); err != nil {
			return i, err
		}
	}
	return len(ids), nil
}

// SendTest delivers a sample event of the hook's first type to the hook now,
// whatever its conditions, and waits for its first attempt to end. The test
// delivery is signed, retried and audited like any other.
func (g *Gateway) SendTest(ctx context.Context, c Caller, hookID string) (
	queue.DeliveryRecord, error) {
	h, err := g.Hook(c, hookID)
	if err != nil {
		return queue.DeliveryRecord{}, err
	}
	e, err := SampleEvent(h.Hook, time.Now())
	if err != nil {
		return queue.DeliveryRecord{}, err
	}
	body := e.Body()
	if h.Transform != nil {
		if body, err = h.Transform.Apply(cel.NewActivation(e)); err != nil {
			return queue.DeliveryRecord{}, &event.FieldError{Path: "transform",
				Msg: fmt.Sprintf("fails on the sample event: %v", err)}
		}
	}
	res, err := g.store.Enqueue(ctx, []queue.Item{{
		EventID: e.ID, EventType: e.Type, Account: e.Account,
		Deliveries: []queue.NewDelivery{{
			HookID: h.ID, HookVersion: uint64(h.Version),
			Expression: h.Rule.Expression(), Body: body,
		}},
	}})
	if err != nil {
		return queue.DeliveryRecord{}, err
	}
	// The attempt may wait for a worker, then for the endpoint.
	wait := cmp.Or(g.config.Load().Dispatch.Timeout, dispatch.DefaultTimeout) + 5*time.Second
	return g.awaitAttempt(ctx, res[0].DeliveryIDs[0], wait)
}

// awaitAttempt polls a delivery until it has an attempt, is no longer
// pending, or wait has passed, and returns it as it is then.
func (g *Gateway) awaitAttempt(ctx context.Context, id string, wait time.Duration) (
	queue.DeliveryRecord, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		rec, err := g.store.Delivery(context.WithoutCancel(ctx), id)
		if err != nil || len(rec.AttemptLog) > 0 || rec.Status != queue.StatusPending {
			return rec, err
		}
		select {
		case <-ctx.Done():
			return rec, nil
		case <-tick.C:
		}
	}
}

// SampleEvent returns an event of the hook's first type, in its account and
// domain, with every known field filled, as a test delivery sends it.
func SampleEvent(h *hook.Hook, now time.Time) (*event.Event, error) {
	types := h.Types()
	if len(types) == 0 {
		return nil, fmt.Errorf("hook %s takes no event type", h.ID)
	}
	fields := map[string]any{
		"id":        "evt_test_" + now.UTC().Format("20060102T150405.000000000"),
		"type":      types[0],
		"timestamp": now.UTC().Format(time.RFC3339Nano),
		"account":   h.Account,
		"metadata":  map[string]any{"test": true},
	}
	if c, _ := event.CategoryOf(types[0]); !c.AccountWide() {
		domain := h.Domain
		if domain == "" {
			domain = "example.com"
		}
		for k, v := range map[string]any{
			"domain": domain, "environment": "test", "message_id": "msg_test",
			"recipient": "recipient@" + domain, "url": "https://" + domain + "/offer",
			"user_agent": "Mozilla/5.0 (hookgate test)", "ip": "192.0.2.1",
			"heat_score": 8.0, "intent_category": "PURCHASE_INTENT", "urgency": 4.0,
			"confidence": 0.9, "is_human": true, "dwell_seconds": 42.0,
		} {
			fields[k] = v
		}
	}
	if h.Account == "" {
		delete(fields, "account")
	}
	return event.New(fields, event.Defaults{Received: now})
}
