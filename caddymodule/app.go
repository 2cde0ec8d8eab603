package caddymodule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/hookgate/hookgate/dispatch"
	"github.com/hookgate/hookgate/gateway"
	"github.com/hookgate/hookgate/hook"
	"github.com/hookgate/hookgate/queue"
)

func init() {
	caddy.RegisterModule(new(App))
}

// App is the hookgate app: it owns the store of accepted events, their
// deliveries and the audit trail, delivers to hooks with retries, and holds
// the hooks declared in the configuration. Ingest handlers and the admin API
// reach it by name; an app is created with the defaults when a handler needs
// one and the configuration has none.
//
// The store is opened once per storage directory and process: across config
// reloads the new app takes over the running store and dispatcher, and only
// delivery settings that changed restart the dispatcher.
type App struct {
	// StorageDir is the directory of the Badger database. Default: "hookgate"
	// in Caddy's data directory.
	StorageDir string `json:"storage_dir,omitempty"`

	// Sync says when accepted events reach the disk: "always" (default; a
	// 202 means synced, concurrent requests share one sync), "interval"
	// (synced every sync_interval; survives a crash of the process, not of
	// the machine) or "never" (left to the operating system). Changing it
	// takes effect at the next start of the process.
	Sync string `json:"sync,omitempty"`

	// SyncInterval is the interval of sync "interval". Default: 100ms.
	SyncInterval caddy.Duration `json:"sync_interval,omitempty"`

	// Retry is the wait after each failed attempt before the next, spread by
	// ±10%; a delivery makes at most len(retry)+1 attempts. Default: 10s,
	// 60s, 300s.
	Retry []caddy.Duration `json:"retry,omitempty"`

	// Timeout bounds each attempt, from connecting to reading the response.
	// Default: 10s.
	Timeout caddy.Duration `json:"timeout,omitempty"`

	// DisableAfter is how many consecutive failed attempts disable a hook.
	// Default: 50.
	DisableAfter int `json:"disable_after,omitempty"`

	// MaxInFlight bounds the attempts in flight to one hook. Default: 8.
	MaxInFlight int `json:"max_in_flight,omitempty"`

	// Workers is how many attempts may be in flight in all. Default: 64.
	Workers int `json:"workers,omitempty"`

	// Retention is how long finished deliveries and their attempts are kept.
	// Default: 720h (30 days).
	Retention caddy.Duration `json:"retention,omitempty"`

	// DedupeWindow is how long an event id is remembered: an event whose id
	// was seen within it is a duplicate and not delivered again. Default: 24h.
	DedupeWindow caddy.Duration `json:"dedupe_window,omitempty"`

	// MaxAccountHooks is how many account hooks one account may have.
	// Default: 5.
	MaxAccountHooks int `json:"max_account_hooks,omitempty"`

	// RecentEvents is how many received events per account are kept in
	// memory so that rules can be tried on recent traffic (POST
	// /hookgate/evaluate with "recent"). Default: 1000; -1 keeps none.
	RecentEvents int `json:"recent_events,omitempty"`

	// AllowPrivateDestinations lets hooks deliver to private, loopback and
	// link-local addresses. Off, such destinations are refused at connect
	// time, whatever name resolved to them.
	AllowPrivateDestinations bool `json:"allow_private_destinations,omitempty"`

	// SMTP is the mail server that sends an alert when a hook is disabled,
	// to its account's alert_email. Without it, disables are only logged.
	SMTP *SMTP `json:"smtp,omitempty"`

	// AlertEmail receives the alerts of operator hooks (hooks without an
	// account) and of accounts that have no alert_email.
	AlertEmail string `json:"alert_email,omitempty"`

	// Accounts configures the accounts by name.
	Accounts map[string]*Account `json:"accounts,omitempty"`

	// Hooks are hook documents (as the admin API takes them, with an id).
	// They are read-only at run time. Placeholders such as {env.URL} are
	// replaced in url, secret and header values.
	Hooks []json.RawMessage `json:"hooks,omitempty"`

	gw       *gateway.Gateway
	mailer   *dispatch.Mailer
	storeKey string
	hooks    []*gateway.Hook
	config   gateway.Config
	logger   *zap.Logger
	mu       sync.RWMutex
}

// Account is one tenant of the gateway.
type Account struct {
	// Plan is the account's plan. Where accounts have plans, domain hooks
	// need "pro" or "enterprise".
	Plan string `json:"plan,omitempty"`
	// AlertEmail receives the alerts about the account's hooks.
	AlertEmail string `json:"alert_email,omitempty"`
	// Token authorizes the account's dashboard and its API.
	Token string `json:"token,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (*App) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "hookgate",
		New: func() caddy.Module { return new(App) },
	}
}

// Provision fills in defaults, resolves placeholders and compiles the
// configuration's hooks. It opens nothing: the store is opened in Start, so
// that validating a configuration works while Caddy runs.
func (a *App) Provision(ctx caddy.Context) error {
	a.logger = ctx.Logger()
	registerMetrics(ctx)
	repl := caddy.NewReplacer()

	if a.StorageDir == "" {
		a.StorageDir = filepath.Join(caddy.AppDataDir(), "hookgate")
	}
	dir, err := filepath.Abs(repl.ReplaceAll(a.StorageDir, ""))
	if err != nil {
		return fmt.Errorf("storage_dir: %v", err)
	}
	a.storeKey = dir
	tokens := make(map[string]string, len(a.Accounts))
	for name, acct := range a.Accounts {
		if acct == nil {
			return fmt.Errorf("accounts.%s: empty", name)
		}
		acct.Token = repl.ReplaceAll(acct.Token, "")
		if other, ok := tokens[acct.Token]; ok && acct.Token != "" {
			return fmt.Errorf("accounts %s and %s have the same token", min(name, other),
				max(name, other))
		}
		tokens[acct.Token] = name
	}
	if a.mailer, err = a.SMTP.mailer(repl); err != nil {
		return fmt.Errorf("smtp: %w", err)
	}

	if a.hooks, err = a.provisionHooks(repl); err != nil {
		return err
	}
	a.config = gateway.Config{
		Hooks:        a.hooks,
		Policy:       a.policy(),
		RecentEvents: a.RecentEvents,
		OnMismatch:   observeMismatch,
		Dispatch:     a.dispatchConfig(),
	}
	return nil
}

// provisionHooks compiles the configuration's hook documents.
func (a *App) provisionHooks(repl *caddy.Replacer) ([]*gateway.Hook, error) {
	policy := a.policy()
	now := time.Now()
	var docs []*hook.Hook
	hooks := make([]*gateway.Hook, 0, len(a.Hooks))
	for i, raw := range a.Hooks {
		h, err := parseConfigHook(raw, repl)
		if err != nil {
			return nil, fmt.Errorf("hooks[%d]: %w", i, err)
		}
		for _, d := range docs {
			if d.ID == h.ID {
				return nil, fmt.Errorf("hooks[%d]: id %q is declared twice", i, h.ID)
			}
		}
		if err := policy.Check(h, docs); err != nil {
			return nil, fmt.Errorf("hook %s: %w", h.ID, err)
		}
		if h.Secret == "" {
			a.logger.Warn("configuration hook has no secret: its deliveries are signed "+
				"with a random one that changes at every load, which receivers cannot know",
				zap.String("hook_id", h.ID))
		}
		gh, err := gateway.NewStaticHook(h, now)
		if err != nil {
			return nil, err
		}
		docs = append(docs, h)
		hooks = append(hooks, gh)
	}
	return hooks, nil
}

// parseConfigHook reads one hook document of the configuration, replacing
// placeholders in the values that usually come from the environment.
func parseConfigHook(raw json.RawMessage, repl *caddy.Replacer) (*hook.Hook, error) {
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("decoding hook: %v", err)
	}
	for _, k := range []string{"url", "secret"} {
		if s, ok := doc[k].(string); ok {
			doc[k] = repl.ReplaceAll(s, "")
		}
	}
	if headers, ok := doc["headers"].(map[string]any); ok {
		for k, v := range headers {
			if s, ok := v.(string); ok {
				headers[k] = repl.ReplaceAll(s, "")
			}
		}
	}
	if _, ok := doc["id"]; !ok {
		return nil, errors.New("id: required for a hook in the configuration")
	}
	return hook.FromDocument(doc)
}

// policy is the account rules of the configuration.
func (a *App) policy() hook.Policy {
	p := hook.Policy{MaxAccountHooks: a.MaxAccountHooks}
	for name, acct := range a.Accounts {
		if acct.Plan != "" {
			if p.Plans == nil {
				p.Plans = make(map[string]string)
			}
			p.Plans[name] = acct.Plan
		}
	}
	return p
}

// dispatchConfig is the delivery configuration with defaults filled in.
func (a *App) dispatchConfig() dispatch.Config {
	retry := dispatch.DefaultRetryPolicy()
	if len(a.Retry) > 0 {
		retry.Delays = make([]time.Duration, len(a.Retry))
		for i, d := range a.Retry {
			retry.Delays[i] = time.Duration(d)
		}
	}
	return dispatch.Config{
		Retry:                    retry,
		Timeout:                  orDefault(time.Duration(a.Timeout), 10*time.Second),
		DisableAfter:             orDefault(a.DisableAfter, 50),
		PerHook:                  orDefault(a.MaxInFlight, 8),
		Workers:                  orDefault(a.Workers, 64),
		AllowPrivateDestinations: a.AllowPrivateDestinations,
		UserAgent:                "hookgate/" + gateway.Version,
		OnDisable:                a.hookDisabled,
		OnAttempt:                observeAttempt,
	}
}

// storeOptions are the store's options with defaults filled in.
func (a *App) storeOptions() (queue.Options, error) {
	opts := queue.DefaultOptions(a.storeKey)
	switch a.Sync {
	case "", "always":
	case "interval":
		opts = opts.WithSync(queue.SyncInterval,
			orDefault(time.Duration(a.SyncInterval), 100*time.Millisecond))
	case "never":
		opts = opts.WithSync(queue.SyncNever, 0)
	default:
		return opts, fmt.Errorf("sync: %q is not always, interval or never", a.Sync)
	}
	if a.Retention > 0 {
		opts = opts.WithRetention(time.Duration(a.Retention))
	}
	if a.DedupeWindow > 0 {
		opts = opts.WithDedupeWindow(time.Duration(a.DedupeWindow))
	}
	// A lease outlives the attempt it covers by a margin.
	timeout := orDefault(time.Duration(a.Timeout), 10*time.Second)
	return opts.WithLeaseTimeout(timeout + 30*time.Second), nil
}

// Validate checks the settings Provision does not.
func (a *App) Validate() error {
	if _, err := a.storeOptions(); err != nil {
		return err
	}
	for i, d := range a.Retry {
		if d <= 0 {
			return fmt.Errorf("retry[%d]: must be positive", i)
		}
	}
	if a.Timeout < 0 || a.DisableAfter < 0 || a.MaxInFlight < 0 || a.Workers < 0 {
		return errors.New("timeout, disable_after, max_in_flight and workers must not be negative")
	}
	return nil
}

// stores holds one gateway per storage directory, shared by the apps of
// overlapping configurations.
var stores = caddy.NewUsagePool()

// storeHandle makes a gateway a pooled value.
type storeHandle struct{ gw *gateway.Gateway }

// Destruct closes the gateway when the last app using it stops.
func (s storeHandle) Destruct() error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return s.gw.Close(ctx)
}

// Start opens the store (or takes over the running one) and applies this
// configuration's hooks and delivery settings.
func (a *App) Start() error {
	opts, err := a.storeOptions()
	if err != nil {
		return err
	}
	v, loaded, err := stores.LoadOrNew(a.storeKey, func() (caddy.Destructor, error) {
		gw, err := gateway.Open(opts, a.logger)
		if err != nil {
			return nil, err
		}
		return storeHandle{gw}, nil
	})
	if err != nil {
		return err
	}
	gw := v.(storeHandle).gw
	if err := gw.Configure(context.Background(), a.config); err != nil {
		err = fmt.Errorf("configuring gateway: %w", err)
		if cur := currentApp.Load(); cur != nil && cur.gateway() == gw {
			err = errors.Join(err, gw.Configure(context.Background(), cur.config))
		}
		_, _ = stores.Delete(a.storeKey)
		return err
	}

	a.mu.Lock()
	a.gw = gw
	a.mu.Unlock()
	startedApps.add(a)
	a.logger.Info("started",
		zap.String("storage_dir", a.storeKey),
		zap.Bool("reused_store", loaded),
		zap.Int("config_hooks", len(a.hooks)))
	return nil
}

// Stop releases this app's use of the store; the last user closes it.
func (a *App) Stop() error {
	a.mu.Lock()
	gw := a.gw
	a.gw = nil
	a.mu.Unlock()
	if gw == nil {
		return nil
	}
	var err error
	if prev := startedApps.remove(a); prev != nil && prev.gateway() == gw {
		// A configuration that failed to start is being rolled back: the
		// one still running takes its hooks and settings back.
		err = gw.Configure(context.Background(), prev.config)
	}
	_, errDelete := stores.Delete(a.storeKey)
	return errors.Join(err, errDelete)
}

// startedApps are the apps started and not yet stopped, oldest first. There
// are two while a reload overlaps the old and the new configuration.
var startedApps appStack

// appStack tracks the started apps; the newest is the current one.
type appStack struct {
	mu   sync.Mutex
	apps []*App
}

// add makes a the current app.
func (s *appStack) add(a *App) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps = append(s.apps, a)
	currentApp.Store(a)
}

// remove forgets a. When a was the current app, as when a configuration
// fails to start after its app did, the newest remaining app becomes current
// again and is returned.
func (s *appStack) remove(a *App) *App {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps = slices.DeleteFunc(s.apps, func(x *App) bool { return x == a })
	if currentApp.Load() != a {
		return nil
	}
	var prev *App
	if n := len(s.apps); n > 0 {
		prev = s.apps[n-1]
	}
	currentApp.Store(prev)
	return prev
}

// currentApp is the newest started app. During a reload the new app starts
// before the old one stops, so the old one's Stop leaves the new one here.
var currentApp atomic.Pointer[App]

// runningGateway returns the gateway of the newest started app, or nil.
func runningGateway() *gateway.Gateway {
	if a := currentApp.Load(); a != nil {
		return a.gateway()
	}
	return nil
}

// gateway returns the running gateway, or nil before Start and after Stop.
func (a *App) gateway() *gateway.Gateway {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.gw
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Interface guards.
var (
	_ caddy.App         = (*App)(nil)
	_ caddy.Provisioner = (*App)(nil)
	_ caddy.Validator   = (*App)(nil)
)
