// Package gateway runs hookgate's core: it owns the store and the dispatcher,
// routes accepted events through the hooks' rules into durable deliveries,
// and swaps in new hooks and settings without a restart. It knows nothing of
// Caddy; the caddymodule package adapts it.
package gateway

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/hookgate/hookgate/cel"
	"github.com/hookgate/hookgate/dispatch"
	"github.com/hookgate/hookgate/event"
	"github.com/hookgate/hookgate/hook"
	"github.com/hookgate/hookgate/queue"
)

// Config is what a running gateway applies at each configuration load.
type Config struct {
	// Hooks are the hooks declared in the configuration.
	Hooks []*Hook

	// Policy holds the account rules every hook write must satisfy.
	Policy hook.Policy

	// OnMismatch, when set, is called when an event fails a hook's rule with
	// n leaves false because the field's value has a type the leaf does not
	// take, a likely mistake in the rule or the sender. It runs on the ingest
	// path and must return quickly.
	OnMismatch func(hookID string, n int)

	// RecentEvents is how many received events per account are kept for
	// dry runs over recent traffic. Zero means DefaultRecentEvents; negative
	// keeps none.
	RecentEvents int

	// Dispatch configures delivery. Its Queue and Targets are set by the
	// gateway; OnDisable and OnAttempt, when set, are called for the current
	// configuration's observers.
	Dispatch dispatch.Config
}

// Gateway is one store with its dispatcher and the hooks that route into it.
// It is safe for concurrent use.
type Gateway struct {
	store  *queue.Store
	logger *zap.Logger

	// hooks is the current generation of hooks, read on every event.
	hooks atomic.Pointer[hookSet]
	// config is the configuration applied last.
	config atomic.Pointer[Config]

	recent recentEvents
	tally  tally

	// mu serializes Configure, hook writes and Close.
	mu         sync.Mutex
	stored     []*Hook
	dispatcher *dispatch.Dispatcher
	closed     bool
}

// Open opens the store and loads its persisted hooks. The gateway routes
// nothing and delivers nothing until Configure.
func Open(opts queue.Options, logger *zap.Logger) (*Gateway, error) {
	if logger == nil {
		logger = zap.NewNop()
	}
	store, err := queue.Open(opts.WithLogger(logger))
	if err != nil {
		return nil, fmt.Errorf("opening store: %w", err)
	}
	g := &Gateway{store: store, logger: logger}
	if g.stored, err = g.loadStored(context.Background()); err != nil {
		return nil, errors.Join(err, store.Close())
	}
	g.hooks.Store(newHookSet(nil, g.stored))
	g.config.Store(&Config{})
	return g, nil
}

// Store returns the gateway's store.
func (g *Gateway) Store() *queue.Store { return g.store }

// reasonConfigDisabled is why a configuration hook disabled in its document
// is parked.
const reasonConfigDisabled = "disabled in the configuration"

// Configure applies a configuration: its hooks replace the previous
// configuration's at once, and the dispatcher restarts only when delivery
// settings changed. Configuration hooks that are disabled in their document
// are parked in the store, and enabled again (delivering what was parked)
// once a configuration no longer disables them.
func (g *Gateway) Configure(ctx context.Context, cfg Config) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return queue.ErrClosed
	}

	for _, h := range cfg.Hooks {
		if err := g.applyEnabled(ctx, h); err != nil {
			return fmt.Errorf("hook %s: %w", h.ID, err)
		}
	}
	old := g.config.Swap(&cfg)
	g.reroute()
	for _, id := range g.hooks.Load().shadowed {
		g.logger.Warn("configuration hook shadows the stored hook of the same id; "+
			"the stored one is not routed to", zap.String("hook_id", id))
	}
	g.recent.resize(cmp.Or(cfg.RecentEvents, DefaultRecentEvents))

	if g.dispatcher != nil && sameDispatch(old.Dispatch, cfg.Dispatch) {
		return nil
	}
	return g.restartDispatcher(ctx, cfg.Dispatch)
}

// applyEnabled parks a configuration hook that its document disables, and
// releases one that a previous configuration disabled and this one does not.
// A hook disabled at run time, by the API or by failures, stays disabled.
func (g *Gateway) applyEnabled(ctx context.Context, h *Hook) error {
	st, err := g.store.HookState(h.ID)
	if err != nil {
		return err
	}
	switch {
	case !h.IsEnabled() && st.Enabled:
		return g.store.ParkHook(ctx, h.ID, reasonConfigDisabled)
	case h.IsEnabled() && !st.Enabled && st.DisabledReason == reasonConfigDisabled:
		_, err = g.store.ReleaseHook(ctx, h.ID)
	}
	return err
}

// restartDispatcher replaces the dispatcher with one built from dc.
func (g *Gateway) restartDispatcher(ctx context.Context, dc dispatch.Config) error {
	if g.dispatcher != nil {
		if err := g.dispatcher.Stop(ctx); err != nil {
			g.logger.Warn("stopping dispatcher", zap.Error(err))
		}
		g.dispatcher = nil
	}
	dc.Queue = g.store
	dc.Logger = g.logger.Named("dispatch")
	dc.Targets = g.target
	dc.OnDisable = func(d dispatch.Disabled) {
		if fn := g.config.Load().Dispatch.OnDisable; fn != nil {
			fn(d)
		}
	}
	dc.OnAttempt = func(a dispatch.AttemptResult) {
		g.tally.countAttempt(a)
		if fn := g.config.Load().Dispatch.OnAttempt; fn != nil {
			fn(a)
		}
	}
	d, err := dispatch.New(dc)
	if err != nil {
		return fmt.Errorf("dispatcher: %w", err)
	}
	d.Start()
	g.dispatcher = d
	return nil
}

// sameDispatch reports whether two dispatch configurations deliver alike.
// The observers are not compared: the gateway always calls the current ones.
func sameDispatch(a, b dispatch.Config) bool {
	a.OnDisable, a.OnAttempt, a.Logger, a.Clock = nil, nil, nil, nil
	b.OnDisable, b.OnAttempt, b.Logger, b.Clock = nil, nil, nil, nil
	return reflect.DeepEqual(a, b)
}

// target is the dispatcher's view of the current hooks.
func (g *Gateway) target(id string) (dispatch.Target, bool) {
	t, ok := g.hooks.Load().targets[id]
	return t, ok
}

// Hooks returns the current hooks sorted by id.
func (g *Gateway) Hooks() []*Hook { return g.hooks.Load().list(nil) }

// Close stops the dispatcher, waiting for attempts in flight up to ctx's
// deadline, and closes the store.
func (g *Gateway) Close(ctx context.Context) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	g.closed = true
	var err error
	if g.dispatcher != nil {
		err = g.dispatcher.Stop(ctx)
	}
	return errors.Join(err, g.store.Close())
}

// Ingested tells what Ingest did with a batch of events.
type Ingested struct {
	// Accepted counts the events stored, duplicates included.
	Accepted int
	// Duplicates counts the events whose id was seen within the dedupe window.
	Duplicates int
	// Matched counts the deliveries created.
	Matched int
	// Events has one entry per event, in order.
	Events []EventOutcome
}

// EventOutcome is what became of one event.
type EventOutcome struct {
	Type      string
	Duplicate bool
	// Matched counts the hooks the event matched; zero for a duplicate.
	Matched int
}

// Ingest routes events through the hooks and stores them with their
// deliveries. It returns once they are durable as the store's sync mode
// defines it; on error nothing of the batch may be counted as accepted.
func (g *Gateway) Ingest(ctx context.Context, events []*event.Event) (Ingested, error) {
	set := g.hooks.Load()
	items := make([]queue.Item, len(events))
	for i, e := range events {
		items[i] = g.route(set, e)
	}
	results, err := g.store.Enqueue(ctx, items)
	if err != nil {
		return Ingested{}, fmt.Errorf("storing events: %w", err)
	}

	out := Ingested{Accepted: len(events), Events: make([]EventOutcome, len(events))}
	fresh := make([]*event.Event, 0, len(events))
	for i, r := range results {
		o := EventOutcome{Type: events[i].Type, Duplicate: r.Duplicate}
		if r.Duplicate {
			out.Duplicates++
		} else {
			o.Matched = len(r.DeliveryIDs)
			out.Matched += o.Matched
			fresh = append(fresh, events[i])
		}
		out.Events[i] = o
		g.count(set, events[i], items[i], o)
	}
	g.recent.add(fresh, time.Now())
	return out, nil
}

// count tallies one ingested event for its account, and its deliveries for
// the accounts of their hooks.
func (g *Gateway) count(set *hookSet, e *event.Event, item queue.Item, o EventOutcome) {
	n := g.tally.of(e.Account)
	n.received.Add(1)
	switch {
	case o.Duplicate:
		n.duplicates.Add(1)
		return
	case o.Matched == 0:
		n.filteredOut.Add(1)
		return
	}
	for _, d := range item.Deliveries {
		account := ""
		if h := set.hooks[d.HookID]; h != nil {
			account = h.Account
		}
		g.tally.of(account).matched.Add(1)
	}
}

// route builds the queue item of one event: its dedupe key and a delivery per
// hook whose rule it matches.
func (g *Gateway) route(set *hookSet, e *event.Event) queue.Item {
	item := queue.Item{
		DedupeKey: dedupeKey(e),
		EventID:   e.ID,
		EventType: e.Type,
		Account:   e.Account,
	}
	a := cel.NewActivation(e)
	set.index.Candidates(e, func(c *hook.Compiled) {
		ok, err := c.Rule.Match(a)
		if err != nil {
			g.logger.Error("rule failed", zap.String("hook_id", c.ID), zap.Error(err))
		}
		if !ok {
			if n := c.Rule.Mismatches(a); n > 0 {
				if fn := g.config.Load().OnMismatch; fn != nil {
					fn(c.ID, n)
				}
			}
			return
		}
		body := e.Body()
		if c.Transform != nil {
			if body, err = c.Transform.Apply(a); err != nil {
				g.logger.Warn("transform failed, event not delivered",
					zap.String("hook_id", c.ID), zap.String("event_id", e.ID), zap.Error(err))
				return
			}
		}
		item.Deliveries = append(item.Deliveries, queue.NewDelivery{
			HookID:      c.ID,
			HookVersion: uint64(c.Version),
			Expression:  c.Rule.Expression(),
			Body:        body,
		})
	})
	return item
}

// dedupeKey scopes an event id to its account, so two tenants' ids never
// collide. The length prefix keeps the pair unambiguous.
func dedupeKey(e *event.Event) string {
	return strconv.Itoa(len(e.Account)) + ":" + e.Account + e.ID
}

// Version is hookgate's version, sent in the User-Agent of deliveries.
const Version = "0.1.0"
