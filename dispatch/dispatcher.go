package dispatch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/hookgate/hookgate/queue"
	"github.com/hookgate/hookgate/signer"
)

// Defaults for the zero values of Config.
const (
	DefaultTimeout      = 10 * time.Second
	DefaultDisableAfter = 50
	DefaultPerHook      = 8
	DefaultWorkers      = 64
	DefaultUserAgent    = "hookgate"
)

// idlePoll bounds how long the scheduler sleeps while the queue reports due
// hooks it could not serve, and how long it waits after a failed Lease.
const idlePoll = time.Second

// recordTimeout bounds the write of an attempt's outcome. It does not depend on
// Stop: an attempt that was made is recorded even while shutting down.
const recordTimeout = 30 * time.Second

// Target is what an attempt needs to know about a hook. The dispatcher reads it
// through Config.Targets at the time of each attempt, so edits and secret
// rotations apply to the retries of deliveries created before them.
type Target struct {
	HookID string
	// Account is reported in Disabled so that alerts reach the right owner.
	Account string
	// URL is where deliveries go: http or https.
	URL string
	// Method is POST, PUT or PATCH; empty means POST.
	Method string
	// Header holds the hook's static request headers. They never replace the
	// headers the dispatcher sets: Content-Type, User-Agent, X-MailOdds-* and
	// the signature headers.
	Header http.Header
	// Secrets sign each attempt.
	Secrets signer.SecretSet
}

// Config configures a Dispatcher. Queue and Targets are required; every other
// field has a default.
type Config struct {
	// Queue supplies due deliveries and stores every attempt and outcome.
	Queue queue.WorkQueue

	// Targets returns the current state of a hook, or false when the hook no
	// longer exists; its deliveries then fail without a request. It is called
	// from many goroutines at once and should not block.
	Targets func(hookID string) (Target, bool)

	// Retry is the wait after each failed attempt. Nil Delays mean
	// DefaultRetryPolicy (10s, 60s, 300s, ±10%); an empty, non-nil list means
	// a single attempt.
	Retry RetryPolicy

	// Timeout bounds a whole attempt: connecting, sending, and reading the
	// response. Default 10s. A slower response is a failed attempt. Keep the
	// queue's lease timeout well above it.
	Timeout time.Duration

	// DisableAfter is how many failed attempts in a row disable a hook.
	// Default 50; a negative value never disables for failures (a 410 Gone
	// still does).
	DisableAfter int

	// PerHook caps the attempts in flight for one hook: leased and not yet
	// answered. Default 8. A delivered attempt no longer counts while its
	// outcome is stored, so that the sync of that write does not hold the
	// endpoint's next request back; it still holds a worker. A failed one
	// counts until its outcome, which may disable the hook, is stored.
	PerHook int

	// Workers caps the attempts in flight across all hooks. Default 64. Keep
	// it several times PerHook so that a few dead endpoints leave workers for
	// the others.
	Workers int

	// AllowPrivateDestinations lets deliveries reach private, loopback,
	// link-local and other non-public addresses. Off by default; see
	// CheckDestination for what is refused.
	AllowPrivateDestinations bool

	// UserAgent is sent with every attempt, "hookgate/<version>". Default
	// "hookgate".
	UserAgent string

	// Logger receives the dispatcher's logs. Default: no logs.
	Logger *zap.Logger

	// Clock gives attempt times (the signed timestamp) and retry times.
	// Default time.Now.
	Clock func() time.Time

	// OnAttempt, when set, is called after every attempt made, recorded or
	// not, for metrics. It runs on the worker and must return quickly.
	OnAttempt func(AttemptResult)

	// OnDisable, when set, is called once each time the dispatcher disables a
	// hook, for alerts, logs and metrics. It runs on the worker and must return
	// quickly: send email from another goroutine.
	OnDisable func(Disabled)
}

// AttemptResult describes one attempt for OnAttempt.
type AttemptResult struct {
	HookID string
	// Account is the hook's account; empty for an operator's hook.
	Account    string
	DeliveryID string
	EventID    string
	EventType  string
	// Attempt counts from 1.
	Attempt int
	Outcome queue.Outcome
	// StatusCode is 0 when there was no response.
	StatusCode int
	Latency    time.Duration
	// Error is empty for a delivered attempt.
	Error       string
	NextRetryAt time.Time
	// Recorded is false when the queue failed to store the attempt; the
	// delivery is then attempted again once its lease expires.
	Recorded bool
}

// Disabled describes a hook the dispatcher has just disabled, for OnDisable.
type Disabled struct {
	HookID string
	// Account is the hook's account, whose alert address is told; empty for
	// an operator's hook.
	Account string
	// Reason is why, as stored with the parked hook unless it was parked
	// already, e.g. "the endpoint answered 410 Gone".
	Reason string
	// Failures is the hook's count of consecutive failed attempts.
	Failures int
	// LastErrors holds the errors of the hook's latest failed attempts,
	// oldest first, at most maxLastErrors.
	LastErrors []string
	At         time.Time
}

// maxLastErrors is how many recent errors a hook keeps for Disabled.
const maxLastErrors = 5

// Dispatcher delivers due deliveries with a shared pool of workers. Create it
// with New, then Start it; Stop it before closing the queue.
type Dispatcher struct {
	cfg       Config
	log       *zap.Logger
	transport *http.Transport
	client    *http.Client

	// base is the parent of every attempt; Stop cancels it when its context
	// ends before the attempts do.
	base   context.Context
	cancel context.CancelFunc

	stop      chan struct{} // closed by Stop
	wake      chan struct{} // an attempt ended or a park finished
	loopDone  chan struct{} // closed when the scheduler has returned
	startOnce sync.Once
	stopOnce  sync.Once
	attempts  sync.WaitGroup

	// mu guards busy, hooks and their fields.
	mu     sync.Mutex
	busy   int
	served uint64
	hooks  map[string]*hookState
}

// hookState is what the dispatcher tracks per hook while the hook has work in
// flight, is being parked, or has failed since its last success.
type hookState struct {
	// inflight counts attempts being leased or sent; PerHook bounds it.
	inflight int
	// recording counts attempts whose request is over and whose outcome is
	// being stored.
	recording int
	// served orders hooks for fairness: the scheduler's pass in which the hook
	// last got a lease.
	served uint64
	// gen counts Lease calls; each attempt carries the gen of its lease.
	gen uint64
	// disabledGen is gen when the dispatcher last decided to disable the hook.
	// Attempts leased up to then belong to the period that decision ended and
	// never disable the hook again.
	disabledGen uint64
	// parking is true while ParkHook runs; the hook is not leased meanwhile.
	parking    bool
	lastErrors []string
}

// job is one leased delivery handed to a worker.
type job struct {
	lease queue.Lease
	gen   uint64
}

// New checks cfg, fills in defaults and returns a dispatcher that is not yet
// running.
func New(cfg Config) (*Dispatcher, error) {
	cfg, err := withDefaults(cfg)
	if err != nil {
		return nil, err
	}
	d := &Dispatcher{
		cfg:      cfg,
		log:      cfg.Logger,
		stop:     make(chan struct{}),
		wake:     make(chan struct{}, 1),
		loopDone: make(chan struct{}),
		hooks:    map[string]*hookState{},
	}
	d.transport = newTransport(cfg)
	d.client = &http.Client{
		Transport: d.transport,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	d.base, d.cancel = context.WithCancel(context.Background())
	return d, nil
}

func withDefaults(cfg Config) (Config, error) {
	switch {
	case cfg.Queue == nil:
		return cfg, errors.New("dispatcher config: queue is nil")
	case cfg.Targets == nil:
		return cfg, errors.New("dispatcher config: targets is nil")
	}
	if cfg.Retry.Delays == nil {
		cfg.Retry = DefaultRetryPolicy()
	}
	if err := cfg.Retry.validate(); err != nil {
		return cfg, fmt.Errorf("dispatcher config: %w", err)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.DisableAfter == 0 {
		cfg.DisableAfter = DefaultDisableAfter
	}
	if cfg.PerHook <= 0 {
		cfg.PerHook = DefaultPerHook
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = DefaultUserAgent
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	return cfg, nil
}

// Start runs the scheduler. Calling it again, or after Stop, does nothing.
func (d *Dispatcher) Start() {
	d.startOnce.Do(func() { go d.loop() })
}

// Stop stops taking work and waits for the attempts in flight to finish and be
// recorded. When ctx ends first, it cancels them, gives their leases back to
// the queue unrecorded (the deliveries are due again at once), and returns
// ctx's error. Attempts not yet sent when Stop is called give their leases
// back too.
func (d *Dispatcher) Stop(ctx context.Context) error {
	d.stopOnce.Do(func() { close(d.stop) })
	d.startOnce.Do(func() { close(d.loopDone) }) // never started
	<-d.loopDone

	done := make(chan struct{})
	go func() {
		d.attempts.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		d.cancel()
		<-done
		err = fmt.Errorf("stopping dispatcher: %w", ctx.Err())
	}
	d.cancel()
	d.transport.CloseIdleConnections()
	return err
}

func (d *Dispatcher) stopping() bool {
	select {
	case <-d.stop:
		return true
	default:
		return false
	}
}

func (d *Dispatcher) now() time.Time { return d.cfg.Clock() }

// loop is the scheduler: it asks the queue where work is, hands workers out,
// and sleeps until work is added, comes due, or a worker is free again.
func (d *Dispatcher) loop() {
	defer close(d.loopDone)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for !d.stopping() {
		r := d.cfg.Queue.Ready()
		started, leaseFailed := d.fill(r.Hooks)
		if started > 0 && !leaseFailed {
			continue // The state moved; look again before sleeping.
		}

		wait := time.Duration(-1)
		if !r.Next.IsZero() {
			wait = max(r.Next.Sub(d.now()), 0)
		}
		switch {
		case leaseFailed:
			wait = idlePoll
		case len(r.Hooks) > 0 && (wait < 0 || wait > idlePoll):
			wait = idlePoll // Due hooks wait for a worker, or lease nothing.
		}
		var fire <-chan time.Time
		if wait >= 0 {
			timer.Reset(wait)
			fire = timer.C
		}
		select {
		case <-d.stop:
			timer.Stop()
			return
		case <-r.Changed:
		case <-d.wake:
		case <-fire:
		}
		timer.Stop()
	}
}

// fill leases due deliveries of the ready hooks and starts an attempt for each,
// as long as workers are free. Hooks take turns, the one served longest ago
// first, each getting an even share of the free workers per round, within its
// PerHook limit. It returns how many attempts it started and whether a Lease
// failed.
func (d *Dispatcher) fill(ready []string) (int, bool) {
	d.mu.Lock()
	free := d.cfg.Workers - d.busy
	type candidate struct {
		id     string
		served uint64
	}
	var cands []candidate
	for _, id := range ready {
		if free <= 0 {
			break
		}
		h := d.hooks[id]
		switch {
		case h == nil:
			cands = append(cands, candidate{id: id})
		case !h.parking && h.inflight < d.cfg.PerHook:
			cands = append(cands, candidate{id: id, served: h.served})
		}
	}
	d.served++
	pass := d.served
	if pass%pruneEvery == 0 {
		d.prune(pass)
	}
	d.mu.Unlock()

	slices.SortStableFunc(cands, func(a, b candidate) int {
		return cmp.Compare(a.served, b.served)
	})
	started, failed := 0, false
	for free > 0 && len(cands) > 0 {
		share := max(1, free/len(cands))
		next := cands[:0]
		for _, c := range cands {
			if free == 0 {
				break
			}
			n, more, err := d.lease(c.id, min(share, free), pass)
			if err != nil {
				failed = true
			}
			free -= n
			started += n
			if more {
				next = append(next, c)
			}
		}
		cands = next
	}
	return started, failed
}

// lease reserves up to n workers for a hook, leases that many deliveries and
// starts their attempts. It reports how many it started and whether the hook
// may have more work for this pass.
func (d *Dispatcher) lease(hookID string, n int, pass uint64) (int, bool, error) {
	d.mu.Lock()
	h := d.hook(hookID)
	n = min(n, d.cfg.PerHook-h.inflight)
	if h.parking || n <= 0 || d.stopping() {
		d.mu.Unlock()
		return 0, false, nil
	}
	h.gen++
	gen := h.gen
	h.inflight += n
	d.busy += n
	d.mu.Unlock()

	leases, err := d.cfg.Queue.Lease(d.base, hookID, n)
	if err != nil {
		d.log.Error("leasing deliveries failed", zap.String("hook_id", hookID), zap.Error(err))
	}

	d.mu.Lock()
	unused := n - len(leases)
	h.inflight -= unused
	d.busy -= unused
	if len(leases) > 0 {
		h.served = pass
	}
	more := len(leases) == n && h.inflight < d.cfg.PerHook
	d.mu.Unlock()

	for _, l := range leases {
		d.attempts.Add(1)
		go d.run(job{lease: l, gen: gen})
	}
	return len(leases), more, err
}

// hook returns the state of a hook, creating it. Callers hold mu.
func (d *Dispatcher) hook(id string) *hookState {
	h := d.hooks[id]
	if h == nil {
		h = &hookState{}
		d.hooks[id] = h
	}
	return h
}

// pruneEvery is how many scheduler passes go by between drops of idle hook
// states.
const pruneEvery = 1024

// prune drops the state of hooks that have nothing in flight or to remember
// and were last served at least pruneEvery passes ago. A hook's state must
// outlive its attempts: forgotten at once, a hook whose attempts end quickly
// would rank as never served and take every turn from hooks with attempts
// still out. Dropped after so many passes, it ranks first, where its turn
// would have put it anyway. Callers hold mu.
func (d *Dispatcher) prune(pass uint64) {
	for id, h := range d.hooks {
		if h.inflight == 0 && h.recording == 0 && !h.parking && len(h.lastErrors) == 0 &&
			h.served+pruneEvery <= pass {
			delete(d.hooks, id)
		}
	}
}

// answered counts an attempt whose request is over as being recorded rather
// than in flight, and wakes the scheduler: the hook may take its next attempt
// while this one's outcome is stored.
func (d *Dispatcher) answered(hookID string) {
	d.mu.Lock()
	h := d.hook(hookID)
	h.inflight--
	h.recording++
	d.mu.Unlock()
	d.poke()
}

// release frees an attempt's worker, and its place among the hook's attempts
// in flight unless answered did, and wakes the scheduler.
func (d *Dispatcher) release(hookID string, answered bool) {
	d.mu.Lock()
	h := d.hook(hookID)
	if answered {
		h.recording--
	} else {
		h.inflight--
	}
	d.busy--
	d.mu.Unlock()
	d.poke()
}

func (d *Dispatcher) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}
