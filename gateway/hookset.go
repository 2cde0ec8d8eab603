package gateway

import (
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/hookgate/hookgate/dispatch"
	"github.com/hookgate/hookgate/hook"
	"github.com/hookgate/hookgate/signer"
)

// Hook is a hook the gateway routes to: the compiled document, its signing
// secrets and where it comes from.
type Hook struct {
	*hook.Compiled

	// Secrets sign the hook's deliveries.
	Secrets signer.SecretSet

	// Static is true for hooks declared in the configuration, which are
	// read-only at run time.
	Static bool

	// CreatedAt and UpdatedAt are when the hook was first and last saved;
	// for a configuration hook, when the configuration was loaded.
	CreatedAt time.Time
	UpdatedAt time.Time
}

// target is what the dispatcher needs of the hook for one attempt.
func (h *Hook) target() dispatch.Target {
	header := make(http.Header, len(h.Headers))
	for k, v := range h.Headers {
		header.Set(k, v)
	}
	return dispatch.Target{
		HookID:  h.ID,
		Account: h.Account,
		URL:     h.URL,
		Method:  h.Method,
		Header:  header,
		Secrets: h.Secrets,
	}
}

// NewStaticHook compiles a hook declared in the configuration. Its secret is
// the document's; a configuration hook without one gets a new secret at
// every start, so it should name one for receivers to verify with.
func NewStaticHook(h *hook.Hook, now time.Time) (*Hook, error) {
	if h.ID == "" {
		return nil, fmt.Errorf("hook needs an id")
	}
	c, err := hook.Compile(h, 0)
	if err != nil {
		return nil, fmt.Errorf("hook %s: %w", h.ID, err)
	}
	secret := signer.GenerateSecret()
	if h.Secret != "" {
		if secret, err = signer.ParseSecret(h.Secret); err != nil {
			return nil, fmt.Errorf("hook %s: secret: %w", h.ID, err)
		}
		h.Secret = "" // the secret set holds it; the document is shown to users
	}
	secrets, err := signer.NewSecretSet(secret, now)
	if err != nil {
		return nil, fmt.Errorf("hook %s: %w", h.ID, err)
	}
	return &Hook{Compiled: c, Secrets: secrets, Static: true, CreatedAt: now, UpdatedAt: now}, nil
}

// hookSet is one immutable generation of the gateway's hooks: the routing
// index and the dispatch targets. Changes build a new set and swap it in.
type hookSet struct {
	index   *hook.Index
	hooks   map[string]*Hook
	targets map[string]dispatch.Target
	// shadowed are the ids of stored hooks hidden by configuration hooks.
	shadowed []string
}

// newHookSet builds a set from the configuration's hooks and the stored ones.
// A stored hook with the id of a configuration hook is shadowed by it.
func newHookSet(static, stored []*Hook) *hookSet {
	s := &hookSet{
		hooks:   make(map[string]*Hook, len(static)+len(stored)),
		targets: make(map[string]dispatch.Target, len(static)+len(stored)),
	}
	for _, list := range [][]*Hook{static, stored} {
		for _, h := range list {
			if _, ok := s.hooks[h.ID]; ok {
				s.shadowed = append(s.shadowed, h.ID)
				continue
			}
			s.hooks[h.ID] = h
			s.targets[h.ID] = h.target()
		}
	}

	// Disabled hooks stay routed: the store parks their deliveries.
	list := s.list(nil)
	routed := make([]*hook.Compiled, len(list))
	for i, h := range list {
		routed[i] = h.Compiled
	}
	s.index = hook.NewIndex(routed)
	return s
}

// list returns the hooks sorted by id, filtered by keep when it is not nil.
func (s *hookSet) list(keep func(*Hook) bool) []*Hook {
	out := make([]*Hook, 0, len(s.hooks))
	for _, h := range s.hooks {
		if keep == nil || keep(h) {
			out = append(out, h)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
