package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hookgate/hookgate/event"
	"github.com/hookgate/hookgate/hook"
	"github.com/hookgate/hookgate/queue"
	"github.com/hookgate/hookgate/signer"
)

// Errors of hook management, beside queue.ErrNotFound, queue.ErrConflict,
// hook.ErrPlan, hook.ErrLimit and the *event.FieldError of an invalid document.
var (
	// ErrReadOnly means the hook is declared in the configuration: it can be
	// enabled and disabled at run time, not changed.
	ErrReadOnly = errors.New("declared in the configuration and read-only")

	// ErrForbidden means the caller's account may not do this, such as
	// creating a hook for another account.
	ErrForbidden = errors.New("not allowed for this account")
)

// Caller is who manages hooks: the operator, who sees every hook, or one
// account, which sees only its own. Another account's hook is not found.
type Caller struct {
	// Account is the caller's account; empty for the operator.
	Account string
}

// Operator is the caller that sees everything.
var Operator = Caller{}

// sees reports whether the caller may see and manage a hook of account.
func (c Caller) sees(account string) bool {
	return c.Account == "" || c.Account == account
}

// own sets the account of a document an account writes, refusing another.
func (c Caller) own(h *hook.Hook) error {
	switch {
	case c.Account == "":
	case h.Account == "":
		h.Account = c.Account
	case h.Account != c.Account:
		return fmt.Errorf("account: the caller is account %q, not %q: %w",
			c.Account, h.Account, ErrForbidden)
	}
	return nil
}

// Hook returns a hook the caller sees.
func (g *Gateway) Hook(c Caller, id string) (*Hook, error) {
	h, ok := g.hooks.Load().hooks[id]
	if !ok || !c.sees(h.Account) {
		return nil, fmt.Errorf("hook %s: %w", id, queue.ErrNotFound)
	}
	return h, nil
}

// HooksOf returns the hooks the caller sees, sorted by id.
func (g *Gateway) HooksOf(c Caller) []*Hook {
	return g.hooks.Load().list(func(h *Hook) bool { return c.sees(h.Account) })
}

// CreateHook validates a hook document, persists it and routes to it at once.
// A document without an id gets one, and one without a secret gets a new
// secret; the secret is returned, and shown nowhere else. A document with
// "enabled": false is created disabled.
func (g *Gateway) CreateHook(ctx context.Context, c Caller, doc []byte) (*Hook, signer.Secret,
	error) {
	h, err := hook.Parse(doc)
	if err != nil {
		return nil, signer.Secret{}, err
	}
	if err := c.own(h); err != nil {
		return nil, signer.Secret{}, err
	}
	if h.ID == "" {
		h.ID = hook.NewID()
	}
	secret := signer.GenerateSecret()
	if h.Secret != "" {
		if secret, err = signer.ParseSecret(h.Secret); err != nil {
			return nil, signer.Secret{}, fmt.Errorf("secret: %w", err)
		}
	}
	secrets, err := signer.NewSecretSet(secret, time.Now())
	if err != nil {
		return nil, signer.Secret{}, err
	}

	g.mu.Lock()
	defer g.mu.Unlock()
	if _, taken := g.hooks.Load().hooks[h.ID]; taken {
		return nil, signer.Secret{}, fmt.Errorf("hook id %q is taken: %w", h.ID, queue.ErrConflict)
	}
	if err := g.check(h); err != nil {
		return nil, signer.Secret{}, err
	}
	saved, err := g.save(ctx, h, secrets, 0)
	if err != nil {
		return nil, signer.Secret{}, err
	}
	return saved, secret, nil
}

// ReplaceHook replaces a persisted hook's document (PUT). The secret stays:
// change it with RotateSecret. "enabled", when the document gives it, enables
// (delivering the parked backlog) or disables the hook.
func (g *Gateway) ReplaceHook(ctx context.Context, c Caller, id string, doc []byte) (*Hook,
	error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, err := g.writable(c, id); err != nil {
		return nil, err
	}
	return g.replace(ctx, c, id, doc)
}

// UpdateHook changes a persisted hook with a JSON merge patch (RFC 7386) of its
// document (PATCH): keys set to null are removed. A patch that sets "event"
// drops the document's "events", and the other way round.
func (g *Gateway) UpdateHook(ctx context.Context, c Caller, id string, patch []byte) (*Hook,
	error) {
	p, err := event.Decode(patch)
	if err != nil {
		return nil, &event.FieldError{Msg: err.Error()}
	}
	pm, ok := p.(map[string]any)
	if !ok {
		return nil, &event.FieldError{Msg: "a patch must be a JSON object"}
	}

	g.mu.Lock()
	defer g.mu.Unlock()
	cur, err := g.writable(c, id)
	if err != nil {
		return nil, err
	}
	raw, err := event.Encode(cur.Hook)
	if err != nil {
		return nil, fmt.Errorf("reading hook %s: %w", id, err)
	}
	v, err := event.Decode(raw)
	if err != nil {
		return nil, fmt.Errorf("reading hook %s: %w", id, err)
	}
	doc := v.(map[string]any) // a hook encodes as an object
	for k, other := range map[string]string{"event": "events", "events": "event"} {
		if _, ok := pm[k]; ok {
			delete(doc, other)
		}
	}
	merged, err := event.Encode(mergePatch(doc, pm))
	if err != nil {
		return nil, err
	}
	return g.replace(ctx, c, id, merged)
}

// replace writes a new document for the persisted hook id. Callers hold mu.
func (g *Gateway) replace(ctx context.Context, c Caller, id string, doc []byte) (*Hook, error) {
	h, err := hook.Parse(doc)
	if err != nil {
		return nil, err
	}
	switch {
	case h.ID != "" && h.ID != id:
		return nil, &event.FieldError{Path: "id", Msg: fmt.Sprintf(
			"%q does not match the hook's id %q", h.ID, id)}
	case h.Secret != "":
		return nil, &event.FieldError{Path: "secret",
			Msg: "cannot be replaced; rotate it with POST /hookgate/hooks/{id}/rotate-secret"}
	}
	h.ID = id
	if err := c.own(h); err != nil {
		return nil, err
	}
	if err := g.check(h); err != nil {
		return nil, err
	}
	cur := g.hooks.Load().hooks[id]
	return g.save(ctx, h, cur.Secrets, cur.Version)
}

// RotateSecret makes a new secret primary at once; the current one keeps
// signing beside it until overlap has passed. A zero secret is generated.
func (g *Gateway) RotateSecret(ctx context.Context, c Caller, id string, next signer.Secret,
	overlap time.Duration) (signer.Secret, error) {
	if next.IsZero() {
		next = signer.GenerateSecret()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	cur, err := g.writable(c, id)
	if err != nil {
		return signer.Secret{}, err
	}
	now := time.Now()
	secrets, err := cur.Secrets.Prune(now).Rotate(next, overlap, now)
	if err != nil {
		return signer.Secret{}, &event.FieldError{Path: "secret", Msg: err.Error()}
	}
	h := *cur.Hook
	h.Enabled = nil
	if _, err := g.save(ctx, &h, secrets, cur.Version); err != nil {
		return signer.Secret{}, err
	}
	return next, nil
}

// DeleteHook removes a persisted hook. Its pending and parked deliveries fail,
// saying the hook was deleted, and stay in the audit trail until they expire.
func (g *Gateway) DeleteHook(ctx context.Context, c Caller, id string) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, err := g.writable(c, id); err != nil {
		return 0, err
	}
	n, err := g.store.DeleteHook(ctx, id)
	if err != nil {
		return n, err
	}
	g.stored = deleteHook(g.stored, id)
	g.reroute()
	return n, nil
}

// DisableHook disables a hook: matching events are kept as parked deliveries,
// and pending retries pause, until it is enabled again.
func (g *Gateway) DisableHook(ctx context.Context, c Caller, id, reason string) error {
	if _, err := g.Hook(c, id); err != nil {
		return err
	}
	return g.store.ParkHook(ctx, id, reason)
}

// EnableHook enables a hook and returns how many parked deliveries it
// released; with discard, they fail as discarded instead (and stay
// replayable), and it returns how many it discarded.
func (g *Gateway) EnableHook(ctx context.Context, c Caller, id string, discard bool) (int,
	error) {
	if _, err := g.Hook(c, id); err != nil {
		return 0, err
	}
	discarded := 0
	if discard {
		n, err := g.store.DiscardParked(ctx, id)
		if err != nil {
			return 0, err
		}
		discarded = n
	}
	released, err := g.store.ReleaseHook(ctx, id)
	if discard {
		return discarded, err
	}
	return released, err
}

// writable returns the persisted hook id if the caller may change it. Callers
// hold mu.
func (g *Gateway) writable(c Caller, id string) (*Hook, error) {
	h, err := g.Hook(c, id)
	if err != nil {
		return nil, err
	}
	if h.Static {
		return nil, fmt.Errorf("hook %s: %w", id, ErrReadOnly)
	}
	return h, nil
}

// check applies the account policy to h beside the current hooks. Callers
// hold mu.
func (g *Gateway) check(h *hook.Hook) error {
	all := g.hooks.Load().list(nil)
	docs := make([]*hook.Hook, len(all))
	for i, e := range all {
		docs[i] = e.Hook
	}
	return g.config.Load().Policy.Check(h, docs)
}

// save persists h at the version after version (0 creates it), applies the
// document's "enabled", and routes to the new version. Callers hold mu.
func (g *Gateway) save(ctx context.Context, h *hook.Hook, secrets signer.SecretSet,
	version int64) (*Hook, error) {
	enabled := h.Enabled
	doc := *h
	doc.Enabled, doc.Secret = nil, ""
	raw, err := event.Encode(&doc)
	if err != nil {
		return nil, fmt.Errorf("encoding hook %s: %w", h.ID, err)
	}
	rec, err := json.Marshal(storedHook{Hook: raw, Secrets: secrets})
	if err != nil {
		return nil, fmt.Errorf("encoding hook %s: %w", h.ID, err)
	}

	var q queue.Hook
	if version == 0 {
		q, err = g.store.CreateHook(ctx, h.ID, rec)
	} else {
		q, err = g.store.UpdateHook(ctx, h.ID, rec, uint64(version))
	}
	if err != nil {
		return nil, err
	}
	saved, err := decodeStored(q)
	if err != nil {
		return nil, err
	}
	g.stored = append(deleteHook(g.stored, h.ID), saved)
	g.reroute()

	switch {
	case enabled == nil:
	case *enabled:
		_, err = g.store.ReleaseHook(ctx, h.ID)
	default:
		err = g.store.ParkHook(ctx, h.ID, "disabled in its document")
	}
	if err != nil {
		return saved, fmt.Errorf("hook %s saved, but setting enabled failed: %w", h.ID, err)
	}
	return saved, nil
}

// reroute swaps in the hooks of the current configuration and store. Callers
// hold mu.
func (g *Gateway) reroute() {
	g.hooks.Store(newHookSet(g.config.Load().Hooks, g.stored))
}

func deleteHook(hooks []*Hook, id string) []*Hook {
	out := hooks[:0:0]
	for _, h := range hooks {
		if h.ID != id {
			out = append(out, h)
		}
	}
	return out
}

// mergePatch applies a JSON merge patch (RFC 7386) to target.
func mergePatch(target any, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	}
	for k, v := range p {
		if v == nil {
			delete(t, k)
			continue
		}
		t[k] = mergePatch(t[k], v)
	}
	return t
}
